-- Accounts imported from a Django site may have no email (Django allows
-- that for any number of accounts); a non-empty email stays unique.
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email <> '';

-- What `gatehouse import django` brought over, so that a second run
-- updates only what changed in the source and removes what was removed
-- there. Rows Gatehouse made itself have no entry and are never touched.
CREATE TABLE django_imports (
    -- user, application, access_token or refresh_token
    kind               TEXT    NOT NULL,
    -- The row's id in the Django database (kept as the Gatehouse id for
    -- users and applications).
    source_id          INTEGER NOT NULL,
    -- SHA-256 of the source row as imported; for tokens, the token's digest.
    fingerprint        TEXT    NOT NULL,
    -- SHA-256 of the password hash or client secret as imported: a change
    -- made in Gatehouse since (a rehash, a new password) is kept unless
    -- the source's own changed too.
    secret_fingerprint TEXT,
    imported_at        INTEGER NOT NULL,
    PRIMARY KEY (kind, source_id)
);

-- A secret shorter than 32 characters (an operator's, with
-- --allow-weak-secret, or an imported one): the app's page asks for a
-- rotation, which clears the mark.
ALTER TABLE applications ADD COLUMN weak_secret INTEGER NOT NULL DEFAULT 0;
