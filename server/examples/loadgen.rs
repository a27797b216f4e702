//! The load generator of `bench/all`: runs each workload against a running
//! Gatehouse for a fixed time at a given number of connections, and reports
//! requests (or whole flows) per second, p50/p99 latency, the server's CPU
//! time per answer and its peak resident memory during the workload.
//!
//! Workloads: `healthz` (the floor: one SQLite read), `client_credentials`,
//! `introspection`, `profile` (`GET /profile/` with a bearer), `refresh`
//! (each connection rotates its own refresh token chain), `code_flow` (the
//! whole authorization code + PKCE flow of a signed-in person, consent page
//! included: authorize, consent, token), `password` (the password grant,
//! one argon2id check each); and, with `--items`, the items API of the
//! `gatehouse-resource` kit: `items_warm` (`GET /items/`, each connection
//! reusing its token: the kit's cache answers) and `items_miss` (every
//! request a token never seen before, minted beforehand by refresh-token
//! rotation: each costs one introspection call at Gatehouse).
//!
//! Usage (bench/all sets it up):
//! `loadgen --base URL --pid PID --secs S --conns 1,32 --json OUT
//!   --cc ID:SECRET --pw ID:SECRET --code ID:SECRET --user NAME:PASSWORD
//!   [--only w1,w2] [--paired N] [--items URL --items-pid PID
//!   --items-client ID:SECRET --miss-tokens N]`
//!
//! With `--paired N` (N > 0), the share of `/healthz` of the quick
//! workloads (client_credentials, introspection, profile) is measured a
//! second way: N rounds of one second of `/healthz` then one second of the
//! workload, at the same connection count, and the ratio of their sums. On
//! a shared machine whose speed drifts over a minute, the two halves of a
//! pair see the same machine; the separate 10-second runs may not.
//! Every loop is bounded by its duration; nothing runs after it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;

struct Args {
    base: String,
    pid: u32,
    secs: u64,
    conns: Vec<usize>,
    json: Option<String>,
    cc: (String, String),
    pw: (String, String),
    code: (String, String),
    user: (String, String),
    /// With N > 0, connection i signs in as `<user>{i % N}`: one account
    /// per connection, so the per-account throttle (which counts attempts
    /// in flight) does not turn a load test into a lockout.
    users: usize,
    only: Option<Vec<String>>,
    /// The items API, its process and its app at Gatehouse.
    items: Option<(String, u32, (String, String))>,
    /// Tokens minted for `items_miss`, shared out among the connections.
    miss_tokens: usize,
    /// Rounds of the paired `/healthz` comparison (0: none).
    paired: u32,
}

fn pair(s: &str) -> (String, String) {
    let (a, b) = s.split_once(':').unwrap_or((s, ""));
    (a.to_owned(), b.to_owned())
}

fn parse_args() -> Result<Args, String> {
    let mut map = HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(key) = it.next() {
        let value = it.next().ok_or(format!("{key} needs a value"))?;
        map.insert(key.trim_start_matches("--").to_owned(), value);
    }
    let get = |k: &str| map.get(k).cloned().ok_or(format!("--{k} is required"));
    Ok(Args {
        base: get("base")?,
        pid: get("pid")?.parse().map_err(|_| "bad --pid")?,
        secs: get("secs")?.parse().map_err(|_| "bad --secs")?,
        conns: get("conns")?
            .split(',')
            .map(|c| c.parse().map_err(|_| "bad --conns".to_owned()))
            .collect::<Result<_, _>>()?,
        json: map.get("json").cloned(),
        cc: pair(&get("cc")?),
        pw: pair(&get("pw")?),
        code: pair(&get("code")?),
        user: pair(&get("user")?),
        users: map
            .get("users")
            .map_or(Ok(0), |n| n.parse().map_err(|_| "bad --users"))?,
        only: map
            .get("only")
            .map(|o| o.split(',').map(str::to_owned).collect()),
        items: match map.get("items") {
            None => None,
            Some(url) => Some((
                url.trim_end_matches('/').to_owned(),
                get("items-pid")?.parse().map_err(|_| "bad --items-pid")?,
                pair(&get("items-client")?),
            )),
        },
        miss_tokens: map
            .get("miss-tokens")
            .map_or(Ok(12_000), |n| n.parse().map_err(|_| "bad --miss-tokens"))?,
        paired: map
            .get("paired")
            .map_or(Ok(0), |n| n.parse().map_err(|_| "bad --paired"))?,
    })
}

