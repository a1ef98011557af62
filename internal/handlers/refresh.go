package handlers

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"ecsdash/internal/apperr"
	"ecsdash/internal/ecs"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// A forced refresh lists every region (at 10,000 instances, over a hundred
// DescribeInstances calls), from the account's API budget shared with every
// other tool. So a list fetched within refreshFresh is the answer; forced
// refreshes are limited per user and in total; viewers may not force one.
const (
	refreshFresh     = 10 * time.Second
	refreshUserEvery = 30 * time.Second
	refreshUserBurst = 2
	refreshAllEvery  = 10 * time.Second
	refreshAllBurst  = 3
)

// mayRefresh reports whether role may force a refresh: those who act on the
// list (start, decide), not those who only look.
func mayRefresh(role string) bool { return users.Can(role, users.PermRefresh) }

// refreshLimits are the forced refreshes' budgets, per user and in total.
type refreshLimits struct {
	mu    sync.Mutex
	all   *rate.Limiter
	users map[string]*rate.Limiter
	last  time.Time // when the last forced refresh ended, on the dashboard's clock
}

// ran notes that a forced refresh ended at now.
func (l *refreshLimits) ran(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = now
}

// fetched is when the list was last fetched: by the background refresh
// (the fleet's time) or a forced one.
func (l *refreshLimits) fetched(fleet time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.After(fleet) {
		return l.last
	}
	return fleet
}

// allow spends one forced refresh of user's at now, and reports whether both
// budgets had one.
func (l *refreshLimits) allow(user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all == nil {
		l.all, l.users = rate.NewLimiter(rate.Every(refreshAllEvery), refreshAllBurst), map[string]*rate.Limiter{}
	}
	u := l.users[user]
	if u == nil {
		if len(l.users) >= 10000 { // accounts are few; a bound all the same
			clear(l.users)
		}
		u = rate.NewLimiter(rate.Every(refreshUserEvery), refreshUserBurst)
		l.users[user] = u
	}
	if u.TokensAt(now) < 1 || !l.all.AllowN(now, 1) {
		return false
	}
	return u.AllowN(now, 1)
}

// refresh asks for a fresh list now, unless one is fresh already or the
// budgets are spent; concurrent asks share one refresh.
func (a *App) refresh(c echo.Context) error {
	u := currentUser(c)
	if !mayRefresh(u.Role) {
		return apperr.New(apperr.Forbidden, "Viewers cannot force a refresh: the list is refreshed for everyone every %s.", a.cfg.RefreshInterval)
	}
	back := a.cfg.BasePath() + "instances"
	now := a.now()
	l := a.loc(c)
	fetched := a.refreshes.fetched(a.fleet.Snapshot().Fetched)
	switch {
	case !fetched.IsZero() && now.Sub(fetched) < refreshFresh:
		sess(c).flash(templates.Flash{Text: l.T("flash.fresh", "Age", age(l, fetched, now))})
	case !a.refreshes.allow(u.Name, now):
		sess(c).flash(templates.Flash{Text: l.T("flash.refresh_limited", "Age", age(l, fetched, now))})
	default:
		if err := a.fleet.Refresh(c.Request().Context()); err != nil {
			sess(c).flash(templates.Flash{Error: true, Text: l.T("flash.refresh_failed", "Words", ecs.WordsOf(err).In(l))})
		} else {
			a.refreshes.ran(a.now())
		}
	}
	return c.Redirect(http.StatusSeeOther, back)
}
