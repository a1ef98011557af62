package db

import (
	"context"
	"fmt"
	"sync"
	"time"
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
}

// NewClock is p's database clock; until the first Sync it is the host's.
func NewClock(p *Pool) *Clock {
	now := time.Now()
	return &Clock{p: p, db: now, at: now}
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

// Run syncs every interval until ctx ends (a failed Sync keeps the last).
func (c *Clock) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = c.Sync(ctx) // the monotonic clock carries the last reading on
		}
	}
}
