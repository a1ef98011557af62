package handlers

import (
	"maps"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

const (
	cookieName = "ecsdash_session"
	// The signed-in user and their name, as c.Get and c.Set name them
	// (kept in reqState's fields; setUser sets both).
	ctxUser     = "user"
	ctxUserName = "user_name"
)

// session wraps the cookie session with the fields we keep in it: user id,
// epoch, issue and last-seen times, the CSRF token and flashes. Its values
// change only through its methods: a session decoded from a cookie seen
// before is shared with the other requests that carry that cookie (shared)
// and is copied before its first change.
type session struct {
	s      *sessions.Session
	shared bool // s is decodedCookies', read-only
	dirty  bool
	// The messages a page of this request took (page): a second page of
	// the same request, its error page, shows them again.
	shown []templates.Flash
	taken bool
}

func sess(c echo.Context) *session {
	if st := stateOf(c); st.hasSess {
		return &st.sess
	}
	return &session{s: sessions.NewSession(nil, cookieName)}
}

func (s *session) csrf() string { v, _ := s.s.Values["csrf"].(string); return v }
func (s *session) uid() int64   { v, _ := s.s.Values["uid"].(int64); return v }
func (s *session) num(k string) int64 {
	v, _ := s.s.Values[k].(int64)
	return v
}

// own makes the session this request's own before a change.
func (s *session) own() {
	if !s.shared {
		return
	}
	cp := *s.s
	opts := *cp.Options
	cp.Options, cp.Values = &opts, maps.Clone(s.s.Values)
	s.s, s.shared = &cp, false
}

func (s *session) set(k string, v any) { s.own(); s.s.Values[k] = v; s.dirty = true }

// reset starts a fresh session (login, SSO user change): nothing of the old
// one survives but a new CSRF token.
func (s *session) reset() {
	s.own()
	for k := range s.s.Values {
		delete(s.s.Values, k)
	}
	s.set("csrf", randomToken())
}

// maxFlashes bounds the messages a session keeps for a user who never
// looks (a script posting starts without following redirects): the cookie
// must stay under the browser's 4 KiB.
const maxFlashes = 3

func (s *session) flash(f templates.Flash) {
	prefix := "ok:"
	if f.Error {
		prefix = "err:"
	}
	s.own()
	kept := s.s.Flashes()
	if len(kept) >= maxFlashes {
		kept = kept[len(kept)-maxFlashes+1:]
	}
	for _, k := range kept {
		s.s.AddFlash(k)
	}
	s.s.AddFlash(apperr.Truncate(prefix+f.Text, 400))
	s.dirty = true
}

func (s *session) takeFlashes() []templates.Flash {
	if s.shared {
		return nil // a shared session holds no flashes (decodedCookies keeps none that do)
	}
	var out []templates.Flash
	for _, f := range s.s.Flashes() {
		str, _ := f.(string)
		s.dirty = true
		if t, ok := strings.CutPrefix(str, "err:"); ok {
			out = append(out, templates.Flash{Error: true, Text: t})
		} else {
			out = append(out, templates.Flash{Text: strings.TrimPrefix(str, "ok:")})
		}
	}
	return out
}

// loadSession reads the cookie (a bad or old one just starts over), makes
// sure it has a CSRF token, and saves it before the response is written when
// anything changed (sessionWriter).
func (a *App) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st := stateOf(c)
		raw, shared, err := a.cookies.load(c.Request())
		if err != nil {
			raw, _ = a.sessions.New(c.Request(), cookieName) // a fresh session; the error was the old cookie's
			shared = false
		}
		st.sess, st.hasSess = session{s: raw, shared: shared}, true
		if st.sess.csrf() == "" {
			st.sess.set("csrf", randomToken())
		}
		st.out = sessionWriter{ResponseWriter: c.Response().Writer, st: st}
		c.Response().Writer = &st.out
		st.saver = a
		return next(c)
	}
}

// saveSession writes the session's cookie when the request changed it.
func (st *reqState) saveSession() {
	if s := &st.sess; st.hasSess && s.dirty {
		if err := s.s.Save(st.Request(), st.Response()); err != nil {
			st.saver.log.Error("session not saved", "request_id", requestID(st), "err", err)
		}
	}
}

func currentUser(c echo.Context) users.User { return stateOf(c).user }

// cookieValue is the value of the request's first valid cookie called name,
// found as net/http's Request.Cookie finds it (the same limit on the
// number of cookies, quotes stripped, the same bytes allowed) but without
// making a Cookie of every cookie the request carries.
func cookieValue(r *http.Request, name string) (string, bool) {
	lines := r.Header["Cookie"]
	n := 0
	for _, l := range lines {
		n += strings.Count(l, ";") + 1
	}
	if n > maxCookies {
		return "", false
	}
	for _, line := range lines {
		line = textproto.TrimString(line)
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v, true
			}
		}
	}
	return "", false
}

// maxCookies is net/http's limit on a request's cookies (beyond it, none).
const maxCookies = 3000

func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}
