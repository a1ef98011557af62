package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ecsdash/internal/db"
)

// AppendBatch appends events in order in one transaction, each sealed and
// chained exactly as Append seals it, and each that opens an operation
// checked as Append checks it; all or none are written. It is for building
// or importing a large log (one commit's flush for many entries); a start
// still records its intent with Append, durable before the call goes out.
// Where Append is pipelined under the chain's lock (PostgreSQL), it
// appends one by one that way; the all-or-none transaction is the single
// writer's (SQLite).
func (l *Log) AppendBatch(ctx context.Context, events []Event) ([]Event, error) {
	out := make([]Event, 0, len(events))
	if l.w.Has(db.Pipeline | db.AdvisoryLocks) {
		for _, e := range events {
			e, err := l.Append(ctx, e)
			if err != nil {
				return out, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	if err := l.prepare(ctx); err != nil {
		return nil, fmt.Errorf("audit: prepare: %w", err)
	}
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("audit: begin: %w", err)
	}
	defer tx.Rollback()
	var last sql.NullInt64
	prev := GenesisHash
	err = tx.StmtContext(ctx, l.headStmt).QueryRowContext(ctx).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audit: head: %w", err)
	}
	open, insert := tx.StmtContext(ctx, l.openStmt), tx.StmtContext(ctx, l.insertStmt)
	seq := last.Int64
	for _, e := range events {
		if opens(e) {
			var o OpenError
			err := open.QueryRowContext(ctx, e.InstanceID).Scan(&o.OpID, &o.State, &o.User)
			if err == nil {
				return nil, &o
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("audit: open operations: %w", err)
			}
		}
		l.seal(&e, seq, prev)
		if _, err := insert.ExecContext(ctx, e.args()...); err != nil {
			return nil, fmt.Errorf("audit: insert: %w", err)
		}
		seq, prev = e.Seq, e.Hash
		out = append(out, e)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("audit: commit: %w", err)
	}
	if l.OnAppend != nil {
		for _, e := range out {
			l.OnAppend(e)
		}
	}
	return out, nil
}
