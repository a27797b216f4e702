//! Interoperability: a third-party OAuth client library (the `oauth2`
//! crate, as a Rust client app would use it) drives the full code + PKCE
//! flow, refresh and introspection against the real server (revocation:
//! see below).
//! Only the person's part (signing in, clicking Allow) is done by hand.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;

use crate::support::{TestServer, REDIRECT_URI};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth2_crate_runs_code_pkce_refresh_introspect_revoke() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|_| {}).await;
    let browser = server.signed_up("grace", "correct horse battery").await;

    let secret_text = secret.unwrap();
    let client = BasicClient::new(ClientId::new(id))
        .set_client_secret(ClientSecret::new(secret_text.clone()))
        .set_auth_uri(AuthUrl::new(server.url("/o/authorize/")).unwrap())
        .set_token_uri(TokenUrl::new(server.url("/o/token/")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap())
        .set_introspection_url(IntrospectionUrl::new(server.url("/o/introspect/")).unwrap())
        .set_revocation_url(RevocationUrl::new(server.url("/o/revoke_token/")).unwrap());
    // As the library advises: an HTTP client that does not follow redirects.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The person: opens the URL, sees the consent page, allows.
    let params = browser.consent(&auth_url).await;
    assert_eq!(params["state"], *csrf.secret());

    // The app: exchanges the code with its PKCE verifier.
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let scopes: Vec<String> = tokens
        .scopes()
        .expect("scope in the response")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["read", "write"]);
    assert!(tokens.expires_in().is_some());

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );

    let info = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(info.active());
    assert_eq!(info.username(), Some("grace"));

    // The library refuses to send revocations to a non-https endpoint
    // (ConfigurationError::InsecureUrl) and the test server speaks plain
    // HTTP on 127.0.0.1, so this one request is made by hand, exactly as
    // the library would (RFC 7009, client_secret_basic).
    let refused = client.revoke_token(StandardRevocableToken::AccessToken(
        refreshed.access_token().clone(),
    ));
    assert!(matches!(
        refused,
        Err(oauth2::ConfigurationError::InsecureUrl(_))
    ));
    let revoked = http
        .post(server.url("/o/revoke_token/"))
        .basic_auth(client.client_id().as_str(), Some(&secret_text))
        .form(&[
            ("token", refreshed.access_token().secret().as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let after = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(!after.active());
}
