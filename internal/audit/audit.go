// Package audit is the append-only, hash-chained audit log, in SQLite or
// PostgreSQL (the store internal/db opened). Every state change of an
// operation is a new event; nothing is updated or deleted.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ecsdash/internal/db"
)

// Operation states (the contract's data-state values) and login outcomes.
const (
	StateAwaitingApproval = "awaiting_approval"
	StateRejected         = "rejected"
	StateExpired          = "expired"
	StateWithdrawn        = "withdrawn"
	StateSent             = "sent"
	StateSucceeded        = "succeeded"
	StateFailed           = "failed"
	StateUnknown          = "unknown"
)

// States lists every state an operation can be in: the audit filters'
// values. A new state is added here and above.
var States = []string{StateAwaitingApproval, StateRejected, StateExpired, StateWithdrawn, StateSent, StateSucceeded, StateFailed, StateUnknown}

// Actions.
const (
	ActionStartInstance = "StartInstance"
	ActionApprove       = "approve"
	ActionReject        = "reject"
	ActionExpire        = "expire"
	ActionWithdraw      = "withdraw"
	ActionCheck         = "check" // a dry run: ECS asked whether it would start
	ActionRecover       = "recover"
	ActionLogin         = "login"
	ActionLogout        = "logout"
	ActionTokenCreate   = "token_create"
	ActionTokenRevoke   = "token_revoke"
	// Account changes (a page or a command; Target and Detail say what).
	ActionUserAdd      = "user_add"
	ActionUserDisable  = "user_disable"
	ActionUserEnable   = "user_enable"
	ActionUserRole     = "user_role"
	ActionUserPassword = "user_password"
	ActionGrantAdd     = "grant_add"
	ActionGrantRemove  = "grant_remove"
)

// TimeFormat is fixed-width, so stored times sort as text.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Event is one audit entry. Later events of an operation repeat its
// parameters, so each event reads on its own.
type Event struct {
	Seq           int64     `db:"seq" json:"id"`
	OpID          int64     `db:"op_id" json:"operation_id"`
	Time          time.Time `db:"time" json:"time"` // exported as text in TimeFormat
	Action        string    `db:"action" json:"action"`
	User          string    `db:"user" json:"user"`
	AuthMethod    string    `db:"auth_method" json:"auth_method"`
	SourceIP      string    `db:"source_ip" json:"source_ip"`
	UserAgent     string    `db:"user_agent" json:"user_agent"`
	Region        string    `db:"region" json:"region"`
	InstanceID    string    `db:"instance_id" json:"instance_id"`
	InstanceName  string    `db:"instance_name" json:"instance_name"`
	InstanceType  string    `db:"instance_type" json:"instance_type"`
	InitLocalDisk bool      `db:"init_local_disk" json:"init_local_disk"`
	DryRun        bool      `db:"dry_run" json:"dry_run"`
	State         string    `db:"state" json:"state"`
	Approver      string    `db:"approver" json:"approver"`
	Reason        string    `db:"reason" json:"reason"`
	RequestID     string    `db:"request_id" json:"request_id"`
	ErrorCode     string    `db:"error_code" json:"error_code"`
	ErrorMessage  string    `db:"error_message" json:"error_message"`
	HTTPStatus    int       `db:"http_status" json:"http_status"`
	Attempt       int       `db:"attempt" json:"attempt"`
	DurationMS    int64     `db:"duration_ms" json:"duration_ms"`
	BatchID       string    `db:"batch_id" json:"batch_id" audit:"optional"` // the batch start it was part of
	Replica       string    `db:"replica" json:"replica" audit:"optional"`   // the replica that wrote it ("" on a single-process store)
	Token         string    `db:"token" json:"token" audit:"optional"`       // the API token's id (never the token) of an API call
	Target        string    `db:"target" json:"target" audit:"optional"`     // the user an account change is about
	Detail        string    `db:"detail" json:"detail" audit:"optional"`     // what an account change changed, in words
	// Who the ECS call was made as (--accounts): the account's name and UID,
	// the RoleSessionName of the assumed role, and the AccessKeyId used
	// (never its secret or security token), as ActionTrail records it.
	Account     string `db:"account" json:"account" audit:"optional"`
	AccountID   string `db:"account_id" json:"account_id" audit:"optional"`
	SessionName string `db:"session_name" json:"session_name" audit:"optional"`
	AccessKeyID string `db:"access_key_id" json:"access_key_id" audit:"optional"`
	PrevHash    string `db:"prev_hash" json:"prev_hash"`
	Hash        string `db:"hash" json:"hash"`
}

// GenesisHash is the prev_hash of the first event.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// ErrStateChanged means a conditional append found the operation in another
// state than expected (someone else decided first).
var ErrStateChanged = errors.New("audit: the operation's state changed")

// OpenError means a new start of an instance was refused because another
// operation of it is open: awaiting approval, or its call in flight.
type OpenError struct {
	OpID  int64
	State string
	User  string
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("audit: request %d for this instance is %s", e.OpID, e.State)
}

const openSQL = `SELECT op_id, state, "user" FROM audit_ops WHERE instance_id = ? AND state IN ('awaiting_approval', 'sent') ORDER BY op_id LIMIT 1`

