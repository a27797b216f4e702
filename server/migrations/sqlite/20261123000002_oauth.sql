-- OAuth applications, the grants users gave them, authorization codes and
-- tokens. Codes, tokens and client secrets are stored as SHA-256 digests.

CREATE TABLE applications (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id                 TEXT    NOT NULL,
    secret_digest             TEXT,
    name                      TEXT    NOT NULL,
    client_type               TEXT    NOT NULL CHECK (client_type IN ('confidential', 'public')),
    -- Space-separated lists.
    grant_types               TEXT    NOT NULL,
    redirect_uris             TEXT    NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
    allowed_origins           TEXT    NOT NULL DEFAULT '',
    scopes                    TEXT    NOT NULL,
    skip_consent              INTEGER NOT NULL DEFAULT 0,
    allow_plain_pkce          INTEGER NOT NULL DEFAULT 0,
    algorithm                 TEXT    NOT NULL DEFAULT 'RS256',
    owner_id                  INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE UNIQUE INDEX applications_client_id_key ON applications (client_id);
CREATE INDEX applications_owner_id ON applications (owner_id);

-- One row per allowed CORS origin, so a preflight is one index lookup.
CREATE TABLE application_origins (
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    origin         TEXT    NOT NULL,
    PRIMARY KEY (origin, application_id)
);
CREATE INDEX application_origins_application_id ON application_origins (application_id);

-- What each user allowed each app (consent is asked once per scope set).
CREATE TABLE grants (
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scopes         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (user_id, application_id)
);
CREATE INDEX grants_application_id ON grants (application_id);

CREATE TABLE authorization_codes (
    digest                TEXT    PRIMARY KEY,
    application_id        INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id               INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    redirect_uri_sent     INTEGER NOT NULL,
    scopes                TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    nonce                 TEXT,
    auth_time             INTEGER NOT NULL,
    family                TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    redeemed_at           INTEGER
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_user_id ON authorization_codes (user_id);
CREATE INDEX authorization_codes_application_id ON authorization_codes (application_id);

CREATE TABLE access_tokens (
    digest         TEXT    PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
    scopes         TEXT    NOT NULL,
    family         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    auth_time      INTEGER
);
CREATE INDEX access_tokens_family ON access_tokens (family);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id);
CREATE INDEX access_tokens_application_id ON access_tokens (application_id);

CREATE TABLE refresh_tokens (
    digest         TEXT    PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
    scopes         TEXT    NOT NULL,
    family         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    auth_time      INTEGER,
    -- Set when a refresh replaced it; kept until expiry to detect reuse.
    rotated_at     INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_application_id ON refresh_tokens (application_id);
