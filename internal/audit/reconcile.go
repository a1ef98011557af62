package audit

import (
	"context"
	"time"
)

// ActionReconcile is the follow-up entry of an unknown outcome: what the
// instance was seen doing later, and when (at most one per operation).
const ActionReconcile = "reconcile"

// Unsettled lists up to limit start operations whose newest entry is an
// unknown outcome written since since, with no follow-up yet, oldest first.
func (l *Log) Unsettled(ctx context.Context, since time.Time, limit int) ([]Op, error) {
	q := "SELECT " + columnList("f") + ", " + columnList("l") + opJoin +
		" WHERE x.state = ? AND x.action = ? AND l.action <> ? AND l.time >= ? ORDER BY x.op_id LIMIT ?"
	return l.queryOps(ctx, q, StateUnknown, ActionStartInstance, ActionReconcile, since.UTC().Format(TimeFormat), limit)
}
