//! The document title, safe for any text.
//!
//! `leptos_meta`'s `<Title>` (0.8.7) writes its text into the server-rendered
//! `<head>` without escaping it, so an app named `</title><script>…` would
//! run script on Gatehouse's origin. Every page sets its title through
//! [`PageTitle`], which escapes the text for the server's HTML; in the
//! browser the text is set through `document.title`, which takes plain text.

use leptos::prelude::*;
use leptos_meta::Title;

/// Sets the page's `<title>` to `text`, whatever characters it holds.
#[component]
pub fn PageTitle(#[prop(into)] text: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let text = escape_html(&text);
    view! { <Title text=text /> }
}

/// `text` with the characters that are markup in HTML text or attributes
/// replaced by character references.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A NUL has no business in a title; browsers would show U+FFFD.
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn markup_cannot_survive_escaping() {
        for hostile in [
            "</title><script>window.__x=1</script>",
            "\"><img src=x onerror=alert(1)>",
            "<!--<script>",
            "a & b 'c'",
        ] {
            let escaped = escape_html(hostile);
            assert!(!escaped.contains('<'), "{escaped}");
            assert!(!escaped.contains('>'), "{escaped}");
            assert!(!escaped.contains('"'), "{escaped}");
        }
        assert_eq!(escape_html("Tom & Jerry"), "Tom &amp; Jerry");
        assert_eq!(escape_html("plain · text"), "plain · text");
    }
}
