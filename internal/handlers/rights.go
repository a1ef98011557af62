package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/i18n"
	"ecsdash/internal/scope"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
)

// ctxRights holds the signed-in user's rights at this request: their
// grants as read with them (a local user's kept by epoch and grants'
// version, users.Store.Current), compiled once (users.Rights).
const ctxRights = "rights"

// currentRights are the signed-in user's rights (nil before sign-in).
func currentRights(c echo.Context) *users.Rights {
	r, _ := c.Get(ctxRights).(*users.Rights)
	return r
}

// ssoGroups are the groups the trusted proxy's groups header names.
func (a *App) ssoGroups(c echo.Context) []string {
	if a.cfg.GroupsHeader == "" {
		return nil
	}
	var out []string
	for _, g := range strings.Split(c.Request().Header.Get(a.cfg.GroupsHeader), ",") {
		if g = strings.TrimSpace(g); g != "" && users.ValidGroup(g) && len(out) < 64 {
			out = append(out, g)
		}
	}
	return out
}

// requireAdmin lets only an admin through (admin is never scoped).
func (a *App) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !a.actor(c).Unscoped(users.PermAdmin) {
			return apperr.New(apperr.Forbidden, "Administering users and grants needs the admin role.")
		}
		return next(c)
	}
}

// scopeHistory keeps a scoped user's audit history to the operations on
// instances their grants cover (as the shared cache describes them now); a
// user who sees every instance sees every entry, as before.
func (a *App) scopeHistory(c echo.Context, f *audit.Filter) {
	x := a.actor(c)
	if x.Unscoped(users.PermView) {
		return
	}
	visible := x.Scopes(users.PermView)
	f.Scoped = true
	if snap := a.fleet.Snapshot(); snap != nil {
		for _, in := range snap.Instances {
			if visible.Covers(in.Target()) {
				f.Instances = append(f.Instances, in.ID)
			}
		}
	}
}

// rightsKey names what decides a list row for this actor: their roles and
// the scopes they may start over. Rows are cached per key, so two users of
// the same rights share them.
func rightsKey(a starts.Actor) string {
	return a.Roles() + "|" + a.Key(users.PermStart)
}

// listMatch reads the list's tag= (repeatable: all must hold) and rg=
// filters into a canonical scope expression.
func listMatch(c echo.Context) (tags []string, rg, match string, err error) {
	tags = queryParams(c, "tag")
	if len(tags) > scope.MaxConds {
		return nil, "", "", apperr.New(apperr.Invalid, "At most %d tag filters fit in one list.", scope.MaxConds)
	}
	var parts []string
	for _, t := range tags {
		if !strings.Contains(t, "=") {
			return nil, "", "", apperr.New(apperr.Invalid, "%q is not a tag filter: write tag=KEY=VALUE.", apperr.Quote(t))
		}
		parts = append(parts, "tag:"+t)
	}
	rg = strings.TrimSpace(queryParam(c, "rg"))
	if rg != "" {
		parts = append(parts, "resource-group="+rg)
	}
	sc, perr := scope.Parse(strings.Join(parts, ","))
	if perr != nil {
		return nil, "", "", apperr.New(apperr.Invalid, "%s", strings.TrimPrefix(perr.Error(), "scope "))
	}
	return tags, rg, sc.String(), nil
}

// grantsWords says a user's grants in a few words, for the page header:
// "operator over tag:team=payments; viewer over every instance".
func grantsWords(l *i18n.Localizer, gs []users.Grant) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		parts = append(parts, l.T("admin.grant_words", "Role", l.T("role."+g.Role), "Scope", scopeWords(l, g.Scope)))
	}
	return strings.Join(parts, l.T("flash.list_sep"))
}
