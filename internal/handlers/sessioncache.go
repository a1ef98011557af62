package handlers

import (
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"
)

// decodedCookies remembers what session cookies decoded to, by the cookie's
// exact value, so that a page view does not verify, decrypt and parse the
// same cookie again (a tenth of a list page's allocations). A value is the
// cookie's authenticated bytes: only a cookie that decoded is remembered,
// and a hit is the same cookie. Nothing about who the user is now is kept
// here: every signed-in request still checks the user's epoch, disabled
// flag and the session's issue and idle times (requireUser), so a logout,
// disable or role change still ends it at once. An entry is kept for at
// most decodedTTL, so the codec's own age check lags by no more than that.
type decodedCookies struct {
	store *sessions.CookieStore
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]decodedCookie
}

type decodedCookie struct {
	values map[any]any
	at     time.Time
}

const (
	decodedTTL = time.Minute
	maxDecoded = 4096
)

// load is store.New(r, cookieName), from memory when this cookie decoded
// less than decodedTTL ago.
func (d *decodedCookies) load(r *http.Request) (*sessions.Session, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return d.store.New(r, cookieName)
	}
	now := d.now()
	d.mu.Lock()
	e, ok := d.m[ck.Value]
	d.mu.Unlock()
	if ok && now.Sub(e.at) >= 0 && now.Sub(e.at) < decodedTTL {
		s := sessions.NewSession(d.store, cookieName)
		opts := *d.store.Options
		s.Options = &opts
		s.Values = maps.Clone(e.values) // the request changes its own copy
		return s, nil
	}
	s, err := d.store.New(r, cookieName)
	if err != nil || s.IsNew || !flat(s.Values) {
		return s, err
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= maxDecoded {
		d.m = map[string]decodedCookie{}
	}
	d.m[ck.Value] = decodedCookie{values: maps.Clone(s.Values), at: now}
	d.mu.Unlock()
	return s, nil
}

// flat says whether a session holds only strings and numbers, which a
// shallow copy keeps apart: a session with flashes (lists) is not kept.
func flat(v map[any]any) bool {
	for _, x := range v {
		switch x.(type) {
		case string, int64:
		default:
			return false
		}
	}
	return true
}
