-- The JSON API (issue 29).
--
-- API tokens: only a SHA-256 of each token's secret is kept; the id is
-- public (listed, audited) and finds the row, whose hash is then compared in
-- constant time. A token acts as its user at each request: the user's row
-- is read fresh, so disabling the user stops the token.
CREATE TABLE api_tokens (
    id          TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL DEFAULT '',
    secret_hash TEXT    NOT NULL,
    read_only   INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL DEFAULT '',  -- '' never
    revoked_at  TEXT    NOT NULL DEFAULT ''   -- '' not revoked
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Idempotency-Key of the API's starts: the first request with a key holds
-- the row (pending) while it runs, then stores its answer; a repeat from
-- the same user within 24 h answers from here, on any replica.
CREATE TABLE api_idempotency (
    user_id    BIGINT  NOT NULL,
    key        TEXT    NOT NULL,
    body_hash  TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    done       INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    status     INTEGER NOT NULL DEFAULT 0,
    response   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);

-- The audit fields of API calls and of account changes: the token's id
-- (never the token), the user changed, and what changed in words. Hashed
-- only when set, so older entries keep their hashes.
ALTER TABLE audit_events ADD COLUMN token TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN detail TEXT NOT NULL DEFAULT '';
