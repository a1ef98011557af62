package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/i18n"
	"ecsdash/internal/users"
)

// langCookie remembers the language chosen before signing in (the login
// page's); a signed-in user's choice is in the database and the session.
const langCookie = "ecsdash_lang"

const ctxLoc = "loc"

// loc is the request's language: the user's choice (their session's copy
// of the database's, or the cookie of the login page), else the browser's
// Accept-Language; it says times in the request's zone.
func (a *App) loc(c echo.Context) *i18n.Localizer {
	if l, ok := c.Get(ctxLoc).(*i18n.Localizer); ok {
		return l
	}
	choice, _ := sess(c).s.Values["lang"].(string)
	if choice == "" {
		choice, _ = cookieValue(c.Request(), langCookie)
	}
	l := i18n.For(i18n.Negotiate(choice, c.Request().Header.Get("Accept-Language"))).InZone(a.zone(c))
	c.Set(ctxLoc, l)
	return l
}

// zone is where the request's pages show times: the zone the page script
// told (remembered per user), nil (UTC) until it did.
func (a *App) zone(c echo.Context) *time.Location {
	name, _ := sess(c).s.Values["zone"].(string)
	if name == "" {
		return nil
	}
	loc, err := i18n.Zone(name)
	if err != nil { // a name this binary no longer knows
		return nil
	}
	return loc
}

// rememberPrefs copies a user's stored choices into a new session (a
// password sign-in, or an SSO user seen for the first time in this session).
func (a *App) rememberPrefs(c echo.Context, s *session, userID int64) {
	p, err := a.users.Prefs(c.Request().Context(), userID)
	if err != nil { // the pages fall back to the browser's language and UTC
		a.log.Warn("preferences not read", "request_id", requestID(c), "err", err)
		return
	}
	if p.Lang != "" {
		s.set("lang", p.Lang)
	}
	if p.Zone != "" {
		s.set("zone", p.Zone)
	}
}

// toldPrefs are the language and zone set in a session before signing in
// (the login page's control and script), each valid or "".
func toldPrefs(s *session) (lang, zone string) {
	lang, _ = s.s.Values["lang"].(string)
	zone, _ = s.s.Values["zone"].(string)
	if _, err := i18n.Zone(zone); zone == "" || err != nil {
		zone = ""
	}
	return i18n.Valid(lang), zone
}

// keepPrefs carries the choices told before signing in into the signed-in
// session and the user's stored preferences: the page script told the zone
// once for the tab and will not tell it again, and the language was chosen
// just now. A database that does not answer costs the remembering only.
func (a *App) keepPrefs(c echo.Context, s *session, userID int64, lang, zone string) {
	ctx := c.Request().Context()
	var err error
	if lang != "" {
		s.set("lang", lang)
		err = a.users.SetLang(ctx, userID, lang)
	}
	if zone != "" {
		s.set("zone", zone)
		err = errors.Join(err, a.users.SetZone(ctx, userID, zone))
	}
	if err != nil {
		a.log.Warn("preferences told before signing in not remembered", "request_id", requestID(c), "err", err)
	}
}

// setPrefs sets the language (the control on every page, a form) or the
// time zone (the page script tells the browser's). Both are validated here;
// a signed-in user's choice is remembered in the database too, so that it
// holds in their next session and on every replica.
func (a *App) setPrefs(c echo.Context) error {
	s := sess(c)
	// First who it is: an SSO user's first request starts a new session.
	u, known, err := a.signedIn(c, s)
	if err != nil {
		return err
	}
	lang, zone := c.FormValue("lang"), c.FormValue("zone")
	if lang != "" {
		lang = i18n.Valid(lang)
		if lang == "" {
			return apperr.New(apperr.Invalid, "That language is not offered. Choose English or 中文.")
		}
		s.set("lang", lang)
		c.Set(ctxLoc, nil)
		ck := &http.Cookie{Name: langCookie, Value: lang, Path: a.cfg.BasePath(), MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: a.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode}
		if a.cfg.CrossSiteCookies { // as the session's, for a portal on another site
			ck.SameSite, ck.Partitioned = http.SameSiteNoneMode, true
		}
		c.SetCookie(ck)
	}
	if zone != "" {
		if _, err := i18n.Zone(zone); err != nil {
			return apperr.Wrap(err, apperr.Invalid, "That is not a time zone name (such as Asia/Shanghai).")
		}
		s.set("zone", zone)
	}
	if known {
		ctx := c.Request().Context()
		if lang != "" {
			err = a.users.SetLang(ctx, u.ID, lang)
		}
		if err == nil && zone != "" {
			err = a.users.SetZone(ctx, u.ID, zone)
		}
		if err != nil {
			return apperr.Wrap(err, apperr.Unavailable, "Your choice could not be remembered: the dashboard's database did not answer. Try again in a moment.")
		}
	}
	if wantsJSON(c) {
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, a.backAfterPrefs(c.FormValue("next")))
}

// backAfterPrefs is where a language switch returns to: the page it was
// made on. That may be the login page, which safeNext refuses (signing in
// must not land there); its own next is kept, made safe, so the sign-in
// that follows still goes where the user was going.
func (a *App) backAfterPrefs(next string) string {
	login := a.cfg.BasePath() + "login"
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.Path != login || strings.HasPrefix(next, "//") {
		return a.safeNext(next)
	}
	inner := u.Query().Get("next")
	if inner == "" {
		return login
	}
	return login + "?next=" + url.QueryEscape(a.safeNext(inner))
}

// signedIn is the user of a request outside requireUser (the preferences
// are set from the login page too): the trusted proxy's SSO user, or the
// session's user while the session holds.
func (a *App) signedIn(c echo.Context, s *session) (users.User, bool, error) {
	if u, ok, err := a.ssoUser(c, s); err != nil || ok {
		return u, ok, err
	}
	uid := s.uid()
	if uid == 0 {
		return users.User{}, false, nil
	}
	u, _, err := a.users.Current(c.Request().Context(), uid)
	if errors.Is(err, users.ErrNotFound) {
		return users.User{}, false, nil
	}
	if err != nil {
		return users.User{}, false, apperr.Wrap(err, apperr.Unavailable, "Your account could not be looked up: the dashboard's database did not answer. Nothing was done; try again in a moment.")
	}
	if u.Disabled || u.Epoch != s.num("epoch") {
		return users.User{}, false, nil
	}
	return u, true, nil
}
