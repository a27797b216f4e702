//! The site header: who is signed in, and where to go.

use leptos::prelude::*;

use super::field::CsrfField;
use crate::paths::{
    ACTIVITY, ADMIN, APPLICATIONS, AUTHORIZED_TOKENS, LOGIN, LOGOUT, PROFILE, SIGNUP,
};
use crate::state::use_portal_state;

#[component]
pub fn Header() -> impl IntoView {
    let state = use_portal_state();
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                "Gatehouse"
            </a>
            {match state.user {
                Some(user) => {
                    let name = user.display_name();
                    view! {
                        <nav aria-label="Account">
                            <span class="whoami">
                                "Signed in as " <strong>{name}</strong>
                            </span>
                            <a href=PROFILE>"Profile"</a>
                            <a href=AUTHORIZED_TOKENS rel="external">"Authorized apps"</a>
                            <a href=ACTIVITY rel="external">"Activity"</a>
                            <a href=APPLICATIONS rel="external">"Your apps"</a>
                            {user.is_staff.then(|| view! { <a href=ADMIN rel="external">"Admin"</a> })}
                            <form method="post" action=LOGOUT class="inline">
                                <CsrfField token=state.csrf_token.clone() />
                                <button type="submit" class="link">
                                    "Sign out"
                                </button>
                            </form>
                        </nav>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <nav aria-label="Account">
                            <a href=LOGIN>"Sign in"</a>
                            <a href=SIGNUP>"Create account"</a>
                        </nav>
                    }
                        .into_any()
                }
            }}
        </header>
    }
}
