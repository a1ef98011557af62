package handlers

import (
	"context"
	"time"
)

// loginThrottle slows password guessing down without letting anyone lock
// an account's owner out. Within a window of 15 minutes:
//   - an address with 20 failures waits (whatever the names it tries);
//   - a name with 5 failures from one address waits, from that address only;
//   - a name with 10 failures from anywhere is paced: one attempt every 2
//     seconds for it, from all addresses together. A guesser spread over
//     many addresses is slowed down; the owner waits seconds, never minutes.
//
// Failures from one address never refuse the same name from another. The
// rules are here; what they count is kept in a book: this process's memory
// on a single-process store, the database when replicas share it.
type loginThrottle struct {
	book book
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

// refusal says why an attempt must wait: the key that refuses it (for the
// audit log's one event per key and window) and the words for the user.
type refusal struct {
	key, words string
	retry      time.Duration
}

// check decides whether an attempt for user from ip may go ahead now.
func (t *loginThrottle) check(ctx context.Context, user, ip string, now time.Time) (*refusal, error) {
	since := now.Add(-throttleWindow)
	ipKey, pairKey, userKey := throttleKeys(user, ip)
	if n, err := t.book.failures(ctx, ipKey, since); err != nil || n >= maxIPFailures {
		return &refusal{ipKey, "Too many failed sign-ins from your address. Wait 15 minutes and try again.", throttleWindow}, err
	}
	if n, err := t.book.failures(ctx, pairKey, since); err != nil || n >= maxPairFailures {
		return &refusal{pairKey, "Too many failed sign-ins for this user from your address. Wait 15 minutes and try again.", throttleWindow}, err
	}
	n, err := t.book.failures(ctx, userKey, since)
	if err != nil {
		return nil, err
	}
	if n >= paceAfter {
		if first, err := t.book.claim(ctx, "pace:"+user, now, paceInterval); err != nil || !first {
			return &refusal{userKey, "Sign-ins for this user are being slowed down after many failures. Try again in a few seconds.", paceInterval}, err
		}
	}
	return nil, nil
}

func throttleKeys(user, ip string) (ipKey, pairKey, userKey string) {
	return "ip:" + ip, "pair:" + user + "\x00" + ip, "user:" + user
}

// note reports whether a refusal by key is the first in its window, the
// one the audit log records.
func (t *loginThrottle) note(ctx context.Context, key string, now time.Time) bool {
	first, err := t.book.claim(ctx, "noted:"+key, now, throttleWindow)
	return err == nil && first
}

func (t *loginThrottle) fail(ctx context.Context, user, ip string, now time.Time) error {
	ipKey, pairKey, userKey := throttleKeys(user, ip)
	return t.book.fail(ctx, []string{userKey, pairKey, ipKey}, now)
}

// succeeded forgets the name's failures from this address (not the
// address's own, nor the name's from elsewhere).
func (t *loginThrottle) succeeded(ctx context.Context, user, ip string) error {
	_, pairKey, _ := throttleKeys(user, ip)
	return t.book.forget(ctx, pairKey)
}
