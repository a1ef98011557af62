package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"ecsdash/internal/db"
)

// The append on PostgreSQL, where several replicas write one chain. Every
// append takes the chain's advisory lock inside its transaction, so seq
// stays gapless and each hash follows its predecessor whichever replica
// wrote it; the checks (the operation's state, the instance's open
// operation) run under the same lock. A replica that knows the head sends
// one pipeline (appendOnHead: the lock, the checks, the head, an insert
// conditional on all of them, one implicit transaction); when another
// replica wrote since, it reads the head under the lock first
// (appendPipelined: BEGIN, the lock, the checks and the head; then the
// insert and COMMIT). Statement by statement through database/sql an append
// took five round trips and a third of a bare INSERT's rate. In READ
// COMMITTED each statement sees what was committed when it began, so what
// is read after the lock is held is the newest.
var (
	pgStateSQL  = db.Rebind(db.Postgres, stateSQL)
	pgOpenSQL   = db.Rebind(db.Postgres, openSQL)
	pgHeadSQL   = db.Rebind(db.Postgres, headSQL)
	pgInsertSQL = folded(db.Rebind(db.Postgres, insertSQL))
)

// folded is an insert of an entry that also folds it into audit_ops, in one
// statement (SQLite's trigger does the same; on PostgreSQL the trigger's
// plpgsql call cost a sixth of an append, see migrations/0008), both made
// from the fold's one definition (fold.go). A new operation also counts in
// audit_op_counts (the audit page's total). Its row count is the entry's:
// 1 when inserted, 0 when not. It keeps audit_instances too (the typed
// instance filter's table, migrations/0130).
func folded(insert string) string {
	entry := make([]string, 0, len(foldColumns)+1)
	for _, c := range foldColumns {
		entry = append(entry, c.entry)
	}
	entry = append(entry, "instance_name")
	return `WITH e AS (` + insert + ` RETURNING ` + strings.Join(entry, ", ") + `),
		c AS (` + countInto("", "FROM e WHERE seq = op_id") + `),
		i AS (` + instanceInto("", "FROM e WHERE seq = op_id") + `)
		` + foldInto("", "FROM e")
}

// insertIfSQL is the one-round-trip append's insert: the entry goes in only
// if the head is still the one its hash was computed on (and, when asked,
// the operation is still in state want, and its instance holds no open
// operation). The head is its seq and its hash: after a failover to a
// standby that lost the last entries, the seq this replica knows may be
// the head's again with another entry's hash. Parameters: the entry's
// fields, the head's seq and hash, then, when
// checked, the operation and the state wanted, and the instance.
func insertIfSQL(checkState, checkOpen bool) string {
	sel := make([]string, len(fields))
	for i, f := range fields {
		typ := "text"
		if f.raw {
			typ = "bigint"
		}
		sel[i] = fmt.Sprintf("$%d::%s", i+1, typ)
	}
	n := len(fields) + 1
	q := "INSERT INTO audit_events (" + columns + ") SELECT " + strings.Join(sel, ", ") +
		fmt.Sprintf(" WHERE COALESCE((SELECT MAX(seq) FROM audit_events), 0) = $%d::bigint", n) +
		fmt.Sprintf(" AND COALESCE((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), '%s') = $%d::text", GenesisHash, n+1)
	n++
	if checkState {
		q += fmt.Sprintf(" AND (SELECT state FROM audit_events WHERE op_id = $%d::bigint ORDER BY seq DESC LIMIT 1) = $%d::text", n+1, n+2)
		n += 2
	}
	if checkOpen {
		q += fmt.Sprintf(" AND NOT EXISTS (SELECT 1 FROM audit_ops WHERE instance_id = $%d::text AND state IN ('awaiting_approval', 'sent'))", n+1)
	}
	return folded(q)
}

// pgInsertIf holds insertIfSQL's four variants, by [checkState][checkOpen].
var pgInsertIf = [2][2]string{
	{insertIfSQL(false, false), insertIfSQL(false, true)},
	{insertIfSQL(true, false), insertIfSQL(true, true)},
}

// head is the chain's head as this replica last saw it: the one-round-trip
// append computes its hash on it, and falls back to reading it under the
// lock when another replica has written since.
type head struct {
	mu    sync.Mutex
	seq   int64
	hash  string
	known bool
}

func (h *head) get() (int64, string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq, h.hash, h.known
}

func (h *head) set(seq int64, hash string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.known || seq > h.seq {
		h.seq, h.hash, h.known = seq, hash, true
	}
}

// reset takes the head as read under the lock, even when it is behind what
// this replica saw (a standby that lost the last entries took over).
func (h *head) reset(seq int64, hash string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq, h.hash, h.known = seq, hash, true
}

// fastTries is how often an append tries the one-round-trip way, each try on
// the head the last one found, before it reads the head under the lock.
const fastTries = 2

// errStale says the head moved since this replica last saw it.
var errStale = errors.New("audit: the chain's head moved")

// appendPG appends in one round trip when this replica knows the head (the
// common case with one writer), else, or when another replica wrote since,
// in two.
func (l *Log) appendPG(ctx context.Context, e Event, want string) (Event, error) {
	for try := 0; try < fastTries; try++ {
		last, prev, ok := l.pgHead.get()
		if !ok {
			break
		}
		out, err := l.appendOnHead(ctx, e, want, last, prev)
		if !errors.Is(err, errStale) {
			if err == nil {
				l.pgHead.set(out.Seq, out.Hash)
			}
			return out, err
		}
	}
	out, err := l.appendPipelined(ctx, e, want, nil)
	if err == nil {
		l.pgHead.set(out.Seq, out.Hash)
	}
	return out, err
}

