//! Calling a server function from the browser with gloo-net: the form's
//! fields url-encoded (as the server function's `PostUrl` input expects),
//! JSON back. One non-generic path for every form, rather than one
//! `ServerAction` per function, keeps the wasm bundle small.

use leptos::wasm_bindgen::JsCast;
use serde::de::DeserializeOwned;

use crate::actions::ActionError;

/// The submitted form's fields, with the button that submitted it (as a
/// browser would send them), url-encoded; the ticked values of each of
/// the `repeated` checkbox names joined into one, separated by spaces.
pub fn form_body(ev: &leptos::ev::SubmitEvent, repeated: &[String]) -> Option<String> {
    let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
    let data = web_sys::FormData::new_with_form(&form).ok()?;
    if let Some(button) = ev
        .submitter()
        .and_then(|s| s.dyn_into::<web_sys::HtmlButtonElement>().ok())
    {
        if !button.name().is_empty() {
            data.append_with_str(&button.name(), &button.value()).ok()?;
        }
    }
    let params = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok()?;
    for name in repeated {
        let ticked = form
            .query_selector_all(&format!("input[name=\"{name}\"]:checked"))
            .ok()?;
        let values: Vec<String> = (0..ticked.length())
            .filter_map(|i| ticked.item(i))
            .filter_map(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|input| input.value())
            .collect();
        params.set(name, &values.join(" "));
    }
    params.to_string().as_string()
}

/// Posts `body` to the server function at `path`; its JSON answer, or
/// the error it (or the network) gave.
pub async fn post<T: DeserializeOwned>(path: &str, body: String) -> Result<T, ActionError> {
    let failed = |message: &str| ActionError::Failed {
        message: message.to_owned(),
    };
    let unreachable = "Gatehouse could not be reached. Check your connection and try again.";
    let response = gloo_net::http::Request::post(path)
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .map_err(|_| failed(unreachable))?
        .send()
        .await
        .map_err(|_| failed(unreachable))?;
    if response.ok() {
        response
            .json::<T>()
            .await
            .map_err(|_| failed("Gatehouse sent an answer this page cannot read. Reload the page."))
    } else {
        Err(response.json::<ActionError>().await.unwrap_or_else(|_| {
            failed("Gatehouse could not complete this request. Please try again in a moment.")
        }))
    }
}
