//! The site embedded in release builds (see `build.rs`): the wasm bundle,
//! its JavaScript, the stylesheet and the public files, served from memory.
//!
//! The bundle's files are served under names carrying one content hash
//! (`/pkg/gatehouse.3f09….wasm`), which the pages link to, with
//! `Cache-Control: public, max-age=31536000, immutable`: a new build has
//! new names, so a browser never needs to ask again. Every file is also
//! served under its plain name with `no-cache` and an `ETag`. Each answer
//! is the brotli or gzip form made at build time when the browser accepts
//! it and it is smaller.
//!
//! Debug builds embed nothing, and `LEPTOS_SITE_ROOT` in the environment
//! makes any build serve the site from that folder instead (development).

use axum::body::Body;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;

/// One embedded file.
pub struct Embedded {
    /// Relative to the site root, `/`-separated (`pkg/gatehouse.wasm`).
    pub path: &'static str,
    pub identity: &'static [u8],
    /// Made by cargo-leptos's precompression; kept only when smaller.
    pub gzip: Option<&'static [u8]>,
    pub brotli: Option<&'static [u8]>,
    /// Hex of the identity bytes' SHA-256 (truncated): the ETag's base.
    pub digest: &'static str,
}

mod generated {
    use super::Embedded;
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A set of files to serve, and the hash their bundle's names carry.
pub struct Site {
    files: &'static [Embedded],
    bundle_hash: &'static str,
    /// The bundle's base name (`gatehouse`, cargo-leptos's output name).
    output_name: String,
    pkg_dir: String,
}

impl Site {
    /// The site built into this binary, unless there is none (debug
    /// builds) or `LEPTOS_SITE_ROOT` asks for the one on disk.
    pub fn embedded(output_name: &str, pkg_dir: &str) -> Option<Self> {
        if std::env::var_os("LEPTOS_SITE_ROOT").is_some() {
            return None;
        }
        Self::new(
            generated::FILES,
            generated::BUNDLE_HASH,
            output_name,
            pkg_dir,
        )
    }

    pub fn new(
        files: &'static [Embedded],
        bundle_hash: &'static str,
        output_name: &str,
        pkg_dir: &str,
    ) -> Option<Self> {
        (!files.is_empty()).then(|| Self {
            files,
            bundle_hash,
            output_name: output_name.to_owned(),
            pkg_dir: pkg_dir.trim_matches('/').to_owned(),
        })
    }

    /// The output name the pages should link to: the bundle's files are
    /// `{pkg}/{name}.js`, `.wasm` and `.css`, so this puts the hash in all
    /// three names.
    pub fn hashed_output_name(&self) -> String {
        format!("{}.{}", self.output_name, self.bundle_hash)
    }

    /// How many files, and their total size as embedded (all forms).
    pub fn size(&self) -> (usize, usize) {
        let bytes = self
            .files
            .iter()
            .map(|f| {
                f.identity.len() + f.gzip.map_or(0, <[u8]>::len) + f.brotli.map_or(0, <[u8]>::len)
            })
            .sum();
        (self.files.len(), bytes)
    }

    /// The file at `path` (a request path), and whether it was asked for
    /// by its hashed name.
    fn find(&self, path: &str) -> Option<(&'static Embedded, bool)> {
        let relative = path.strip_prefix('/')?;
        let hashed = format!("{}/{}.", self.pkg_dir, self.hashed_output_name());
        if let Some(ext) = relative.strip_prefix(&hashed) {
            let plain = format!("{}/{}.{ext}", self.pkg_dir, self.output_name);
            return self.lookup(&plain).map(|f| (f, true));
        }
        self.lookup(relative).map(|f| (f, false))
    }

    fn lookup(&self, relative: &str) -> Option<&'static Embedded> {
        self.files
            .binary_search_by(|f| f.path.cmp(relative))
            .ok()
            .map(|i| &self.files[i])
    }

    /// The answer for a GET or HEAD of an embedded file; None for any other
    /// request (it goes on to the 404 page).
    pub fn respond(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let (file, hashed) = self.find(path)?;
        let cache = if hashed { IMMUTABLE } else { "no-cache" };
        let accepted = headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let (body, encoding) = match (file.brotli, file.gzip) {
            (Some(br), _) if accepts(&accepted, "br") => (br, Some("br")),
            (_, Some(gz)) if accepts(&accepted, "gzip") => (gz, Some("gzip")),
            _ => (file.identity, None),
        };
        let etag = match encoding {
            Some(e) => format!("\"{}-{e}\"", file.digest),
            None => format!("\"{}\"", file.digest),
        };
        let mut response = Response::builder()
            .header(ETAG, &etag)
            .header(CACHE_CONTROL, cache);
        if file.gzip.is_some() || file.brotli.is_some() {
            response = response.header(VARY, "Accept-Encoding");
        }
        if matches_etag(headers, file.digest) {
            return response
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .ok();
        }
        if let Some(encoding) = encoding {
            response = response.header(CONTENT_ENCODING, encoding);
        }
        response = response
            .header(CONTENT_TYPE, content_type(file.path))
            .header(CONTENT_LENGTH, body.len());
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        };
        response.body(body).ok()
    }
}

