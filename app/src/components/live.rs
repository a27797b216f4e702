//! Checks a field while the person types: the core's own rules (the
//! functions the server runs, compiled to wasm), shown politely — after a
//! pause in typing or when the field loses focus, and at once while a
//! shown message is being fixed. They only inform: the form is always
//! sent, and the server decides.

use leptos::prelude::*;

/// The rule a field is checked against.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Check {
    /// The username's format, then (after a pause) whether it is free.
    Username,
    /// The email address's format.
    Email,
    /// The password policy. The username and email it must differ from are
    /// read from the same form's fields, or known to the page.
    NewPassword { username: Other, email: Other },
    /// Must equal the field of this name (a confirmation).
    Confirms(String),
    /// One redirect URI per line, each as an app may register it; `kept`
    /// are the app's own plain-http URIs from an import, which it keeps.
    RedirectUris { kept: Vec<String> },
    /// One origin per line (CORS: scheme, host and port only).
    Origins,
}

/// Another value a check needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Other {
    /// The current value of the form's field of this name.
    Field(String),
    /// A value the page knows (the signed-in person's email).
    Known(String),
}

/// How long typing must pause before a check speaks up.
#[cfg(feature = "hydrate")]
const PAUSE: std::time::Duration = std::time::Duration::from_millis(600);

/// One field's live check: the rule, the field's message, and a counter
/// that makes a late answer (a timer, the server) give way to newer input.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct Live {
    check: StoredValue<Option<Check>>,
    message: RwSignal<Option<String>>,
    generation: StoredValue<u32>,
    /// The person typed in the field (an untouched field is not judged).
    dirty: StoredValue<bool>,
}

impl Live {
    pub fn new(check: Option<Check>, message: RwSignal<Option<String>>) -> Self {
        Self {
            check: StoredValue::new(check),
            message,
            generation: StoredValue::new(0),
            dirty: StoredValue::new(false),
        }
    }

