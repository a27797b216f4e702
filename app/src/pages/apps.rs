//! The developer portal: `/o/applications/` (your apps),
//! `/o/applications/register/` and `/o/applications/<id>/` (details, edit,
//! rotate the secret, delete, try the flow). The server loads the data into
//! the page state before rendering; links between these pages are full
//! page loads (`rel="external"`) so each page gets its data.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Redirect;

use crate::actions::{AppForm, ChangeApp, Done};
use crate::components::browser_try::BrowserTry;
use crate::components::field::{CsrfField, Field, FieldMessage, FieldMessageView, FieldView};
use crate::components::form::{Form, FormContext, PortalForm, Submit, SubmitButton};
use crate::components::live::{Check, Live};
use crate::paths::{application, APPLICATIONS, GRANT_TYPES, LOGIN, REGISTER_APP};
use crate::state::{use_portal_state, AppView, FormFeedback, TryItView};

#[component]
pub fn AppsPage() -> impl IntoView {
    let state = use_portal_state();
    if state.user.is_none() {
        let to = format!("{LOGIN}?next={APPLICATIONS}");
        return view! { <Redirect path=to /> }.into_any();
    }
    let apps = state.apps.clone().unwrap_or_default();
    view! {
        <PageTitle text="Your applications · Gatehouse" />
        <section class="card wide">
            <h1>"Your applications"</h1>
            <p>
                <a href=REGISTER_APP rel="external">
                    "Register a new application"
                </a>
            </p>
            {if apps.is_empty() {
                view! { <p class="aside">"You have not registered any applications yet."</p> }
                    .into_any()
            } else {
                view! {
                    <ul class="app-list">
                        {apps
                            .into_iter()
                            .map(|a| {
                                view! {
                                    <li>
                                        <a href=application(a.id) rel="external">
                                            {a.name.clone()}
                                        </a>
                                        " "
                                        <span class="aside">
                                            {a.client_type.clone()} " · " <code>{a.client_id.clone()}</code>
                                        </span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
    .into_any()
}

/// A multi-line field (one value per line) with its error; once hydrated,
/// each line is checked against the core's rule while typing.
#[island]
fn LinesField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(into)] hint: String,
    value: String,
    error: Option<String>,
    check: Check,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let message = RwSignal::new(error);
    if let Some(form) = use_context::<FormContext>() {
        // Each answer of the server replaces what the field said.
        let name = id.clone();
        Effect::new(move |first: Option<()>| {
            let error = form.feedback.with(|f| f.error(&name));
            if first.is_some() {
                message.set(error);
            }
        });
    }
    let live = Live::new(Some(check), message);
    let described = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || match message.with(Option::is_some) {
            true => format!("{hint_id} {error_id}"),
            false => hint_id.clone(),
        }
    };
    let invalid = move || message.with(Option::is_some).then_some("true");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <textarea
                id=id.clone()
                name=id
                rows="3"
                aria-describedby=described
                aria-invalid=invalid
                on:input=move |ev| live.input(&ev)
                on:blur=move |ev| live.blur(&ev)
            >
                {value}
            </textarea>
            <p class="hint" id=hint_id>
                {hint}
            </p>
            <p class="field-error" id=error_id aria-live="polite">
                {move || message.get()}
            </p>
        </div>
    }
}

/// The fields of an app, for registering (with the client type) or
/// editing (without: the type decides whether there is a secret).
#[component]
fn AppFields(
    feedback: FormFeedback,
    current: Option<AppView>,
    with_client_type: bool,
    staff: bool,
) -> impl IntoView {
    // After a refused post, what was typed; else the app as stored.
    let refused = !feedback.values.is_empty();
    let value = |field: &str, stored: String| {
        if refused {
            feedback.value(field).unwrap_or_default()
        } else {
            stored
        }
    };
    let current = current.unwrap_or_default();
    let name = value("name", current.name.clone());
    let client_type = value("client_type", current.client_type.clone());
    let grants: Vec<String> = if refused {
        feedback
            .value("grant_types")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    } else if current.grant_types.is_empty() {
        vec!["authorization_code".into(), "refresh_token".into()]
    } else {
        current.grant_types.clone()
    };
    let redirects = value("redirect_uris", current.redirect_uris.join("\n"));
    let post_logout = value(
        "post_logout_redirect_uris",
        current.post_logout_redirect_uris.join("\n"),
    );
    let origins = value("allowed_origins", current.allowed_origins.join("\n"));
    // Plain-http URIs an import kept: the server accepts them again.
    let redirect_check = Check::RedirectUris {
        kept: current.plain_http_redirect_uris.clone(),
    };
    let logout_check = Check::RedirectUris { kept: Vec::new() };
    let algorithm = value("algorithm", current.algorithm.clone());
    let skip_consent = if refused {
        feedback.value("skip_consent").is_some_and(|v| v == "on")
    } else {
        current.skip_consent
    };
    view! {
        <Field
            id="name"
            name="name"
            label="Name"
            autocomplete="off"
            value=Some(name)
            error=feedback.error("name")
            required=true
        />
        {with_client_type
            .then(|| {
                let confidential = client_type != "public";
                view! {
                    <div class="field">
                        <label for="client_type">"Client type"</label>
                        <select
                            id="client_type"
                            name="client_type"
                            aria-describedby="client_type-hint"
                        >
                            <option value="confidential" selected=confidential>
                                "Confidential (a server that can keep a secret)"
                            </option>
                            <option value="public" selected=!confidential>
                                "Public (browser, desktop or command-line app: no secret)"
                            </option>
                        </select>
                        <p class="hint" id="client_type-hint">
                            "Public apps prove themselves with PKCE instead of a secret."
                        </p>
                        <FieldMessage name="client_type" />
                    </div>
                }
            })}
        <fieldset class="field grant-types">
            <legend>"Grant types"</legend>
            {GRANT_TYPES
                .iter()
                .map(|(wire, title, about)| {
                    let id = format!("grant_{wire}");
                    let checked = grants.iter().any(|g| g == wire);
                    view! {
                        <div class="check">
                            <input type="checkbox" id=id.clone() name="grant_types" value=*wire checked=checked />
                            <label for=id>{*title} <span class="hint">" — " {*about}</span></label>
                        </div>
                    }
                })
                .collect_view()}
            <FieldMessage name="grant_types" />
        </fieldset>
        <LinesField
            id="redirect_uris"
            label="Redirect URIs"
            hint="One per line. https, or http on 127.0.0.1/localhost (any port), or an app scheme like com.example.app:/callback."
            value=redirects
            error=feedback.error("redirect_uris")
            check=redirect_check
        />
        <LinesField
            id="post_logout_redirect_uris"
            label="Post-logout redirect URIs"
            hint="One per line: where /o/logout/ may send people after signing out."
            value=post_logout
            error=feedback.error("post_logout_redirect_uris")
            check=logout_check
        />
        <LinesField
            id="allowed_origins"
            label="Allowed origins"
            hint="One per line, like https://app.example.org: web pages that may call the token endpoints (CORS)."
            value=origins
            error=feedback.error("allowed_origins")
            check=Check::Origins
        />
        <div class="field">
            <label for="algorithm">"Signing algorithm"</label>
            <select id="algorithm" name="algorithm">
                {["RS256", "ES256", "EdDSA"]
                    .into_iter()
                    .map(|alg| {
                        let selected = algorithm == alg || (algorithm.is_empty() && alg == "RS256");
                        view! { <option value=alg selected=selected>{alg}</option> }
                    })
                    .collect_view()}
            </select>
            <FieldMessage name="algorithm" />
        </div>
        {staff
            .then(|| {
                view! {
                    <div class="field check">
                        <input type="checkbox" id="skip_consent" name="skip_consent" checked=skip_consent />
                        <label for="skip_consent">
                            "Skip consent" <span class="hint">" — the institute's own apps: never ask people to allow them"</span>
                        </label>
                    </div>
                }
            })}
    }
}

#[component]
pub fn RegisterAppPage() -> impl IntoView {
    let state = use_portal_state();
    let Some(user) = state.user.clone() else {
        let to = format!("{LOGIN}?next={REGISTER_APP}");
        return view! { <Redirect path=to /> }.into_any();
    };
    let feedback = state.feedback.for_form("app");
    let call = <ChangeApp as ServerFn>::PATH;
    view! {
        <PageTitle text="Register an application · Gatehouse" />
        <section class="card wide">
            <h1>"Register an application"</h1>
            <Form
                to=REGISTER_APP
                call=call
                feedback=feedback.clone()
                repeated=repeated()
            >
                <CsrfField token=state.csrf_token.clone() />
                <input type="hidden" name="action" value="register" />
                <AppFields feedback=feedback current=None with_client_type=true staff=user.is_staff />
                <SubmitButton label="Register" />
            </Form>
        </section>
    }
    .into_any()
}

/// The fields whose values repeat in the app forms, as [`Form`] takes them.
fn repeated() -> Vec<String> {
    AppForm::REPEATED.iter().map(|s| (*s).to_owned()).collect()
}

/// A value with a button that copies it (once hydrated; without
/// JavaScript the read-only field can be selected and copied by hand).
/// The button's accessible name says which value it copies; "Copied" is
/// announced only once the clipboard took the value.
#[island]
fn Copyable(#[prop(into)] id: String, #[prop(into)] label: String, value: String) -> impl IntoView {
    view! { <CopyableView id=id label=label value=value /> }
}

/// A [`Copyable`] drawn by an island's own view.
#[component]
fn CopyableView(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: String,
) -> impl IntoView {
    let status = RwSignal::new(None::<&'static str>);
    let text = value.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let written = window().navigator().clipboard().write_text(&text);
            leptos::task::spawn_local(async move {
                let said = match wasm_bindgen_futures::JsFuture::from(written).await {
                    Ok(_) => "Copied",
                    Err(_) => "Could not copy: select the text and copy it yourself.",
                };
                status.set(Some(said));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    let button_label = format!("Copy {label}");
    view! {
        <div class="field copyable">
            <label for=id.clone()>{label}</label>
            <div class="copy-row">
                <input id=id type="text" readonly value=value />
                <button type="button" class="secondary" aria-label=button_label on:click=copy>
                    "Copy"
                </button>
                <span class="copy-status" role="status">
                    {move || status.get()}
                </span>
            </div>
        </div>
    }
}

fn lines(items: &[String]) -> AnyView {
    if items.is_empty() {
        view! { <span class="aside">"none"</span> }.into_any()
    } else {
        view! {
            <ul class="plain">
                {items.iter().map(|i| view! { <li><code>{i.clone()}</code></li> }).collect_view()}
            </ul>
        }
        .into_any()
    }
}

#[component]
pub fn AppDetailPage() -> impl IntoView {
    let state = use_portal_state();
    let Some(user) = state.user.clone() else {
        let to = format!("{LOGIN}?next={APPLICATIONS}");
        return view! { <Redirect path=to /> }.into_any();
    };
    let Some(page) = state.app.clone() else {
        return view! {
            <PageTitle text="Not found · Gatehouse" />
            <section class="card">
                <h1>"Application not found"</h1>
                <p><a href=APPLICATIONS rel="external">"Your applications"</a></p>
            </section>
        }
        .into_any();
    };
    let app = page.app.clone();
    let action = application(app.id);
    let csrf = StoredValue::new(state.csrf_token.clone());
    let id = app.id;
    let playground_uri = StoredValue::new(page.playground_uri.clone());
    let current = app.clone();
    let edit = state.feedback.for_form("app");
    let try_feedback = state.feedback.for_form("try");
    let call = <ChangeApp as ServerFn>::PATH;
    let confidential = app.client_type == "confidential";
    let has_playground = app.redirect_uris.contains(&page.playground_uri);
    let title = format!("{} · Gatehouse", app.name);
    view! {
        <PageTitle text=title />
        <p><a href=APPLICATIONS rel="external">"← Your applications"</a></p>
        {page
            .secret
            .clone()
            .map(|secret| {
                view! {
                    <section class="card notice-secret" role="status">
                        <h2>"Client secret"</h2>
                        <p>
                            <strong>"Copy it now: it will not be shown again."</strong>
                            " Gatehouse keeps only a hash of it. If you lose it, rotate the secret."
                        </p>
                        <Copyable id="client_secret" label="Client secret" value=secret />
                    </section>
                }
            })}
        <section class="card wide">
            <h1>{app.name.clone()}</h1>
            <Copyable id="client_id" label="Client ID" value=app.client_id.clone() />
            <dl class="details">
                <dt>"Client type"</dt>
                <dd>{app.client_type.clone()}</dd>
                <dt>"Grant types"</dt>
                <dd>{app.grant_types.join(", ")}</dd>
                <dt>"Redirect URIs"</dt>
                <dd>{lines(&app.redirect_uris)}</dd>
                <dt>"Post-logout redirect URIs"</dt>
                <dd>{lines(&app.post_logout_redirect_uris)}</dd>
                <dt>"Allowed origins"</dt>
                <dd>{lines(&app.allowed_origins)}</dd>
                <dt>"Scopes"</dt>
                <dd>{app.scopes.clone()}</dd>
                <dt>"Signing algorithm"</dt>
                <dd>{app.algorithm.clone()}</dd>
                <dt>"Registered"</dt>
                <dd>{app.created.clone()}</dd>
            </dl>
            {app
                .weak_secret
                .then(|| {
                    view! {
                        <p class="notice notice-warning" id="weak-secret">
                            <strong>"Weak client secret."</strong>
                            " This app's secret is shorter than 32 characters (it was imported or chosen by an operator). "
                            "Rotate it below as soon as its client can take a new one."
                        </p>
                    }
                })}
            {(!app.plain_http_redirect_uris.is_empty())
                .then(|| {
                    view! {
                        <div class="notice notice-warning" id="plain-http">
                            <p>
                                <strong>"Plain-http redirect URIs."</strong>
                                " These were kept from an import: codes sent to them cross the network unencrypted. "
                                "Move the client to https; once removed, they cannot be added again."
                            </p>
                            {lines(&app.plain_http_redirect_uris)}
                        </div>
                    }
                })}
        </section>

        <section class="card wide try-it">
            <h2>"Try it"</h2>
            <p>
                "Build an authorization request (code flow with PKCE S256) for one of the redirect URIs. "
                "With Gatehouse's playground callback as redirect URI, the playground finishes the exchange "
                "and shows the tokens, the id_token's claims and the userinfo answer."
            </p>
            {(!has_playground)
                .then(|| {
                    view! {
                        <Form to=action.clone() call=call feedback=FormFeedback::default() class="inline-form">
                            <CsrfField token=csrf.get_value() />
                            <input type="hidden" name="app_id" value=id.to_string() />
                            <input type="hidden" name="action" value="add_playground" />
                            <SubmitButton label="Add playground callback" class="secondary" />
                            <span class="hint">
                                " adds " <code>{playground_uri.get_value()}</code>
                                {(!confidential).then_some(" and Gatehouse's own origin to the allowed origins")}
                            </span>
                        </Form>
                    }
                })}
            {if app.redirect_uris.is_empty() {
                view! { <p class="aside">"This app has no redirect URIs."</p> }.into_any()
            } else {
                let scope = try_feedback.value("scope").unwrap_or_else(|| app.scopes.clone());
                view! {
                    <TryPanel
                        to=action.clone()
                        app_id=id
                        csrf=csrf.get_value()
                        uris=app.redirect_uris.clone()
                        playground=page.playground_uri.clone()
                        scope=scope
                        feedback=try_feedback.clone()
                        try_it=page.try_it.clone()
                    />
                }
                    .into_any()
            }}
            {(!confidential && has_playground)
                .then(|| {
                    view! {
                        <BrowserTry
                            app_id=app.id
                            client_id=app.client_id.clone()
                            redirect_uri=page.playground_uri.clone()
                            allowed_origins=app.allowed_origins.clone()
                        />
                    }
                })}
        </section>

        <section class="card wide">
            <h2>"Edit"</h2>
            <Form to=action.clone() call=call feedback=edit.clone() repeated=repeated()>
                <CsrfField token=csrf.get_value() />
                <input type="hidden" name="app_id" value=id.to_string() />
                <input type="hidden" name="action" value="edit" />
                <AppFields feedback=edit current=Some(current) with_client_type=false staff=user.is_staff />
                <SubmitButton label="Save" />
            </Form>
        </section>

        {confidential
            .then(|| {
                view! {
                    <section class="card wide">
                        <h2>"Rotate secret"</h2>
                        <p>"Issues a new client secret. The current one stops working at once."</p>
                        <Form to=action.clone() call=call feedback=FormFeedback::default()>
                            <CsrfField token=csrf.get_value() />
                            <input type="hidden" name="app_id" value=id.to_string() />
                            <input type="hidden" name="action" value="rotate" />
                            <SubmitButton label="Rotate secret" />
                        </Form>
                    </section>
                }
            })}

        <section class="card wide danger">
            <h2>"Delete application"</h2>
            <p>"Removes the application and revokes every token issued to it. It cannot be undone."</p>
            <Form to=action call=call feedback=state.feedback.for_form("delete")>
                <CsrfField token=csrf.get_value() />
                <input type="hidden" name="app_id" value=id.to_string() />
                <input type="hidden" name="action" value="delete" />
                <div class="field check">
                    <input type="checkbox" id="confirm_delete" name="confirm" value="yes" required=true />
                    <label for="confirm_delete">"Yes, delete this application and revoke its tokens"</label>
                </div>
                <SubmitButton label="Delete application" class="danger" />
            </Form>
        </section>
    }
    .into_any()
}

/// The Try-it panel's request builder: the authorization URL and its
/// PKCE verifier appear in place once hydrated.
#[island]
fn TryPanel(
    /// The app's page.
    to: String,
    app_id: i64,
    csrf: String,
    uris: Vec<String>,
    /// Gatehouse's own callback, chosen first when registered.
    playground: String,
    scope: String,
    feedback: FormFeedback,
    try_it: Option<TryItView>,
) -> impl IntoView {
    let try_it = RwSignal::new(try_it);
    let call = <ChangeApp as ServerFn>::PATH;
    let scope_error = feedback.error("scope");
    let on_try = Callback::new(move |done: Done| try_it.set(done.try_it));
    view! {
        <PortalForm to=to call=call feedback=feedback on_done=on_try>
            <CsrfField token=csrf />
            <input type="hidden" name="app_id" value=app_id.to_string() />
            <input type="hidden" name="action" value="try" />
            <div class="field">
                <label for="try_redirect_uri">"Redirect URI"</label>
                <select id="try_redirect_uri" name="redirect_uri">
                    {uris
                        .into_iter()
                        .map(|u| {
                            let selected = u == playground;
                            view! { <option value=u.clone() selected=selected>{u.clone()}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldMessageView name="redirect_uri" />
            </div>
            <FieldView
                id="try_scope"
                name="scope"
                label="Scope"
                kind="text"
                autocomplete="off"
                value=Some(scope)
                error=scope_error
                required=false
                check=None
            />
            <Submit label="Build authorization URL" />
        </PortalForm>
        {move || {
            try_it
                .get()
                .map(|t| {
                    view! {
                        <div class="try-result">
                            <p>
                                <a href=t.authorize_url.clone() rel="external">
                                    "Open the authorization URL"
                                </a>
                            </p>
                            <CopyableView id="authorize_url" label="Authorization URL" value=t.authorize_url />
                            <CopyableView id="code_verifier" label="PKCE code verifier" value=t.code_verifier />
                        </div>
                    }
                })
        }}
    }
}
