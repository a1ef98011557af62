-- Where an account comes from: 'local' (created with a password by the CLI)
-- or 'sso' (created on first sight from the trusted proxy's header). They
-- are separate identities: the proxy's groups change only SSO accounts, and
-- an SSO name that matches a local account is refused, never merged.
-- Accounts made before this column were SSO exactly when they had no
-- password.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'sso'));
UPDATE users SET source = 'sso' WHERE password_hash = '';
