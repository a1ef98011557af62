package audit

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"ecsdash/internal/db"
)

// Filter narrows operations and exports. Zero fields do not filter.
type Filter struct {
	User       string // any case
	InstanceID string // exactly
	Instance   string // as typed: part of the id or of the instance's name, any case
	State      string // the operation's current state
	Action     string
	// Actions keeps only operations that began with one of these actions
	// (the audit page hides sign-ins unless asked for them).
	Actions  []string
	BatchID  string    // the operations of one batch start
	From, To time.Time // the operation's first event, [From, To)
	// Before and After page by keyset: the operations older than Before,
	// or the ones just newer than After. Page (1-based) pages by offset,
	// which walks the pages before it.
	Before, After int64
	Page          int
	PerPage       int
	// Scoped keeps only the operations on Instances (the ids a scoped
	// user's grants cover): none when Instances is empty.
	Scoped    bool
	Instances []string

	// narrow says that few operations match Instance (narrowed, from
	// audit_instances): they are read through their instances' index
	// rather than by walking every operation. narrowAll is the same for
	// a read of every match (the total, the export).
	narrow, narrowAll bool
}

// instanceMatch is the typed instance filter's condition on an instance id
// and name, each a LIKE pattern (instanceLike) as argument.
const instanceMatch = `LOWER(instance_id) LIKE ? ESCAPE '\' OR LOWER(instance_name) LIKE ? ESCAPE '\'`

// instanceLike is f.Instance as a LIKE pattern: anywhere, literally.
func (f Filter) instanceLike() string {
	return "%" + likeEscaper.Replace(strings.ToLower(f.Instance)) + "%"
}

// narrowed is f with narrow set when its typed instance filter's page is
// found sooner through the matching instances' operations (audit_instances
// counts them: a scan of one row an instance and name, not of the log).
// Read that way, a page costs every match (their ids are sorted); walked
// newest first, it costs the operations walked until the page is full,
// about the page's size over the share of operations that match. Through
// the instances it is when m matches of t operations in all have
// m² ≤ narrowRatio·(per+offset)·t. A read of every match (up to the
// total's cap) is through the instances when m·randomRead ≤ t: read
// walking, the matches come at m/t a row.
func (l *Log) narrowed(ctx context.Context, f Filter) (Filter, error) {
	if f.Instance == "" {
		return f, nil
	}
	like := f.instanceLike()
	var m, t, ops int64
	if err := l.queryRow(ctx, "SELECT COALESCE(SUM(CASE WHEN "+instanceMatch+" THEN n END), 0), COALESCE(SUM(n), 0), "+
		"(SELECT COALESCE(SUM(n), 0) FROM audit_op_counts) FROM audit_instances",
		like, like).Scan(&m, &t, &ops); err != nil {
		return f, fmt.Errorf("audit: instances: %w", err)
	}
	if t != ops {
		// audit_instances does not count every operation (audit_op_counts,
		// which every version since 0010 keeps, in the same statement,
		// counts them): an append by a replica still on the binary before
		// 0130, or a row deleted or its count changed (audit verify names
		// a row that counts fewer than the chain). Its rows cannot narrow
		// the read then; the whole-log condition alone finds every match,
		// walking, as before the table.
		return f, nil
	}
	rows := int64(max(f.PerPage, 50) + (max(f.Page, 1)-1)*max(f.PerPage, 50))
	f.narrow = m*m <= narrowRatio*rows*t
	f.narrowAll = m*randomRead <= t
	return f, nil
}

// all is f for a read of every match.
func (f Filter) all() Filter {
	f.narrow = f.narrowAll
	return f
}

// narrowRatio is what a walked operation costs beside a match read through
// its instance, for a page (BenchmarkTypedInstanceFilter); randomRead is
// what a match read through its instance costs beside a walked operation
// in a read of many (whose walk is in the file's order).
const (
	narrowRatio = 1
	randomRead  = 4
)