/// The server's CPU time so far, in seconds (utime + stime).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[derive(Clone)]
struct Ctx {
    http: reqwest::Client,
    base: String,
    args: std::sync::Arc<Args>,
}

/// What one connection keeps between iterations.
enum State {
    None,
    Login(String),
    Token(String),
    Refresh(String),
    Browser(reqwest::Client),
    /// Tokens not used yet, one per request.
    Fresh(Vec<String>),
}

fn basic(pair: &(String, String)) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", pair.0, pair.1))
    )
}

async fn token(
    ctx: &Ctx,
    client: &(String, String),
    form: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let r = ctx
        .http
        .post(format!("{}/o/token/", ctx.base))
        .header("authorization", basic(client))
        .form(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{status} {body}"))
    }
}

/// The hidden inputs of a page's form, unescaped.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    html.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            if !tag.contains("type=\"hidden\"") {
                return None;
            }
            Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
        })
        .collect()
}

/// A signed-in browser (cookies kept, redirects not followed).
async fn signed_in(ctx: &Ctx, login: &str) -> Result<reqwest::Client, String> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let login_url = format!("{}/accounts/login/", ctx.base);
    let page = browser
        .get(&login_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    let mut form: Vec<(String, String)> = hidden_inputs(&html)
        .into_iter()
        .filter(|(name, _)| name == "csrf_token")
        .take(1)
        .collect();
    form.push(("login".into(), login.to_owned()));
    form.push(("password".into(), ctx.args.user.1.clone()));
    let r = browser
        .post(&login_url)
        .header("origin", &ctx.base)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(format!("sign-in answered {}", r.status()));
    }
    Ok(browser)
}

async fn setup(
    ctx: &Ctx,
    workload: &str,
    connection: usize,
    connections: usize,
) -> Result<State, String> {
    let args = &ctx.args;
    let login = if args.users > 0 {
        format!("{}{}", args.user.0, connection % args.users)
    } else {
        args.user.0.clone()
    };
    Ok(match workload {
        "password" => State::Login(login),
        "introspection" | "profile" => {
            let t = if workload == "introspection" {
                token(
                    ctx,
                    &args.cc,
                    &[("grant_type", "client_credentials"), ("scope", "read")],
                )
                .await?
            } else {
                token(
                    ctx,
                    &args.pw,
                    &[
                        ("grant_type", "password"),
                        ("username", &login),
                        ("password", &args.user.1),
                        ("scope", "read"),
                    ],
                )
                .await?
            };
            State::Token(t["access_token"].as_str().unwrap_or_default().to_owned())
        }
        "refresh" => {
            let t = token(
                ctx,
                &args.pw,
                &[
                    ("grant_type", "password"),
                    ("username", &login),
                    ("password", &args.user.1),
                    ("scope", "read"),
                ],
            )
            .await?;
            State::Refresh(t["refresh_token"].as_str().unwrap_or_default().to_owned())
        }
        "code_flow" => State::Browser(signed_in(ctx, &login).await?),
        "items_warm" | "items_miss" => {
            let (_, _, client) = ctx.args.items.as_ref().ok_or("--items is required")?;
            let mut t = token(
                ctx,
                client,
                &[
                    ("grant_type", "password"),
                    ("username", &login),
                    ("password", &args.user.1),
                    ("scope", "read"),
                ],
            )
            .await?;
            if workload == "items_warm" {
                State::Token(t["access_token"].as_str().unwrap_or_default().to_owned())
            } else {
                // Rotation gives a new access token each time; the earlier
                // ones stay valid until they expire.
                let wanted = (args.miss_tokens / connections).max(1);
                let mut fresh = Vec::with_capacity(wanted);
                while fresh.len() < wanted {
                    fresh.push(t["access_token"].as_str().unwrap_or_default().to_owned());
                    let refresh = t["refresh_token"].as_str().unwrap_or_default().to_owned();
                    t = token(
                        ctx,
                        client,
                        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                    )
                    .await?;
                }
                State::Fresh(fresh)
            }
        }
        _ => State::None,
    })
}

