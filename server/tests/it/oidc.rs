//! OpenID Connect interoperability: the `openidconnect` crate, configured
//! with nothing but the issuer URL and client credentials, discovers the
//! endpoints, runs code + PKCE, verifies the id_token against the JWKS
//! (signature, issuer, audience, nonce, at_hash), calls userinfo, refreshes,
//! and after a key rotation verifies both the old id_token and a new one
//! carrying the new `kid` — once for each signing algorithm.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::support::{TestServer, REDIRECT_URI};

async fn sign_in_with(alg: &'static str, expected: CoreJwsSigningAlgorithm) {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|f| f.algorithm = alg).await;
    let browser = server.signed_up("grace", "correct horse battery").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client_secret = secret.unwrap();
    let client = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(id),
        Some(ClientSecret::new(client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The person consents.
    let params = browser.consent(&auth_url).await;
    assert_eq!(params["state"], *csrf.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an id_token");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![expected.clone()]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("a valid id_token");
    assert_eq!(claims.issuer().as_str(), server.base);
    assert_eq!(claims.preferred_username().unwrap().as_str(), "grace");
    assert_eq!(claims.email().unwrap().as_str(), "grace@example.org");
    assert_ne!(claims.subject().as_str(), "grace");
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected_hash);

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint known")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().unwrap().as_str(), "grace@example.org");

    // A refresh brings a fresh id_token (no nonce), for the same subject.
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .expect("token endpoint known")
        .request_async(&http)
        .await
        .expect("refresh");
    let again = refreshed.id_token().expect("an id_token on refresh");
    let again_claims = again
        .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
        .expect("a valid refreshed id_token");
    assert_eq!(again_claims.subject(), claims.subject());

    // Rotate this algorithm's key and reload it, as `gatehouse keys rotate`
    // and the periodic reload do.
    let store = server.state.oauth.store().clone();
    let now = gatehouse_server::http::now();
    let rotated = gatehouse::oidc::keyring::rotate(
        &store,
        &[gatehouse::oauth::client::SigningAlgorithm::parse(alg).unwrap()],
        now,
        3900,
        &server.state.sealer,
    )
    .await
    .unwrap();
    let new_kid = rotated[0].1.clone();
    let ring = gatehouse::oidc::keyring::KeyRing::from_stored(
        &store.signing_keys(now).await.unwrap(),
        &server.state.sealer,
    )
    .unwrap();
    server.state.oauth.set_key_ring(ring);

    // A relying party that discovers again still verifies the old id_token…
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        provider,
        client.client_id().clone(),
        Some(ClientSecret::new(client_secret)),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());
    let fresh_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![expected.clone()]);
    id_token
        .claims(&fresh_verifier, &nonce)
        .expect("the old id_token still verifies");
    assert_ne!(kid_of(&id_token.to_string()), new_kid);

    // …and a new sign-in (consent already given) is signed with the new key.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let answered = browser
        .get(&format!(
            "{}?{}",
            auth_url.path(),
            auth_url.query().unwrap()
        ))
        .await;
    let back = url::Url::parse(answered.location().expect("no consent asked")).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let new_token = tokens.id_token().expect("an id_token");
    new_token
        .claims(&fresh_verifier, &nonce)
        .expect("a valid id_token");
    assert_eq!(kid_of(&new_token.to_string()), new_kid);
}

