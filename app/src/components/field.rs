//! A labelled input with its error message beside it.

use leptos::prelude::*;

use super::form::FormContext;
use super::live::{self, Check};

/// One form field. The label's text is the field's accessible name, which
/// tests and screen readers rely on; the message is tied to the input with
/// `aria-describedby` and sits in a polite live region, so a message that
/// appears while typing is read out without moving the focus.
///
/// Inside a [`super::form::PortalForm`] the message follows the server's
/// answer to each submit; with a `check`, the browser runs the core's rule
/// for this field once the person pauses or leaves the field.
///
/// This is the island a server-rendered page places inside its
/// [`super::form::Form`]; inside another island, use [`FieldView`].
#[island]
pub fn Field(
    /// Element id, also the base of the error's id.
    #[prop(into)]
    id: String,
    /// Form field name.
    #[prop(into)]
    name: String,
    #[prop(into)] label: String,
    #[prop(optional, into)] kind: Option<String>,
    #[prop(into)] autocomplete: String,
    #[prop(optional_no_strip)] value: Option<String>,
    #[prop(optional_no_strip)] error: Option<String>,
    #[prop(optional)] required: Option<bool>,
    /// The rule checked while typing (hydrated pages only).
    #[prop(optional)]
    check: Option<Check>,
) -> impl IntoView {
    view! {
        <FieldView
            id=id
            name=name
            label=label
            kind=kind.unwrap_or_else(|| "text".to_owned())
            autocomplete=autocomplete
            value=value
            error=error
            required=required.unwrap_or(false)
            check=check
        />
    }
}

/// A [`Field`] drawn by an island's own view.
#[component]
pub fn FieldView(
    #[prop(into)] id: String,
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] kind: String,
    #[prop(into)] autocomplete: String,
    value: Option<String>,
    error: Option<String>,
    required: bool,
    check: Option<Check>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let message = RwSignal::new(error);
    if let Some(form) = use_context::<FormContext>() {
        // Each answer of the server replaces what the field said.
        let name = name.clone();
        Effect::new(move |first: Option<()>| {
            let error = form.feedback.with(|f| f.error(&name));
            if first.is_some() {
                message.set(error);
            }
        });
    }
    let live = live::Live::new(check, message);
    let invalid = move || message.with(Option::is_some).then_some("true");
    let described_by = {
        let error_id = error_id.clone();
        move || message.with(Option::is_some).then(|| error_id.clone())
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                required=required
                aria-invalid=invalid
                aria-describedby=described_by
                on:input=move |ev| live.input(&ev)
                on:blur=move |ev| live.blur(&ev)
            />
            <p class="field-error" id=error_id aria-live="polite">
                {move || message.get()}
            </p>
        </div>
    }
}

/// The server's message for a field drawn without [`Field`] (a select,
/// a group of checkboxes), following each answer inside a
/// [`super::form::Form`].
#[island]
pub fn FieldMessage(#[prop(into)] name: String) -> impl IntoView {
    view! { <FieldMessageView name=name /> }
}

/// A [`FieldMessage`] drawn by an island's own view.
#[component]
pub fn FieldMessageView(#[prop(into)] name: String) -> impl IntoView {
    let form = use_context::<FormContext>();
    let id = format!("{name}-error");
    let message = move || form.and_then(|f| f.feedback.with(|fb| fb.error(&name)));
    view! {
        <p class="field-error" id=id aria-live="polite">
            {message}
        </p>
    }
}

/// The hidden CSRF field every state-changing form carries.
#[component]
pub fn CsrfField(token: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf_token" value=token /> }
}
