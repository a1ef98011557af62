package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Replicas: several dashboard processes on one PostgreSQL database. Each
// names itself on every entry it writes (Event.Replica) and holds a lease
// that its heartbeat renews. An intent ("sent") belongs to the replica that
// wrote it: another replica records its outcome as unknown only once the
// owner's lease has run out, never while the owner may still be waiting
// for ECS's answer.
//
// Every lease time is the database's clock (dbNow), never a host's: a clock
// step or a skew between hosts cannot end a live lease or keep a dead one.
// A lease has an epoch, new each time it is taken (Claim). An outcome is
// fenced (AppendFenced): it goes in only while the lease of the epoch its
// intent was written under runs, and a rescue only once the owner's lease
// has ended, both checked inside the append's transaction; so the replica
// that took over and the one that resumes never both record one call.

// dbNow is the database's clock as stored times read (TimeFormat, UTC).
const dbNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

// dbLater is dbNow plus $2 seconds.
const dbLater = `to_char((clock_timestamp() + $2::double precision * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

// ErrFenced means the entry was not written: this replica's lease (of the
// epoch the call was made under) has ended, or the replica whose call it
// rescues still holds its lease.
var ErrFenced = errors.New("audit: not written: the lease that owns this call has ended (or its owner still holds it)")

// LeaseHeldError refuses a second replica with the id of one whose lease
// is live.
type LeaseHeldError struct {
	ID, Until string
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("replica id %q is in use: another process holds its lease until %s (database time). "+
		"Give this process another --replica-id, or stop the other one first (a clean stop releases the lease at once; "+
		"a killed one's lease runs out after --replica-lease)", e.ID, e.Until)
}

// SetReplica makes every entry written through l name replica id.
func (l *Log) SetReplica(id string) { l.replica = id }

// Replica is the id entries written through l carry ("" on a
// single-process store).
func (l *Log) Replica() string { return l.replica }

// Epoch is the epoch of the lease this replica holds (0: none yet).
func (l *Log) Epoch() int64 { return l.epoch.Load() }

// Claim takes this replica's lease for lease, in a new epoch; it is
// refused (*LeaseHeldError) while the id's lease is live, whoever holds
// it: another process started with the same --replica-id, or this one's
// own lease that has not yet run out.
func (l *Log) Claim(ctx context.Context, lease time.Duration) error {
	if l.replica == "" {
		return nil
	}
	var epoch int64
	err := l.w.QueryRowContext(ctx, `INSERT INTO replicas (id, started_at, lease_until, epoch) VALUES ($1, `+dbNow+`, `+dbLater+`, 1)
		ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, lease_until = excluded.lease_until, epoch = replicas.epoch + 1
		WHERE replicas.lease_until <= excluded.started_at
		RETURNING epoch`, l.replica, lease.Seconds()).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		var until string
		if err := l.r.QueryRowContext(ctx, "SELECT lease_until FROM replicas WHERE id = $1", l.replica).Scan(&until); err != nil {
			return fmt.Errorf("audit: the lease of replica %s: %w", l.replica, err)
		}
		return &LeaseHeldError{ID: l.replica, Until: until}
	}
	if err != nil {
		return fmt.Errorf("audit: take the lease of replica %s: %w", l.replica, err)
	}
	l.epoch.Store(epoch)
	return nil
}

// ErrLeaseLost means the heartbeat came too late: the lease had run out
// (the replica was paused, or cut off from the database), and the calls it
// owned may have been taken over. Claim takes a new one.
var ErrLeaseLost = errors.New("audit: this replica's lease ran out before it was renewed")

// Beat renews this replica's lease for lease from now (the database's
// clock), only while the lease of its epoch still runs.
func (l *Log) Beat(ctx context.Context, lease time.Duration) error {
	if l.replica == "" {
		return nil
	}
	res, err := l.w.ExecContext(ctx, `UPDATE replicas SET lease_until = `+dbLater+`
		WHERE id = $1 AND epoch = $3 AND lease_until > `+dbNow, l.replica, lease.Seconds(), l.epoch.Load())
	if err != nil {
		return fmt.Errorf("audit: renew the lease of replica %s: %w", l.replica, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Release ends this replica's lease at once (a clean shutdown: its calls
// have all been answered, so nothing of it is left to wait for).
func (l *Log) Release(ctx context.Context) error {
	if l.replica == "" {
		return nil
	}
	_, err := l.w.ExecContext(ctx, "UPDATE replicas SET lease_until = "+dbNow+" WHERE id = $1 AND epoch = $2", l.replica, l.epoch.Load())
	return err
}

// LeaseEnded reports whether replica owner's lease has ended by the
// database's clock (or it never held one here): nobody is left to record
// its calls' outcomes.
func (l *Log) LeaseEnded(ctx context.Context, owner string) (bool, error) {
	var ended bool
	err := l.r.QueryRowContext(ctx, "SELECT lease_until <= "+dbNow+" FROM replicas WHERE id = $1", owner).Scan(&ended)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: lease of replica %s: %w", owner, err)
	}
	return ended, nil
}

// Fence is what an append checks of the leases, in its transaction: this
// replica's lease of Epoch runs, and (when Ended names a replica) that
// replica's lease has ended.
type Fence struct {
	Epoch int64
	Ended string
}

// fenceSQL is true when the fence holds: $1 this replica, $2 its epoch,
// $3 the replica whose lease must have ended (” for none).
const fenceSQL = `SELECT EXISTS (SELECT 1 FROM replicas WHERE id = $1 AND epoch = $2 AND lease_until > ` + dbNow + `)
	AND NOT EXISTS (SELECT 1 FROM replicas WHERE id = $3 AND $3 <> '' AND lease_until > ` + dbNow + `)`

// AppendFenced appends e while the operation's newest state is want and f
// holds, else ErrStateChanged or ErrFenced, writing nothing. On a store
// without replicas it is AppendIf.
func (l *Log) AppendFenced(ctx context.Context, e Event, want string, f Fence) (Event, error) {
	if e.OpID == 0 || want == "" {
		return Event{}, fmt.Errorf("audit: AppendFenced needs an operation and a state")
	}
	if l.replica == "" {
		return l.append(ctx, e, want)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	out, err := l.appendPipelined(ctx, e, want, &f)
	if err == nil {
		l.pgHead.set(out.Seq, out.Hash)
		if l.OnAppend != nil {
			l.OnAppend(out)
		}
	}
	return out, err
}

// EntriesAfter returns up to limit entries after seq, oldest first: a
// replica reads what the others wrote (its caches follow the log).
func (l *Log) EntriesAfter(ctx context.Context, seq int64, limit int) ([]Event, error) {
	return l.events(ctx, "SELECT "+columns+" FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
}