// source is the table the filter reads operations from: on SQLite, a
// narrowed instance filter names its index, which the planner without
// statistics might pass over for an index in the page's order.
func (f Filter) source(d db.Dialect) string {
	if d.Has(db.IndexedBy) && f.narrow {
		return "audit_ops x INDEXED BY audit_ops_instance"
	}
	return "audit_ops x"
}

// shownOnly is audit_ops_shown's condition, as the index states it
// (migrations/0100): not a sign-in.
var shownOnly = "x." + notSignIn

// notSignIn is the condition on an action of not being a sign-in.
var notSignIn = "action NOT IN ('" + strings.Join(SignIns, "', '") + "')"

// Count is how many operations match: exactly N, or at least N when
// AtLeast (counting further would cost a walk of every match).
type Count struct {
	N       int
	AtLeast bool
}

// countCap bounds the count of a filter that no kept counter answers.
const countCap = 10_000

// Op is an operation folded into one row: its first event (the request) and
// its newest (the current state, carrying what came before).
type Op struct {
	First, Last Event
	Events      []Event // the whole timeline, oldest first, when asked for
}

// ID is the operation's id, the seq of its first event.
func (o Op) ID() int64 { return o.First.OpID }

// ErrNotFound means no such operation.
var ErrNotFound = errors.New("audit: no such operation")