    /// The field's value changed.
    pub fn input(&self, ev: &leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        {
            if self.check.with_value(Option::is_none) {
                return;
            }
            let Some(input) = Target::of(ev) else {
                return;
            };
            self.dirty.set_value(true);
            let generation = self.bump();
            if self.message.with_untracked(Option::is_some) {
                // Being fixed: say at once when it is right.
                self.run(&input, false);
            }
            let this = *self;
            set_timeout(
                move || {
                    if this.generation.get_value() == generation {
                        this.run(&input, true);
                    }
                },
                PAUSE,
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    }

    /// The field lost focus.
    pub fn blur(&self, ev: &leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        {
            if !self.dirty.get_value() || self.check.with_value(Option::is_none) {
                return;
            }
            if let Some(input) = Target::of(ev) {
                self.bump();
                self.run(&input, true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    }

    #[cfg(feature = "hydrate")]
    fn bump(&self) -> u32 {
        self.generation.update_value(|g| *g = g.wrapping_add(1));
        self.generation.get_value()
    }

    /// Checks the value now; `ask_server` also asks whether a valid
    /// username is free.
    #[cfg(feature = "hydrate")]
    fn run(&self, input: &Target, ask_server: bool) {
        let Some(check) = self.check.get_value() else {
            return;
        };
        let value = input.value();
        let other = |o: &Other| match o {
            Other::Field(name) => input.form_value(name),
            Other::Known(v) => v.clone(),
        };
        let message = judge(&check, &value, other);
        let free_to_ask = message.is_none() && ask_server && check == Check::Username;
        self.message.set(message);
        if free_to_ask {
            self.ask_availability(input.form_value("csrf_token"), value);
        }
    }

    #[cfg(feature = "hydrate")]
    fn ask_availability(&self, csrf_token: String, username: String) {
        let this = *self;
        let generation = self.generation.get_value();
        leptos::task::spawn_local(async move {
            // Only a clear "taken" is shown; throttling or a network
            // failure says nothing here (the submit will tell).
            let Ok(params) = web_sys::UrlSearchParams::new() else {
                return;
            };
            params.append("csrf_token", &csrf_token);
            params.append("username", &username);
            let body: String = params.to_string().into();
            let path = <crate::actions::UsernameAvailable as leptos::server_fn::ServerFn>::PATH;
            if let Ok(false) = super::call::post::<bool>(path, body).await {
                if this.generation.get_value() == generation {
                    this.message.set(Some(
                        gatehouse::account::validation::USERNAME_TAKEN.to_owned(),
                    ));
                }
            }
        });
    }
}

/// What the rule says of `value`: the message the server would give, or
/// nothing when the server would accept it.
pub fn judge(check: &Check, value: &str, other: impl Fn(&Other) -> String) -> Option<String> {
    use gatehouse::account::validation as rules;
    let broken = match check {
        Check::Username => rules::validate_username(value).err(),
        Check::Email => rules::validate_email(&rules::normalize_email(value)).err(),
        Check::NewPassword { username, email } => {
            rules::validate_new_password(value, &other(username), &other(email)).err()
        }
        Check::Confirms(field) => (value != other(&Other::Field(field.clone())))
            .then_some(rules::FieldError(rules::PASSWORDS_DIFFER)),
        Check::RedirectUris { kept } => {
            use gatehouse::oauth::redirect::{validate_imported, validate_registered};
            return each_line(value, |uri| {
                let kept = kept.iter().any(|k| k == uri) && validate_imported(uri).is_ok();
                validate_registered(uri).or_else(|e| if kept { Ok(()) } else { Err(e) })
            });
        }
        Check::Origins => {
            return each_line(value, gatehouse::oauth::client::validate_origin);
        }
    };
    broken.map(|e| e.0.to_owned())
}

/// A field of one value per line: what the server says of each line it
/// refuses (`value: why.`), one line each.
fn each_line(value: &str, rule: impl Fn(&str) -> Result<(), String>) -> Option<String> {
    let refused: Vec<String> = value
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter_map(|line| rule(line).err().map(|why| format!("{line}: {why}.")))
        .collect();
    (!refused.is_empty()).then(|| refused.join("\n"))
}

/// The field an event came from: an input or a text area.
#[cfg(feature = "hydrate")]
enum Target {
    Input(web_sys::HtmlInputElement),
    Lines(web_sys::HtmlTextAreaElement),
}

#[cfg(feature = "hydrate")]
impl Target {
    fn of(ev: &leptos::ev::Event) -> Option<Self> {
        use leptos::wasm_bindgen::JsCast;
        let target = ev.target()?;
        match target.dyn_into::<web_sys::HtmlInputElement>() {
            Ok(input) => Some(Self::Input(input)),
            Err(other) => other.dyn_into().ok().map(Self::Lines),
        }
    }

    fn value(&self) -> String {
        match self {
            Self::Input(i) => i.value(),
            Self::Lines(t) => t.value(),
        }
    }

    /// The value of the field named `name` in the same form.
    fn form_value(&self, name: &str) -> String {
        use leptos::wasm_bindgen::JsCast;
        let form = match self {
            Self::Input(i) => i.form(),
            Self::Lines(t) => t.form(),
        };
        form.and_then(|f| {
            f.query_selector(&format!("[name=\"{name}\"]"))
                .ok()
                .flatten()
        })
        .and_then(|el| el.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|el| el.value())
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(o: &Other) -> String {
        match o {
            Other::Field(name) => match name.as_str() {
                "username" => "ada".to_owned(),
                "email" => "ada@example.org".to_owned(),
                "password" => "correct horse battery".to_owned(),
                _ => String::new(),
            },
            Other::Known(v) => v.clone(),
        }
    }

    #[test]
    fn the_browser_says_what_the_server_would() {
        let password = Check::NewPassword {
            username: Other::Field("username".into()),
            email: Other::Field("email".into()),
        };
        assert_eq!(
            judge(&password, "short", fields).as_deref(),
            Some("Use at least 10 characters.")
        );
        assert_eq!(
            judge(&password, "ada@example.org", fields).as_deref(),
            Some("Your password cannot be your username or email address.")
        );
        assert_eq!(judge(&password, "a long unusual phrase", fields), None);
        let known = Check::NewPassword {
            username: Other::Known("grace".into()),
            email: Other::Known("grace@example.org".into()),
        };
        assert!(judge(&known, "GRACE", fields).is_some());
        assert_eq!(
            judge(&Check::Username, "has space", fields).as_deref(),
            Some("Use only letters, digits and the characters . + - _")
        );
        assert_eq!(judge(&Check::Username, "zoë.k", fields), None);
        assert!(judge(&Check::Email, "no-at-sign", fields).is_some());
        assert_eq!(judge(&Check::Email, " Ada@Example.org ", fields), None);
        let confirm = Check::Confirms("password".into());
        assert_eq!(
            judge(&confirm, "something else", fields).as_deref(),
            Some("The two passwords do not match.")
        );
        assert_eq!(judge(&confirm, "correct horse battery", fields), None);
    }

    #[test]
    fn each_refused_line_is_named_as_the_server_names_it() {
        let uris = Check::RedirectUris {
            kept: vec!["http://legacy.example/cb".into()],
        };
        let said = judge(
            &uris,
            "https://app.example/cb\n\nhttp://evil.example/cb\nhttp://legacy.example/cb\n not a uri ",
            fields,
        )
        .unwrap();
        let lines: Vec<&str> = said.lines().collect();
        assert_eq!(lines.len(), 2, "{said}");
        assert!(lines[0].starts_with("http://evil.example/cb: "), "{said}");
        assert_eq!(lines[1], "not a uri: must not contain spaces.");
        assert_eq!(
            judge(
                &uris,
                "https://app.example/cb\nhttp://127.0.0.1:8080/cb",
                fields
            ),
            None
        );
        let origins = Check::Origins;
        assert!(judge(&origins, "https://ok.example/path", fields)
            .unwrap()
            .starts_with("https://ok.example/path: "));
        assert_eq!(
            judge(
                &origins,
                "https://ok.example\nhttp://localhost:3000",
                fields
            ),
            None
        );
    }
}
