package handlers

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

const (
	cookieName  = "ecsdash_session"
	ctxSession  = "session"
	ctxUser     = "user"
	ctxUserName = "user_name"
)

// LoadSessionKeys reads the key file (one "hashkey-hex encryptionkey-hex"
// pair a line; the first signs, all verify), creating it with mode 0600 and
// one fresh pair when it is missing.
func LoadSessionKeys(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		line := hex.EncodeToString(randomBytes(64)) + " " + hex.EncodeToString(randomBytes(32)) + "\n"
		if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
			return nil, fmt.Errorf("create session key file %s: %w", path, err)
		}
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("session key file: %w", err)
	}
	defer f.Close()
	var pairs [][]byte
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 2 {
			return nil, fmt.Errorf("session key file %s line %d: want two hex keys", path, n)
		}
		hk, err1 := hex.DecodeString(parts[0])
		ek, err2 := hex.DecodeString(parts[1])
		if err1 != nil || err2 != nil || len(hk) < 32 || (len(ek) != 16 && len(ek) != 24 && len(ek) != 32) {
			return nil, fmt.Errorf("session key file %s line %d: a hash key of at least 32 bytes and an AES key of 16, 24 or 32 bytes, in hex", path, n)
		}
		pairs = append(pairs, hk, ek)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("session key file %s holds no keys", path)
	}
	return pairs, nil
}

// NewCookieStore sets every cookie option explicitly: gorilla/sessions'
// defaults are not ours.
func NewCookieStore(cfg *config.Config, keys [][]byte) *sessions.CookieStore {
	s := sessions.NewCookieStore(keys...)
	s.Options = &sessions.Options{
		Path:     cfg.BasePath(),
		HttpOnly: true,
		Secure:   cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(cfg.SessionLifetime / time.Second),
	}
	if cfg.CrossSiteCookies {
		s.Options.SameSite = http.SameSiteNoneMode
		s.Options.Partitioned = true
	}
	s.MaxAge(s.Options.MaxAge)
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

func randomToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(24)) }

// session wraps the cookie session with the fields we keep in it: user id,
// epoch, issue and last-seen times, the CSRF token and flashes.
type session struct {
	s     *sessions.Session
	dirty bool
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
	s.s.AddFlash(truncate(prefix+f.Text, 400))
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
		raw, err := a.Sessions.Get(c.Request(), cookieName)
		if err != nil {
			raw, _ = a.Sessions.New(c.Request(), cookieName) // a fresh session; the error was the old cookie's
		}
		s := &session{s: raw}
		if s.csrf() == "" {
			s.set("csrf", randomToken())
		}
		c.Set(ctxSession, s)
		c.Response().Before(func() {
			if s.dirty {
				if err := s.s.Save(c.Request(), c.Response()); err != nil {
					a.Logger.Error("session not saved", "request_id", requestID(c), "err", err)
				}
			}
		})
		return next(c)
	}
}

// requireUser lets a request through only with a live session (or a trusted
// proxy's user header), and loads the user fresh on every request, so that
// logout, disable and role changes take effect at once.
func (a *App) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s := sess(c)
		ctx := c.Request().Context()
		if u, ok, err := a.ssoUser(c, s); err != nil {
			return err
		} else if ok {
			c.Set(ctxUser, u)
			c.Set(ctxUserName, u.Name)
			return next(c)
		}
		now := a.Now()
		uid := s.uid()
		fail := func() error {
			if uid != 0 {
				s.reset()
			}
			if c.Request().Method == http.MethodGet && !strings.Contains(c.Request().Header.Get("Accept"), "application/json") {
				return c.Redirect(http.StatusSeeOther, a.Cfg.BasePath()+"login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
			}
			return apperr.New(apperr.Unauthorized, "Your session has ended. Sign in again.")
		}
		if uid == 0 {
			return fail()
		}
		iat, seen := time.Unix(s.num("iat"), 0), time.Unix(s.num("seen"), 0)
		if now.Sub(iat) > a.Cfg.SessionLifetime || now.Sub(seen) > a.Cfg.IdleTimeout {
			return fail()
		}
		u, err := a.Users.ByID(ctx, uid)
		if errors.Is(err, users.ErrNotFound) {
			return fail()
		}
		if err != nil {
			return apperr.Wrap(err, apperr.Internal, "user lookup")
		}
		if u.Disabled || u.Epoch != s.num("epoch") {
			return fail()
		}
		if now.Sub(seen) > time.Minute {
			s.set("seen", now.Unix())
		}
		c.Set(ctxUser, u)
		c.Set(ctxUserName, u.Name)
		return next(c)
	}
}

// ssoUser honours --auth-header only when the TCP peer is a trusted proxy;
// the header from anyone else is ignored and logged. A change of user in the
// header ends the session.
func (a *App) ssoUser(c echo.Context, s *session) (users.User, bool, error) {
	if a.Cfg.AuthHeader == "" {
		return users.User{}, false, nil
	}
	name := strings.TrimSpace(c.Request().Header.Get(a.Cfg.AuthHeader))
	if name == "" {
		return users.User{}, false, nil
	}
	peer, ok := peerAddr(c.Request())
	trusted := false
	for _, p := range a.Cfg.TrustedProxies {
		if ok && p.Contains(peer) {
			trusted = true
		}
	}
	if !trusted {
		a.Logger.Warn("ignored SSO header from an untrusted peer", "request_id", requestID(c), "peer", c.Request().RemoteAddr, "header", a.Cfg.AuthHeader)
		return users.User{}, false, nil
	}
	if !users.ValidName(name) {
		return users.User{}, false, apperr.New(apperr.Forbidden, "The single sign-on user name is not acceptable here.")
	}
	role := a.ssoRole(c)
	if role == "" {
		return users.User{}, false, apperr.New(apperr.Forbidden, "Your single sign-on groups grant no role on this dashboard.")
	}
	if prev, _ := s.s.Values["sso"].(string); prev != name {
		s.reset()
		s.set("sso", name)
		a.record(c, audit.Event{Action: audit.ActionLogin, User: name, AuthMethod: "sso", State: audit.StateSucceeded})
	}
	u, err := a.Users.EnsureSSO(c.Request().Context(), name, role)
	if err != nil {
		return users.User{}, false, apperr.Wrap(err, apperr.Internal, "sso user")
	}
	if u.Disabled {
		return users.User{}, false, apperr.New(apperr.Forbidden, "Your account is disabled on this dashboard.")
	}
	return u, true, nil
}

// ssoRole maps the groups header to the most privileged role it grants;
// without a groups header every SSO user is a viewer.
func (a *App) ssoRole(c echo.Context) string {
	if a.Cfg.GroupsHeader == "" || len(a.Cfg.GroupRoles) == 0 {
		return users.RoleViewer
	}
	best := -1
	for _, g := range strings.Split(c.Request().Header.Get(a.Cfg.GroupsHeader), ",") {
		if r, ok := a.Cfg.GroupRoles[strings.TrimSpace(g)]; ok {
			for i, x := range users.Roles {
				if x == r && i > best {
					best = i
				}
			}
		}
	}
	if best < 0 {
		return ""
	}
	return users.Roles[best]
}

func currentUser(c echo.Context) users.User {
	u, _ := c.Get(ctxUser).(users.User)
	return u
}