/// The `kid` in a compact JWS header.
fn kid_of(jws: &str) -> String {
    use base64::Engine as _;
    let header = jws.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openidconnect_relying_party_signs_in_with_rs256() {
    sign_in_with("RS256", CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openidconnect_relying_party_signs_in_with_es256() {
    sign_in_with("ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openidconnect_relying_party_signs_in_with_eddsa() {
    sign_in_with("EdDSA", CoreJwsSigningAlgorithm::EdDsa).await;
}

const BYE: &str = "http://127.0.0.1:9/bye";

/// Signs `browser` through a code flow with `openid`; returns the id_token.
async fn id_token_for(
    server: &TestServer,
    browser: &crate::support::Browser,
    id: &str,
    secret: &str,
) -> String {
    let verifier = "v".repeat(43);
    let challenge = gatehouse::oauth::pkce::s256(&verifier);
    let pairs = [
        ("response_type", "code"),
        ("client_id", id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut fields = pairs.to_vec();
    fields.push(("decision", "allow"));
    let allowed = browser.post_form("/o/authorize/", &fields).await;
    let back = url::Url::parse(allowed.location().expect("redirected")).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = reqwest::Client::new()
        .post(server.url("/o/token/"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().expect("id_token").to_owned()
}

fn logout_url(pairs: &[(&str, &str)]) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/o/logout/?{q}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_initiated_logout_with_a_matching_hint_signs_out_and_returns() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| f.post_logout_redirect_uris = vec![BYE])
        .await;
    let secret = secret.unwrap();
    let browser = server.signed_up("grace", "correct horse battery").await;
    let hint = id_token_for(&server, &browser, &id, &secret).await;

    let out = browser
        .get(&logout_url(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "s-9"),
        ]))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert_eq!(out.location(), Some("http://127.0.0.1:9/bye?state=s-9"));
    assert!(!browser.is_signed_in().await);

    let discovery: serde_json::Value =
        reqwest::get(server.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["end_session_endpoint"], server.url("/o/logout/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_post_logout_uri_is_never_followed() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| f.post_logout_redirect_uris = vec![BYE])
        .await;
    let browser = server.signed_up("grace", "correct horse battery").await;
    let hint = id_token_for(&server, &browser, &id, secret.as_deref().unwrap()).await;
    for uri in [
        "https://evil.example/bye",
        "http://127.0.0.1:9/bye/",
        REDIRECT_URI,
    ] {
        let out = browser
            .get(&logout_url(&[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", uri),
            ]))
            .await;
        assert_eq!(
            out.location(),
            Some("/accounts/login/?signed_out=1"),
            "{uri}"
        );
    }
    // Without a hint or client_id, no app is known: no redirect either.
    let out = browser
        .get(&logout_url(&[("post_logout_redirect_uri", BYE)]))
        .await;
    assert_eq!(out.location(), Some("/accounts/login/?signed_out=1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_matching_hint_the_user_confirms_first() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| f.post_logout_redirect_uris = vec![BYE])
        .await;
    let secret = secret.unwrap();
    // Someone else's id_token is no proof about this browser's user.
    let other = server.signed_up("mallory", "another fine secret").await;
    let foreign_hint = id_token_for(&server, &other, &id, &secret).await;
    let browser = server.signed_up("grace", "correct horse battery").await;

    for query in [
        logout_url(&[
            ("client_id", &id),
            ("post_logout_redirect_uri", BYE),
            ("state", "s"),
        ]),
        logout_url(&[
            ("id_token_hint", &foreign_hint),
            ("post_logout_redirect_uri", BYE),
        ]),
        logout_url(&[("id_token_hint", "not-a-jwt"), ("client_id", &id)]),
    ] {
        let page = browser.get(&query).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert!(page.body.contains("Sign out?"));
        assert!(page.body.contains("Lab notebook"));
        assert!(browser.is_signed_in().await, "{query}");
    }
    // Confirming without the CSRF token is refused; with it, signed out.
    let forged = browser
        .post_raw(
            "/o/logout/",
            &[("confirm", "yes"), ("client_id", &id)],
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(browser.is_signed_in().await);
    let confirmed = browser
        .post_form(
            "/o/logout/",
            &[
                ("confirm", "yes"),
                ("client_id", &id),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        )
        .await;
    assert_eq!(confirmed.location(), Some("http://127.0.0.1:9/bye?state=s"));
    assert!(!browser.is_signed_in().await);
    // The other user's session is untouched.
    assert!(other.is_signed_in().await);

    // An id_token from an earlier session of the same user only asks too.
    let returning = server.browser();
    assert_eq!(
        returning
            .sign_in("grace", "correct horse battery")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let old_hint = id_token_for(&server, &returning, &id, &secret).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        returning
            .sign_in("grace", "correct horse battery")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let page = returning
        .get(&logout_url(&[("id_token_hint", &old_hint)]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign out?"));
    assert!(returning.is_signed_in().await);
}
