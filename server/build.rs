//! Embeds the site (the wasm bundle, its JavaScript, the stylesheet, the
//! favicon) into release builds made by cargo-leptos, so the binary copied
//! alone to a server serves a styled, hydrating portal.
//!
//! cargo-leptos sets `LEPTOS_SITE_ROOT` for the server's build, and in a
//! release build with `--precompress` it finishes the site (and its `.gz`
//! and `.br` neighbours) before compiling the server. Without that flag it
//! builds the two at once, so the site may be half-written while this runs:
//! a site is embedded only when every file has its compressed neighbours,
//! which are written last. Any other build (debug, `cargo build` alone, a
//! release without `--precompress`) embeds nothing and the server reads the
//! site from disk, as a development server should.
//!
//! The generated `site.rs` lists each file with its bytes (`include_bytes!`),
//! its compressed forms when smaller, an ETag, and one content hash over
//! the `pkg/` bundle, which the server puts in the bundle's URLs.
//!
//! The gzip form is made again here with zopfli, which writes standard
//! gzip about a fifth smaller than cargo-leptos's `.gz` for the wasm
//! bundle (browsers that take brotli get the `.br`, already smaller). It
//! is kept in `OUT_DIR` under the file's content hash, so only a changed
//! file is compressed again.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    println!("cargo:rerun-if-env-changed=LEPTOS_SITE_ROOT");
    println!("cargo:rerun-if-env-changed=GATEHOUSE_EMBED_SITE");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let site = site_root();
    if let Some(root) = &site {
        // Watched even while absent, so the build that makes it is seen.
        println!("cargo:rerun-if-changed={}", root.display());
    }
    let site = site.filter(|root| root.join("pkg").is_dir());
    let files = match &site {
        Some(root) => {
            let mut files = Vec::new();
            collect(root, root, &mut files);
            files.sort();
            let compressed = |f: &String| {
                ["gz", "br"]
                    .iter()
                    .all(|ext| root.join(format!("{f}.{ext}")).is_file())
            };
            if files.iter().all(compressed) {
                files
            } else {
                Vec::new()
            }
        }
        None => Vec::new(),
    };
    let code = generate(site.as_deref(), &files, &out);
    let target = out.join("site.rs");
    // Unchanged contents are not rewritten, so nothing downstream rebuilds.
    if std::fs::read_to_string(&target).ok().as_deref() != Some(code.as_str()) {
        std::fs::write(&target, code).expect("write site.rs");
    }
}

/// The built site to embed, if this build should embed one.
fn site_root() -> Option<PathBuf> {
    if std::env::var("GATEHOUSE_EMBED_SITE").as_deref() == Ok("0") {
        return None;
    }
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return None;
    }
    let root = PathBuf::from(std::env::var_os("LEPTOS_SITE_ROOT")?);
    let root = if root.is_absolute() {
        root
    } else {
        // cargo-leptos runs at the workspace root, one level above us.
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
        manifest.parent()?.join(root)
    };
    Some(root)
}

/// Every file under `dir`, as a path relative to `root` with `/` between
/// parts, skipping the compressed neighbours.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let name = path.to_string_lossy();
        // Compressed neighbours are read with their file; TypeScript
        // declarations are for editors, not browsers.
        if name.ends_with(".gz") || name.ends_with(".br") || name.ends_with(".d.ts") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under the root");
        let parts: Vec<_> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        files.push(parts.join("/"));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Five passes, not zopfli's default fifteen: for the 1 MB wasm bundle,
/// 377,449 bytes in 1.3 s against 377,410 in 2.3 s (one pass: 378,242 in
/// 1.1 s).
const ZOPFLI_PASSES: u64 = 5;

/// The gzip form of `bytes`, made with zopfli, or what an earlier build
/// made of the same bytes (`digest` names it).
fn zopfli_gzip(bytes: &[u8], digest: &str, out: &Path) -> PathBuf {
    let dir = out.join("gzip");
    // The name carries the pass count: changing it makes new files.
    let path = dir.join(format!("{digest}-z{ZOPFLI_PASSES}.gz"));
    if path.is_file() {
        return path;
    }
    let options = zopfli::Options {
        iteration_count: std::num::NonZeroU64::new(ZOPFLI_PASSES).expect("not zero"),
        ..Default::default()
    };
    let mut gz = Vec::new();
    zopfli::compress(options, zopfli::Format::Gzip, bytes, &mut gz).expect("gzip into memory");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/gzip");
    // Written whole under another name first: an interrupted build never
    // leaves a truncated file under the final name (a power cut may; the
    // build directory is not meant to survive one).
    let partial = dir.join(format!("{digest}.gz.partial"));
    std::fs::write(&partial, gz).expect("write the gzip form");
    std::fs::rename(&partial, &path).expect("rename the gzip form");
    path
}

/// Removes the gzip forms of files that are no longer in the site, so
/// `OUT_DIR` does not grow with every rebuilt bundle.
fn prune_gzip(out: &Path, used: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(out.join("gzip")) else {
        return;
    };
    for entry in entries.flatten() {
        if !used.contains(&entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn generate(root: Option<&Path>, files: &[String], out: &Path) -> String {
    let mut code = String::from("// Generated by server/build.rs.\n");
    let mut bundle = Sha256::new();
    let mut entries = String::new();
    let mut used = Vec::new();
    for relative in files {
        let root = root.expect("files come from a root");
        let path = root.join(relative);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let digest = Sha256::digest(&bytes);
        if relative.starts_with("pkg/") {
            bundle.update(relative.as_bytes());
            bundle.update(digest);
        }
        let mut variant = |ext: &str| {
            let compressed = if ext == "gz" {
                let gz = zopfli_gzip(&bytes, &hex(&digest), out);
                used.push(gz.clone());
                gz
            } else {
                PathBuf::from(format!("{}.{ext}", path.display()))
            };
            match std::fs::metadata(&compressed) {
                Ok(m) if (m.len() as usize) < bytes.len() => {
                    format!(
                        "Some(include_bytes!({:?}))",
                        compressed.display().to_string()
                    )
                }
                _ => "None".to_owned(),
            }
        };
        let _ = writeln!(
            entries,
            "    Embedded {{ path: {relative:?}, identity: include_bytes!({:?}), gzip: {}, \
             brotli: {}, digest: {:?} }},",
            path.display().to_string(),
            variant("gz"),
            variant("br"),
            hex(&digest[..12]),
        );
    }
    // A build without a site (debug, a plain `cargo build --release`)
    // keeps the cache for the next one with a site.
    if !files.is_empty() {
        prune_gzip(out, &used);
    }
    let bundle = hex(&bundle.finalize()[..8]);
    let _ = writeln!(code, "pub static BUNDLE_HASH: &str = {bundle:?};");
    let _ = writeln!(code, "pub static FILES: &[Embedded] = &[\n{entries}];");
    code
}
