// Package audit is the append-only, hash-chained audit log in SQLite. Every
// state change of an operation is a new event; nothing is updated or deleted.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Operation states (the contract's data-state values) and login outcomes.
const (
	StateAwaitingApproval = "awaiting_approval"
	StateRejected         = "rejected"
	StateExpired          = "expired"
	StateSent             = "sent"
	StateSucceeded        = "succeeded"
	StateFailed           = "failed"
	StateUnknown          = "unknown"
)

// Actions.
const (
	ActionStartInstance = "StartInstance"
	ActionApprove       = "approve"
	ActionReject        = "reject"
	ActionExpire        = "expire"
	ActionRecover       = "recover"
	ActionLogin         = "login"
	ActionLogout        = "logout"
)

// TimeFormat is fixed-width, so stored times sort as text.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Event is one audit entry. Later events of an operation repeat its
// parameters, so each event reads on its own.
type Event struct {
	Seq           int64
	OpID          int64
	Time          time.Time
	Action        string
	User          string
	AuthMethod    string
	SourceIP      string
	UserAgent     string
	Region        string
	InstanceID    string
	InstanceName  string
	InstanceType  string
	InitLocalDisk bool
	DryRun        bool
	State         string
	Approver      string
	Reason        string
	RequestID     string
	ErrorCode     string
	ErrorMessage  string
	HTTPStatus    int
	Attempt       int
	DurationMS    int64
	PrevHash      string
	Hash          string
}

// GenesisHash is the prev_hash of the first event.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// ErrStateChanged means a conditional append found the operation in another
// state than expected (someone else decided first).
var ErrStateChanged = errors.New("audit: the operation's state changed")

// Log appends to and reads the audit log.
type Log struct {
	w, r *sql.DB
	now  func() time.Time
	// Statements prepared once on the writer: parsing them per event was a
	// measurable share of an append.
	prepOnce             sync.Once
	prepErr              error
	headStmt, insertStmt *sql.Stmt
	stateStmt            *sql.Stmt
	// OnAppend, when set, is told of every event written (for metrics).
	OnAppend func(Event)
}

// New returns a Log writing through w (the single writer connection) and
// reading through r.
func New(w, r *sql.DB, now func() time.Time) *Log {
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
	stateSQL  = "SELECT state FROM audit_events WHERE op_id = ? ORDER BY seq DESC LIMIT 1"
	headSQL   = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
	insertSQL = `INSERT INTO audit_events (seq, op_id, time, action, user, auth_method, source_ip, user_agent,
		region, instance_id, instance_name, instance_type, init_local_disk, dry_run, state, approver, reason, request_id,
		error_code, error_message, http_status, attempt, duration_ms, prev_hash, hash)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
)

func (l *Log) prepare(ctx context.Context) error {
	l.prepOnce.Do(func() {
		if l.stateStmt, l.prepErr = l.w.PrepareContext(ctx, stateSQL); l.prepErr != nil {
			return
		}
		if l.headStmt, l.prepErr = l.w.PrepareContext(ctx, headSQL); l.prepErr != nil {
			return
		}
		l.insertStmt, l.prepErr = l.w.PrepareContext(ctx, insertSQL)
	})
	return l.prepErr
}

func (l *Log) append(ctx context.Context, e Event, want string) (Event, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
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
	var last sql.NullInt64
	prev := GenesisHash
	err = tx.StmtContext(ctx, l.headStmt).QueryRowContext(ctx).Scan(&last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		prev = GenesisHash
	} else if err != nil {
		return Event{}, fmt.Errorf("audit: head: %w", err)
	}
	e.Seq = last.Int64 + 1
	if e.OpID == 0 {
		e.OpID = e.Seq
	}
	e.Time = l.now().UTC().Truncate(time.Microsecond)
	e.PrevHash = prev
	e.Hash = Hash(e)
	_, err = tx.StmtContext(ctx, l.insertStmt).ExecContext(ctx,
		e.Seq, e.OpID, e.Time.Format(TimeFormat), e.Action, e.User, e.AuthMethod, e.SourceIP, e.UserAgent,
		e.Region, e.InstanceID, e.InstanceName, e.InstanceType, e.InitLocalDisk, e.DryRun, e.State, e.Approver, e.Reason,
		e.RequestID, e.ErrorCode, e.ErrorMessage, e.HTTPStatus, e.Attempt, e.DurationMS, e.PrevHash, e.Hash)
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
// fields can trade bytes, without the chain showing it.
func Hash(e Event) string {
	h := sha256.New()
	var n [4]byte
	for _, f := range []string{
		e.PrevHash,
		strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.OpID, 10), e.Time.UTC().Format(TimeFormat),
		e.Action, e.User, e.AuthMethod, e.SourceIP, e.UserAgent,
		e.Region, e.InstanceID, e.InstanceName, e.InstanceType,
		strconv.FormatBool(e.InitLocalDisk), strconv.FormatBool(e.DryRun),
		e.State, e.Approver, e.Reason, e.RequestID, e.ErrorCode, e.ErrorMessage,
		strconv.Itoa(e.HTTPStatus), strconv.Itoa(e.Attempt), strconv.FormatInt(e.DurationMS, 10),
	} {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

const columns = `seq, op_id, time, action, user, auth_method, source_ip, user_agent, region, instance_id, instance_name,
	instance_type, init_local_disk, dry_run, state, approver, reason, request_id, error_code, error_message, http_status,
	attempt, duration_ms, prev_hash, hash`

type scanner interface{ Scan(...any) error }

func scanEvent(s scanner) (Event, error) {
	var e Event
	var t string
	err := s.Scan(&e.Seq, &e.OpID, &t, &e.Action, &e.User, &e.AuthMethod, &e.SourceIP, &e.UserAgent, &e.Region,
		&e.InstanceID, &e.InstanceName, &e.InstanceType, &e.InitLocalDisk, &e.DryRun, &e.State, &e.Approver, &e.Reason,
		&e.RequestID, &e.ErrorCode, &e.ErrorMessage, &e.HTTPStatus, &e.Attempt, &e.DurationMS, &e.PrevHash, &e.Hash)
	if err != nil {
		return Event{}, err
	}
	e.Time, err = time.Parse(TimeFormat, t)
	if err != nil {
		return Event{}, fmt.Errorf("audit: event %d has time %q: %w", e.Seq, t, err)
	}
	return e, nil
}
