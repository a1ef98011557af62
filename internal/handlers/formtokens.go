package handlers

import (
	"sync"
	"time"
)

// usedTokens remembers one-time form tokens, so a double click or a
// resubmitted form starts an instance once.
type usedTokens struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// use reports whether key is fresh, and marks it used.
func (u *usedTokens) use(key string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	if len(u.seen) > 10000 {
		for k, t := range u.seen {
			if now.Sub(t) > 24*time.Hour {
				delete(u.seen, k)
			}
		}
	}
	if _, dup := u.seen[key]; dup {
		return false
	}
	u.seen[key] = now
	return true
}
