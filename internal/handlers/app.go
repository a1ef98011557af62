// Package handlers is the dashboard's HTTP surface: routes, middleware,
// sessions, CSRF and the pages.
package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/sessions"

	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/metrics"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/static"
	"ecsdash/web/templates"
)

// App holds what the handlers need. Every field is set by cmd/web.
type App struct {
	Cfg       *config.Config
	DB        *db.DB
	Users     *users.Store
	Audit     *audit.Log
	Starts    *starts.Service
	Fleet     *ecs.Fleet
	Regions   []string
	ECSReady  func(ctx context.Context) error
	Sessions  *sessions.CookieStore
	Assets    *static.Assets
	Logger    *slog.Logger
	DemoUsers []templates.DemoUser
	Now       func() time.Time
	Metrics   *metrics.Metrics

	rows       rowsCache
	throttle   loginThrottle
	usedTokens usedTokens
	statusMu   sync.Mutex
	statusSeen map[string]time.Time
}

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
