package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/i18n"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// The administration page (/admin/users, admins only): every form posts
// with _csrf, every change is checked again here (the role, the scope,
// admin never scoped) and recorded in the audit chain by users.Admin.

func (a *App) admin() users.Admin { return users.Admin{Store: a.users, Log: a.auditLog} }

// by is the signed-in admin, for the audit entry.
func (a *App) by(c echo.Context) users.By {
	x := a.actor(c)
	return users.By{User: x.User, AuthMethod: x.AuthMethod, SourceIP: x.SourceIP, UserAgent: x.UserAgent}
}

func (a *App) adminUsers(c echo.Context) error {
	return a.renderAdmin(c, http.StatusOK, "")
}

func (a *App) renderAdmin(c echo.Context, status int, refusal string) error {
	ctx := c.Request().Context()
	list, err := a.users.List(ctx)
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "The users could not be read: the dashboard's database did not answer. Try again in a moment.")
	}
	grants, err := a.users.Grants(ctx)
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "The grants could not be read: the dashboard's database did not answer. Try again in a moment.")
	}
	me := currentUser(c).Name
	l := a.loc(c)
	v := templates.AdminUsersPage{Page: a.page(c, l.T("admin.heading"), "admin"), Roles: users.Roles, Error: refusal}
	byUser := map[string][]templates.AdminGrant{}
	for _, g := range grants {
		ag := templates.AdminGrant{ID: g.ID, For: grantWho(l, g), Role: g.Role, Scope: g.Scope.String(),
			Made: l.T("admin.made", "By", g.CreatedBy, "Date", templates.In(g.CreatedAt, v.Zone).Format("2006-01-02"))}
		if g.Group != "" {
			v.GroupGrants = append(v.GroupGrants, ag)
		} else {
			byUser[strings.ToLower(g.User)] = append(byUser[strings.ToLower(g.User)], ag)
		}
	}
	for _, u := range list {
		v.Users = append(v.Users, templates.AdminUser{Name: u.Name, Source: u.Source, Role: u.Role, Scope: u.Scope.String(),
			Disabled: u.Disabled, Grants: byUser[strings.ToLower(u.Name)], Self: strings.EqualFold(u.Name, me)})
	}
	return render(c, status, templates.AdminUsers(v))
}

// done answers a change: back to the page with a flash, or the page again
// with the refusal in words (422, nothing changed).
func (a *App) done(c echo.Context, err error, words string) error {
	if err != nil {
		if apperr.KindOf(err) == apperr.Unavailable || errors.Is(err, users.ErrNotFound) || errors.Is(err, users.ErrNoGrant) {
			return err
		}
		l := a.loc(c)
		// A refusal of the users' or scopes' rules carries its format (in
		// the page's language, its arguments put in); a plain error is
		// said whole.
		msg := apperr.Words(err, l, l.Sentence(strings.TrimPrefix(err.Error(), "users: ")))
		if errors.Is(err, users.ErrExists) {
			msg = l.T("admin.exists")
		}
		return a.renderAdmin(c, http.StatusUnprocessableEntity, msg+l.T("admin.nothing_changed"))
	}
	sess(c).flash(templates.Flash{Text: words})
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"admin/users")
}

func formScope(c echo.Context) (scope.Scope, error) {
	return scope.Parse(c.FormValue("scope"))
}

func (a *App) adminAddUser(c echo.Context) error {
	sc, err := formScope(c)
	if err != nil {
		return a.done(c, err, "")
	}
	u, err := a.admin().AddUser(c.Request().Context(), a.by(c), strings.TrimSpace(c.FormValue("name")), c.FormValue("role"), sc, c.FormValue("password"))
	l := a.loc(c)
	return a.done(c, err, l.T("admin.added", "Name", u.Name, "Role", l.T("role."+u.Role), "Scope", scopeWords(l, u.Scope)))
}

func (a *App) adminSetRole(c echo.Context) error {
	sc, err := formScope(c)
	if err != nil {
		return a.done(c, err, "")
	}
	name, role := c.Param("name"), c.FormValue("role")
	if strings.EqualFold(name, currentUser(c).Name) && role != users.RoleAdmin {
		return a.done(c, adminRefusal(a.loc(c).T("admin.not_self_admin")), "")
	}
	err = a.admin().SetRole(c.Request().Context(), a.by(c), name, role, sc)
	l := a.loc(c)
	return a.done(c, err, l.T("admin.role_set", "Name", name, "Role", l.T("role."+role), "Scope", scopeWords(l, sc)))
}

func (a *App) adminDisable(c echo.Context, disabled bool) error {
	name := c.Param("name")
	if disabled && strings.EqualFold(name, currentUser(c).Name) {
		return a.done(c, adminRefusal(a.loc(c).T("admin.not_self_disable")), "")
	}
	err := a.admin().SetDisabled(c.Request().Context(), a.by(c), name, disabled)
	if disabled {
		return a.done(c, err, a.loc(c).T("admin.disabled_done", "Name", name))
	}
	return a.done(c, err, a.loc(c).T("admin.enabled_done", "Name", name))
}

func (a *App) adminPassword(c echo.Context) error {
	name := c.Param("name")
	u, err := a.users.ByName(c.Request().Context(), name)
	if err == nil && u.Source != users.SourceLocal {
		return a.done(c, adminRefusal(a.loc(c).T("admin.sso_no_password", "Name", name)), "")
	}
	if err == nil {
		err = a.admin().SetPassword(c.Request().Context(), a.by(c), name, c.FormValue("password"))
	}
	return a.done(c, err, a.loc(c).T("admin.password_set", "Name", name))
}

func (a *App) adminAddGrant(c echo.Context) error {
	sc, err := formScope(c)
	if err != nil {
		return a.done(c, err, "")
	}
	g := users.Grant{Role: c.FormValue("role"), Scope: sc}
	name := strings.TrimSpace(c.FormValue("name"))
	switch c.FormValue("for") {
	case "group":
		g.Group = name
	case "user", "":
		g.User = name
	default:
		return apperr.New(apperr.Invalid, "A grant is for a user or a group.")
	}
	g, err = a.admin().AddGrant(c.Request().Context(), a.by(c), g)
	l := a.loc(c)
	return a.done(c, err, l.T("admin.grant_added", "ID", g.ID, "Role", l.T("role."+g.Role), "Scope", scopeWords(l, g.Scope), "Who", grantWho(l, g)))
}

func (a *App) adminRemoveGrant(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return apperr.New(apperr.Invalid, "%q is not a grant id.", apperr.Quote(c.Param("id")))
	}
	g, err := a.admin().RemoveGrant(c.Request().Context(), a.by(c), id)
	if errors.Is(err, users.ErrNoGrant) {
		return apperr.New(apperr.NotFound, "There is no grant %d (removed already?).", id)
	}
	l := a.loc(c)
	return a.done(c, err, l.T("admin.grant_removed", "ID", id, "Role", l.T("role."+g.Role), "Scope", scopeWords(l, g.Scope), "Who", grantWho(l, g)))
}

// adminRefusal is a change the page refuses, in words for the admin.
type adminRefusal string

func (r adminRefusal) Error() string { return string(r) }

// grantWho says whom a grant is for, in the page's language.
func grantWho(l *i18n.Localizer, g users.Grant) string {
	if g.Group != "" {
		return l.T("admin.who_group", "Name", g.Group)
	}
	return l.T("admin.who_user", "Name", g.User)
}

// scopeWords says a scope for a person, in the page's language.
func scopeWords(l *i18n.Localizer, sc scope.Scope) string {
	if sc.IsAll() {
		return l.T("admin.every_instance")
	}
	return sc.String()
}
