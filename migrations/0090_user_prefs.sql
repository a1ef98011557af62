-- A user's language and time zone, as they chose them (issue 31). Kept
-- apart from users: a preference is not a change of the account, so it
-- must not bump the epoch that ends the user's sessions. '' is "not
-- chosen": the browser's Accept-Language, and UTC.
CREATE TABLE user_prefs (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    lang    TEXT NOT NULL DEFAULT '',
    zone    TEXT NOT NULL DEFAULT ''
);
