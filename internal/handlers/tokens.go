package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// tokenLifetimes are the lifetimes the Tokens page offers.
// (Label is the catalogue's key.)
var tokenLifetimes = []templates.Choice{{Value: "720h", Label: "tokens.life.30d"}, {Value: "2160h", Label: "tokens.life.90d"},
	{Value: "168h", Label: "tokens.life.7d"}, {Value: "8760h", Label: "tokens.life.1y"}, {Value: "never", Label: "tokens.life.never"}}

// tokensPage lists the user's own API tokens, with a form for a new one.
func (a *App) tokensPage(c echo.Context) error {
	return a.renderTokens(c, http.StatusOK, templates.TokensPage{})
}

func (a *App) renderTokens(c echo.Context, status int, v templates.TokensPage) error {
	u := currentUser(c)
	list, err := a.users.Tokens(c.Request().Context(), u.ID)
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "Your tokens could not be read: the database did not answer. Try again in a moment.")
	}
	v.Page = a.page(c, a.loc(c).T("nav.tokens"), "tokens")
	if u.Source != users.SourceLocal {
		// Single sign-on users get no token (users.ErrSSOToken): no form
		// that could only refuse them, but why, and what to do instead.
		v.NoToken = v.T("tokens.sso")
	}
	v.APIURL, v.Lifetime = a.cfg.BaseURL.JoinPath("api/v1").String(), tokenLifetimes
	now := a.dbNow() // the tokens' expiry is on the database's clock
	for _, t := range list {
		row := templates.TokenRow{ID: t.ID, Name: t.Name, Created: templates.In(t.CreatedAt, v.Zone).Format("2006-01-02 15:04"), Expires: v.T("tokens.never"),
			State: "live", ReadOnly: t.ReadOnly, RevokeURL: a.cfg.BasePath() + "tokens/" + t.ID + "/revoke"}
		if !t.ExpiresAt.IsZero() {
			row.Expires = templates.In(t.ExpiresAt, v.Zone).Format("2006-01-02 15:04")
		}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !t.Live(now):
			row.State = "expired"
		}
		v.Tokens = append(v.Tokens, row)
	}
	return render(c, status, templates.Tokens(v))
}

// tokenActor is who changes a token from a page, for the audit log.
func (a *App) tokenActor(c echo.Context) audit.Event {
	act := a.actor(c)
	return audit.Event{User: act.User, AuthMethod: act.AuthMethod, SourceIP: act.SourceIP, UserAgent: act.UserAgent}
}

// createToken makes a token for the signed-in user and shows it this once,
// in the answer itself (never in the session or a redirect).
func (a *App) createToken(c echo.Context) error {
	if currentUser(c).Source != users.SourceLocal {
		return a.renderTokens(c, http.StatusForbidden, templates.TokensPage{})
	}
	o := users.TokenOptions{Name: c.FormValue("name"), ReadOnly: c.FormValue("read_only") == "true", CreatedBy: currentUser(c).Name}
	switch life := c.FormValue("expires"); life {
	case "never":
	default:
		d, err := time.ParseDuration(life)
		if err != nil || d <= 0 || d > 366*24*time.Hour {
			return a.renderTokens(c, http.StatusBadRequest, templates.TokensPage{Error: a.loc(c).T("tokens.choose_life")})
		}
		o.ExpiresIn = d
	}
	if len([]rune(o.Name)) > users.MaxTokenName {
		return a.renderTokens(c, http.StatusBadRequest, templates.TokensPage{Error: a.loc(c).T("tokens.name_too_long")})
	}
	t, text, err := a.users.IssueToken(c.Request().Context(), a.auditLog, a.tokenActor(c), currentUser(c).Name, o)
	if errors.Is(err, users.ErrSSOToken) {
		return a.renderTokens(c, http.StatusForbidden, templates.TokensPage{})
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "The token was not created: it could not be stored or recorded. Try again in a moment.")
	}
	return a.renderTokens(c, http.StatusOK, templates.TokensPage{Created: text, NewID: t.ID, NewName: t.Name})
}

// revokeToken ends one of the user's own tokens.
func (a *App) revokeToken(c echo.Context) error {
	id := c.Param("id")
	t, err := a.users.TokenByID(c.Request().Context(), id)
	if errors.Is(err, users.ErrNotFound) || (err == nil && t.UserID != currentUser(c).ID) {
		return apperr.New(apperr.NotFound, "You have no token %s.", apperr.Quote(id))
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "The token could not be read: the database did not answer. Try again in a moment.")
	}
	err = a.users.RevokeTokenAs(c.Request().Context(), a.auditLog, a.tokenActor(c), id)
	if errors.Is(err, users.ErrNotFound) {
		return apperr.New(apperr.Conflict, "Token %s is already revoked.", id)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "The token was not revoked: the database did not answer. Try again in a moment.")
	}
	sess(c).flash(templates.Flash{Text: a.loc(c).T("tokens.revoked", "ID", id)})
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"tokens")
}
