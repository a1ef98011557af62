package notify

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
)

// The outbox: notifications are delivered from the audit log, which is
// durable, not from a queue in memory. Each receiver (a --notify-url) has
// a cursor in the database, the newest entry whose events it was given;
// its events go out in the log's order, each retried with backoff until
// the receiver takes it, and the cursor moves only past what it took. So a
// restart, or a replica's death, loses none: the next holder starts from
// the cursor, and may repeat the last event (at least once), always with
// the same event id, so a receiver drops duplicates by X-ECS-Dashboard-
// Event-Id. A receiver seen for the first time starts at the end of the
// log: it is not sent the history.
//
// With several replicas, one at a time delivers a receiver's events: the
// cursor row carries a lease (holder, until), taken and renewed with the
// database's clock before each attempt; another replica takes it over
// once it has run out (the holder died or was paused).

// Source is what the outbox reads of the log.
type Source interface {
	EntriesAfter(ctx context.Context, seq int64, limit int) ([]audit.Event, error)
}

// Messages turns one entry of the log into the notifications it stands
// for (none for most); settled false means the entry cannot be judged yet
// (a call whose outcome may still be followed by a retry), and delivery to
// the receiver waits there, keeping the order.
type Messages func(ctx context.Context, e audit.Event) (ms []Message, settled bool, err error)

// OutboxOptions configure an Outbox.
type OutboxOptions struct {
	Store    *db.Pool // the write pool: cursors and leases
	Read     *db.Pool // the read pool: a look at the cursor before taking the lease
	Log      Source
	Messages Messages
	// Holder names this process in the leases (its replica id; one name
	// for a single-process store).
	Holder string
	// Lease is how long a receiver's lease lasts unrenewed; 0: the POST's
	// timeout and 5 s.
	Lease time.Duration
	// Poll is how often the log is read for entries of other replicas,
	// and a lease held elsewhere asked for; 0: 1 s. Wake (entries this
	// process appended) makes it read at once.
	Poll time.Duration
	Wake <-chan struct{}
	// Backoff between attempts to one receiver; zero: from the
	// Notifier's BaseDelay up to MaxInterval (30 s), never giving up but
	// for a refusal (a 4xx other than 408 and 429).
	MaxInterval time.Duration
}

// Outbox delivers the log's events to the Notifier's receivers.
type Outbox struct {
	n *Notifier
	o OutboxOptions
}

// NewOutbox builds the outbox of n.
func NewOutbox(n *Notifier, o OutboxOptions) *Outbox {
	if o.Lease <= 0 {
		o.Lease = n.o.Timeout + 5*time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = 30 * time.Second
	}
	if o.Holder == "" {
		o.Holder = "local"
	}
	return &Outbox{n: n, o: o}
}

// Receiver is the key of url's cursor: its SHA-256 (a robot's URL
// carries its token, which the database need not hold).
func Receiver(url string) string {
	h := sha256.Sum256([]byte(url))
	return hex.EncodeToString(h[:])
}

// Prepare gives each receiver seen for the first time a cursor at the
// end of the log. Call it before serving, so that nothing this process
// appends is missed.
func (b *Outbox) Prepare(ctx context.Context) error {
	for _, u := range b.n.o.URLs {
		if _, err := b.o.Store.ExecContext(ctx, `INSERT INTO notify_cursors (receiver, label, seq)
			SELECT ?, ?, COALESCE(MAX(seq), 0) FROM audit_events WHERE true ON CONFLICT (receiver) DO NOTHING`, Receiver(u), redact(u)); err != nil {
			return fmt.Errorf("notifications: the cursor of %s: %w", redact(u), err)
		}
	}
	return nil
}

// Run delivers until ctx ends, one loop per receiver; it returns nil once
// each has finished the delivery it had in flight.
func (b *Outbox) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wakes := make([]chan struct{}, len(b.n.o.URLs))
	for i, u := range b.n.o.URLs {
		wakes[i] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.loop(ctx, u, wakes[i])
		}()
	}
	// One signal of appends, fanned out to every receiver's loop.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.o.Wake:
				for _, w := range wakes {
					select {
					case w <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	wg.Wait()
	return nil
}

// Release gives up this process's leases at once (after Run returned), so
// that another replica delivers without waiting for them to run out.
func (b *Outbox) Release(ctx context.Context) error {
	_, err := b.o.Store.ExecContext(ctx, "UPDATE notify_cursors SET lease_until = 0 WHERE holder = ?", b.o.Holder)
	return err
}

var errLeaseLost = errors.New("notifications: another replica holds this receiver's lease")

// claim takes or renews the receiver's lease and returns its cursor;
// errLeaseLost while another holds it.
func (b *Outbox) claim(ctx context.Context, receiver string) (int64, error) {
	now := b.o.Store.Dialect.NowMillis()
	var seq int64
	err := b.o.Store.QueryRowContext(ctx, `UPDATE notify_cursors SET holder = ?, lease_until = `+now+` + ?
		WHERE receiver = ? AND (holder = ? OR lease_until <= `+now+`) RETURNING seq`,
		b.o.Holder, b.o.Lease.Milliseconds(), receiver, b.o.Holder).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errLeaseLost
	}
	return seq, err
}

