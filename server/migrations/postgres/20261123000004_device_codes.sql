-- (PostgreSQL) RFC 8628 device authorizations. Both codes are stored as SHA-256
-- digests; the user code in its normalised form (upper case, no dash).
CREATE TABLE device_codes (
    device_digest    TEXT    PRIMARY KEY,
    user_code_digest TEXT    NOT NULL,
    application_id   BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scopes           TEXT    NOT NULL,
    family           TEXT    NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- Seconds between polls; grows by 5 at each slow_down.
    poll_interval    BIGINT NOT NULL,
    last_polled_at   BIGINT,
    -- Whether the latest poll came sooner than the interval allowed.
    too_fast         BOOLEAN NOT NULL DEFAULT FALSE,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id          BIGINT REFERENCES users (id) ON DELETE CASCADE,
    auth_time        BIGINT,
    decided_at       BIGINT,
    redeemed_at      BIGINT
);
CREATE UNIQUE INDEX device_codes_user_code_digest_key ON device_codes (user_code_digest);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
CREATE INDEX device_codes_application_id ON device_codes (application_id);
CREATE INDEX device_codes_user_id ON device_codes (user_id);
