-- (PostgreSQL) id_token signing keys. The private key is PKCS#8 DER, or, when sealed,
-- nonce || AES-256-GCM ciphertext of it under key_encryption_key. A key signs while
-- retired_at is NULL (the newest such key per algorithm); after rotation it
-- stays published in the JWKS until publish_until, so tokens it signed
-- still verify.
CREATE TABLE signing_keys (
    kid           TEXT    PRIMARY KEY,
    algorithm     TEXT    NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    private_key   BYTEA   NOT NULL,
    sealed        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    retired_at    BIGINT,
    publish_until BIGINT
);
