//! The Try-it panel of a public app, run in the browser as a single-page
//! app would run it: the PKCE verifier and its S256 challenge are made
//! here (the core's code, compiled to wasm), the verifier waits in the
//! tab's `sessionStorage` while the person allows the app, and the
//! playground callback exchanges the code at the token endpoint with
//! `fetch` and then calls userinfo, showing each request and answer.
//!
//! The token endpoint answers a browser with CORS headers only for the
//! origins the app registered; the panel says when this page's origin is
//! not one of them, and the exchange shows the header it got.
//! Confidential apps keep the server-side exchange: their secret never
//! enters the browser. Without JavaScript the button stays disabled.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the tab keeps between the app's page and the callback.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub verifier: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub authorize_url: String,
}

/// The `sessionStorage` key of the pending request.
pub const STORAGE_KEY: &str = "gatehouse-try";

/// The panel's button, on a public app's page.
#[island]
pub fn BrowserTry(
    app_id: i64,
    client_id: String,
    /// The playground callback, one of the app's redirect URIs.
    redirect_uri: String,
    allowed_origins: Vec<String>,
) -> impl IntoView {
    let ready = RwSignal::new(false);
    let origin = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        origin.set(window().location().origin().ok());
        ready.set(true);
    });
    let problem = RwSignal::new(None::<String>);
    let start = move |_| {
        #[cfg(feature = "hydrate")]
        match begin(app_id, &client_id, &redirect_uri) {
            Ok(url) => {
                let _ = window().location().set_href(&url);
            }
            Err(message) => problem.set(Some(message)),
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (app_id, &client_id, &redirect_uri);
    };
    let unregistered = move || {
        origin
            .get()
            .filter(|o| !allowed_origins.contains(o))
            .map(|o| {
                view! {
                    <p class="notice notice-warning" id="try-origin-warning">
                        "This page's origin, " <code>{o}</code>
                        ", is not among the app's allowed origins: a single-page app there would not be "
                        "allowed to read the token endpoint's answers."
                    </p>
                }
            })
    };
    view! {
        <div class="browser-try">
            <h3>"In this browser"</h3>
            <p>
                "As a single-page app would do it: the PKCE verifier is made in this tab and never "
                "leaves it; once you allow the app, the callback page exchanges the code at the token "
                "endpoint with fetch, then calls userinfo, and shows each request and answer."
            </p>
            {unregistered}
            <button type="button" id="try_in_browser" disabled=move || !ready.get() on:click=start>
                "Try it in this browser"
            </button>
            <p class="hint">{move || (!ready.get()).then_some("Needs JavaScript.")}</p>
            {move || {
                problem.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })
            }}
        </div>
    }
}

/// 32 random bytes from the browser's generator.
#[cfg(feature = "hydrate")]
fn random() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    window()
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes))
        .map_err(|_| "This browser cannot make random numbers.".to_owned())?;
    Ok(bytes)
}

/// Makes the verifier, challenge, state and nonce, keeps what the
/// callback needs, and gives the authorization URL.
#[cfg(feature = "hydrate")]
fn begin(app_id: i64, client_id: &str, redirect_uri: &str) -> Result<String, String> {
    use gatehouse::oauth::pkce;
    use leptos::wasm_bindgen::JsCast;

    let verifier = pkce::verifier(&random()?);
    let challenge = pkce::s256(&verifier);
    let state = format!(
        "{}{app_id}.{}",
        crate::state::BROWSER_TRY_STATE,
        &pkce::verifier(&random()?)[..22]
    );
    let nonce = pkce::verifier(&random()?)[..22].to_owned();
    let scope = document()
        .get_element_by_id("try_scope")
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "openid".to_owned());
    let params = web_sys::UrlSearchParams::new().map_err(|_| "No URLSearchParams.".to_owned())?;
    for (name, value) in [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope.trim()),
        ("state", &state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("nonce", &nonce),
    ] {
        params.append(name, value);
    }
    let query: String = params.to_string().into();
    let authorize_url = format!("{}?{query}", crate::paths::AUTHORIZE);
    let pending = Pending {
        state,
        verifier,
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        authorize_url: authorize_url.clone(),
    };
    let saved = serde_json::to_string(&pending).map_err(|e| e.to_string())?;
    window()
        .session_storage()
        .ok()
        .flatten()
        .and_then(|s| s.set_item(STORAGE_KEY, &saved).ok())
        .ok_or_else(|| "This browser does not keep session storage for this page.".to_owned())?;
    Ok(authorize_url)
}

/// One request the callback page made, and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub title: &'static str,
    pub request: String,
    pub response: String,
}

