//! A labelled input with its error message beside it.

use leptos::prelude::*;

/// One form field. The label's text is the field's accessible name, which
/// tests and screen readers rely on; the error is tied to the input with
/// `aria-describedby`.
#[component]
pub fn Field(
    /// Element id, also the base of the error's id.
    id: &'static str,
    /// Form field name.
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional_no_strip)] value: Option<String>,
    #[prop(optional_no_strip)] error: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let invalid = error.as_ref().map(|_| "true");
    let described_by = error.as_ref().map(|_| error_id.clone());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                required=required
                aria-invalid=invalid
                aria-describedby=described_by
            />
            {error.map(|message| view! { <p class="field-error" id=error_id>{message}</p> })}
        </div>
    }
}

/// The hidden CSRF field every state-changing form carries.
#[component]
pub fn CsrfField(token: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf_token" value=token /> }
}
