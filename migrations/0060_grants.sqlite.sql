-- Grants over scopes (issue 27). A user's own role now holds over a scope
-- ('' is every instance: every user from before keeps their rights). A
-- grant gives one more role over a scope, to a user or to every single
-- sign-on user in a group. admin is never scoped.
ALTER TABLE users ADD COLUMN scope TEXT NOT NULL DEFAULT '';

CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    user_name  TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    group_name TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    scope      TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    CHECK ((user_name = '') <> (group_name = '')),
    CHECK (role <> 'admin' OR scope = '')
);
CREATE INDEX grants_user ON grants (lower(user_name)) WHERE user_name <> '';
CREATE INDEX grants_group ON grants (group_name) WHERE group_name <> '';
