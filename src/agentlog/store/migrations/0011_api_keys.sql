-- API keys. The secret is never stored: only its SHA-256 (the secret is 256
-- random bits, so a fast hash is enough; there is nothing to brute-force).
-- key_id is the public half, shown in listings and used to revoke.
CREATE TABLE api_keys (
    key_id      VARCHAR PRIMARY KEY,
    secret_hash VARCHAR NOT NULL,
    tenant_id   VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,      -- ingest, read, admin
    user_id     VARCHAR,               -- a read key bound to one user sees only that user's runs
    label       VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);
