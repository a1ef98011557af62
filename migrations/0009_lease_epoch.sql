-- A replica's lease has an epoch: it grows each time the lease is taken
-- anew (at start-up, or after it ran out while the replica was paused or
-- cut off). An outcome is appended only while the lease of the epoch its
-- intent was written under still runs, checked inside the append's
-- transaction with the database's clock, so a replica that lost its lease
-- writes nothing more for the calls another replica may have taken over.
ALTER TABLE replicas ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;

-- An unknown outcome gets at most one follow-up entry saying what the
-- instance was later seen doing (action 'reconcile'); the database refuses
-- a second, whichever replica writes it.
CREATE UNIQUE INDEX audit_events_one_reconcile ON audit_events (op_id) WHERE action = 'reconcile';
