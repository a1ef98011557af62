package handlers

import (
	"sync"
	"time"
)

// loginThrottle counts recent failures per user name and per source address.
type loginThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	throttleWindow  = 15 * time.Minute
	maxUserFailures = 5
	maxIPFailures   = 20
)

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

// blocked reports whether another attempt for user from ip must wait.
func (t *loginThrottle) blocked(user, ip string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil {
		t.failures = map[string][]time.Time{}
	}
	return t.recent("u:"+user, now) >= maxUserFailures || t.recent("ip:"+ip, now) >= maxIPFailures
}

// maxThrottleKeys bounds the memory a spray of made-up user names can take.
const maxThrottleKeys = 50000

func (t *loginThrottle) fail(user, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil {
		t.failures = map[string][]time.Time{}
	}
	if len(t.failures) >= maxThrottleKeys {
		for k := range t.failures {
			if t.recent(k, now) == 0 {
				delete(t.failures, k)
			}
		}
	}
	// Past the bound, new user names are not tracked; the per-address limit
	// still holds for them.
	if _, known := t.failures["u:"+user]; known || len(t.failures) < maxThrottleKeys {
		t.failures["u:"+user] = append(t.failures["u:"+user], now)
	}
	t.failures["ip:"+ip] = append(t.failures["ip:"+ip], now)
}

func (t *loginThrottle) reset(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "u:"+user)
}
