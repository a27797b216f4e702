//! OpenID Connect interoperability: the `openidconnect` crate, configured
//! with nothing but the issuer URL and client credentials, discovers the
//! endpoints, runs code + PKCE, verifies the id_token against the JWKS
//! (signature, issuer, audience, nonce, at_hash) and calls userinfo —
//! once for each signing algorithm.

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
    let client = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(id),
        Some(ClientSecret::new(secret.unwrap())),
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
    let path = format!("{}?{}", auth_url.path(), auth_url.query().unwrap());
    assert_eq!(browser.get(&path).await.status, StatusCode::OK);
    let mut fields: Vec<(String, String)> = auth_url.query_pairs().into_owned().collect();
    fields.push(("decision".into(), "allow".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let allowed = browser.post_form("/o/authorize/", &fields).await;
    let back = url::Url::parse(allowed.location().expect("redirected")).unwrap();
    let params: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
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