/// The callback's half: exchanges `code` for tokens and calls userinfo,
/// once hydrated.
#[island]
pub fn BrowserExchange(code: String, state: String) -> impl IntoView {
    let steps = RwSignal::new(Vec::<Step>::new());
    let userinfo = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let running = RwSignal::new(true);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let (code, state) = (code.clone(), state.clone());
            leptos::task::spawn_local(async move {
                if let Err(message) = exchange(code, state, steps, userinfo).await {
                    problem.set(Some(message));
                }
                running.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&code, &state);
    });
    view! {
        <div class="browser-exchange">
            <p class="hint">
                {move || {
                    running
                        .get()
                        .then_some("Exchanging the code in this browser (needs JavaScript)…")
                }}
            </p>
            <p class="notice notice-error" role="alert" hidden=move || problem.with(Option::is_none)>
                {move || problem.get()}
            </p>
            <ol class="exchange-log">
                {move || {
                    steps
                        .get()
                        .into_iter()
                        .map(|s| {
                            view! {
                                <li>
                                    <h2>{s.title}</h2>
                                    <pre class="request">{s.request}</pre>
                                    <pre class="response">{s.response}</pre>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
            {move || {
                userinfo.get().map(|u| view! { <h2>"userinfo"</h2><pre id="userinfo">{u}</pre> })
            }}
        </div>
    }
}

/// JSON re-indented (two spaces a level), or the text as it came when it
/// is not a JSON object or array. Only the layout changes: strings and
/// numbers are copied as they came, so no JSON value type (and its
/// number formatting) is needed in the bundle.
#[cfg_attr(not(any(feature = "hydrate", test)), allow(dead_code))]
fn pretty(text: &str) -> String {
    let text = text.trim();
    if !(text.starts_with('{') || text.starts_with('[')) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().unwrap_or(' '));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// The token endpoint's answer, as far as the exchange needs it.
#[cfg(feature = "hydrate")]
#[derive(Deserialize)]
struct Tokens {
    access_token: String,
}

/// A response as the log shows it: status, the CORS header, the body.
#[cfg(feature = "hydrate")]
async fn shown(response: gloo_net::http::Response) -> (u16, String, String) {
    let status = response.status();
    let cors = response
        .headers()
        .get("access-control-allow-origin")
        .unwrap_or_else(|| "(none)".to_owned());
    let body = response.text().await.unwrap_or_default();
    let text = format!(
        "HTTP {status}\nAccess-Control-Allow-Origin: {cors}\n\n{}",
        pretty(&body)
    );
    (status, text, body)
}

/// Sends `request`, adds it to the log as `title` (shown as `as_shown`)
/// with its answer, and gives the answer's status and body.
#[cfg(feature = "hydrate")]
async fn logged(
    steps: RwSignal<Vec<Step>>,
    title: &'static str,
    as_shown: String,
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<(u16, String), String> {
    let response = request
        .map_err(|_| format!("The {} could not be made.", title.to_lowercase()))?
        .send()
        .await
        .map_err(|_| "Gatehouse could not be reached from this page.".to_owned())?;
    let (status, text, raw) = shown(response).await;
    steps.update(|s| {
        s.push(Step {
            title,
            request: as_shown,
            response: text,
        })
    });
    Ok((status, raw))
}

#[cfg(feature = "hydrate")]
async fn exchange(
    code: String,
    state: String,
    steps: RwSignal<Vec<Step>>,
    userinfo: RwSignal<Option<String>>,
) -> Result<(), String> {
    use gatehouse::oauth::paths::{TOKEN, USERINFO};
    let storage = window().session_storage().ok().flatten();
    let pending = storage
        .as_ref()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .and_then(|saved| serde_json::from_str::<Pending>(&saved).ok())
        .ok_or("This tab holds no pending request: start again from the app's Try-it panel.")?;
    if pending.state != state {
        return Err(
            "The state does not match the request this tab started: this answer was not for it. \
             Start again from the app's Try-it panel."
                .to_owned(),
        );
    }
    // The verifier is spent, whatever happens next.
    if let Some(s) = &storage {
        let _ = s.remove_item(STORAGE_KEY);
    }
    let callback: String = window().location().search().unwrap_or_default();
    steps.update(|s| {
        s.push(Step {
            title: "Authorization request",
            request: format!("GET {}", pending.authorize_url),
            response: format!("Redirected back to the callback with {callback}"),
        })
    });

    let form = web_sys::UrlSearchParams::new().map_err(|_| "No URLSearchParams.".to_owned())?;
    for (name, value) in [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", pending.redirect_uri.as_str()),
        ("client_id", pending.client_id.as_str()),
        ("code_verifier", pending.verifier.as_str()),
    ] {
        form.append(name, value);
    }
    let body: String = form.to_string().into();
    let (status, raw) = logged(
        steps,
        "Token request",
        format!("POST {TOKEN}\nContent-Type: application/x-www-form-urlencoded\n\n{body}"),
        gloo_net::http::Request::post(TOKEN)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body.clone()),
    )
    .await?;
    if status != 200 {
        return Err("The token endpoint refused the code: see its answer below.".to_owned());
    }
    let access_token = serde_json::from_str::<Tokens>(&raw)
        .map(|t| t.access_token)
        .map_err(|_| "The token endpoint's answer holds no access_token.")?;

    let (status, raw) = logged(
        steps,
        "Userinfo request",
        format!("GET {USERINFO}\nAuthorization: Bearer {access_token}"),
        gloo_net::http::Request::get(USERINFO)
            .header("Authorization", &format!("Bearer {access_token}"))
            .header("Accept", "application/json")
            .build(),
    )
    .await?;
    if status == 200 {
        userinfo.set(Some(pretty(&raw)));
        Ok(())
    } else {
        Err("The userinfo endpoint refused the token: see its answer below.".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn json_is_reindented_and_copied_as_it_came() {
        let raw = r#"{"access_token":"a,b:{c}","expires_in":3600,"scope":"openid","nested":{"list":[1,2.50,{}],"empty":[]},"q":"say \"hi\""}"#;
        let shown = pretty(raw);
        assert_eq!(
            shown,
            "{\n  \"access_token\": \"a,b:{c}\",\n  \"expires_in\": 3600,\n  \"scope\": \"openid\",\n  \"nested\": {\n    \"list\": [\n      1,\n      2.50,\n      {}\n    ],\n    \"empty\": []\n  },\n  \"q\": \"say \\\"hi\\\"\"\n}"
        );
        // Whitespace outside strings goes; inside, it stays.
        assert_eq!(pretty("[ \"a b\" ,\n 1 ]"), "[\n  \"a b\",\n  1\n]");
        // Not JSON: as it came.
        assert_eq!(pretty("<html>oops</html>"), "<html>oops</html>");
    }
}