// appendOnHead is the append in one pipeline: the lock, the checks, the
// head, the insert conditional on all of them, in one implicit transaction. errStale when
// the head was not (last, prev); the checks' refusals as appendPipelined's.
func (l *Log) appendOnHead(ctx context.Context, e Event, want string, last int64, prev string) (Event, error) {
	checkState, checkOpen := want != "", opens(e) // before seal gives the entry its operation
	l.seal(&e, last, prev)
	err := l.w.Raw(ctx, func(c *pgx.Conn) error {
		// No BEGIN: a pipeline is one implicit transaction, committed at its
		// end (or rolled back at its first error), holding the lock to then.
		b := &pgx.Batch{}
		b.Queue("SELECT pg_advisory_xact_lock($1)", db.LockAuditChain)
		if checkState {
			b.Queue(pgStateSQL, e.OpID)
		}
		if checkOpen {
			b.Queue(pgOpenSQL, e.InstanceID)
		}
		b.Queue(pgHeadSQL)
		args := append(e.args(), last, prev)
		if checkState {
			args = append(args, e.OpID, want)
		}
		if checkOpen {
			args = append(args, e.InstanceID)
		}
		b.Queue(pgInsertIf[b2i(checkState)][b2i(checkOpen)], args...)
		br := c.SendBatch(ctx, b)
		defer br.Close()
		refusal, err := readChecks(br, false, e.OpID, want, checkOpen)
		if err != nil {
			return err
		}
		var seq int64
		hash := GenesisHash
		if err := br.QueryRow().Scan(&seq, &hash); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("audit: head: %w", err)
		}
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("audit: insert: %w", err)
		}
		if err := br.Close(); err != nil { // the commit
			return fmt.Errorf("audit: commit: %w", err)
		}
		switch {
		case tag.RowsAffected() == 1:
			return nil
		case refusal != nil:
			return errRefused{refusal}
		case seq != last || hash != prev:
			l.pgHead.reset(seq, hash)
			return errStale
		}
		return errors.New("audit: the entry was not inserted, for no reason the checks give")
	})
	return written(e, err)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// written is e when the append went through, else the error: a refusal
// carried out of the connection as itself.
func written(e Event, err error) (Event, error) {
	var r errRefused
	if errors.As(err, &r) {
		return Event{}, r.err
	}
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

// errRefused carries a refusal (the state changed, the instance is held)
// out of the connection, after the transaction was rolled back.
type errRefused struct{ err error }

func (e errRefused) Error() string { return e.err.Error() }

// appendPipelined is the append in two round trips; with a fence, the
// fence is checked after the lock too (ErrFenced when it fails).
func (l *Log) appendPipelined(ctx context.Context, e Event, want string, f *Fence) (Event, error) {
	err := l.w.Raw(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue("SELECT pg_advisory_xact_lock($1)", db.LockAuditChain)
		if want != "" {
			b.Queue(pgStateSQL, e.OpID)
		}
		if opens(e) {
			b.Queue(pgOpenSQL, e.InstanceID)
		}
		b.Queue(pgHeadSQL)
		if f != nil {
			b.Queue(fenceSQL, l.replica, f.Epoch, f.Ended)
		}
		br := c.SendBatch(ctx, b)
		refusal, err := readChecks(br, true, e.OpID, want, opens(e))
		var last int64
		prev := GenesisHash
		if err == nil && refusal == nil {
			err = br.QueryRow().Scan(&last, &prev)
			if errors.Is(err, pgx.ErrNoRows) {
				last, prev, err = 0, GenesisHash, nil
			}
			if err != nil {
				err = fmt.Errorf("audit: head: %w", err)
			}
		}
		if f != nil && err == nil && refusal == nil {
			var holds bool
			if err = br.QueryRow().Scan(&holds); err != nil {
				err = fmt.Errorf("audit: the lease: %w", err)
			} else if !holds {
				refusal = ErrFenced
			}
		}
		if cerr := br.Close(); err == nil && refusal == nil && cerr != nil {
			err = fmt.Errorf("audit: lock the chain: %w", cerr)
		}
		if err != nil {
			return err
		}
		if refusal != nil {
			return errRefused{refusal}
		}
		l.seal(&e, last, prev)
		b = &pgx.Batch{}
		b.Queue(pgInsertSQL, e.args()...)
		b.Queue("COMMIT")
		if err := c.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("audit: insert: %w", err)
		}
		return nil
	})
	return written(e, err)
}

// readChecks reads a pipeline's BEGIN (when begun), lock and checks, in the
// order they were queued, and returns a refusal when a check fails.
func readChecks(br pgx.BatchResults, begun bool, opID int64, want string, checkOpen bool) (refusal error, err error) {
	if begun {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("audit: begin: %w", err)
		}
	}
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("audit: lock the chain: %w", err)
	}
	if want != "" {
		var state string
		if err := br.QueryRow().Scan(&state); err != nil {
			return nil, fmt.Errorf("audit: operation %d: %w", opID, err)
		}
		if state != want {
			refusal = ErrStateChanged
		}
	}
	if checkOpen {
		var o OpenError
		err := br.QueryRow().Scan(&o.OpID, &o.State, &o.User)
		switch {
		case err == nil:
			if refusal == nil {
				refusal = &o
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, fmt.Errorf("audit: open operations: %w", err)
		}
	}
	return refusal, nil
}
