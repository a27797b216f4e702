//! Hostile values on every page that shows what a person or an app typed:
//! app names, people's names, request parameters, refused form values and
//! error messages. Each page is parsed as a browser would parse it, and
//! must hold no markup that came from those values (no script, no element
//! with an event handler, no comment opened by them), in the head or the
//! body.

use reqwest::StatusCode;
use scraper::{Html, Node, Selector};

use crate::support::{input_value, post, Browser, TestServer, REDIRECT_URI};

const PASSWORD: &str = "correct horse battery";
const TITLE_BREAKER: &str = "</title><script>window.__x=1</script>";
const ATTRIBUTE_BREAKER: &str = "\"><img src=x onerror=window.__x=2>";
const COMMENT_OPENER: &str = "<!--<script>window.__x=3</script>";

/// Fails when the page holds markup that came from a hostile value.
fn assert_no_live_markup(what: &str, body: &str) {
    let doc = Html::parse_document(body);
    for node in doc.tree.nodes() {
        match node.value() {
            Node::Element(el) => {
                for (name, _) in el.attrs() {
                    assert!(
                        !name.starts_with("on"),
                        "{what}: an element with an event handler ({name}):\n{body}"
                    );
                }
                assert_ne!(el.name(), "img", "{what}: an injected <img>:\n{body}");
            }
            Node::Comment(c) => {
                assert!(
                    !c.contains("script"),
                    "{what}: a comment opened by a value:\n{body}"
                );
            }
            _ => {}
        }
    }
    // Data blocks (`type="application/json"`) are never executed. (Island
    // props travel in `data-props` attributes, escaped: the parse above
    // sees them as attribute text.)
    let scripts = Selector::parse("script:not([type=\"application/json\"])").unwrap();
    for script in doc.select(&scripts) {
        let text: String = script.text().collect();
        assert!(
            !text.contains("__x"),
            "{what}: a script from a value: {text}"
        );
    }
    let titles = Selector::parse("title").unwrap();
    assert!(
        doc.select(&titles).count() <= 1,
        "{what}: more than one title"
    );
}

async fn checked_page(browser: &Browser, path: &str) -> String {
    let page = browser.get(path).await;
    assert!(
        page.status.is_success() || page.status.is_client_error(),
        "{path}: {} {}",
        page.status,
        page.body
    );
    assert_no_live_markup(path, &page.body);
    page.body
}