/// One request (or one whole flow) of `workload`.
async fn once(ctx: &Ctx, workload: &str, state: &mut State) -> Result<(), String> {
    let args = &ctx.args;
    match (workload, state) {
        ("healthz", _) => {
            let r = ctx.http.get(format!("{}/healthz", ctx.base)).send().await;
            let r = r.map_err(|e| e.to_string())?;
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok.then_some(()).ok_or("healthz failed".into())
        }
        ("client_credentials", _) => {
            token(
                ctx,
                &args.cc,
                &[("grant_type", "client_credentials"), ("scope", "read")],
            )
            .await?;
            Ok(())
        }
        ("password", State::Login(login)) => {
            token(
                ctx,
                &args.pw,
                &[
                    ("grant_type", "password"),
                    ("username", login.as_str()),
                    ("password", &args.user.1),
                    ("scope", "read"),
                ],
            )
            .await?;
            Ok(())
        }
        ("introspection", State::Token(t)) => {
            let r = ctx
                .http
                .post(format!("{}/o/introspect/", ctx.base))
                .header("authorization", basic(&args.cc))
                .form(&[("token", t.as_str())])
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            (body["active"] == true)
                .then_some(())
                .ok_or(format!("inactive: {body}"))
        }
        ("profile", State::Token(t)) => {
            let r = ctx
                .http
                .get(format!("{}/profile/", ctx.base))
                .bearer_auth(t)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok.then_some(()).ok_or("profile failed".into())
        }
        ("refresh", State::Refresh(r)) => {
            let t = token(
                ctx,
                &args.pw,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", r.as_str()),
                ],
            )
            .await?;
            *r = t["refresh_token"].as_str().unwrap_or_default().to_owned();
            Ok(())
        }
        ("code_flow", State::Browser(browser)) => code_flow(ctx, browser).await,
        ("items_warm", State::Token(t)) => items_list(ctx, t).await,
        ("items_miss", State::Fresh(tokens)) => {
            let t = tokens.pop().ok_or("out of fresh tokens")?;
            items_list(ctx, &t).await
        }
        (w, _) => Err(format!("unknown workload {w}")),
    }
}

