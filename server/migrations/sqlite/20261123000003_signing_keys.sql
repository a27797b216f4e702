-- id_token signing keys. The private key is PKCS#8 DER. A key signs while
-- retired_at is NULL (the newest such key per algorithm); after rotation it
-- stays published in the JWKS until publish_until, so tokens it signed
-- still verify.
CREATE TABLE signing_keys (
    kid           TEXT    PRIMARY KEY,
    algorithm     TEXT    NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    private_key   BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    retired_at    INTEGER,
    publish_until INTEGER
);
