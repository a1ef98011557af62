package handlers

import (
	"errors"
	"net/http"
	"strings"

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
	v := templates.LoginPage{Page: a.page(c, "Sign in", "login"), Next: a.safeNext(next), Username: username, Error: msg}
	if a.Cfg.Demo {
		v.DemoUsers = a.DemoUsers
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
	now := a.Now()
	ev := audit.Event{Action: audit.ActionLogin, User: truncate(name, 64), AuthMethod: "password"}
	if name == "" || password == "" || len(name) > 64 || len(password) > 200 {
		return a.renderLogin(c, http.StatusBadRequest, next, truncate(name, 64), "Enter a user name and a password.")
	}
	if a.throttle.blocked(strings.ToLower(name), ip, now) {
		ev.State, ev.ErrorCode = audit.StateFailed, "Throttled"
		a.record(c, ev)
		return a.renderLogin(c, http.StatusTooManyRequests, next, name, "Too many failed sign-ins. Wait 15 minutes and try again.")
	}
	u, err := a.Users.Authenticate(c.Request().Context(), name, password)
	if errors.Is(err, users.ErrBadCredentials) {
		a.throttle.fail(strings.ToLower(name), ip, now)
		ev.State, ev.ErrorCode = audit.StateFailed, "BadCredentials"
		a.record(c, ev)
		return a.renderLogin(c, http.StatusUnauthorized, next, name, "Wrong user name or password.")
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "login")
	}
	a.throttle.reset(strings.ToLower(name))
	ev.User, ev.State = u.Name, audit.StateSucceeded
	if err := a.record(c, ev); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "Sign-in is unavailable: the audit log cannot be written.")
	}
	s := sess(c)
	s.reset()
	s.set("uid", u.ID)
	s.set("epoch", u.Epoch)
	s.set("iat", now.Unix())
	s.set("seen", now.Unix())
	return c.Redirect(http.StatusSeeOther, a.safeNext(next))
}

// logout ends the session here and, through the epoch, every copy of it.
func (a *App) logout(c echo.Context) error {
	u := currentUser(c)
	act := a.actor(c)
	a.record(c, audit.Event{Action: audit.ActionLogout, User: u.Name, AuthMethod: act.AuthMethod, State: audit.StateSucceeded})
	if err := a.Users.EndSessions(c.Request().Context(), u.Name); err != nil {
		return apperr.Wrap(err, apperr.Internal, "logout")
	}
	s := sess(c)
	s.reset()
	s.flash(templates.Flash{Text: "You are signed out."})
	return c.Redirect(http.StatusSeeOther, a.Cfg.BasePath()+"login")
}
