-- The audit page's default view is every operation but sign-ins (API token
-- changes, account changes, and any action added later, included): its
-- index says so, instead of listing the actions shown, which had hidden
-- every action added after migration 0010. The condition is written
-- exactly as internal/audit's query states it (shownOnly).
DROP INDEX audit_ops_shown;
CREATE INDEX audit_ops_shown ON audit_ops (op_id) WHERE action NOT IN ('login', 'logout');

-- The action filter on an action that follows an operation's first entry
-- (approve, reject, withdraw, expire, recover, reconcile) finds the
-- operations holding one: only follow-up entries are indexed.
CREATE INDEX audit_events_followup ON audit_events (action, op_id) WHERE seq <> op_id;