/// `GET /items/` at the items API with `token`.
async fn items_list(ctx: &Ctx, token: &str) -> Result<(), String> {
    let (items, _, _) = ctx.args.items.as_ref().ok_or("--items is required")?;
    let r = ctx
        .http
        .get(format!("{items}/items/"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let _ = r.bytes().await;
    status
        .is_success()
        .then_some(())
        .ok_or(format!("items answered {status}"))
}

/// Authorize (consent page shown: prompt=consent), allow, redeem the code.
async fn code_flow(ctx: &Ctx, browser: &reqwest::Client) -> Result<(), String> {
    let verifier =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = gatehouse::oauth::pkce::s256(&verifier);
    let redirect = "http://127.0.0.1:9/callback";
    let url = format!(
        "{}/o/authorize/?response_type=code&client_id={}&redirect_uri={}&scope=read&state=s\
         &code_challenge={challenge}&code_challenge_method=S256&prompt=consent",
        ctx.base, ctx.args.code.0, "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
    );
    let page = browser.get(&url).send().await.map_err(|e| e.to_string())?;
    if page.status() != reqwest::StatusCode::OK {
        return Err(format!("authorize answered {}", page.status()));
    }
    let html = page.text().await.map_err(|e| e.to_string())?;
    // The consent form's own fields (the page's header has a form too).
    let consent = html
        .split_once("class=\"decision\"")
        .and_then(|(_, rest)| rest.split_once("</form>"))
        .map(|(form, _)| form)
        .ok_or("no consent form on the page")?;
    let mut form = hidden_inputs(consent);
    form.push(("decision".into(), "allow".into()));
    let r = browser
        .post(format!("{}/o/authorize/", ctx.base))
        .header("origin", &ctx.base)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let Some(location) = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
    else {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        return Err(format!(
            "consent answered {status}: {}",
            body.chars().take(300).collect::<String>()
        ));
    };
    let location = location.as_str();
    let code = url::Url::parse(location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or(format!("no code in {location}"))?;
    token(
        ctx,
        &ctx.args.code,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await?;
    Ok(())
}

struct Row {
    workload: String,
    conns: usize,
    done: u64,
    errors: u64,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms: f64,
    peak_rss_mib: f64,
    first_error: Option<String>,
    /// Share of `/healthz` measured in alternating one-second pairs.
    paired: Option<f64>,
}

/// Workloads quick enough to set up once a second for `--paired`.
const PAIRED: [&str; 3] = ["client_credentials", "introspection", "profile"];

/// `--paired`: rounds of one second of `/healthz`, then one second of
/// `workload`; the ratio of their summed rates, and the highest resident
/// memory seen. A failed request fails the measure (a rate of errors is no
/// rate).
async fn paired(ctx: &Ctx, workload: &str, conns: usize) -> Result<(f64, f64), String> {
    let (mut floor, mut rate, mut peak) = (0.0, 0.0, 0.0f64);
    for _ in 0..ctx.args.paired {
        for (w, sum) in [("healthz", &mut floor), (workload, &mut rate)] {
            let row = run(ctx, w, conns, Duration::from_secs(1)).await?;
            if let Some(e) = row.first_error {
                return Err(format!("paired {w}: {} errors, the first: {e}", row.errors));
            }
            *sum += row.rate;
            peak = peak.max(row.peak_rss_mib);
        }
    }
    Ok((if floor > 0.0 { rate / floor } else { 0.0 }, peak))
}

async fn run(ctx: &Ctx, workload: &str, conns: usize, secs: Duration) -> Result<Row, String> {
    let states: Vec<State> = if workload == "items_miss" {
        // Minting thousands of tokens one connection after another would
        // take longer than the run.
        futures::future::join_all((0..conns).map(|c| setup(ctx, workload, c, conns)))
            .await
            .into_iter()
            .collect::<Result<_, _>>()?
    } else {
        let mut states = Vec::new();
        for connection in 0..conns {
            states.push(setup(ctx, workload, connection, conns).await?);
        }
        states
    };
    // The items workloads measure the items API's process.
    let pid = match (workload.starts_with("items_"), &ctx.args.items) {
        (true, Some((_, pid, _))) => *pid,
        _ => ctx.args.pid,
    };
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(rss_kib(pid)));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let cpu_before = cpu_secs(pid);
    let started = Instant::now();
    let deadline = started + secs;
    let tasks: Vec<_> = states
        .into_iter()
        .map(|mut state| {
            let ctx = ctx.clone();
            let workload = workload.to_owned();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut first_error = None;
                while Instant::now() < deadline {
                    if matches!(&state, State::Fresh(t) if t.is_empty()) {
                        break;
                    }
                    let t = Instant::now();
                    match once(&ctx, &workload, &mut state).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (l, e, f) = t.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_secs(pid) - cpu_before;
    sampler.abort();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let done = latencies.len() as u64;
    Ok(Row {
        workload: workload.to_owned(),
        conns,
        done,
        errors,
        rate: done as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        cpu_ms: if done > 0 {
            cpu * 1000.0 / done as f64
        } else {
            0.0
        },
        peak_rss_mib: peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0,
        first_error,
        paired: None,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let ctx = Ctx {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("an HTTP client"),
        base: args.base.trim_end_matches('/').to_owned(),
        args: std::sync::Arc::new(args),
    };
    let workloads = [
        "healthz",
        "client_credentials",
        "introspection",
        "profile",
        "refresh",
        "code_flow",
        "password",
        "items_warm",
        "items_miss",
    ];
    // Idle means idle: the server hashed a dummy password at start (for
    // unknown usernames), and a hashing thread gives its memory back only
    // after 250 ms without work.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_mib = rss_kib(ctx.args.pid) as f64 / 1024.0;
    let mut rows = Vec::new();
    for workload in workloads {
        if workload.starts_with("items_") && ctx.args.items.is_none() {
            continue;
        }
        if let Some(only) = &ctx.args.only {
            if !only.iter().any(|o| o == workload) {
                continue;
            }
        }
        for &conns in &ctx.args.conns {
            let secs = Duration::from_secs(ctx.args.secs);
            let row = match run(&ctx, workload, conns, secs).await {
                Ok(row) if ctx.args.paired > 0 && PAIRED.contains(&workload) => {
                    paired(&ctx, workload, conns).await.map(|(p, peak)| Row {
                        paired: Some(p),
                        peak_rss_mib: row.peak_rss_mib.max(peak),
                        ..row
                    })
                }
                other => other,
            };
            match row {
                Ok(row) => rows.push(row),
                Err(e) => {
                    eprintln!("error: {workload} at {conns} connections: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let floor: HashMap<usize, f64> = rows
        .iter()
        .filter(|r| r.workload == "healthz")
        .map(|r| (r.conns, r.rate))
        .collect();
    println!("idle RSS {idle_mib:.1} MiB");
    println!(
        "{:<19} {:>5} {:>10} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "workload",
        "conns",
        "per s",
        "healthz",
        "paired",
        "p50 ms",
        "p99 ms",
        "cpu ms",
        "peak MiB",
        "errors"
    );
    let mut json = Vec::new();
    for r in &rows {
        let ratio = floor.get(&r.conns).map(|f| r.rate / f);
        println!(
            "{:<19} {:>5} {:>10.0} {:>8} {:>8} {:>9.2} {:>9.2} {:>9.3} {:>9.1} {:>8}",
            r.workload,
            r.conns,
            r.rate,
            ratio.map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
            r.paired
                .map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
            r.p50_ms,
            r.p99_ms,
            r.cpu_ms,
            r.peak_rss_mib,
            r.errors
        );
        if let Some(e) = &r.first_error {
            println!(
                "    first error: {}",
                e.chars().take(200).collect::<String>()
            );
        }
        json.push(serde_json::json!({
            "workload": r.workload, "connections": r.conns, "completed": r.done,
            "errors": r.errors, "per_second": r.rate, "of_healthz": ratio,
            "of_healthz_paired": r.paired,
            "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "server_cpu_ms_per_answer": r.cpu_ms,
            "peak_rss_mib": r.peak_rss_mib, "first_error": r.first_error,
        }));
    }
    // A workload that never completed is broken, not slow.
    let broken: Vec<String> = rows
        .iter()
        .filter(|r| r.done == 0)
        .map(|r| format!("{} at {} connections", r.workload, r.conns))
        .collect();
    if !broken.is_empty() {
        eprintln!("error: nothing completed: {}", broken.join(", "));
        std::process::exit(1);
    }
    if let Some(path) = &ctx.args.json {
        let doc = serde_json::json!({ "idle_rss_mib": idle_mib, "rows": json });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default())
        {
            eprintln!("error: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
}
