package handlers

import (
	"context"
	"errors"
	"time"

	"ecsdash/internal/audit"
)

// followEvery is how often a replica reads what the others appended.
const followEvery = time.Second

// heartbeat renews this replica's lease every third of it.
func (a *App) heartbeat(ctx context.Context) error {
	lease := a.cfg.ReplicaLease
	beat := time.NewTicker(lease / 3)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			a.beat(ctx, lease)
		}
	}
}

// replicaLoop is a replica's background work on a shared store beside its
// heartbeat: it records as unknown the calls of replicas whose lease ran
// out, follows the entries the others write (so its navigation counts, its
// list's held rows and its requesters' outcomes follow theirs within a
// second), and sweeps old sign-in failures and claims.
func (a *App) replicaLoop(ctx context.Context) error {
	lease := a.cfg.ReplicaLease
	rescue := time.NewTicker(lease / 2)
	follow := time.NewTicker(followEvery)
	sweep := time.NewTicker(time.Minute)
	defer rescue.Stop()
	defer follow.Stop()
	defer sweep.Stop()
	cursor := a.lastSeq.Load()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescue.C:
			n, err := a.starts.RecoverDangling(ctx, false)
			if err != nil && ctx.Err() == nil {
				a.log.Warn("recovering other replicas' calls failed", "err", err)
			}
			if n > 0 {
				a.log.Warn("recorded calls of a replica whose lease ran out as outcome unknown", "count", n)
			}
		case <-follow.C:
			cursor = a.follow(ctx, cursor)
		case <-sweep.C:
			if err := a.shared.sweep(ctx, a.dbNow()); err != nil && ctx.Err() == nil { // what others wrote on the same clock
				a.log.Warn("sweep failed", "err", err)
			}
		}
	}
}

// beat renews the lease; when it had run out (the process was paused, or
// cut off from the database), it takes a new one: the calls made under the
// old one are no longer this replica's to record (they are fenced), and
// the replica that took over, or this one's reconciling, records them.
func (a *App) beat(ctx context.Context, lease time.Duration) {
	err := a.auditLog.Beat(ctx, lease)
	if errors.Is(err, audit.ErrLeaseLost) {
		a.log.Error("replica lease ran out before it was renewed: this replica was paused or cut off; its calls in flight are left to the replica that takes over",
			"replica", a.cfg.ReplicaID, "epoch", a.auditLog.Epoch())
		err = a.auditLog.Claim(ctx, lease)
	}
	if err != nil {
		a.log.Error("replica lease not renewed", "replica", a.cfg.ReplicaID, "err", err)
	}
}

// follow takes in the entries after cursor that other replicas wrote, and
// returns the new cursor.
func (a *App) follow(ctx context.Context, cursor int64) int64 {
	for {
		events, err := a.auditLog.EntriesAfter(ctx, cursor, 500)
		if err != nil {
			a.log.Warn("following the audit log failed", "err", err)
			return cursor
		}
		for _, e := range events {
			cursor = e.Seq
			if e.Replica == a.auditLog.Replica() {
				continue // ours: seen when appended
			}
			a.sawSeq(e.Seq)
			a.noteEnding(e)
			a.appended.add()
		}
		if len(events) < 500 {
			return cursor
		}
	}
}

// sawSeq moves the newest known entry forward (never back: appends finish
// out of order).
func (a *App) sawSeq(seq int64) {
	for {
		cur := a.lastSeq.Load()
		if seq <= cur || a.lastSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// reconcileEvery is how often a process looks for its own intents whose
// call ended without an outcome on record (a single-process store; with
// replicas, the rescue does it), and for unknown outcomes whose truth is
// now visible (every store).
const reconcileEvery = 15 * time.Second

// reconcileLoop records as unknown, while the process runs, its own
// intents whose call ended without an outcome on record, and gives unknown
// outcomes their follow-up entry once the instance is seen settled.
func (a *App) reconcileLoop(ctx context.Context) error {
	t := time.NewTicker(reconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if a.shared == nil {
			if n, err := a.starts.RecoverDangling(ctx, false); err != nil {
				a.log.Warn("reconciling dangling intents failed", "err", err)
			} else if n > 0 {
				a.log.Warn("recorded intents whose outcome was not on record as outcome unknown", "count", n)
			}
		}
		if n, err := a.starts.Reconcile(ctx); err != nil {
			a.log.Warn("reconciling unknown outcomes failed", "err", err)
		} else if n > 0 {
			a.log.Info("unknown outcomes given a follow-up entry with the status seen later", "count", n)
		}
	}
}