/// The page's title as a browser shows it.
fn title_of(body: &str) -> String {
    let doc = Html::parse_document(body);
    let title = Selector::parse("title").unwrap();
    doc.select(&title)
        .next()
        .map(|t| t.text().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_never_become_markup() {
    let server = TestServer::start().await;
    let dev = server.signed_up("mallory", PASSWORD).await;
    server.make_staff("mallory").await;

    // A person's name, as shown in the header, the home page, the profile,
    // the consent page and the admin list.
    let saved = dev
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", TITLE_BREAKER),
                ("last_name", ATTRIBUTE_BREAKER),
                ("email", "mallory@example.org"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // An app named to break out of the title, registered in the portal.
    for name in [TITLE_BREAKER, ATTRIBUTE_BREAKER, COMMENT_OPENER] {
        let done = dev
            .post_form(
                "/o/applications/register/",
                &[
                    ("name", name),
                    ("client_type", "confidential"),
                    ("grant_types", "authorization_code"),
                    ("grant_types", "refresh_token"),
                    ("redirect_uris", REDIRECT_URI),
                    ("post_logout_redirect_uris", REDIRECT_URI),
                    ("allowed_origins", ""),
                    ("algorithm", "RS256"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let app_path = done.location().unwrap().to_owned();
        let body = checked_page(&dev, &app_path).await;
        assert_eq!(title_of(&body), format!("{name} · Gatehouse"));
        let client_id = input_value(&body, "client_id").expect("client id shown");

        // The consent page, with hostile request parameters as well.
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid profile read"),
                ("state", COMMENT_OPENER),
                ("nonce", ATTRIBUTE_BREAKER),
            ])
            .finish();
        let consent = checked_page(&dev, &format!("/o/authorize/?{query}")).await;
        assert_eq!(title_of(&consent), format!("Authorize {name} · Gatehouse"));
        assert!(consent.contains("Allow"), "{consent}");

        // The playground callback of this app, with a hostile error.
        let playground = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("error", "access_denied"),
                ("error_description", TITLE_BREAKER),
                ("state", ATTRIBUTE_BREAKER),
            ])
            .finish();
        checked_page(&dev, &format!("/o/playground/callback/?{playground}")).await;

        // Allowed: the authorized-apps page lists it by name.
        let fields: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile read"),
            ("state", COMMENT_OPENER),
            ("decision", "allow"),
        ];
        let allowed = dev.post_form("/o/authorize/", &fields).await;
        assert_eq!(allowed.status, StatusCode::SEE_OTHER, "{}", allowed.body);

        // The RP-initiated logout page names the app.
        let logout = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", client_id.as_str()),
                ("post_logout_redirect_uri", REDIRECT_URI),
                ("state", TITLE_BREAKER),
            ])
            .finish();
        checked_page(&dev, &format!("/o/logout/?{logout}")).await;
    }

    for path in [
        "/",
        "/accounts/profile/",
        "/o/applications/",
        "/o/authorized_tokens/",
        "/admin/",
        "/device/",
    ] {
        let body = checked_page(&dev, path).await;
        assert!(
            body.contains("window.__x=1") || path == "/device/",
            "{path} shows the hostile name as text"
        );
    }
    // The admin search box keeps its hostile query.
    let q = url::form_urlencoded::byte_serialize(ATTRIBUTE_BREAKER.as_bytes()).collect::<String>();
    checked_page(&dev, &format!("/admin/?q={q}")).await;

    // Refused forms show what was typed and the error beside it.
    let refused = dev
        .post_form(
            "/o/applications/register/",
            &[
                ("name", TITLE_BREAKER),
                ("client_type", COMMENT_OPENER),
                ("grant_types", ATTRIBUTE_BREAKER),
                ("redirect_uris", TITLE_BREAKER),
                ("post_logout_redirect_uris", ATTRIBUTE_BREAKER),
                ("allowed_origins", COMMENT_OPENER),
                ("algorithm", TITLE_BREAKER),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_no_live_markup("refused registration", &refused.body);
    let refused = dev
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", COMMENT_OPENER),
                ("last_name", TITLE_BREAKER),
                ("email", ATTRIBUTE_BREAKER),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_no_live_markup("refused profile", &refused.body);

    let stranger = server.browser();
    for (path, fields) in [
        (
            "/accounts/signup/",
            vec![
                ("username", TITLE_BREAKER),
                ("email", ATTRIBUTE_BREAKER),
                ("password", "x"),
                ("confirm", "y"),
            ],
        ),
        (
            "/accounts/login/",
            vec![("login", TITLE_BREAKER), ("password", "wrong")],
        ),
        ("/device/", vec![("user_code", ATTRIBUTE_BREAKER)]),
    ] {
        let refused = stranger.post_form(path, &fields).await;
        assert!(
            refused.status.is_client_error() || refused.status == StatusCode::SEE_OTHER,
            "{path}: {}",
            refused.status
        );
        assert_no_live_markup(path, &refused.body);
    }
    // The sign-in page with a hostile `next`.
    let next = url::form_urlencoded::byte_serialize(TITLE_BREAKER.as_bytes()).collect::<String>();
    checked_page(&stranger, &format!("/accounts/login/?next={next}")).await;

    // An error page of the authorization endpoint quoting the request.
    let bad = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", TITLE_BREAKER),
            ("redirect_uri", ATTRIBUTE_BREAKER),
        ])
        .finish();
    checked_page(&dev, &format!("/o/authorize/?{bad}")).await;

    // A device app's approval page shows its name.
    let (device_app, _) = server
        .register(|f| {
            f.name = TITLE_BREAKER;
            f.client_type = "public";
            f.grant_types = vec!["device_code"];
            f.redirect_uris = vec![];
        })
        .await;
    let d = post(
        &server,
        "/o/device-authorization/",
        None,
        &[("client_id", &device_app), ("scope", "read")],
    )
    .await;
    let user_code = d.json["user_code"].as_str().expect("user code").to_owned();
    let page = dev
        .post_form("/device/", &[("user_code", &user_code)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_no_live_markup("device approval", &page.body);
    assert!(page.body.contains("window.__x=1"));
}
