package handlers

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/sessions"
)

// decodedCookies remembers what session cookies decoded to, by the cookie's
// exact value, so that a page view does not verify, decrypt and parse the
// same cookie again (a tenth of a list page's allocations). A value is the
// cookie's authenticated bytes: only a cookie that decoded is remembered,
// and a hit is the same cookie. The decoded session is shared by the
// requests that carry the cookie, read-only: a request copies it before
// its first change (session.own). Nothing about who the user is now is kept
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
	s  *sessions.Session // never changed once here
	at time.Time
}

const (
	decodedTTL = time.Minute
	maxDecoded = 4096
)

// load is store.New(r, cookieName), from memory when this cookie decoded
// less than decodedTTL ago; shared says the session is the remembered one,
// which the caller must not change (session.own copies it).
func (d *decodedCookies) load(r *http.Request) (s *sessions.Session, shared bool, err error) {
	value, ok := cookieValue(r, cookieName)
	if !ok {
		s, err = d.store.New(r, cookieName)
		return s, false, err
	}
	now := d.now()
	d.mu.Lock()
	e, ok := d.m[value]
	d.mu.Unlock()
	if ok && now.Sub(e.at) >= 0 && now.Sub(e.at) < decodedTTL {
		return e.s, true, nil
	}
	s, err = d.store.New(r, cookieName)
	if err != nil || s.IsNew || !flat(s.Values) {
		return s, false, err
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= maxDecoded {
		d.m = map[string]decodedCookie{}
	}
	d.m[strings.Clone(value)] = decodedCookie{s: s, at: now}
	d.mu.Unlock()
	return s, true, nil
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