// likeEscaper makes a typed text a literal inside a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) { conds = append(conds, cond); args = append(args, arg) }
	if f.User != "" {
		add(`LOWER(x."user") = LOWER(?)`, f.User)
	}
	if f.InstanceID != "" {
		add("x.instance_id = ?", f.InstanceID)
	}
	if f.Instance != "" {
		// As typed: part of an id or of the name the request recorded.
		like := f.instanceLike()
		if f.narrow {
			// The matching instances' operations alone, through
			// audit_ops_instance; the condition below still decides.
			conds = append(conds, "x.instance_id IN (SELECT instance_id FROM audit_instances WHERE "+instanceMatch+")")
			args = append(args, like, like)
		}
		conds = append(conds, `(LOWER(x.instance_id) LIKE ? ESCAPE '\' OR LOWER((SELECT e.instance_name FROM audit_events e WHERE e.seq = x.op_id AND e.op_id = x.op_id)) LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	if f.State != "" {
		add("x.state = ?", f.State)
	}
	if f.Action != "" && slices.Contains(FollowUps, f.Action) {
		// An action that follows an operation's first entry (a decision, a
		// recovery): the operations holding one, through its own index
		// (audit_events_followup, migrations/0100).
		add("x.op_id IN (SELECT op_id FROM audit_events WHERE action = ? AND seq <> op_id)", f.Action)
	} else if f.Action != "" {
		add("x.action = ?", f.Action)
	}
	if slices.Equal(f.Actions, Shown) {
		conds = append(conds, shownOnly)
	} else if len(f.Actions) > 0 {
		conds = append(conds, "x.action IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Actions)), ",")+")")
		for _, a := range f.Actions {
			args = append(args, a)
		}
	}
	if f.BatchID != "" {
		add("x.op_id IN (SELECT op_id FROM audit_events WHERE batch_id = ?)", f.BatchID)
	}
	if !f.From.IsZero() {
		add("x.time >= ?", f.From.UTC().Format(TimeFormat))
	}
	if !f.To.IsZero() {
		add("x.time < ?", f.To.UTC().Format(TimeFormat))
	}
	if f.Scoped {
		if len(f.Instances) == 0 {
			conds = append(conds, "1 = 0")
		} else {
			conds = append(conds, "x.instance_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Instances)), ",")+")")
			for _, id := range f.Instances {
				args = append(args, id)
			}
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// opJoin reads operations through audit_ops (one row per operation, kept by
// a trigger; see migrations/0003_audit_ops.sql) and joins their first and
// newest events.
const opJoin = ` FROM audit_ops x
	JOIN audit_events l ON l.seq = x.last_seq
	JOIN audit_events f ON f.seq = x.op_id`

// Operations lists a page of operations newest first, with how many match
// (see OperationsPage).
func (l *Log) Operations(ctx context.Context, f Filter) ([]Op, int, error) {
	p, err := l.OperationsPage(ctx, f)
	return p.Ops, p.Total.N, err
}

// OpsPage is a page of operations, newest first.
type OpsPage struct {
	Ops   []Op
	Older bool  // older operations match past this page
	Newer bool  // and newer ones before it
	Total Count // how many match in all
}

// OperationsPage lists a page of operations newest first (f.PerPage, 50 by
// default). Every filter reads audit_ops in op_id order through an index,
// so a page costs its rows, not the log; the total comes from kept counts
// or a bounded count.
func (l *Log) OperationsPage(ctx context.Context, f Filter) (OpsPage, error) {
	f, err := l.narrowed(ctx, f)
	if err != nil {
		return OpsPage{}, err
	}
	total, err := l.count(ctx, f)
	if err != nil {
		return OpsPage{}, err
	}
	per := f.PerPage
	if per <= 0 {
		per = 50
	}
	q, args := f.pageQuery(l.r.Dialect, per)
	ops, err := l.queryOps(ctx, q, args...)
	if err != nil {
		return OpsPage{}, err
	}
	beyond := len(ops) > per
	if beyond {
		ops = ops[:per]
	}
	p := OpsPage{Ops: ops, Older: beyond, Newer: f.Before > 0 || f.Page > 1, Total: total}
	if f.After > 0 { // read oldest first from After, which is older
		slices.Reverse(ops)
		p.Older, p.Newer = true, beyond
	}
	return p, nil
}

// pageQuery selects per+1 operations of f's page (the one more says
// whether the page has a next).
func (f Filter) pageQuery(d db.Dialect, per int) (string, []any) {
	pf := f
	pf.Before, pf.After = 0, 0
	where, args := pf.where()
	cond := func(c string, arg int64) {
		if where == "" {
			where = " WHERE " + c
		} else {
			where += " AND " + c
		}
		args = append(args, arg)
	}
	order, offset := " ORDER BY x.op_id DESC", 0
	switch {
	case f.After > 0:
		cond("x.op_id > ?", f.After)
		order = " ORDER BY x.op_id ASC"
	case f.Before > 0:
		cond("x.op_id < ?", f.Before)
	default:
		offset = (max(f.Page, 1) - 1) * per
	}
	if f.narrow {
		// The matching operations' ids are sorted, and only the page's
		// are joined to their entries.
		ids := "SELECT x.op_id, x.last_seq FROM " + f.source(d) + where + order + " LIMIT ? OFFSET ?"
		q := "SELECT " + columnList("f") + ", " + columnList("l") + strings.Replace(opJoin, "audit_ops x", "("+ids+") x", 1) + order
		return q, append(args, per+1, offset)
	}
	join := opJoin
	if d == db.SQLite && f.readsShown() {
		// Without statistics SQLite prefers audit_ops_action for the IN and
		// sorts every match; the shown index is in the page's order.
		join = strings.Replace(opJoin, "audit_ops x", "audit_ops x INDEXED BY audit_ops_shown", 1)
	}
	q := "SELECT " + columnList("f") + ", " + columnList("l") + join + where + order + " LIMIT ? OFFSET ?"
	return q, append(args, per+1, offset)
}

// readsShown says whether f's page is best read through audit_ops_shown:
// the default view's actions, and no filter with an index of its own (an
// instance's operations, the open states, a batch).
func (f Filter) readsShown() bool {
	return slices.Equal(f.Actions, Shown) && f.Action == "" && f.InstanceID == "" && f.Instance == "" && f.BatchID == "" &&
		f.State != StateAwaitingApproval && f.State != StateSent
}

// count answers how many operations match f.
func (l *Log) count(ctx context.Context, f Filter) (Count, error) {
	q, args, capped := f.all().countQuery(l.r.Dialect)
	var n int
	if err := l.queryRow(ctx, q, args...).Scan(&n); err != nil {
		return Count{}, fmt.Errorf("audit: count: %w", err)
	}
	if capped && n > countCap {
		return Count{N: countCap, AtLeast: true}, nil
	}
	return Count{N: n}, nil
}

// countQuery reads the kept counts (audit_op_counts, migrations/0010) when
// f filters by action alone; otherwise it counts at most countCap+1
// matches (capped).
func (f Filter) countQuery(d db.Dialect) (q string, args []any, capped bool) {
	if f.User != "" || f.InstanceID != "" || f.Instance != "" || f.State != "" || f.BatchID != "" || !f.From.IsZero() || !f.To.IsZero() ||
		slices.Contains(FollowUps, f.Action) { // the kept counts are by an operation's first action

		where, args := f.where()
		return "SELECT COUNT(*) FROM (SELECT 1 FROM " + f.source(d) + where + " LIMIT ?) m", append(args, countCap+1), true
	}
	q = "SELECT COALESCE(SUM(n), 0) FROM audit_op_counts"
	actions := f.Actions
	if f.Action != "" {
		actions = []string{f.Action}
		if len(f.Actions) > 0 && !slices.Contains(f.Actions, f.Action) {
			return "SELECT 0", nil, false // both must hold: none does
		}
	}
	if f.Action == "" && slices.Equal(actions, Shown) {
		return q + " WHERE " + notSignIn, nil, false
	}
	if len(actions) > 0 {
		q += " WHERE action IN (" + strings.TrimSuffix(strings.Repeat("?,", len(actions)), ",") + ")"
		for _, a := range actions {
			args = append(args, a)
		}
	}
	return q, args, false
}

// Awaiting lists the operations awaiting approval, oldest first.
func (l *Log) Awaiting(ctx context.Context) ([]Op, error) {
	q := "SELECT " + columnList("f") + ", " + columnList("l") + opJoin + " WHERE " + openOnly + " AND x.state = ? ORDER BY x.op_id"
	return l.queryOps(ctx, q, StateAwaitingApproval)
}

// Dangling lists operations whose newest event is an intent ("sent"): the
// process stopped before their outcome was recorded.
func (l *Log) Dangling(ctx context.Context) ([]Op, error) {
	q := "SELECT " + columnList("f") + ", " + columnList("l") + opJoin + " WHERE " + openOnly + " AND x.state = ? ORDER BY x.op_id"
	return l.queryOps(ctx, q, StateSent)
}

// Operation returns one operation with its whole timeline.
func (l *Log) Operation(ctx context.Context, id int64) (Op, error) {
	rows, err := l.r.QueryContext(ctx, "SELECT "+columns+" FROM audit_events WHERE op_id = ? ORDER BY seq", id)
	if err != nil {
		return Op{}, err
	}
	defer rows.Close()
	var op Op
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return Op{}, err
		}
		op.Events = append(op.Events, e)
	}
	if err := rows.Err(); err != nil {
		return Op{}, err
	}
	if len(op.Events) == 0 {
		return Op{}, ErrNotFound
	}
	op.First, op.Last = op.Events[0], op.Events[len(op.Events)-1]
	return op, nil
}

// Timelines fills in the events of each op.
func (l *Log) Timelines(ctx context.Context, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	idx := map[int64]int{}
	ph := make([]string, len(ops))
	args := make([]any, len(ops))
	for i, o := range ops {
		idx[o.ID()] = i
		ph[i], args[i] = "?", o.ID()
	}
	rows, err := l.query(ctx, "SELECT "+columns+" FROM audit_events WHERE op_id IN ("+strings.Join(ph, ",")+") ORDER BY seq", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		i := idx[e.OpID]
		ops[i].Events = append(ops[i].Events, e)
	}
	return rows.Err()
}

func (l *Log) queryOps(ctx context.Context, q string, args ...any) ([]Op, error) {
	rows, err := l.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: operations: %w", err)
	}
	defer rows.Close()
	var ops []Op
	for rows.Next() {
		first, last := newEventScan(), newEventScan()
		if err := rows.Scan(append(first.targets, last.targets...)...); err != nil {
			return nil, err
		}
		f, err := first.event()
		if err != nil {
			return nil, err
		}
		l, err := last.event()
		if err != nil {
			return nil, err
		}
		ops = append(ops, Op{First: f, Last: l})
	}
	return ops, rows.Err()
}

// Each streams the events whose operation matches f, oldest first, without
// holding the table in memory.
func (l *Log) Each(ctx context.Context, f Filter, fn func(Event) error) error {
	f, err := l.narrowed(ctx, f)
	if err != nil {
		return err
	}
	f = f.all()
	where, args := f.where()
	q := "SELECT " + columnList("e") + " FROM audit_events e JOIN (SELECT x.op_id FROM " + f.source(l.r.Dialect) + where + ") m ON e.op_id = m.op_id ORDER BY e.seq"
	rows, err := l.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Head is the newest event's seq and hash, for an operator to note elsewhere.
type Head struct {
	Seq  int64
	Hash string
}

// BadEvent names the first event that breaks the chain.
type BadEvent struct {
	Seq    int64
	Reason string
}

func (b *BadEvent) Error() string { return fmt.Sprintf("audit event %d: %s", b.Seq, b.Reason) }

// ErrNoKey means the log holds keyed entries and no key to check them was
// given: the chain could not be verified (which is not the same as tampered).
var ErrNoKey = errors.New("audit: the log is keyed; give the audit key file to verify it")

// Verify walks the whole log from the first event: the sequence must have no
// gaps, each prev_hash must be the hash before it, and each hash must be
// recomputable: SHA-256 before the keyed chain starts, HMAC under keys
// after it, and no plain entry after a keyed one. With keys, a log with no
// keyed entry at all is refused too (the keyed part was rewritten without
// the key). It returns the head, or a *BadEvent naming the first bad event.
func Verify(ctx context.Context, r *db.Pool, keys *Keys) (Head, int64, error) {
	rows, err := r.QueryContext(ctx, "SELECT "+columns+" FROM audit_events ORDER BY seq")
	if err != nil {
		return Head{}, 0, err
	}
	defer rows.Close()
	head := Head{Hash: GenesisHash}
	var n int64
	keyedSince := int64(0)
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return head, n, &BadEvent{Seq: head.Seq + 1, Reason: err.Error()}
		}
		if e.Seq != head.Seq+1 {
			return head, n, &BadEvent{Seq: head.Seq + 1, Reason: fmt.Sprintf("missing: the sequence jumps from %d to %d", head.Seq, e.Seq)}
		}
		if e.PrevHash != head.Hash {
			return head, n, &BadEvent{Seq: e.Seq, Reason: "prev_hash does not match the hash of the event before it"}
		}
		if keys == nil && e.Action == ActionChainKeyed {
			// The log says it is keyed from here on: what follows may have
			// been rewritten in the plain format, which only the key shows.
			return head, n, fmt.Errorf("%w: entry %d marks the chain as keyed from there on, so without the key nothing from %d on can be vouched for", ErrNoKey, e.Seq, e.Seq)
		}
		if id, keyed := keyedID(e.Hash); keyed {
			if keys == nil {
				return head, n, fmt.Errorf("%w (entries are keyed from %d on)", ErrNoKey, e.Seq)
			}
			secret := keys.find(id)
			if secret == nil {
				return head, n, &BadEvent{Seq: e.Seq, Reason: fmt.Sprintf("keyed with audit key %s, which the key file does not hold", id)}
			}
			if !hmac.Equal([]byte(keyedHash(id, secret, e)), []byte(e.Hash)) {
				return head, n, &BadEvent{Seq: e.Seq, Reason: "its content does not match its keyed hash (altered)"}
			}
			if keyedSince == 0 {
				keyedSince = e.Seq
			}
		} else {
			if keyedSince != 0 {
				return head, n, &BadEvent{Seq: e.Seq, Reason: fmt.Sprintf("a plain hash after the keyed chain began at %d (rewritten without the key)", keyedSince)}
			}
			if Hash(e) != e.Hash {
				return head, n, &BadEvent{Seq: e.Seq, Reason: "its content does not match its hash (altered)"}
			}
		}
		head = Head{Seq: e.Seq, Hash: e.Hash}
		n++
	}
	if err := rows.Err(); err != nil {
		return head, n, err
	}
	if keys != nil && keyedSince == 0 && n > 0 {
		return head, n, &BadEvent{Seq: head.Seq, Reason: "no entry is keyed although an audit key exists: the chain was rewritten without the key, " +
			"or the dashboard has not run since the key was made"}
	}
	return head, n, VerifyFold(ctx, r)
}

// Reaches checks that the log still holds the entry of a head noted
// earlier (from a checkpoint or an earlier verify), unchanged.
func Reaches(ctx context.Context, r *db.Pool, noted Head) error {
	var h string
	err := r.QueryRowContext(ctx, "SELECT hash FROM audit_events WHERE seq = ?", noted.Seq).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return &BadEvent{Seq: noted.Seq, Reason: fmt.Sprintf("missing: the log no longer reaches the noted head %d (truncated)", noted.Seq)}
	}
	if err != nil {
		return err
	}
	if h != noted.Hash {
		return &BadEvent{Seq: noted.Seq, Reason: "its hash is not the one noted (rewritten)"}
	}
	return nil
}

// OpenOp is an operation that holds its instance: awaiting approval, or
// its call in flight.
type OpenOp struct {
	OpID       int64
	InstanceID string
	State      string
	User       string
	Time       time.Time // when it was asked
}

// openOnly is the condition of the partial index of open operations
// (audit_ops_state): a query that states it can use the index.
const openOnly = "x.state IN ('awaiting_approval', 'sent')"

// OpenOps lists every open operation.
func (l *Log) OpenOps(ctx context.Context) ([]OpenOp, error) {
	rows, err := l.r.QueryContext(ctx, `SELECT op_id, instance_id, state, "user", time FROM audit_ops x WHERE `+openOnly+" ORDER BY op_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OpenOp
	for rows.Next() {
		var o OpenOp
		var t string
		if err := rows.Scan(&o.OpID, &o.InstanceID, &o.State, &o.User, &t); err != nil {
			return nil, err
		}
		o.Time, _ = time.Parse(TimeFormat, t) // written by us in this format
		out = append(out, o)
	}
	return out, rows.Err()
}

// Outcomes lists, oldest first, the events after seq that ended a request
// user made for approval (approved and started, failed, unknown, rejected,
// expired, withdrawn), at most limit.
func (l *Log) Outcomes(ctx context.Context, user string, after int64, limit int) ([]Event, error) {
	q := "SELECT " + columnList("e") + ` FROM audit_events e
		JOIN audit_ops x ON x.op_id = e.op_id
		JOIN audit_events f ON f.seq = e.op_id
		WHERE e.seq > ? AND x."user" = ? AND x.action = ? AND f.state = ?
		AND e.state IN ('succeeded', 'failed', 'unknown', 'rejected', 'expired', 'withdrawn')
		ORDER BY e.seq LIMIT ?`
	return l.events(ctx, q, after, user, ActionStartInstance, StateAwaitingApproval, limit)
}

// events runs q, which selects whole entries, and scans them.
func (l *Log) events(ctx context.Context, q string, args ...any) ([]Event, error) {
	rows, err := l.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastSeq is the newest entry's seq (0 for an empty log).
func LastSeq(ctx context.Context, r *db.Pool) (int64, error) {
	var n sql.NullInt64
	err := r.QueryRowContext(ctx, "SELECT MAX(seq) FROM audit_events").Scan(&n)
	return n.Int64, err
}
