//! `/device/`: a person signs in a device (a TV, a command-line program)
//! by typing the code it shows (RFC 8628). Three steps on one path: enter
//! the code; confirm the app and what it may do; the outcome.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::actions::{Device, Done};
use crate::components::field::{CsrfField, FieldView};
use crate::components::form::{PortalForm, Submit};
use crate::paths::{DEVICE, LOGIN};
use crate::state::{use_portal_state, DeviceView, FormFeedback};

#[component]
pub fn DevicePage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map().get_untracked();
    if state.user.is_none() {
        let to = format!("{LOGIN}?next={DEVICE}");
        return view! { <Redirect path=to /> }.into_any();
    }
    if state.device.is_none() {
        match query.get("result").as_deref() {
            Some("approved") => {
                return view! {
                    <PageTitle text="Device connected · Gatehouse" />
                    <section class="card">
                        <h1>"Your device is connected"</h1>
                        <p role="status">"You can close this page and return to your device."</p>
                    </section>
                }
                .into_any();
            }
            Some("denied") => {
                return view! {
                    <PageTitle text="Device refused · Gatehouse" />
                    <section class="card">
                        <h1>"Access denied"</h1>
                        <p role="status">
                            "The device was not given access to your account. You can close this page."
                        </p>
                    </section>
                }
                .into_any();
            }
            _ => {}
        }
    }
    let feedback = state.feedback.for_form("device");
    let typed = feedback
        .value("user_code")
        .or_else(|| query.get("user_code"));
    view! {
        <PageTitle text="Connect a device · Gatehouse" />
        <DeviceSteps
            csrf=state.csrf_token.clone()
            device=state.device.clone()
            feedback=feedback
            decision=state.feedback.for_form("device-decision")
            typed=typed
        />
    }
    .into_any()
}

/// Entering the code, then confirming: once hydrated, the entered code's
/// device sign-in comes back in place.
#[island]
fn DeviceSteps(
    csrf: String,
    device: Option<DeviceView>,
    feedback: FormFeedback,
    decision: FormFeedback,
    typed: Option<String>,
) -> impl IntoView {
    let confirming = RwSignal::new(device);
    let call = <Device as ServerFn>::PATH;
    let on_found = Callback::new(move |done: Done| {
        if done.device.is_some() {
            confirming.set(done.device);
        }
    });
    move || {
        if let Some(device) = confirming.get() {
            let (csrf, code) = (csrf.clone(), device.user_code.clone());
            return view! {
                <section class="card consent">
                    <h1>
                        "Allow " <strong>{device.app_name.clone()}</strong>
                        " on your device to use your account?"
                    </h1>
                    <p>
                        "Check that your device shows the code "
                        <strong class="user-code">{device.user_code.clone()}</strong>
                        ". If you did not start this sign-in yourself, choose Deny."
                    </p>
                    <p>{device.app_name.clone()} " will be able to:"</p>
                    <ul class="scopes">
                        {device
                            .scopes
                            .iter()
                            .map(|s| view! { <li data-scope=s.name.clone()>{s.description.clone()}</li> })
                            .collect_view()}
                    </ul>
                    <PortalForm
                        to=DEVICE
                        call=call
                        feedback=decision.clone()
                        class=Some("decision".into())
                    >
                        <CsrfField token=csrf />
                        <input type="hidden" name="user_code" value=code />
                        <Submit label="Allow" name=Some("decision".into()) value=Some("allow".into()) />
                        <Submit
                            label="Deny"
                            name=Some("decision".into())
                            value=Some("deny".into())
                            class=Some("secondary".into())
                        />
                    </PortalForm>
                </section>
            }
            .into_any();
        }
        let (csrf, feedback, typed) = (csrf.clone(), feedback.clone(), typed.clone());
        view! {
            <section class="card">
                <h1>"Connect a device"</h1>
                <p>"Enter the code your device or program shows you."</p>
                <PortalForm to=DEVICE call=call feedback=feedback.clone() on_done=on_found>
                    <CsrfField token=csrf />
                    <FieldView
                        id="user_code"
                        name="user_code"
                        label="Code"
                        kind="text"
                        autocomplete="one-time-code"
                        value=typed
                        error=feedback.error("user_code")
                        required=true
                        check=None
                    />
                    <Submit label="Continue" />
                </PortalForm>
            </section>
        }
        .into_any()
    }
}
