-- Notifications are delivered from the audit log (an outbox): each webhook
-- receiver has a cursor, the newest entry whose events it was given, and a
-- lease, so that one replica at a time delivers its events, in order.
-- receiver is the SHA-256 of the URL (a robot's URL carries its token);
-- label is the URL without its query, for people. lease_until is
-- milliseconds since 1970 by the database's clock, never a host's.
CREATE TABLE notify_cursors (
    receiver    TEXT   PRIMARY KEY,
    label       TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    holder      TEXT   NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0
);