// Open returns the open operation of an instance, if any.
func (l *Log) Open(ctx context.Context, instanceID string) (*OpenError, error) {
	var o OpenError
	err := l.r.QueryRowContext(ctx, openSQL, instanceID).Scan(&o.OpID, &o.State, &o.User)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// Log appends to and reads the audit log.
type Log struct {
	w, r *db.Pool
	now  func() time.Time
	// Statements prepared once on the writer: parsing them per event was a
	// measurable share of an append.
	prepOnce             sync.Once
	prepErr              error
	headStmt, insertStmt *sql.Stmt
	stateStmt, openStmt  *sql.Stmt
	reads                readStmts // the pages' reads, prepared on the reader (readstmts.go)
	// OnAppend, when set, is told of every event written (for metrics).
	OnAppend func(Event)
	keys     *Keys        // when set, new entries are chained with HMAC (keys.go)
	replica  string       // when set, every entry names it (replicas.go)
	epoch    atomic.Int64 // the epoch of this replica's lease (replicas.go)
	pgHead   head         // PostgreSQL: the head as last seen (postgres.go)
}

// New returns a Log writing through w (the single writer connection) and
// reading through r.
func New(w, r *db.Pool, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{w: w, r: r, now: now}
}

// Append writes e as the next event. OpID 0 starts a new operation (its id
// becomes the event's seq). The write is durable when Append returns; it runs
// under a context the caller cannot cancel, so a client that goes away never
// leaves an intent unrecorded.
func (l *Log) Append(ctx context.Context, e Event) (Event, error) {
	return l.append(ctx, e, "")
}

// AppendIf appends e only while the operation's newest event has state want;
// otherwise it returns ErrStateChanged and writes nothing. The check and the
// write share one immediate transaction, so two callers cannot both pass.
func (l *Log) AppendIf(ctx context.Context, e Event, want string) (Event, error) {
	if e.OpID == 0 || want == "" {
		return Event{}, fmt.Errorf("audit: AppendIf needs an operation and a state")
	}
	return l.append(ctx, e, want)
}

const (
	stateSQL = "SELECT state FROM audit_events WHERE op_id = ? ORDER BY seq DESC LIMIT 1"
	headSQL  = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
)

func (l *Log) prepare(ctx context.Context) error {
	l.prepOnce.Do(func() {
		if l.stateStmt, l.prepErr = l.w.PrepareContext(ctx, stateSQL); l.prepErr != nil {
			return
		}
		if l.headStmt, l.prepErr = l.w.PrepareContext(ctx, headSQL); l.prepErr != nil {
			return
		}
		if l.openStmt, l.prepErr = l.w.PrepareContext(ctx, openSQL); l.prepErr != nil {
			return
		}
		l.insertStmt, l.prepErr = l.w.PrepareContext(ctx, insertSQL)
	})
	return l.prepErr
}

// opens reports whether appending e must first check that no other
// operation of its instance is open: e begins a start that is itself open.
func opens(e Event) bool {
	return e.OpID == 0 && Is(e, func(a ActionInfo) bool { return a.Holds }) && e.InstanceID != "" &&
		(e.State == StateAwaitingApproval || e.State == StateSent)
}

// seal completes e as the entry after (last, prev): its seq, operation,
// time, replica, clean text and hash.
func (l *Log) seal(e *Event, last int64, prev string) {
	e.Seq = last + 1
	if e.OpID == 0 {
		e.OpID = e.Seq
	}
	e.Time = l.now().UTC().Truncate(time.Microsecond)
	e.Replica = l.replica // whoever wrote the entry it follows, this one is ours
	e.clean()
	e.PrevHash = prev
	if l.keys != nil {
		e.Hash = l.keys.sign(*e)
	} else {
		e.Hash = Hash(*e)
	}
}

func (l *Log) append(ctx context.Context, e Event, want string) (Event, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if l.w.Has(db.Pipeline | db.AdvisoryLocks) { // one pipelined round trip under the chain's lock (postgres.go)
		e, err := l.appendPG(ctx, e, want)
		if err == nil && l.OnAppend != nil {
			l.OnAppend(e)
		}
		return e, err
	}
	if err := l.prepare(ctx); err != nil {
		return Event{}, fmt.Errorf("audit: prepare: %w", err)
	}
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return Event{}, fmt.Errorf("audit: begin: %w", err)
	}
	defer tx.Rollback()
	if want != "" {
		var state string
		err := tx.StmtContext(ctx, l.stateStmt).QueryRowContext(ctx, e.OpID).Scan(&state)
		if err != nil {
			return Event{}, fmt.Errorf("audit: operation %d: %w", e.OpID, err)
		}
		if state != want {
			return Event{}, ErrStateChanged
		}
	}
	if opens(e) {
		// One open operation per instance, decided in the same immediate
		// transaction as the append, so two requests cannot both begin.
		// (A new operation that is not itself open holds nothing.)
		var o OpenError
		err := tx.StmtContext(ctx, l.openStmt).QueryRowContext(ctx, e.InstanceID).Scan(&o.OpID, &o.State, &o.User)
		if err == nil {
			return Event{}, &o
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Event{}, fmt.Errorf("audit: open operations: %w", err)
		}
	}
	var last sql.NullInt64
	prev := GenesisHash
	err = tx.StmtContext(ctx, l.headStmt).QueryRowContext(ctx).Scan(&last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		prev = GenesisHash
	} else if err != nil {
		return Event{}, fmt.Errorf("audit: head: %w", err)
	}
	l.seal(&e, last.Int64, prev)
	_, err = tx.StmtContext(ctx, l.insertStmt).ExecContext(ctx, e.args()...)
	if err != nil {
		return Event{}, fmt.Errorf("audit: insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Event{}, fmt.Errorf("audit: commit: %w", err)
	}
	if l.OnAppend != nil {
		l.OnAppend(e)
	}
	return e, nil
}

// Hash is SHA-256 over the previous hash and a length-prefixed encoding of
// every field but the hash itself, so no field can change, and no two
// fields can trade bytes, without the chain showing it. It is the chain's
// first format; keyed entries use the same encoding under HMAC (keys.go).
func Hash(e Event) string {
	h := sha256.New()
	encode(h, &e)
	return hex.EncodeToString(h.Sum(nil))
}