/// Whether `accept_encoding` accepts `coding` (listed, or `*`, with a
/// q-value above zero).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    let mut star = false;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q > 0.0;
        }
        if name == "*" {
            star = q > 0.0;
        }
    }
    star
}

/// Whether `If-None-Match` names any form of the file (weak comparison:
/// the encodings of one file are the same content).
fn matches_etag(headers: &HeaderMap, digest: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| {
            if tag == "*" {
                return true;
            }
            let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
            let base = tag.split_once('-').map_or(tag, |(base, _)| base);
            base == digest
        })
}

fn content_type(path: &str) -> HeaderValue {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    HeaderValue::from_static(match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: &[Embedded] = &[
        Embedded {
            path: "favicon.svg",
            identity: b"<svg/>",
            gzip: None,
            brotli: None,
            digest: "aaaa",
        },
        Embedded {
            path: "pkg/gatehouse.js",
            identity: b"export default 1;",
            gzip: Some(b"GZ"),
            brotli: Some(b"BR"),
            digest: "bbbb",
        },
        Embedded {
            path: "pkg/gatehouse.wasm",
            identity: b"\0asm",
            gzip: Some(b"GZ"),
            brotli: None,
            digest: "cccc",
        },
    ];

    fn site() -> Site {
        Site::new(FILES, "0123abcd", "gatehouse", "pkg").unwrap()
    }

    fn get(path: &str, headers: &[(&'static str, &'static str)]) -> Option<Response> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(*k, HeaderValue::from_static(v));
        }
        site().respond(&Method::GET, path, &map)
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn an_empty_set_is_no_site() {
        assert!(Site::new(&[], "x", "gatehouse", "pkg").is_none());
    }

    #[test]
    fn hashed_names_are_immutable_and_plain_names_revalidate() {
        let r = get("/pkg/gatehouse.0123abcd.js", &[]).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "cache-control"), Some(IMMUTABLE));
        assert_eq!(
            header(&r, "content-type"),
            Some("text/javascript; charset=utf-8")
        );
        let r = get("/pkg/gatehouse.js", &[]).unwrap();
        assert_eq!(header(&r, "cache-control"), Some("no-cache"));
        assert_eq!(header(&r, "etag"), Some("\"bbbb\""));
        // A stale hash is not this build's bundle.
        assert!(get("/pkg/gatehouse.99999999.js", &[]).is_none());
        assert!(get("/pkg/other.js", &[]).is_none());
        assert!(get("/pkg/", &[]).is_none());
    }

    #[test]
    fn the_encoding_follows_accept_encoding() {
        let r = get(
            "/pkg/gatehouse.js",
            &[("accept-encoding", "gzip, deflate, br")],
        )
        .unwrap();
        assert_eq!(header(&r, "content-encoding"), Some("br"));
        assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
        assert_eq!(header(&r, "etag"), Some("\"bbbb-br\""));
        assert_eq!(header(&r, "content-length"), Some("2"));
        let r = get("/pkg/gatehouse.js", &[("accept-encoding", "gzip, br;q=0")]).unwrap();
        assert_eq!(header(&r, "content-encoding"), Some("gzip"));
        let r = get("/pkg/gatehouse.js", &[("accept-encoding", "identity")]).unwrap();
        assert_eq!(header(&r, "content-encoding"), None);
        assert_eq!(header(&r, "content-length"), Some("17"));
        let r = get("/pkg/gatehouse.js", &[("accept-encoding", "*")]).unwrap();
        assert_eq!(header(&r, "content-encoding"), Some("br"));
        // No brotli form: gzip.
        let r = get(
            "/pkg/gatehouse.0123abcd.wasm",
            &[("accept-encoding", "br, gzip")],
        )
        .unwrap();
        assert_eq!(header(&r, "content-encoding"), Some("gzip"));
        assert_eq!(header(&r, "content-type"), Some("application/wasm"));
        // Nothing compressed: no Vary.
        let r = get("/favicon.svg", &[("accept-encoding", "br")]).unwrap();
        assert_eq!(header(&r, "vary"), None);
        assert_eq!(header(&r, "content-type"), Some("image/svg+xml"));
    }

    #[test]
    fn a_known_etag_gets_not_modified() {
        let r = get("/pkg/gatehouse.js", &[("if-none-match", "\"bbbb-gzip\"")]).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&r, "etag"), Some("\"bbbb\""));
        let r = get(
            "/pkg/gatehouse.js",
            &[("if-none-match", "W/\"zzzz\", \"bbbb\"")],
        )
        .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        let r = get("/pkg/gatehouse.js", &[("if-none-match", "\"cccc\"")]).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn only_get_and_head_are_served() {
        let map = HeaderMap::new();
        let r = site()
            .respond(&Method::HEAD, "/pkg/gatehouse.js", &map)
            .unwrap();
        assert_eq!(header(&r, "content-length"), Some("17"));
        assert!(site()
            .respond(&Method::POST, "/pkg/gatehouse.js", &map)
            .is_none());
    }
}
