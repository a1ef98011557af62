package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

func (a *App) loginForm(c echo.Context) error {
	return a.renderLogin(c, http.StatusOK, c.QueryParam("next"), "", "")
}

func (a *App) renderLogin(c echo.Context, status int, next, username, msg string) error {
	v := templates.LoginPage{Page: a.page(c, a.loc(c).T("login.title"), "login"), Next: a.safeNext(next), Username: username, Error: msg}
	if c.Request().Method != http.MethodGet {
		// Drawn after a failed sign-in: its language switch comes back to
		// the login page with the same next, as the GET page's does.
		v.Page.Here = a.cfg.BasePath() + "login?next=" + url.QueryEscape(v.Next)
	}
	if a.demo {
		v.DemoUsers = a.demoUsers
	}
	return render(c, status, templates.Login(v))
}

// login checks the password, with throttling per user and per address and
// one answer for every failure; success starts a new session.
func (a *App) login(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("username"))
	password := c.FormValue("password")
	next := c.FormValue("next")
	ip := c.RealIP()
	now := a.dbNow() // the throttle's window spans replicas: the database's clock
	ev := audit.Event{Action: audit.ActionLogin, User: apperr.Truncate(name, 64), AuthMethod: "password"}
	if name == "" || password == "" || len(name) > 64 || len(password) > 200 {
		return a.renderLogin(c, http.StatusBadRequest, next, apperr.Truncate(name, 64), a.loc(c).T("login.missing"))
	}
	ctx := c.Request().Context()
	r, err := a.throttle.Begin(ctx, strings.ToLower(name), ip, now)
	if err != nil {
		a.log.Error("login throttle unreadable", "request_id", requestID(c), "err", err)
		return apperr.Wrap(err, apperr.Unavailable, "Sign-in cannot be checked right now: the database did not answer. Try again in a moment.")
	}
	if r != nil {
		// One event per refusing key and window: a burst of refused
		// attempts is one line in the audit log, not one per request.
		if a.throttle.Note(ctx, r.Key, now) {
			ev.State, ev.ErrorCode = audit.StateFailed, "Throttled"
			ev.ErrorMessage = "Sign-ins refused by the throttle; further refusals of the same kind in the next 15 minutes are not recorded."
			a.record(c, ev)
		}
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(r.Retry.Seconds())))
		return a.renderLogin(c, http.StatusTooManyRequests, next, name, a.loc(c).Sentence(r.Words))
	}
	var u users.User
	if herr := a.throttle.Hash(ctx, func() { u, err = a.users.Authenticate(ctx, name, password) }); herr != nil {
		err = herr
	}
	if errors.Is(err, users.ErrBadCredentials) {
		// Counted already: begin reserved the attempt as a failure.
		ev.State, ev.ErrorCode = audit.StateFailed, "BadCredentials"
		a.record(c, ev)
		return a.renderLogin(c, http.StatusUnauthorized, next, name, a.loc(c).T("login.wrong"))
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "login")
	}
	if err := a.throttle.Succeeded(ctx, strings.ToLower(name), ip, now); err != nil {
		a.log.Warn("login throttle not told of a success", "request_id", requestID(c), "err", err)
	}
	ev.User, ev.State = u.Name, audit.StateSucceeded
	if err := a.record(c, ev); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "Sign-in is unavailable: the audit log cannot be written.")
	}
	s := sess(c)
	lang, zone := toldPrefs(s) // the login page's, which the reset would drop
	s.reset()
	s.set("uid", u.ID)
	s.set("epoch", u.Epoch)
	at := a.dbNow() // the session windows span replicas: the database's clock
	s.set("iat", at.Unix())
	s.set("seen", at.Unix())
	s.set("told", a.lastSeq.Load()) // outcomes are told from here on
	a.rememberPrefs(c, s, u.ID)
	a.keepPrefs(c, s, u.ID, lang, zone)
	return c.Redirect(http.StatusSeeOther, a.safeNext(next))
}

// logout ends the session here and, through the epoch, every copy of it.
func (a *App) logout(c echo.Context) error {
	u := currentUser(c)
	act := a.actor(c)
	a.record(c, audit.Event{Action: audit.ActionLogout, User: u.Name, AuthMethod: act.AuthMethod, State: audit.StateSucceeded})
	if err := a.users.EndSessions(c.Request().Context(), u.Name); err != nil {
		return apperr.Wrap(err, apperr.Internal, "logout")
	}
	s := sess(c)
	s.reset()
	s.flash(templates.Flash{Text: a.loc(c).T("login.signed_out")})
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"login")
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
			setUser(c, u)
			return next(c)
		}
		now := a.dbNow() // the session windows span replicas: the database's clock
		uid := s.uid()
		if uid == 0 {
			return a.sessionEnded(c, s)
		}
		iat, seen := time.Unix(s.num("iat"), 0), time.Unix(s.num("seen"), 0)
		if now.Sub(iat) > a.cfg.SessionLifetime || now.Sub(seen) > a.cfg.IdleTimeout {
			return a.sessionEnded(c, s)
		}
		u, grants, err := a.users.Current(ctx, uid)
		if errors.Is(err, users.ErrNotFound) {
			return a.sessionEnded(c, s)
		}
		if err != nil {
			return apperr.Wrap(err, apperr.Unavailable, "Your account could not be looked up: the dashboard's database did not answer. Nothing was done; try again in a moment.")
		}
		if u.Disabled || u.Epoch != s.num("epoch") {
			return a.sessionEnded(c, s)
		}
		setRights(c, a.users.Compiled(u.ID, grants))
		if now.Sub(seen) > time.Minute && !backgroundPoll(c) {
			s.set("seen", now.Unix())
		}
		setUser(c, u)
		return next(c)
	}
}

// sessionEnded answers a request whose session is over (or never was): a
// page goes to the sign-in page and comes back after it.
func (a *App) sessionEnded(c echo.Context, s *session) error {
	if s.uid() != 0 {
		s.reset()
	}
	if c.Request().Method == http.MethodGet && !wantsJSON(c) {
		return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	return apperr.New(apperr.Unauthorized, "Your session has ended. Sign in again.")
}
