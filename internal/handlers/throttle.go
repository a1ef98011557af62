package handlers

import (
	"sync"
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
// Failures from one address never refuse the same name from another.
type loginThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time // "ip:A", "pair:NAME\x00A", "user:NAME"
	paced    map[string]time.Time   // name -> last attempt let through while paced
	noted    map[string]time.Time   // refusing key -> when its refusal was recorded
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

func (t *loginThrottle) init() {
	if t.failures == nil {
		t.failures, t.paced, t.noted = map[string][]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	}
}

// recent counts key's failures in the window, forgetting older ones; t.mu is held.
func (t *loginThrottle) recent(key string, now time.Time) int {
	var kept []time.Time
	for _, f := range t.failures[key] {
		if now.Sub(f) < throttleWindow {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		delete(t.failures, key) // asking about a name must not store it
	} else {
		t.failures[key] = kept
	}
	return len(kept)
}

// check decides whether an attempt for user from ip may go ahead now.
func (t *loginThrottle) check(user, ip string, now time.Time) *refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	switch {
	case t.recent("ip:"+ip, now) >= maxIPFailures:
		return &refusal{"ip:" + ip, "Too many failed sign-ins from your address. Wait 15 minutes and try again.", throttleWindow}
	case t.recent("pair:"+user+"\x00"+ip, now) >= maxPairFailures:
		return &refusal{"pair:" + user + "\x00" + ip, "Too many failed sign-ins for this user from your address. Wait 15 minutes and try again.", throttleWindow}
	case t.recent("user:"+user, now) >= paceAfter:
		if last, ok := t.paced[user]; ok && now.Sub(last) < paceInterval {
			return &refusal{"user:" + user, "Sign-ins for this user are being slowed down after many failures. Try again in a few seconds.", paceInterval}
		}
		t.paced[user] = now
	}
	return nil
}

// note reports whether a refusal by key is the first in its window, the
// one the audit log records.
func (t *loginThrottle) note(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if at, ok := t.noted[key]; ok && now.Sub(at) < throttleWindow {
		return false
	}
	if len(t.noted) >= maxThrottleKeys {
		for k, at := range t.noted {
			if now.Sub(at) >= throttleWindow {
				delete(t.noted, k)
			}
		}
		if len(t.noted) >= maxThrottleKeys {
			return false // past the bound: the address's own refusal was recorded already
		}
	}
	t.noted[key] = now
	return true
}

func (t *loginThrottle) fail(user, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if len(t.failures) >= maxThrottleKeys {
		for k := range t.failures {
			t.recent(k, now)
		}
		for name, at := range t.paced {
			if now.Sub(at) >= throttleWindow {
				delete(t.paced, name)
			}
		}
	}
	// Past the bound, new names are not tracked; the per-address limit
	// still holds for them.
	for _, k := range []string{"user:" + user, "pair:" + user + "\x00" + ip} {
		if _, known := t.failures[k]; known || len(t.failures) < maxThrottleKeys {
			t.failures[k] = append(t.failures[k], now)
		}
	}
	t.failures["ip:"+ip] = append(t.failures["ip:"+ip], now)
}

// succeeded forgets the name's failures from this address (not the
// address's own, nor the name's from elsewhere).
func (t *loginThrottle) succeeded(user, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "pair:"+user+"\x00"+ip)
}
