// Package replica is a dashboard process's part in a set of replicas on
// one shared store: its lease on its calls (taken, renewed by the
// heartbeat, given up), the rescue of the calls of replicas whose lease ran
// out, the following of what the others append, and the sweep of the
// sign-in throttle's and form tokens' old rows.
package replica

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/books"
	"ecsdash/internal/starts"

	"ecsdash/internal/loops"
)

// followEvery is how often a replica reads what the others appended.
const followEvery = time.Second

// Options are what a Replica is made of.
type Options struct {
	ID     string        // --replica-id, as its entries name it
	Lease  time.Duration // --replica-lease
	Log    *audit.Log    // the shared audit log, whose lease this is
	Starts *starts.Service
	Book   *books.DBBook // the throttle's and the form tokens' rows, swept
	Logger *slog.Logger
	// Now is the database's clock, which what others wrote is measured on.
	Now func() time.Time
	// Head is the newest entry known when following begins; Took is
	// given each entry another replica appended after it, in order.
	Head func() int64
	Took func(audit.Event)
}

// Replica is this process's lease and its background work on a shared
// store.
type Replica struct{ o Options }

// New is the replica o describes.
func New(o Options) *Replica { return &Replica{o: o} }

// Claim takes the replica's lease (refused while another process holds
// this ID's).
func (r *Replica) Claim(ctx context.Context) error { return r.o.Log.Claim(ctx, r.o.Lease) }

// Release gives the lease up, so that nothing of this replica is waited
// for.
func (r *Replica) Release(ctx context.Context) error { return r.o.Log.Release(ctx) }

// Heartbeat renews this replica's lease every third of it.
func (r *Replica) Heartbeat(ctx context.Context) error {
	lease := r.o.Lease
	return loops.Every(ctx, lease/3, func(ctx context.Context) { r.beat(ctx, lease) })
}

// Run is a replica's background work on a shared store beside its
// heartbeat: it records as unknown the calls of replicas whose lease ran
// out, follows the entries the others write (so its navigation counts, its
// list's held rows and its requesters' outcomes follow theirs within a
// second), and sweeps old sign-in failures and claims.
func (r *Replica) Run(ctx context.Context) error {
	lease := r.o.Lease
	rescue := time.NewTicker(lease / 2)
	follow := time.NewTicker(followEvery)
	sweep := time.NewTicker(time.Minute)
	defer rescue.Stop()
	defer follow.Stop()
	defer sweep.Stop()
	cursor := r.o.Head()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescue.C:
			n, err := r.o.Starts.RecoverDangling(ctx, false)
			if err != nil && ctx.Err() == nil {
				r.o.Logger.Warn("recovering other replicas' calls failed", "err", err)
			}
			if n > 0 {
				r.o.Logger.Warn("recorded calls of a replica whose lease ran out as outcome unknown", "count", n)
			}
		case <-follow.C:
			cursor = r.follow(ctx, cursor)
		case <-sweep.C:
			if err := r.o.Book.Sweep(ctx, r.o.Now()); err != nil && ctx.Err() == nil { // what others wrote on the same clock
				r.o.Logger.Warn("sweep failed", "err", err)
			}
		}
	}
}

// beat renews the lease; when it had run out (the process was paused, or
// cut off from the database), it takes a new one: the calls made under the
// old one are no longer this replica's to record (they are fenced), and
// the replica that took over, or this one's reconciling, records them.
func (r *Replica) beat(ctx context.Context, lease time.Duration) {
	err := r.o.Log.Beat(ctx, lease)
	if errors.Is(err, audit.ErrLeaseLost) {
		r.o.Logger.Error("replica lease ran out before it was renewed: this replica was paused or cut off; its calls in flight are left to the replica that takes over",
			"replica", r.o.ID, "epoch", r.o.Log.Epoch())
		err = r.o.Log.Claim(ctx, lease)
	}
	if err != nil {
		r.o.Logger.Error("replica lease not renewed", "replica", r.o.ID, "err", err)
	}
}

// follow takes in the entries after cursor that other replicas wrote, and
// returns the new cursor.
func (r *Replica) follow(ctx context.Context, cursor int64) int64 {
	for {
		events, err := r.o.Log.EntriesAfter(ctx, cursor, 500)
		if err != nil {
			r.o.Logger.Warn("following the audit log failed", "err", err)
			return cursor
		}
		for _, e := range events {
			cursor = e.Seq
			if e.Replica == r.o.Log.Replica() {
				continue // ours: seen when appended
			}
			r.o.Took(e)
		}
		if len(events) < 500 {
			return cursor
		}
	}
}
