//! Writing an import from a Django site (see `crate::import`): one
//! transaction that compares the source with what the last import brought
//! (the `django_imports` table), then removes, updates and adds rows in
//! batches. A conflict with rows Gatehouse made itself rolls it all back;
//! so does a dry run, after counting.

use std::collections::{HashMap, HashSet};

use sqlx::QueryBuilder;

use super::{Dialect, SqlStore};
use crate::import::{
    Counts, ImportApp, ImportData, ImportError, ImportToken, ImportUser, Progress, Summary,
};

/// Rows per INSERT statement: well inside both backends' bind limits.
const CHUNK: usize = 500;

const USER: &str = "user";
const APPLICATION: &str = "application";
const ACCESS: &str = "access_token";
const REFRESH: &str = "refresh_token";

/// A query builder for `pool`'s backend (the pool only names the type).
fn builder<'a, DB: sqlx::Database>(
    _pool: &sqlx::Pool<DB>,
    sql: impl Into<String>,
) -> QueryBuilder<'a, DB> {
    QueryBuilder::new(sql)
}

fn store_error(e: sqlx::Error) -> ImportError {
    ImportError::Store(e.to_string())
}

/// What the last import wrote for one source row.
struct Previous {
    fingerprint: String,
    secret_fingerprint: Option<String>,
}

type PreviousRows = HashMap<(String, i64), Previous>;

/// What to do with the rows of one kind.
struct Plan<'a, T> {
    new: Vec<&'a T>,
    /// The row, and whether its secret (password hash, client secret)
    /// changed in the source too.
    changed: Vec<(&'a T, bool)>,
    unchanged: u64,
    /// Source ids imported before and gone from the source now.
    removed: Vec<i64>,
}

impl<T> Plan<'_, T> {
    fn counts(&self) -> Counts {
        Counts {
            new: self.new.len() as u64,
            updated: self.changed.len() as u64,
            unchanged: self.unchanged,
            removed: self.removed.len() as u64,
            skipped: 0,
        }
    }
}

/// Compares rows (id, fingerprint, secret fingerprint) with the last import.
fn plan<'a, T>(
    kind: &str,
    rows: &'a [T],
    key: impl Fn(&T) -> (i64, &str, &str),
    previous: &PreviousRows,
) -> Plan<'a, T> {
    let mut out = Plan {
        new: Vec::new(),
        changed: Vec::new(),
        unchanged: 0,
        removed: Vec::new(),
    };
    let mut seen = HashSet::new();
    for row in rows {
        let (id, fingerprint, secret) = key(row);
        seen.insert(id);
        match previous.get(&(kind.to_owned(), id)) {
            None => out.new.push(row),
            Some(p) if p.fingerprint == fingerprint => out.unchanged += 1,
            Some(p) => out
                .changed
                .push((row, p.secret_fingerprint.as_deref() != Some(secret))),
        }
    }
    out.removed = previous
        .keys()
        .filter(|(k, id)| k == kind && !seen.contains(id))
        .map(|(_, id)| *id)
        .collect();
    out.removed.sort_unstable();
    out
}

/// Rows Gatehouse made itself that an import would collide with.
fn user_conflicts(
    users: &[ImportUser],
    existing: &[(i64, String, String)],
    previous: &PreviousRows,
    warnings: &mut Vec<String>,
    email_cleared: &mut HashSet<i64>,
) -> Vec<String> {
    let imported = |id: i64| previous.contains_key(&(USER.to_owned(), id));
    let source_ids: HashSet<i64> = users.iter().map(|u| u.id).collect();
    // Accounts that stay as Gatehouse made them: not imported before.
    let mut names: HashMap<String, i64> = HashMap::new();
    let mut emails: HashMap<String, i64> = HashMap::new();
    let mut ids: HashMap<i64, &str> = HashMap::new();
    for (id, username, email) in existing {
        if imported(*id) {
            continue;
        }
        ids.insert(*id, username);
        names.insert(username.to_ascii_lowercase(), *id);
        if !email.is_empty() {
            emails.insert(email.to_ascii_lowercase(), *id);
        }
    }
    let mut conflicts = Vec::new();
    let mut source_names: HashMap<String, i64> = HashMap::new();
    for u in users {
        if let Some(name) = ids.get(&u.id) {
            conflicts.push(format!(
                "account id {} is {name:?} in Gatehouse, which was not imported (the source's is \
                 {:?}): import into a new Gatehouse database",
                u.id, u.username
            ));
        }
        let lower = u.username.to_ascii_lowercase();
        if u.username.is_empty() {
            conflicts.push(format!("account {} has no username", u.id));
        } else if let Some(other) = names.get(&lower) {
            conflicts.push(format!(
                "username {:?} (account {}) is taken by Gatehouse account {other}",
                u.username, u.id
            ));
        } else if let Some(other) = source_names.insert(lower, u.id) {
            conflicts.push(format!(
                "accounts {other} and {} have usernames that differ only in case, which \
                 Gatehouse treats as one: rename one in Django first",
                u.id
            ));
        }
        if let Some(other) = emails.get(&u.email.to_ascii_lowercase()) {
            if !source_ids.contains(other) {
                warnings.push(format!(
                    "account {} ({}) shares its email with Gatehouse account {other}: imported \
                     without an email",
                    u.id, u.username
                ));
                email_cleared.insert(u.id);
            }
        }
    }
    conflicts
}

