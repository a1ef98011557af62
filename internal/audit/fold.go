package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ecsdash/internal/db"
)

// audit_ops is derived from the chain (one row an operation: its first
// entry's action, user, instance and time; its newest entry's seq and
// state), and the pages, the approval queue, the history and the export read
// it. Triggers refuse deleting its rows and any update but the fold's own
// (migration 0040); VerifyFold shows any other change: a row missing, added
// or altered makes it differ from the fold of the chain.

// foldSQL is the fold of the chain, computed afresh: what audit_ops must hold.
const foldSQL = `SELECT x.op_id, x.last, f.action, f."user", f.instance_id, l.state, f.time
	FROM (SELECT op_id, MAX(seq) AS last FROM audit_events GROUP BY op_id) x
	JOIN audit_events f ON f.seq = x.op_id
	JOIN audit_events l ON l.seq = x.last`

const opsSQL = `SELECT op_id, last_seq, action, "user", instance_id, state, time FROM audit_ops`

// BadFold says audit_ops is not the fold of the chain at operation OpID.
type BadFold struct {
	OpID   int64
	Reason string
}

func (b *BadFold) Error() string {
	return fmt.Sprintf("audit_ops, request %d: %s", b.OpID, b.Reason)
}

// VerifyFold checks that audit_ops is exactly the fold of audit_events: a
// *BadFold names the first operation where it is not.
func VerifyFold(ctx context.Context, r *db.Pool) error {
	var id int64
	var missing bool
	err := r.QueryRowContext(ctx, `SELECT op_id, missing FROM (
			SELECT op_id, 1 AS missing FROM (`+foldSQL+` EXCEPT `+opsSQL+`) a
			UNION ALL
			SELECT op_id, 0 AS missing FROM (`+opsSQL+` EXCEPT `+foldSQL+`) b
		) d ORDER BY op_id, missing DESC LIMIT 1`).Scan(&id, &missing)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("audit: compare audit_ops with the chain: %w", err)
	}
	var n int
	if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_ops WHERE op_id = ?", id).Scan(&n); err != nil {
		return fmt.Errorf("audit: compare audit_ops with the chain: %w", err)
	}
	switch {
	case n == 0:
		return &BadFold{id, "the chain holds this operation but audit_ops has no row for it (deleted: the pages, the approval queue and the export do not show it)"}
	case !missing:
		var inChain int
		if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events WHERE op_id = ?", id).Scan(&inChain); err != nil {
			return fmt.Errorf("audit: compare audit_ops with the chain: %w", err)
		}
		if inChain == 0 {
			return &BadFold{id, "audit_ops has a row for an operation the chain does not hold (added)"}
		}
	}
	return &BadFold{id, "its row differs from the chain's entries (altered: its state or newest entry is not the chain's)"}
}
