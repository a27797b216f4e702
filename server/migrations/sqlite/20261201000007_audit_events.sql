-- The audit trail: one row per security event (see src/audit.rs). No
-- foreign keys: an account's or an app's events outlive it, and the
-- username and client id are kept as they were when it happened.
CREATE TABLE audit_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    user_id        INTEGER,
    username       TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    actor_id       INTEGER,
    actor_username TEXT    NOT NULL DEFAULT '',
    client_id      TEXT,
    address        TEXT    NOT NULL DEFAULT '',
    user_agent     TEXT    NOT NULL DEFAULT '',
    detail         TEXT    NOT NULL DEFAULT ''
);
-- A person's own page, newest first; staff search by account, app or kind.
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_username ON audit_events (username, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id);
CREATE INDEX audit_events_at ON audit_events (at);