fn app_conflicts(
    apps: &[ImportApp],
    existing: &[(i64, String)],
    previous: &PreviousRows,
) -> Vec<String> {
    let imported = |id: i64| previous.contains_key(&(APPLICATION.to_owned(), id));
    let mut ids: HashMap<i64, &str> = HashMap::new();
    let mut client_ids: HashMap<&str, i64> = HashMap::new();
    for (id, client_id) in existing {
        if !imported(*id) {
            ids.insert(*id, client_id);
            client_ids.insert(client_id, *id);
        }
    }
    let mut conflicts = Vec::new();
    for a in apps {
        if let Some(client_id) = ids.get(&a.id) {
            conflicts.push(format!(
                "application id {} is {client_id:?} in Gatehouse, which was not imported: import \
                 into a new Gatehouse database",
                a.id
            ));
        } else if let Some(other) = client_ids.get(a.client_id.as_str()) {
            conflicts.push(format!(
                "client id {:?} (application {}) is taken by Gatehouse application {other}",
                a.client_id, a.id
            ));
        }
    }
    conflicts
}

fn token_plan<'a>(
    kind: &str,
    tokens: &'a [ImportToken],
    previous: &PreviousRows,
) -> (Vec<&'a ImportToken>, u64, Vec<(i64, String)>) {
    let mut new = Vec::new();
    let mut unchanged = 0;
    let mut seen: HashMap<i64, &str> = HashMap::new();
    for t in tokens {
        seen.insert(t.source_id, &t.digest);
        match previous.get(&(kind.to_owned(), t.source_id)) {
            Some(p) if p.fingerprint == t.digest => unchanged += 1,
            _ => new.push(t),
        }
    }
    // Gone from the source (revoked, expired) or replaced: remove ours.
    let removed = previous
        .iter()
        .filter(|((k, id), p)| k == kind && seen.get(id) != Some(&p.fingerprint.as_str()))
        .map(|((_, id), p)| (*id, p.fingerprint.clone()))
        .collect();
    (new, unchanged, removed)
}

