package books

import (
	"context"
	"time"
)

// Throttle slows password guessing down without letting anyone lock
// an account's owner out. Within a window of 15 minutes:
//   - an address with 20 failures waits (whatever the names it tries);
//   - a name with 5 failures from one address waits, from that address only;
//   - a name with 10 failures from anywhere is paced: one attempt every 2
//     seconds for it, from all addresses together. A guesser spread over
//     many addresses is slowed down; the owner waits seconds, never minutes.
//
// Failures from one address never refuse the same name from another. An
// attempt is counted as a failure before its password is checked (Begin),
// and the counts read after that: of many attempts at once, only those
// within the limits reach the password check, on one process or across
// replicas sharing the database. A success takes its reservation back. The
// rules are here; what they count is kept in a book: this process's memory
// on a single-process store, the database when replicas share it.
type Throttle struct {
	book Book
	// hashing bounds the password checks (bcrypt, ~50 ms of a core each)
	// running at once; an attempt waits for a slot.
	hashing chan struct{}
}

const (
	throttleWindow  = 15 * time.Minute
	maxPairFailures = 5
	maxIPFailures   = 20
	paceAfter       = 10
	paceInterval    = 2 * time.Second
	// maxThrottleKeys bounds the memory a spray of made-up names can take.
	maxThrottleKeys = 50000
)

// Refusal says why an attempt must wait: the key that refuses it (for the
// audit log's one event per key and window) and the words for the user.
type Refusal struct {
	Key, Words string
	Retry      time.Duration
}

// NewThrottle is a throttle counting in b, with at most hashing password
// checks at once (0: no bound, for tests of the rules).
func NewThrottle(b Book, hashing int) *Throttle {
	t := &Throttle{book: b}
	if hashing > 0 {
		t.hashing = make(chan struct{}, hashing)
	}
	return t
}

// check decides whether an attempt for user from ip may go ahead now.
func (t *Throttle) check(ctx context.Context, user, ip string, now time.Time) (*Refusal, error) {
	since := now.Add(-throttleWindow)
	ipKey, pairKey, userKey := throttleKeys(user, ip)
	if n, err := t.book.failures(ctx, ipKey, since); err != nil || n >= maxIPFailures {
		return &Refusal{ipKey, "Too many failed sign-ins from your address. Wait 15 minutes and try again.", throttleWindow}, err
	}
	if n, err := t.book.failures(ctx, pairKey, since); err != nil || n >= maxPairFailures {
		return &Refusal{pairKey, "Too many failed sign-ins for this user from your address. Wait 15 minutes and try again.", throttleWindow}, err
	}
	n, err := t.book.failures(ctx, userKey, since)
	if err != nil {
		return nil, err
	}
	if n >= paceAfter {
		if first, err := t.book.claim(ctx, "pace:"+user, now, paceInterval); err != nil || !first {
			return &Refusal{userKey, "Sign-ins for this user are being slowed down after many failures. Try again in a few seconds.", paceInterval}, err
		}
	}
	return nil, nil
}

// Begin decides whether an attempt may go ahead now and, when it may,
// reserves it: it is counted as a failure until Succeeded takes it back.
// An attempt whose reservation passes a limit is refused and not counted.
func (t *Throttle) Begin(ctx context.Context, user, ip string, now time.Time) (*Refusal, error) {
	if r, err := t.check(ctx, user, ip, now); r != nil || err != nil {
		return r, err
	}
	if err := t.fail(ctx, user, ip, now); err != nil {
		return nil, err
	}
	since := now.Add(-throttleWindow)
	ipKey, pairKey, userKey := throttleKeys(user, ip)
	var r *Refusal
	if n, err := t.book.failures(ctx, ipKey, since); err != nil {
		return nil, err
	} else if n > maxIPFailures {
		r = &Refusal{ipKey, "Too many failed sign-ins from your address. Wait 15 minutes and try again.", throttleWindow}
	}
	if n, err := t.book.failures(ctx, pairKey, since); err != nil {
		return nil, err
	} else if r == nil && n > maxPairFailures {
		r = &Refusal{pairKey, "Too many failed sign-ins for this user from your address. Wait 15 minutes and try again.", throttleWindow}
	}
	if r != nil {
		return r, t.book.unfail(ctx, []string{userKey, pairKey, ipKey}, now)
	}
	return nil, nil
}

// Hash runs f (a password check) once a slot is free, or gives up with ctx.
func (t *Throttle) Hash(ctx context.Context, f func()) error {
	if t.hashing == nil { // a throttle built without a bound (tests of the rules)
		f()
		return nil
	}
	select {
	case t.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.hashing }()
	f()
	return nil
}

func throttleKeys(user, ip string) (ipKey, pairKey, userKey string) {
	return "ip:" + ip, "pair:" + user + "\x00" + ip, "user:" + user
}

// Note reports whether a refusal by key is the first in its window, the
// one the audit log records.
func (t *Throttle) Note(ctx context.Context, key string, now time.Time) bool {
	first, err := t.book.claim(ctx, "noted:"+key, now, throttleWindow)
	return err == nil && first
}

func (t *Throttle) fail(ctx context.Context, user, ip string, now time.Time) error {
	ipKey, pairKey, userKey := throttleKeys(user, ip)
	return t.book.fail(ctx, []string{userKey, pairKey, ipKey}, now)
}

// Succeeded takes back the attempt begun at now and forgets the name's
// failures from this address (not the address's own, nor the name's from
// elsewhere).
func (t *Throttle) Succeeded(ctx context.Context, user, ip string, now time.Time) error {
	ipKey, pairKey, userKey := throttleKeys(user, ip)
	if err := t.book.unfail(ctx, []string{userKey, ipKey}, now); err != nil {
		return err
	}
	return t.book.forget(ctx, pairKey)
}
