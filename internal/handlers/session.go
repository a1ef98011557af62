package handlers

import (
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

const (
	cookieName  = "ecsdash_session"
	ctxSession  = "session"
	ctxUser     = "user"
	ctxUserName = "user_name"
)

// session wraps the cookie session with the fields we keep in it: user id,
// epoch, issue and last-seen times, the CSRF token and flashes.
type session struct {
	s     *sessions.Session
	dirty bool
	// The messages a page of this request took (page): a second page of
	// the same request, its error page, shows them again.
	shown []templates.Flash
	taken bool
}

func sess(c echo.Context) *session {
	if s, ok := c.Get(ctxSession).(*session); ok {
		return s
	}
	return &session{s: sessions.NewSession(nil, cookieName)}
}

func (s *session) csrf() string { v, _ := s.s.Values["csrf"].(string); return v }
func (s *session) uid() int64   { v, _ := s.s.Values["uid"].(int64); return v }
func (s *session) num(k string) int64 {
	v, _ := s.s.Values[k].(int64)
	return v
}

func (s *session) set(k string, v any) { s.s.Values[k] = v; s.dirty = true }

// reset starts a fresh session (login, SSO user change): nothing of the old
// one survives but a new CSRF token.
func (s *session) reset() {
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
// anything changed.
func (a *App) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, err := a.cookies.load(c.Request())
		if err != nil {
			raw, _ = a.sessions.New(c.Request(), cookieName) // a fresh session; the error was the old cookie's
		}
		s := &session{s: raw}
		if s.csrf() == "" {
			s.set("csrf", randomToken())
		}
		c.Set(ctxSession, s)
		c.Response().Before(func() {
			if s.dirty {
				if err := s.s.Save(c.Request(), c.Response()); err != nil {
					a.log.Error("session not saved", "request_id", requestID(c), "err", err)
				}
			}
		})
		return next(c)
	}
}

func currentUser(c echo.Context) users.User {
	u, _ := c.Get(ctxUser).(users.User)
	return u
}
