package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
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
	v := templates.AdminUsersPage{Page: a.page(c, "Users and grants", "admin"), Roles: users.Roles, Error: refusal}
	byUser := map[string][]templates.AdminGrant{}
	for _, g := range grants {
		ag := templates.AdminGrant{ID: g.ID, For: g.Who(), Role: g.Role, Scope: g.Scope.String(),
			Made: "by " + g.CreatedBy + ", " + g.CreatedAt.Format("2006-01-02")}
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
		msg := strings.TrimPrefix(err.Error(), "users: ")
		if errors.Is(err, users.ErrExists) {
			msg = "A user of that name exists."
		}
		return a.renderAdmin(c, http.StatusUnprocessableEntity, msg+" Nothing was changed.")
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
	return a.done(c, err, "Added "+u.Name+" ("+u.Role+" over "+u.Scope.Words()+").")
}

func (a *App) adminSetRole(c echo.Context) error {
	sc, err := formScope(c)
	if err != nil {
		return a.done(c, err, "")
	}
	name, role := c.Param("name"), c.FormValue("role")
	if strings.EqualFold(name, currentUser(c).Name) && role != users.RoleAdmin {
		return a.done(c, adminRefusal("You cannot take the admin role from yourself here; ask another admin, or use web user set-role."), "")
	}
	err = a.admin().SetRole(c.Request().Context(), a.by(c), name, role, sc)
	return a.done(c, err, name+" is now "+role+" over "+sc.Words()+".")
}

func (a *App) adminDisable(c echo.Context, disabled bool) error {
	name := c.Param("name")
	if disabled && strings.EqualFold(name, currentUser(c).Name) {
		return a.done(c, adminRefusal("You cannot disable yourself."), "")
	}
	err := a.admin().SetDisabled(c.Request().Context(), a.by(c), name, disabled)
	if disabled {
		return a.done(c, err, name+" is disabled; their sessions ended.")
	}
	return a.done(c, err, name+" is enabled.")
}

func (a *App) adminPassword(c echo.Context) error {
	name := c.Param("name")
	u, err := a.users.ByName(c.Request().Context(), name)
	if err == nil && u.Source != users.SourceLocal {
		return a.done(c, adminRefusal(name+" signs in through single sign-on and has no password here."), "")
	}
	if err == nil {
		err = a.admin().SetPassword(c.Request().Context(), a.by(c), name, c.FormValue("password"))
	}
	return a.done(c, err, "The password of "+name+" is set; their sessions ended.")
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
	return a.done(c, err, "Grant "+strconv.FormatInt(g.ID, 10)+": "+g.Words()+" for "+g.Who()+".")
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
	return a.done(c, err, "Grant "+strconv.FormatInt(id, 10)+" ("+g.Words()+" for "+g.Who()+") is removed.")
}

// adminRefusal is a change the page refuses, in words for the admin.
type adminRefusal string

func (r adminRefusal) Error() string { return string(r) }