/// `DELETE FROM table WHERE column IN (…)`, in chunks.
macro_rules! delete_in {
    ($pool:expr, $tx:expr, $table:expr, $column:expr, $values:expr) => {
        async {
            for chunk in $values.chunks(CHUNK) {
                let mut q = builder(
                    $pool,
                    format!("DELETE FROM {} WHERE {} IN (", $table, $column),
                );
                let mut list = q.separated(", ");
                for v in chunk {
                    list.push_bind(v.clone());
                }
                q.push(")");
                q.build().execute(&mut *$tx).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}

/// Records what was imported (`kind`, source id, fingerprints).
macro_rules! record_imports {
    ($pool:expr, $tx:expr, $kind:expr, $rows:expr, $now:expr) => {
        async {
            let rows: Vec<(i64, String, Option<String>)> = $rows;
            for chunk in rows.chunks(CHUNK) {
                let mut q = builder(
                    $pool,
                    "INSERT INTO django_imports (kind, source_id, fingerprint, \
                     secret_fingerprint, imported_at) ",
                );
                q.push_values(chunk, |mut b, (id, fp, secret)| {
                    b.push_bind($kind)
                        .push_bind(*id)
                        .push_bind(fp.clone())
                        .push_bind(secret.clone())
                        .push_bind($now);
                });
                q.push(
                    " ON CONFLICT (kind, source_id) DO UPDATE SET \
                     fingerprint = excluded.fingerprint, \
                     secret_fingerprint = excluded.secret_fingerprint, \
                     imported_at = excluded.imported_at",
                );
                q.build().execute(&mut *$tx).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}

/// Inserts tokens into `$table` (ignoring digests already there).
macro_rules! insert_import_tokens {
    ($pool:expr, $tx:expr, $table:expr, $tokens:expr) => {
        async {
            let tokens: &[&ImportToken] = $tokens;
            for chunk in tokens.chunks(CHUNK) {
                let mut q = builder(
                    $pool,
                    format!(
                        "INSERT INTO {} (digest, application_id, user_id, scopes, family, \
                     created_at, expires_at, auth_time) ",
                        $table
                    ),
                );
                q.push_values(chunk, |mut b, t| {
                    b.push_bind(t.digest.clone())
                        .push_bind(t.application_id)
                        .push_bind(t.user_id)
                        .push_bind(t.scopes.to_string())
                        .push_bind(t.family.clone())
                        .push_bind(t.created_at)
                        .push_bind(t.expires_at)
                        .push_bind(t.auth_time);
                });
                q.push(" ON CONFLICT (digest) DO NOTHING");
                q.build().execute(&mut *$tx).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}

fn app_values(a: &ImportApp) -> (String, String, String, String, String, &'static str) {
    let grants: Vec<&str> = a.grant_types.iter().map(|g| g.as_str()).collect();
    (
        grants.join(" "),
        a.redirect_uris.join(" "),
        a.post_logout_redirect_uris.join(" "),
        a.allowed_origins.join(" "),
        // The scopes an imported app may ask for: Gatehouse's defaults.
        gatehouse::oauth::registration::default_scopes().to_string(),
        a.algorithm.as_str(),
    )
}

impl SqlStore {
    /// Writes `data` (see the module comment); the summary counts what was
    /// (or, in a dry run, would be) written.
    pub async fn import_django(
        &self,
        data: ImportData,
        dry_run: bool,
        now: i64,
        progress: &dyn Fn(Progress<'_>),
    ) -> Result<Summary, ImportError> {
        let dialect = self.dialect();
        let mut summary = data.summary.clone();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(store_error)?;
            let previous: PreviousRows =
                sqlx::query_as::<_, (String, i64, String, Option<String>)>(
                    "SELECT kind, source_id, fingerprint, secret_fingerprint FROM django_imports",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|(kind, id, fingerprint, secret_fingerprint)| {
                    (
                        (kind, id),
                        Previous {
                            fingerprint,
                            secret_fingerprint,
                        },
                    )
                })
                .collect();
            let existing_users: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, username, email FROM users")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(store_error)?;
            let existing_apps: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, client_id FROM applications")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(store_error)?;

            let mut email_cleared = HashSet::new();
            let mut conflicts = user_conflicts(
                &data.users,
                &existing_users,
                &previous,
                &mut summary.warnings,
                &mut email_cleared,
            );
            conflicts.extend(app_conflicts(&data.applications, &existing_apps, &previous));
            if !conflicts.is_empty() {
                return Err(ImportError::Conflicts(conflicts));
            }
            let users = plan(
                USER,
                &data.users,
                |u| (u.id, &u.fingerprint, &u.secret_fingerprint),
                &previous,
            );
            let apps = plan(
                APPLICATION,
                &data.applications,
                |a| (a.id, &a.fingerprint, &a.secret_fingerprint),
                &previous,
            );
            let (new_access, access_unchanged, removed_access) =
                token_plan(ACCESS, &data.access_tokens, &previous);
            let (new_refresh, refresh_unchanged, removed_refresh) =
                token_plan(REFRESH, &data.refresh_tokens, &previous);
            let email = |u: &ImportUser| {
                if email_cleared.contains(&u.id) {
                    String::new()
                } else {
                    u.email.clone()
                }
            };

            let write = async {
                // Removed from the source: their tokens, codes and grants go too.
                delete_in!(pool, tx, "users", "id", users.removed).await?;
                delete_in!(pool, tx, "applications", "id", apps.removed).await?;
                let gone_access: Vec<String> =
                    removed_access.iter().map(|(_, d)| d.clone()).collect();
                let gone_refresh: Vec<String> =
                    removed_refresh.iter().map(|(_, d)| d.clone()).collect();
                delete_in!(pool, tx, "access_tokens", "digest", gone_access).await?;
                delete_in!(pool, tx, "refresh_tokens", "digest", gone_refresh).await?;
                for (kind, ids) in [
                    (USER, users.removed.clone()),
                    (APPLICATION, apps.removed.clone()),
                    (ACCESS, removed_access.iter().map(|(id, _)| *id).collect()),
                    (REFRESH, removed_refresh.iter().map(|(id, _)| *id).collect()),
                ] {
                    for chunk in ids.chunks(CHUNK) {
                        let mut q = builder(pool, "DELETE FROM django_imports WHERE kind = ");
                        q.push_bind(kind).push(" AND source_id IN (");
                        let mut list = q.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        q.push(")");
                        q.build().execute(&mut *tx).await?;
                    }
                }

                // Changed in the source: a password or secret changed in
                // Gatehouse since is kept unless the source's changed too.
                for (u, secret_changed) in &users.changed {
                    sqlx::query(
                        "UPDATE users SET username = $1, email = $2, first_name = $3, \
                         last_name = $4, is_active = $5, is_staff = $6, is_superuser = $7, \
                         date_joined = $8, last_login = $9, \
                         password_hash = CASE WHEN $10 THEN $11 ELSE password_hash END \
                         WHERE id = $12",
                    )
                    .bind(&u.username)
                    .bind(email(u))
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(u.is_active)
                    .bind(u.is_staff)
                    .bind(u.is_superuser)
                    .bind(u.date_joined)
                    .bind(u.last_login)
                    .bind(*secret_changed)
                    .bind(&u.password_hash)
                    .bind(u.id)
                    .execute(&mut *tx)
                    .await?;
                    if !u.is_active {
                        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                            .bind(u.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let mut users_written = 0;
                for chunk in users.new.chunks(CHUNK) {
                    let mut q = builder(
                        pool,
                        "INSERT INTO users (id, username, email, first_name, last_name, \
                         password_hash, is_active, is_staff, is_superuser, date_joined, last_login) ",
                    );
                    q.push_values(chunk, |mut b, u| {
                        b.push_bind(u.id)
                            .push_bind(u.username.clone())
                            .push_bind(email(u))
                            .push_bind(u.first_name.clone())
                            .push_bind(u.last_name.clone())
                            .push_bind(u.password_hash.clone())
                            .push_bind(u.is_active)
                            .push_bind(u.is_staff)
                            .push_bind(u.is_superuser)
                            .push_bind(u.date_joined)
                            .push_bind(u.last_login);
                    });
                    q.build().execute(&mut *tx).await?;
                    users_written += chunk.len();
                    progress(Progress::Rows {
                        what: "users",
                        done: users_written,
                        total: users.new.len(),
                    });
                }

                for (a, secret_changed) in &apps.changed {
                    let (grants, redirects, logout, origins, _, algorithm) = app_values(a);
                    sqlx::query(
                        "UPDATE applications SET client_id = $1, name = $2, client_type = $3, \
                         grant_types = $4, redirect_uris = $5, post_logout_redirect_uris = $6, \
                         allowed_origins = $7, skip_consent = $8, algorithm = $9, owner_id = $10, \
                         updated_at = $11, \
                         secret_digest = CASE WHEN $12 THEN $13 ELSE secret_digest END, \
                         weak_secret = CASE WHEN $12 THEN $14 ELSE weak_secret END \
                         WHERE id = $15",
                    )
                    .bind(&a.client_id)
                    .bind(&a.name)
                    .bind(a.client_type.as_str())
                    .bind(grants)
                    .bind(redirects)
                    .bind(logout)
                    .bind(origins)
                    .bind(a.skip_consent)
                    .bind(algorithm)
                    .bind(a.owner_id)
                    .bind(now)
                    .bind(*secret_changed)
                    .bind(&a.secret_digest)
                    .bind(a.weak_secret)
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await?;
                }
                for chunk in apps.new.chunks(CHUNK) {
                    let mut q = builder(
                        pool,
                        "INSERT INTO applications (id, client_id, secret_digest, name, \
                         client_type, grant_types, redirect_uris, post_logout_redirect_uris, \
                         allowed_origins, scopes, skip_consent, allow_plain_pkce, algorithm, \
                         owner_id, created_at, updated_at, reviewed, weak_secret) ",
                    );
                    q.push_values(chunk, |mut b, a| {
                        let (grants, redirects, logout, origins, scopes, algorithm) = app_values(a);
                        b.push_bind(a.id)
                            .push_bind(a.client_id.clone())
                            .push_bind(a.secret_digest.clone())
                            .push_bind(a.name.clone())
                            .push_bind(a.client_type.as_str())
                            .push_bind(grants)
                            .push_bind(redirects)
                            .push_bind(logout)
                            .push_bind(origins)
                            .push_bind(scopes)
                            .push_bind(a.skip_consent)
                            .push_bind(false)
                            .push_bind(algorithm)
                            .push_bind(a.owner_id)
                            .push_bind(a.created_at)
                            .push_bind(now)
                            .push_bind(true)
                            .push_bind(a.weak_secret);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                // Each written app's origins, as the CORS lookups read them.
                let written: Vec<&ImportApp> = apps
                    .new
                    .iter()
                    .copied()
                    .chain(apps.changed.iter().map(|(a, _)| *a))
                    .collect();
                let written_ids: Vec<i64> = written.iter().map(|a| a.id).collect();
                delete_in!(
                    pool,
                    tx,
                    "application_origins",
                    "application_id",
                    written_ids
                )
                .await?;
                let origins: Vec<(i64, &str)> = written
                    .iter()
                    .flat_map(|a| a.allowed_origins.iter().map(|o| (a.id, o.as_str())))
                    .collect();
                for chunk in origins.chunks(CHUNK) {
                    let mut q = builder(
                        pool,
                        "INSERT INTO application_origins (application_id, origin) ",
                    );
                    q.push_values(chunk, |mut b, (id, origin)| {
                        b.push_bind(*id).push_bind(origin.to_string());
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                }

                insert_import_tokens!(pool, tx, "access_tokens", &new_access).await?;
                insert_import_tokens!(pool, tx, "refresh_tokens", &new_refresh).await?;
                let tokens = new_access.len() + new_refresh.len();
                progress(Progress::Rows {
                    what: "tokens",
                    done: tokens,
                    total: tokens,
                });
                let mut grants_added = 0;
                for chunk in data.grants.chunks(CHUNK) {
                    let mut q = builder(
                        pool,
                        "INSERT INTO grants (user_id, application_id, scopes, created_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut b, (user, app, scopes)| {
                        b.push_bind(*user)
                            .push_bind(*app)
                            .push_bind(scopes.to_string())
                            .push_bind(now)
                            .push_bind(now);
                    });
                    q.push(" ON CONFLICT (user_id, application_id) DO NOTHING");
                    grants_added += q.build().execute(&mut *tx).await?.rows_affected();
                }

                let user_rows = users
                    .new
                    .iter()
                    .copied()
                    .chain(users.changed.iter().map(|(u, _)| *u))
                    .map(|u| {
                        (
                            u.id,
                            u.fingerprint.clone(),
                            Some(u.secret_fingerprint.clone()),
                        )
                    })
                    .collect();
                record_imports!(pool, tx, USER, user_rows, now).await?;
                let app_rows = written
                    .iter()
                    .map(|a| {
                        (
                            a.id,
                            a.fingerprint.clone(),
                            Some(a.secret_fingerprint.clone()),
                        )
                    })
                    .collect();
                record_imports!(pool, tx, APPLICATION, app_rows, now).await?;
                let token_rows = |tokens: &[&ImportToken]| {
                    tokens
                        .iter()
                        .map(|t| (t.source_id, t.digest.clone(), None))
                        .collect::<Vec<_>>()
                };
                record_imports!(pool, tx, ACCESS, token_rows(&new_access), now).await?;
                record_imports!(pool, tx, REFRESH, token_rows(&new_refresh), now).await?;

                // New rows kept their ids: the next id Gatehouse gives out
                // must come after them, and never go back (an id a client
                // knew must not name someone else, even once it is gone).
                // Sequences ignore rollbacks: a dry run leaves them alone.
                if dialect == Dialect::Postgres && !dry_run {
                    for table in ["users", "applications"] {
                        sqlx::query(&format!(
                            "SELECT setval(s, GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), \
                             COALESCE(pg_sequence_last_value(CAST(s AS regclass)), 0), 1)) \
                             FROM (SELECT pg_get_serial_sequence('{table}', 'id') AS s) AS q"
                        ))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                Ok::<u64, sqlx::Error>(grants_added)
            };
            summary.grants = write.await.map_err(store_error)?;
            summary.users = users.counts();
            summary.applications = Counts {
                skipped: summary.applications.skipped,
                ..apps.counts()
            };
            summary.access_tokens = Counts {
                new: new_access.len() as u64,
                unchanged: access_unchanged,
                removed: removed_access.len() as u64,
                skipped: summary.access_tokens.skipped,
                updated: 0,
            };
            summary.refresh_tokens = Counts {
                new: new_refresh.len() as u64,
                unchanged: refresh_unchanged,
                removed: removed_refresh.len() as u64,
                skipped: summary.refresh_tokens.skipped,
                updated: 0,
            };
            if dry_run {
                tx.rollback().await.map_err(store_error)?;
            } else {
                tx.commit().await.map_err(store_error)?;
            }
            Ok(summary)
        })
    }
}
