//! Forms that work without JavaScript and do more with it.
//!
//! A [`PortalForm`] is a plain `<form method="post">` whose `action` is its
//! page's own URL: with JavaScript off the browser posts it there and the
//! server answers with a redirect or the page again, errors beside the
//! fields. Once hydrated, submitting calls the form's server function
//! instead (same fields, same checks on the server) and shows the answer
//! in place: the button waits, errors appear beside the fields, a success
//! loads the next page or is announced where the person is.

use leptos::prelude::*;

use crate::actions::{ActionError, Done};
use crate::state::{FormFeedback, UserView};

/// What a [`PortalForm`] tells the fields and buttons inside it.
#[derive(Clone, Copy)]
pub struct FormContext {
    /// The server's last word on this form.
    pub feedback: RwSignal<FormFeedback>,
    /// A call of the server function is on its way.
    pub pending: Signal<bool>,
}

#[component]
pub fn PortalForm(
    /// Where the browser posts the form without JavaScript: the page's URL.
    #[prop(into)]
    to: String,
    /// The form's server function (its `PATH`, e.g. `SignIn::PATH`): the
    /// hydrated page posts the same fields there. One implementation for
    /// every form keeps the browser bundle small.
    #[prop(into)]
    call: String,
    /// What the server said about this form's last post without
    /// JavaScript (empty on a first visit).
    feedback: FormFeedback,
    #[prop(optional_no_strip)] class: Option<String>,
    /// Clear the fields after a success that stays on the page (passwords).
    #[prop(optional)]
    reset_on_done: bool,
    /// Fields whose values repeat (checkboxes): sent as one value, joined
    /// with spaces, as the server's form reader joins them.
    #[prop(optional)]
    repeated: Vec<String>,
    /// Called with a success that stays on the page; without it, the
    /// success's message is shown at the top of the form.
    #[prop(optional)]
    on_done: Option<Callback<Done>>,
    children: Children,
) -> impl IntoView {
    let form_name = feedback.form.clone();
    let state = RwSignal::new(feedback);
    let done_message = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let form_ref = NodeRef::<leptos::html::Form>::new();
    provide_context(FormContext {
        feedback: state,
        pending: pending.into(),
    });

    // The answer of a call: in place, or the next page.
    let answer = move |result: Result<Done, ActionError>| match result {
        Ok(done) => {
            state.set(FormFeedback {
                form: form_name.clone(),
                ..Default::default()
            });
            if let Some(location) = &done.location {
                go_to(location);
                return;
            }
            if let Some(view) = &done.user {
                show_user(view);
            }
            if reset_on_done {
                reset(form_ref);
            }
            match on_done {
                Some(callback) => callback.run(done),
                None => done_message.set(done.message.clone()),
            }
        }
        Err(ActionError::SignIn { location }) => go_to(&location),
        Err(error) => {
            done_message.set(None);
            state.set(error.feedback(&form_name));
            // As after the page load without JavaScript: what was typed
            // stays, except passwords.
            clear_passwords(form_ref);
            focus_first_invalid(form_ref);
        }
    };

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        if pending.get_untracked() {
            // One call at a time: a second click waits for the first.
            ev.prevent_default();
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            // A form that cannot be read is posted the old way.
            let Some(body) = super::call::form_body(&ev, &repeated) else {
                return;
            };
            ev.prevent_default();
            done_message.set(None);
            pending.set(true);
            let answer = answer.clone();
            let call = call.clone();
            leptos::task::spawn_local(async move {
                let result = super::call::post::<Done>(&call, body).await;
                let leaving = matches!(
                    &result,
                    Ok(Done {
                        location: Some(_),
                        ..
                    }) | Err(ActionError::SignIn { .. })
                );
                if leaving {
                    // The next page is loading: the button stays disabled
                    // so a second click cannot post again (a second app, a
                    // second sign-up) before it arrives, unless the
                    // browser brings this page back (Back, from its cache).
                    let _ = window_event_listener_untyped("pageshow", move |_| {
                        let _ = pending.try_set(false);
                    });
                } else {
                    pending.set(false);
                }
                answer(result);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&answer, &call, &repeated);
    };

    let error = move || {
        state
            .with(|f| f.message.clone())
            .map(|m| view! { <p class="notice notice-error" role="alert">{m}</p> })
    };
    let success = move || {
        done_message
            .get()
            .map(|m| view! { <p class="notice notice-info" role="status">{m}</p> })
    };
    view! {
        <form
            method="post"
            action=to
            class=class
            novalidate
            node_ref=form_ref
            on:submit=on_submit
            aria-busy=move || pending.get().then_some("true")
        >
            {error}
            {success}
            {children()}
        </form>
    }
}

/// A [`PortalForm`] on a server-rendered page: the island the browser
/// hydrates, with the fields (themselves islands where they check or
/// show messages) passed through as its children.
#[island]
pub fn Form(
    /// The page's URL, where the form posts without JavaScript.
    #[prop(into)]
    to: String,
    /// The server function's path.
    #[prop(into)]
    call: String,
    feedback: FormFeedback,
    #[prop(optional, into)] class: Option<String>,
    /// Clear the fields after a success that stays on the page.
    #[prop(optional)]
    reset_on_done: Option<bool>,
    /// Names of repeated fields (checkboxes).
    #[prop(optional)]
    repeated: Option<Vec<String>>,
    children: Children,
) -> impl IntoView {
    view! {
        <PortalForm
            to=to
            call=call
            feedback=feedback
            class=class
            reset_on_done=reset_on_done.unwrap_or(false)
            repeated=repeated.unwrap_or_default()
        >
            {children()}
        </PortalForm>
    }
}

/// The submit button of a [`Form`] on a server-rendered page.
#[island]
pub fn SubmitButton(
    #[prop(into)] label: String,
    #[prop(optional, into)] class: Option<String>,
    /// A fuller accessible name than the label (`Revoke Photo app`).
    #[prop(optional, into)]
    aria_label: Option<String>,
    /// Sent with the form when this button submits it (`decision=allow`).
    #[prop(optional, into)]
    name: Option<String>,
    #[prop(optional, into)] value: Option<String>,
) -> impl IntoView {
    view! { <Submit label=label class=class aria_label=aria_label name=name value=value /> }
}

/// The submit button of a [`PortalForm`]: disabled while its call is on
/// its way.
#[component]
pub fn Submit(
    #[prop(into)] label: String,
    #[prop(optional_no_strip)] class: Option<String>,
    /// A fuller accessible name than the label (`Revoke Photo app`).
    #[prop(optional_no_strip)]
    aria_label: Option<String>,
    /// Sent with the form when this button submits it (`decision=allow`).
    #[prop(optional_no_strip)]
    name: Option<String>,
    #[prop(optional_no_strip)] value: Option<String>,
) -> impl IntoView {
    let pending = use_context::<FormContext>().map(|c| c.pending);
    let busy = move || pending.is_some_and(|p| p.get());
    view! {
        <button
            type="submit"
            class=class
            aria-label=aria_label
            name=name
            value=value
            disabled=busy
        >
            {label}
        </button>
    }
}

/// Shows a renamed person in the site header (a saved profile). The
/// header is server-rendered, outside every island: its name is set
/// directly.
fn show_user(user: &UserView) {
    #[cfg(feature = "hydrate")]
    if let Ok(Some(name)) = document().query_selector(".whoami strong") {
        name.set_text_content(Some(&user.display_name()));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = user;
}

/// Loads `location` (a path of this site).
fn go_to(location: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(location);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = location;
}

/// Moves the focus to the first field the server marked, once drawn.
fn focus_first_invalid(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        let field = form
            .get_untracked()
            .and_then(|f| f.query_selector("[aria-invalid=\"true\"]").ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(field) = field {
            let _ = field.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

/// Empties the form's fields.
fn reset(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    if let Some(form) = form.get_untracked() {
        form.reset();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

/// Empties the form's password fields.
fn clear_passwords(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    if let Some(list) = form
        .get_untracked()
        .and_then(|f| f.query_selector_all("input[type=\"password\"]").ok())
    {
        use leptos::wasm_bindgen::JsCast;
        for i in 0..list.length() {
            if let Some(input) = list
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                input.set_value("");
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}
