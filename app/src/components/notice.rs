//! Status messages above a form.

use leptos::prelude::*;

#[component]
pub fn Notice(
    message: Option<String>,
    #[prop(default = "info")] kind: &'static str,
) -> impl IntoView {
    message.map(|m| {
        let role = if kind == "error" { "alert" } else { "status" };
        view! { <p class=format!("notice notice-{kind}") role=role>{m}</p> }
    })
}
