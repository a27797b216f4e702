//! OAuth 2 over HTTP: the authorization endpoint and consent, every grant
//! at the token endpoint, client authentication, revocation,
//! introspection, the protected profile and CORS — with the negative cases
//! and the races the SPEC names.

use std::collections::HashMap;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{answer, assert_error, post, Answer, Browser, Page, TestServer, REDIRECT_URI};

mod authorize;
mod clients;
mod codes;
mod flow;
mod resources;

const PASSWORD: &str = "correct horse battery";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn params_of(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).expect("absolute location");
    url.query_pairs().into_owned().collect()
}

/// The usual authorization request of the tests: code + PKCE S256.
fn request<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "read write"),
        ("state", "st-123"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    pairs
}

async fn authorize(browser: &Browser, pairs: &[(&str, &str)]) -> Page {
    browser
        .get(&format!("/o/authorize/?{}", query(pairs)))
        .await
}

async fn decide(browser: &Browser, pairs: &[(&str, &str)], decision: &str) -> Page {
    let mut fields = pairs.to_vec();
    fields.push(("decision", decision));
    browser.post_form("/o/authorize/", &fields).await
}

/// Signs up, authorizes (consenting) and returns the code.
async fn code_for(server: &TestServer, browser: &Browser, client_id: &str) -> String {
    let pairs = request(client_id, &[]);
    let page = authorize(browser, &pairs).await;
    let page = if page.status == StatusCode::OK {
        decide(browser, &pairs, "allow").await
    } else {
        page
    };
    let location = page
        .location()
        .unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let params = params_of(location);
    assert_eq!(params.get("state").map(String::as_str), Some("st-123"));
    let _ = server;
    params["code"].clone()
}

async fn exchange(server: &TestServer, id: &str, secret: &str, code: &str) -> Answer {
    post(
        server,
        "/o/token/",
        Some((id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn introspect(server: &TestServer, id: &str, secret: &str, token: &str) -> Value {
    let a = post(
        server,
        "/o/introspect/",
        Some((id, secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json
}

async fn profile(server: &TestServer, token: &str) -> Answer {
    let r = reqwest::Client::new()
        .get(server.url("/profile/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    answer(r).await
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}
fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Sends the same form `n` times concurrently (one task each, released
/// together by a barrier) and collects the answers.
async fn all_at_once(
    server: &TestServer,
    path: &str,
    id: &str,
    secret: &str,
    form: Vec<(String, String)>,
    n: usize,
) -> Vec<Answer> {
    let client = reqwest::Client::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let request = client
                .post(server.url(path))
                .basic_auth(id, Some(secret))
                .form(&form);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                answer(request.send().await.unwrap()).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
