-- Who an ECS call was made as, with several accounts (--accounts): the
-- account's name and UID, the role session's name and the AccessKeyId used
-- (never a secret or a security token). '' on every entry from before and
-- with the one account of the credential chain; hashed only when set, so
-- older entries keep their hashes.
ALTER TABLE audit_events ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN session_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN access_key_id TEXT NOT NULL DEFAULT '';
