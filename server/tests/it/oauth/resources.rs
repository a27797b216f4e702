//! Protected resources and the rest of the protocol surface: RFC 6750
//! bearer errors, hostile input, CORS, RFC 8414 metadata.

use std::collections::BTreeMap;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_errors_follow_rfc_6750() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec!["client_credentials", "password"];
            f.scopes = "read write introspection";
        })
        .await;
    let secret = secret.unwrap();
    server.signed_up("ada", PASSWORD).await;

    let none = reqwest::Client::new()
        .get(server.url("/profile/"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"gatehouse\""
    );

    let bad = profile(&server, "not-a-token").await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(bad.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));

    let write_only = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
            ("scope", "write"),
        ],
    )
    .await;
    let token = write_only.json["access_token"].as_str().unwrap();
    let insufficient = profile(&server, token).await;
    assert_error(&insufficient, StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(insufficient.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"read\""));

    // A resource server may introspect with a token holding `introspection`.
    let rs = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "introspection"),
        ],
    )
    .await;
    let rs_token = rs.json["access_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(server.url("/o/introspect/"))
        .bearer_auth(rs_token)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.json["active"], true, "{}", a.json);
    assert_eq!(a.json["scope"], "write");
    // GET works as well as POST.
    let r = reqwest::Client::new()
        .get(server.url(&format!("/o/introspect/?token={token}")))
        .bearer_auth(rs_token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer(r).await.json["active"], true);
    // Without that scope, no.
    let r = reqwest::Client::new()
        .post(server.url("/o/introspect/"))
        .bearer_auth(token)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(r).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );
    // Inactive tokens say only that.
    assert_eq!(
        introspect(&server, &id, &secret, "no-such-token").await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_json_error_and_changes_nothing() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 16 * 1024).await;
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let secret = secret.unwrap();
    let client = reqwest::Client::new();
    let raw = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(server.url("/o/token/"))
            .basic_auth(&id, Some(&secret))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    for (body, ctype) in [
        (b"grant_type=client_credentials&scope=%FF%FE".to_vec(), form),
        (b"grant_type=\xff\xfe".to_vec(), form),
        (b"\x00\x01\x02garbage".to_vec(), form),
        (
            b"{\"grant_type\":\"client_credentials\"}".to_vec(),
            "application/json",
        ),
        (
            format!(
                "grant_type=client_credentials&scope={}",
                "read+".repeat(2000)
            )
            .into_bytes(),
            form,
        ),
        (
            format!("grant_type=client_credentials&x={}", "a".repeat(8000)).into_bytes(),
            form,
        ),
        (
            (0..100)
                .map(|i| format!("p{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            form,
        ),
    ] {
        let a = answer(raw(body, ctype).await.unwrap()).await;
        assert!(a.status.is_client_error(), "{} {}", a.status, a.json);
        assert!(a.json["error"].is_string());
    }
    let huge = raw(vec![b'a'; 20 * 1024], form).await.unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let a = answer(huge).await;
    assert_eq!(a.json["error"], "invalid_request");
    // Nothing was issued by any of it.
    assert_eq!(server.count_rows("access_tokens").await, 0);
    // And a good request still works.
    let ok = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(server.count_rows("access_tokens").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_follows_each_apps_registered_origins() {
    let server = TestServer::start().await;
    let spa = "http://127.0.0.1:5173";
    let (with_origin, secret_a) = server
        .register(|f| {
            f.allowed_origins = vec![spa];
            f.grant_types = vec!["client_credentials"];
        })
        .await;
    let (without, secret_b) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let client = reqwest::Client::new();
    // Preflights cannot name the client: any app's origin passes them.
    for (origin, allowed) in [(spa, true), ("https://evil.example", false)] {
        let pre = client
            .request(reqwest::Method::OPTIONS, server.url("/o/token/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(pre.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            pre.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            allowed.then_some(origin),
            "{origin}"
        );
    }
    // The response itself is readable only for the app that registered it.
    for (id, secret, origin, allowed) in [
        (&with_origin, &secret_a, spa, true),
        (&without, &secret_b, spa, false),
        (&with_origin, &secret_a, "https://evil.example", false),
    ] {
        let r = client
            .post(server.url("/o/token/"))
            .header("origin", origin)
            .basic_auth(id, secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers().get("access-control-allow-origin").is_some(),
            allowed,
            "{id} from {origin}"
        );
        assert!(r.headers()["vary"].to_str().unwrap().contains("Origin"));
        let token = answer(r).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let p = client
            .get(server.url("/profile/"))
            .header("origin", origin)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        // A client token has no profile, but the error is readable by the
        // right origin.
        assert_eq!(p.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            p.headers().get("access-control-allow-origin").is_some(),
            allowed
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_endpoint_answers_preflights_and_marks_its_answers() {
    let server = TestServer::start().await;
    let spa = "http://127.0.0.1:5173";
    server
        .register(|f| {
            f.allowed_origins = vec![spa];
            f.grant_types = vec!["client_credentials"];
        })
        .await;
    let client = reqwest::Client::new();
    for (path, methods) in [
        ("/o/token/", "POST"),
        ("/o/device-authorization/", "POST"),
        ("/o/revoke_token/", "POST"),
        ("/o/introspect/", "GET,HEAD,POST"),
        ("/o/userinfo/", "GET,HEAD,POST"),
    ] {
        let pre = client
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("origin", spa)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(pre.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(pre.headers()["access-control-allow-origin"], spa, "{path}");
        assert!(pre.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST"));
        // OPTIONS that is not a preflight: not a method these take.
        let plain = client
            .request(reqwest::Method::OPTIONS, server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow = format!("{methods},OPTIONS");
        assert_eq!(plain.headers()["allow"], allow, "{path}");
        assert_error(
            &answer(plain).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        );
        // Nor any other unrouted method: the same list, the same marks.
        let put = client
            .put(server.url(path))
            .header("origin", spa)
            .send()
            .await
            .unwrap();
        assert_eq!(put.headers()["allow"], allow, "{path}");
        assert_eq!(put.headers()["vary"], "Origin", "{path}");
        assert_error(
            &answer(put).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        );
        // Every other answer, errors included, varies by origin.
        let refused = client
            .post(server.url(path))
            .header("origin", spa)
            .header("content-type", "text/plain")
            .body("token=x")
            .send()
            .await
            .unwrap();
        assert!(refused.status().is_client_error(), "{path}");
        assert!(
            refused.headers()["vary"]
                .to_str()
                .unwrap()
                .contains("Origin"),
            "{path}"
        );
        assert!(refused
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_8414_metadata_names_every_endpoint() {
    let server = TestServer::start().await;
    let r = reqwest::get(server.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], server.base.as_str());
    // Every advertised endpoint exists and answers as documented.
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let secret = secret.unwrap();
    let token_url = m["token_endpoint"].as_str().unwrap();
    let t = reqwest::Client::new()
        .post(token_url)
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), StatusCode::OK);
    for key in ["revocation_endpoint", "introspection_endpoint"] {
        let r = reqwest::Client::new()
            .post(m[key].as_str().unwrap())
            .basic_auth(&id, Some(&secret))
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{key}");
    }
    let authorize = reqwest::get(m["authorization_endpoint"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(authorize.status(), StatusCode::BAD_REQUEST);
    for grant in [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
    ] {
        assert!(m["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == grant));
    }
    assert_eq!(m["code_challenge_methods_supported"][0], "S256");
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_in_the_discovery_document_is_served() {
    let server = TestServer::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for document in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/o/.well-known/openid-configuration",
    ] {
        let meta: Value = client
            .get(server.url(document))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let urls: Vec<(&str, &str)> = meta
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with("_endpoint") || k.as_str() == "jwks_uri")
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(urls.len(), 8, "{document}: {urls:?}");
        for (name, url) in urls {
            let path = url
                .strip_prefix(&server.base)
                .unwrap_or_else(|| panic!("{name} {url} is not under the issuer {}", server.base));
            // The method each endpoint's specification names first.
            let posted = matches!(
                name,
                "token_endpoint"
                    | "revocation_endpoint"
                    | "introspection_endpoint"
                    | "device_authorization_endpoint"
            );
            let request = if posted {
                client.post(server.url(path)).form(&[("x", "y")])
            } else {
                client.get(server.url(path))
            };
            let status = request.send().await.unwrap().status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{document}: {name} at {path} answered {status}"
            );
        }
    }
}

/// A deterministic pseudo-random source (xorshift64*): the same seed sends
/// the same requests, so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T: ?Sized>(&mut self, from: &[&'a T]) -> &'a T {
        from[self.below(from.len())]
    }
}

/// A small fuzzer over the protocol endpoints (the bearer-protected profile
/// and the metadata documents included): random parameter names and
/// values (markup, NUL, broken percent-encodings, 10 KB strings, the real
/// client's id and secret, real tokens), repeated parameters, raw bytes,
/// JSON and wrong content types, and every kind of Authorization header.
/// Every answer is under 500, and every 4xx (405 included) is RFC 6749
/// error JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_at_every_protocol_endpoint_get_rfc_errors_never_a_5xx() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec![
                "authorization_code",
                "client_credentials",
                "password",
                "refresh_token",
                "device_code",
            ];
            f.scopes = "openid read introspection";
        })
        .await;
    let secret = secret.unwrap();
    server.signed_up("ada", PASSWORD).await;
    // Real tokens among the values, so some requests get past the lookups.
    let tokens = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
            ("scope", "openid read"),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.json);
    let access = tokens.json["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens.json["refresh_token"].as_str().unwrap().to_owned();
    let long = "x".repeat(10 * 1024);
    let values: Vec<&str> = vec![
        "</title><script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "\0",
        long.as_str(),
        "%",
        "%zz",
        "%00",
        "\u{202e}",
        "",
        " ",
        "-1",
        "99999999999999999999",
        "client_credentials",
        "password",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "access_token",
        "openid read",
        "S256",
        "ada",
        PASSWORD,
        REDIRECT_URI,
        id.as_str(),
        secret.as_str(),
        access.as_str(),
        refresh.as_str(),
    ];
    let names = [
        "grant_type",
        "client_id",
        "client_secret",
        "scope",
        "token",
        "token_type_hint",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "username",
        "password",
        "device_code",
        "access_token",
        "x",
    ];
    let endpoints = [
        "/o/token/",
        "/o/introspect/",
        "/o/revoke_token/",
        "/o/userinfo/",
        "/o/device-authorization/",
        "/o/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/o/.well-known/openid-configuration",
        "/profile/",
        "/api/profile/",
    ];
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let client = reqwest::Client::new();
    let seed = 0x5eed_f00d_6a7e_4005_u64;
    let mut dice = Dice(seed);
    let mut seen = BTreeMap::new();
    for n in 0..600 {
        let path = dice.pick(&endpoints);
        // Half the requests start from a valid one for the endpoint and
        // may add one random parameter; the rest are random throughout.
        let from_valid = dice.below(2) == 0;
        let mut pairs = if from_valid {
            match path {
                "/o/token/" => vec![("grant_type", "client_credentials")],
                "/o/introspect/" | "/o/revoke_token/" => vec![("token", access.as_str())],
                "/o/device-authorization/" => vec![("client_id", id.as_str())],
                "/o/userinfo/" => vec![("access_token", access.as_str())],
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        for _ in 0..dice.below(if from_valid { 2 } else { 6 }) {
            pairs.push((dice.pick(&names), dice.pick(&values)));
        }
        if !from_valid && dice.below(4) == 0 {
            pairs.extend(pairs.clone());
        }
        let form = query(&pairs);
        let (body, content_type) = match dice.below(if from_valid { 12 } else { 8 }) {
            0 => (
                (0..dice.below(2000))
                    .map(|_| dice.next() as u8)
                    .collect::<Vec<u8>>(),
                "application/x-www-form-urlencoded",
            ),
            1 => (
                serde_json::to_vec(&pairs.iter().cloned().collect::<BTreeMap<_, _>>()).unwrap(),
                "application/json",
            ),
            2 => (form.clone().into_bytes(), "text/plain"),
            3 => (
                format!("{form}&%{}", char::from(b'A' + dice.below(26) as u8)).into_bytes(),
                "application/x-www-form-urlencoded",
            ),
            _ => (
                form.clone().into_bytes(),
                "application/x-www-form-urlencoded",
            ),
        };
        let authorization = match dice.below(8) {
            0 => None,
            1..=3 => Some(format!("Basic {}", b64(&format!("{id}:{secret}")))),
            4 => Some(format!(
                "Basic {}",
                b64(&format!("{id}:{}", dice.pick(&values)))
            )),
            5 => Some("Basic !!!".to_owned()),
            6 => Some(format!(
                "Bearer {}",
                dice.pick(&["", "a b", "x", secret.as_str(), access.as_str()])
            )),
            _ => Some(
                dice.pick(&[
                    "Basic",
                    "Bearer",
                    "Digest x",
                    "basic YQ==",
                    "Basic JXp6OiUwMA==",
                ])
                .to_owned(),
            ),
        };
        // Mostly a method the endpoint takes.
        let takes_get = path.contains("well-known") || path.ends_with("profile/");
        let get = (dice.below(6) == 0) != takes_get;
        let mut request = if get {
            client.get(format!("{}?{form}", server.url(path)))
        } else {
            client
                .post(server.url(path))
                .header("content-type", content_type)
                .body(body.clone())
        };
        if let Some(a) = &authorization {
            request = request.header("authorization", a);
        }
        let what = if get {
            format!("request {n} (seed {seed:#x}): GET {path}?{form} {authorization:?}")
        } else {
            format!(
                "request {n} (seed {seed:#x}): POST {path} {authorization:?} {content_type} {:?}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        };
        let response = request.send().await.expect("an answer");
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert!(status.as_u16() < 500, "{what}: {status} {text}");
        *seen.entry((path, status.as_u16())).or_insert(0) += 1;
        if status.is_client_error() {
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{what}: not JSON ({status}): {text}"));
            assert!(json["error"].is_string(), "{what}: {status} {text}");
        }
    }
    // The requests reached the endpoints' own checks, not only the method
    // and parameter parsing: tokens were issued, introspection and
    // revocation answered authenticated calls, and the token endpoint
    // refused grants it read.
    eprintln!("answers by endpoint and status: {seen:?}");
    for wanted in [
        ("/o/token/", 200),
        ("/o/introspect/", 200),
        ("/o/revoke_token/", 200),
        ("/o/token/", 400),
        ("/o/token/", 401),
    ] {
        assert!(seen.contains_key(&wanted), "no {wanted:?} among {seen:?}");
    }
    // The server is still itself.
    let ok = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}
