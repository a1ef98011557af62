package books

import (
	"context"
	"sync"
	"time"
)

// UsedTokens remembers one-time form tokens, so a double click or a
// resubmitted form starts an instance once. A token is reserved before the
// start runs and released when the start is refused before anything was
// sent, so only starts that went ahead keep theirs. Memory is bounded: at
// most maxFormTokens are kept, each for formTokenTTL, oldest dropped first,
// and the queue of reservations is compacted when released ones outnumber
// the kept ones (a flood of refused starts on one token grows nothing).
type UsedTokens struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	order []reservation // oldest first; one whose time is no longer seen's was released
}

type reservation struct {
	key string
	at  time.Time
}

const (
	maxFormTokens = 20000
	formTokenTTL  = time.Hour
)

// Use reports whether key is fresh, and reserves it.
func (u *UsedTokens) Use(_ context.Context, key string, now time.Time) (bool, error) {
	return u.reserve(key, now), nil
}

func (u *UsedTokens) reserve(key string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	// Drop what expired or overflows, oldest first.
	for len(u.order) > 0 {
		r := u.order[0]
		at, ok := u.seen[r.key]
		if ok && at.Equal(r.at) && now.Sub(at) < formTokenTTL && len(u.seen) < maxFormTokens {
			break
		}
		if ok && at.Equal(r.at) {
			delete(u.seen, r.key)
		}
		u.order = u.order[1:]
	}
	if _, dup := u.seen[key]; dup {
		return false
	}
	u.seen[key] = now
	u.order = append(u.order, reservation{key, now})
	return true
}

// Release forgets a reservation: the start it guarded was refused before
// anything was sent, so the same form may be sent again.
func (u *UsedTokens) Release(_ context.Context, key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.seen, key) // its place in order is skipped when reached
	if len(u.order) > 2*len(u.seen)+64 {
		kept := make([]reservation, 0, 2*len(u.seen)+64)
		for _, r := range u.order {
			if at, ok := u.seen[r.key]; ok && at.Equal(r.at) {
				kept = append(kept, r)
			}
		}
		u.order = kept
	}
}

// size is how many tokens are kept.
func (u *UsedTokens) size() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}