// advance moves the cursor to seq while this process holds the lease.
func (b *Outbox) advance(ctx context.Context, receiver string, seq int64) error {
	res, err := b.o.Store.ExecContext(ctx, "UPDATE notify_cursors SET seq = ? WHERE receiver = ? AND holder = ? AND seq < ?",
		seq, receiver, b.o.Holder, seq)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errLeaseLost
	}
	return nil
}

// loop delivers one receiver's events while it holds the receiver's lease.
func (b *Outbox) loop(ctx context.Context, url string, wake <-chan struct{}) {
	receiver := Receiver(url)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		more, err := b.round(ctx, url, receiver)
		if err != nil && !errors.Is(err, errLeaseLost) && ctx.Err() == nil {
			b.n.o.Logger.Warn("notifications: delivery paused", "url", redact(url), "err", err)
		}
		if more && err == nil {
			t.Reset(0)
		} else {
			t.Reset(b.o.Poll)
		}
	}
}

const roundEntries = 200

// round delivers what follows the cursor (up to roundEntries entries) and
// reports whether more may follow at once.
func (b *Outbox) round(ctx context.Context, url, receiver string) (more bool, err error) {
	// A look first, without writing: an idle receiver costs reads only.
	var seen int64
	if err := b.o.Read.QueryRowContext(ctx, "SELECT seq FROM notify_cursors WHERE receiver = ?", receiver).Scan(&seen); err != nil {
		return false, err
	}
	entries, err := b.o.Log.EntriesAfter(ctx, seen, roundEntries)
	if err != nil || len(entries) == 0 {
		return false, err
	}
	cursor, err := b.claim(ctx, receiver)
	if err != nil {
		return false, err
	}
	if cursor != seen {
		if entries, err = b.o.Log.EntriesAfter(ctx, cursor, roundEntries); err != nil || len(entries) == 0 {
			return false, err
		}
	}
	done := cursor
	// On the way out, the cursor records what was delivered, also when
	// ctx has ended (a shutdown after the delivery in flight).
	defer func() {
		if aerr := b.advanceTo(context.WithoutCancel(ctx), receiver, cursor, done); aerr != nil {
			err = errors.Join(err, aerr)
		}
	}()
	for _, e := range entries {
		if ctx.Err() != nil {
			return false, nil
		}
		ms, settled, err := b.o.Messages(ctx, e)
		if err != nil || !settled {
			return false, err
		}
		if len(ms) > 0 && done > cursor {
			// What went before is delivered: record it, so that a
			// takeover repeats as little as it can.
			if err := b.advance(ctx, receiver, done); err != nil {
				return false, err
			}
			cursor = done
		}
		for _, m := range ms {
			if err := b.deliver(ctx, url, receiver, m); err != nil {
				return false, err
			}
		}
		done = e.Seq
	}
	return len(entries) == roundEntries, nil
}

func (b *Outbox) advanceTo(ctx context.Context, receiver string, cursor, seq int64) error {
	if seq <= cursor {
		return nil
	}
	return b.advance(ctx, receiver, seq)
}

// errRefused is a receiver's answer that asking again will not change.
type errRefused struct{ status int }

func (e errRefused) Error() string { return fmt.Sprintf("the receiver refused it (HTTP %d)", e.status) }

// deliver POSTs m to url until the receiver takes it (2xx) or refuses it
// (4xx but 408 and 429: logged, counted as failed, and passed over), with
// backoff between attempts and the lease renewed before each. It returns
// an error when the lease was lost or ctx ended first; the POST in flight
// when ctx ends is let finish (within its timeout).
func (b *Outbox) deliver(ctx context.Context, url, receiver string, m Message) error {
	eb := backoff.NewExponentialBackOff()
	eb.InitialInterval, eb.MaxInterval, eb.MaxElapsedTime = b.n.o.BaseDelay, b.o.MaxInterval, 0
	attempt := 0
	var last error
	op := func() error {
		if ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		if _, err := b.claim(ctx, receiver); err != nil {
			return backoff.Permanent(err)
		}
		attempt++
		status, err := b.n.post(context.WithoutCancel(ctx), job{url, m})
		switch {
		case err == nil && status/100 == 2:
			return nil
		case err == nil && status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
			return backoff.Permanent(errRefused{status})
		case err == nil:
			last = fmt.Errorf("HTTP %d", status)
		default:
			last = err
		}
		return last
	}
	err := backoff.RetryNotify(op, backoff.WithContext(eb, ctx), func(err error, wait time.Duration) {
		b.n.o.Logger.Info("notification not yet delivered; trying again", "event_id", EventID(m), "url", redact(url), "attempt", attempt, "err", err, "wait", wait)
	})
	var refused errRefused
	switch {
	case err == nil:
		b.n.o.Logger.Info("notification delivered", "event_id", EventID(m), "url", redact(url), "attempt", attempt)
		b.n.o.Outcome("delivered")
		return nil
	case errors.As(err, &refused):
		b.n.o.Logger.Warn("notification not delivered: the receiver refused it; passed over", "event_id", EventID(m), "url", redact(url), "err", err)
		b.n.o.Outcome("failed")
		return nil
	}
	return err
}
