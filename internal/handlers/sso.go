package handlers

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/users"
)

// ssoUser honours --auth-header only when the TCP peer is a trusted proxy;
// the header from anyone else is ignored and logged. A change of user in the
// header ends the session.
func (a *App) ssoUser(c echo.Context, s *session) (users.User, bool, error) {
	if a.cfg.AuthHeader == "" {
		return users.User{}, false, nil
	}
	name := strings.TrimSpace(c.Request().Header.Get(a.cfg.AuthHeader))
	if name == "" {
		return users.User{}, false, nil
	}
	peer, ok := peerAddr(c.Request())
	trusted := false
	for _, p := range a.cfg.TrustedProxies {
		if ok && p.Contains(peer) {
			trusted = true
		}
	}
	if !trusted {
		a.log.Warn("ignored SSO header from an untrusted peer", "request_id", requestID(c), "peer", c.Request().RemoteAddr, "header", a.cfg.AuthHeader)
		return users.User{}, false, nil
	}
	if !users.ValidName(name) {
		return users.User{}, false, apperr.New(apperr.Forbidden, "The single sign-on user name is not acceptable here.")
	}
	// The database's grants for the user and their groups as of the grants'
	// version read now: a grant removed takes effect on the next request,
	// on every replica.
	r, err := a.users.SSORights(c.Request().Context(), name, a.ssoRole(c), a.ssoGroups(c), len(a.cfg.GroupRoles) > 0)
	if err != nil {
		return users.User{}, false, apperr.Wrap(err, apperr.Unavailable, "Your rights could not be looked up: the dashboard's database did not answer. Nothing was done; try again in a moment.")
	}
	if len(r.Grants()) == 0 {
		return users.User{}, false, apperr.New(apperr.Forbidden, "Your single sign-on groups grant no role on this dashboard.")
	}
	stored := r.Base()
	if stored == "" {
		stored = users.RoleViewer // the row needs a role; the rights are the grants
	}
	u, err := a.users.EnsureSSO(c.Request().Context(), name, stored)
	if errors.Is(err, users.ErrNameClash) {
		a.log.Warn("SSO name matches a local account; refused", "request_id", requestID(c), "name", name)
		if prev, _ := s.s.Values["sso_refused"].(string); prev != name { // once per session, not per request
			s.set("sso_refused", name)
			a.record(c, audit.Event{Action: audit.ActionLogin, User: name, AuthMethod: "sso", State: audit.StateFailed, ErrorCode: "NameClash",
				ErrorMessage: "The single sign-on name matches a local account; they are separate identities."})
		}
		return users.User{}, false, apperr.New(apperr.Forbidden,
			"Your single sign-on name matches a local account of this dashboard, so it cannot be used here. Ask the dashboard's administrator to rename one of them.")
	}
	if err != nil {
		return users.User{}, false, apperr.Wrap(err, apperr.Internal, "sso user")
	}
	if prev, _ := s.s.Values["sso"].(string); prev != name {
		s.reset()
		s.set("sso", name)
		a.rememberPrefs(c, s, u.ID)
		a.record(c, audit.Event{Action: audit.ActionLogin, User: u.Name, AuthMethod: "sso", State: audit.StateSucceeded})
	}
	if u.Disabled {
		return users.User{}, false, apperr.New(apperr.Forbidden, "Your account is disabled on this dashboard.")
	}
	c.Set(ctxRights, r)
	return u, true, nil
}

// ssoRole maps the groups header to the most privileged role it grants;
// without a groups header every SSO user is a viewer.
func (a *App) ssoRole(c echo.Context) string {
	if a.cfg.GroupsHeader == "" || len(a.cfg.GroupRoles) == 0 {
		return users.RoleViewer
	}
	best := -1
	for _, g := range strings.Split(c.Request().Header.Get(a.cfg.GroupsHeader), ",") {
		if r, ok := a.cfg.GroupRoles[strings.TrimSpace(g)]; ok {
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
