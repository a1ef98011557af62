-- The one-open-operation check runs on every new start's append: a partial
-- index of the open operations keeps it from walking an instance's history.
CREATE INDEX audit_ops_open ON audit_ops (instance_id) WHERE state IN ('awaiting_approval', 'sent');

-- Lookups by instance go through audit_ops now (its instance index finds the
-- operations, audit_events_op their entries): one index fewer per append.
DROP INDEX audit_events_instance;
