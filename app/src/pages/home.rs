use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::paths::{LOGIN, PROFILE, SIGNUP};
use crate::state::use_portal_state;

#[component]
pub fn HomePage() -> impl IntoView {
    let state = use_portal_state();
    view! {
        <PageTitle text="Gatehouse" />
        <section class="card">
            <h1>"One account for all the institute's applications"</h1>
            {match state.user {
                Some(user) => {
                    view! {
                        <p>
                            "Welcome back, " {user.display_name()} ". "
                            <a href=PROFILE>"Manage your account"</a>
                        </p>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <p>
                            <a href=LOGIN>"Sign in"</a>
                            " or "
                            <a href=SIGNUP>"create an account"</a>
                            "."
                        </p>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
