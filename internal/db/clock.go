package db

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"ecsdash/internal/loops"
)

// NowMillis is SQL for the database's clock in milliseconds since 1970:
// what leases that span replicas compare, never a host's clock.
func (d Dialect) NowMillis() string {
	if d == Postgres {
		return "(extract(epoch from clock_timestamp()) * 1000)::bigint"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// Clock is the database's clock as this process knows it: read from the
// database (Sync), then carried forward by the host's monotonic clock, which
// a step of the host's wall clock does not move. Windows that span replicas
// (a request's time to approval, a session's lifetime and idle time) are
// measured with it, so that every replica measures them alike and a host
// whose clock is off or steps neither ends a live one nor keeps a dead one,
// without a round trip per request. Its error is about half the round trip
// of the last Sync, plus the drift of the monotonic clock since.
type Clock struct {
	p  *Pool
	mu sync.Mutex
	db time.Time // the database's time at the last Sync
	at time.Time // this host's monotonic reading then

	// Run's own: the failed syncs since the last that worked, and the
	// rate limit of their warnings.
	failed      int
	failedSince time.Time
	warn        rate.Sometimes
}

// NewClock is p's database clock; until the first Sync it is the host's.
func NewClock(p *Pool) *Clock {
	now := time.Now()
	return &Clock{p: p, db: now, at: now, warn: rate.Sometimes{Interval: syncWarnEvery}}
}

// Now is the database's time now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Add(time.Since(c.at))
}

// Sync reads the database's clock again.
func (c *Clock) Sync(ctx context.Context) error {
	var ms int64
	before := time.Now()
	if err := c.p.QueryRowContext(ctx, "SELECT "+c.p.Dialect.NowMillis()).Scan(&ms); err != nil {
		return fmt.Errorf("read the database's clock: %w", err)
	}
	rtt := time.Since(before)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.db, c.at = time.UnixMilli(ms).UTC(), before.Add(rtt/2)
	return nil
}

// Run syncs every interval until ctx ends, and then returns nil. A failed
// Sync keeps the last reading (the monotonic clock carries it on) and is
// logged: the first of a run of failures at once, then at most every
// syncWarnEvery, and the run's end once, with how many failed.
func (c *Clock) Run(ctx context.Context, every time.Duration, log *slog.Logger) error {
	return loops.Every(ctx, every, func(ctx context.Context) { c.sync(ctx, log) })
}

// syncWarnEvery is how often a run of failed syncs is logged again.
const syncWarnEvery = 5 * time.Minute

// sync is one of Run's syncs, logged as Run says.
func (c *Clock) sync(ctx context.Context, log *slog.Logger) {
	err := c.Sync(ctx)
	if ctx.Err() != nil {
		return // shutting down: not a failure of the database
	}
	if err == nil {
		if c.failed > 0 {
			log.Info("the database's clock is read again", "failures", c.failed, "since", c.failedSince.Format(time.RFC3339))
			c.failed, c.warn = 0, rate.Sometimes{Interval: syncWarnEvery}
		}
		return
	}
	if c.failed == 0 {
		c.failedSince = time.Now()
	}
	c.failed++
	c.warn.Do(func() {
		log.Warn("the database's clock could not be read; carrying the last reading on with this host's monotonic clock",
			"err", err, "failures", c.failed, "last_read", c.Now().Format(time.RFC3339))
	})
}
