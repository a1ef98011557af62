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

// SetReplica makes every entry written through l name replica id.
func (l *Log) SetReplica(id string) { l.replica = id }

// Replica is the id entries written through l carry ("" on a
// single-process store).
func (l *Log) Replica() string { return l.replica }

// Beat renews this replica's lease until until.
func (l *Log) Beat(ctx context.Context, started, until time.Time) error {
	if l.replica == "" {
		return nil
	}
	_, err := l.w.ExecContext(ctx, `INSERT INTO replicas (id, started_at, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until`,
		l.replica, started.UTC().Format(TimeFormat), until.UTC().Format(TimeFormat))
	if err != nil {
		return fmt.Errorf("audit: renew the lease of replica %s: %w", l.replica, err)
	}
	return nil
}

// Release ends this replica's lease at once (a clean shutdown: its calls
// have all been answered, so nothing of it is left to wait for).
func (l *Log) Release(ctx context.Context) error {
	if l.replica == "" {
		return nil
	}
	_, err := l.w.ExecContext(ctx, "UPDATE replicas SET lease_until = ? WHERE id = ?", l.now().UTC().Format(TimeFormat), l.replica)
	return err
}

// LeaseEnded reports whether replica owner's lease ended before now (or
// it never held one here): nobody is left to record its calls' outcomes.
func (l *Log) LeaseEnded(ctx context.Context, owner string, now time.Time) (bool, error) {
	var until string
	err := l.r.QueryRowContext(ctx, "SELECT lease_until FROM replicas WHERE id = ?", owner).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: lease of replica %s: %w", owner, err)
	}
	return until <= now.UTC().Format(TimeFormat), nil
}

// EntriesAfter returns up to limit entries after seq, oldest first: a
// replica reads what the others wrote (its caches follow the log).
func (l *Log) EntriesAfter(ctx context.Context, seq int64, limit int) ([]Event, error) {
	return l.events(ctx, "SELECT "+columns+" FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
}
