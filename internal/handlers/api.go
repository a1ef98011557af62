package handlers

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"ecsdash/internal/apperr"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
)

// The JSON API under /api/v1 (docs/api.md). A request carries
// "Authorization: Bearer TOKEN" and nothing else: no session is read and no
// cookie is looked at here, so a browser's ambient credentials cannot act
// (no CSRF hole), and every answer, errors included, is JSON.

const (
	ctxToken = "api_token"
	// apiBurst is how many requests a token may make at once before the
	// pace (--api-rate a minute) holds it.
	apiBurst = 60
)

// apiRoute is one endpoint: routes registers it and the OpenAPI document
// describes it from the same entry, with the Go types the handler reads and
// writes, so the two cannot drift.
type apiRoute struct {
	method, path string // path in Echo's form (/instances/:id/start)
	summary      string
	handler      echo.HandlerFunc
	public       bool           // no token needed
	query        []apiParam     // query parameters
	body         any            // the JSON request body's type, nil for none
	answers      map[int]any    // status -> the JSON answer's type
	headers      []apiParam     // request headers beyond Authorization
	errors       []apperr.Kind  // the refusals it may answer, beyond 401 and 429
	raw          map[int]string // status -> a media type answered as is (openapi.json)
}

type apiParam struct{ name, about string }

func (a *App) apiRoutes() []apiRoute {
	refusals := []apperr.Kind{apperr.Invalid, apperr.Unprocessable, apperr.Forbidden, apperr.NotFound, apperr.Conflict, apperr.Unavailable}
	return []apiRoute{
		{method: http.MethodGet, path: "/openapi.json", summary: "This document.", handler: a.apiOpenAPI, public: true,
			raw: map[int]string{http.StatusOK: "application/json"}},
		{method: http.MethodGet, path: "/instances", summary: "The instances, filtered as on the list page; 100 a page.", handler: a.apiInstances,
			query: []apiParam{{"q", "part of an id, a name or an IP"}, {"region", "a region"}, {"status", "an ECS status"},
				{"tag", "KEY=VALUE (repeatable: all must hold)"}, {"account", "an account's name"}, {"page", "1-based page number"}},
			answers: map[int]any{http.StatusOK: apiInstanceList{}}, errors: []apperr.Kind{apperr.Invalid}},
		{method: http.MethodPost, path: "/instances/:id/start", summary: "Starts an instance, or records the request for approval.", handler: a.apiStart,
			body: apiStartRequest{}, headers: []apiParam{{"Idempotency-Key", "the same key from the same user within 24 h answers the first request's answer"}},
			answers: map[int]any{http.StatusOK: apiStartAnswer{}, http.StatusAccepted: apiStartAnswer{}}, errors: refusals},
		{method: http.MethodPost, path: "/instances/:id/check", summary: "Asks ECS whether it would start the instance now (a dry run).", handler: a.apiCheck,
			body: apiCheckRequest{}, answers: map[int]any{http.StatusOK: apiCheckAnswer{}}, errors: refusals},
		{method: http.MethodPost, path: "/instances/start", summary: "Starts up to 100 instances, each its own operation.", handler: a.apiStartBatch,
			body: apiBatchRequest{}, headers: []apiParam{{"Idempotency-Key", "as for a single start"}},
			answers: map[int]any{http.StatusOK: apiBatchAnswer{}}, errors: refusals},
		{method: http.MethodGet, path: "/operations/:id", summary: "One operation; with wait, held (at most 50 s) while it is open or its instance is still starting.",
			handler: a.apiOperation, query: []apiParam{{"wait", "a Go duration such as 30s"}},
			answers: map[int]any{http.StatusOK: apiOperation{}}, errors: []apperr.Kind{apperr.Invalid, apperr.NotFound}},
	}
}

// registerAPI adds /api/v1 to e.
func (a *App) registerAPI(e *echo.Echo, base string) {
	api := e.Group(base+"/api/v1", a.apiErrors)
	authed := api.Group("", a.requireToken)
	for _, r := range a.apiRoutes() {
		g := authed
		if r.public {
			g = api
		}
		g.Add(r.method, r.path, r.handler)
	}
}

// apiError is every error's answer.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code      string `json:"code"`    // the error's kind (invalid, not_found, …) or ECS's code
	Message   string `json:"message"` // what happened and what to do, in words
	RequestID string `json:"request_id"`
}

// apiErrors answers every error of an /api request as JSON, with the status
// of the one table (errorStatus), and logs it as the pages' errors are.
// The API speaks English whatever Accept-Language or the language cookie
// say (the contract localizes pages only): a script reads the same words
// on every call, and an idempotent replay repeats the first answer in the
// only language it could have had.
func (a *App) apiErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxLoc, i18n.For(i18n.English))
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		status, msg := a.errorStatus(c, err)
		code := string(apperr.KindOf(err))
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(status, apiError{Error: apiErrorBody{Code: code, Message: msg, RequestID: requestID(c)}})
	}
}

// requireToken lets a request through only with a live token of an enabled
// user, read fresh at each request, and paces each token.
func (a *App) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, text, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(text) == "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="ecs-dashboard"`)
			return apperr.New(apperr.Unauthorized, "Send an API token: Authorization: Bearer TOKEN (create one on the Tokens page or with web token create).")
		}
		t, u, grants, err := a.users.AuthenticateToken(c.Request().Context(), strings.TrimSpace(text))
		if errors.Is(err, users.ErrBadToken) {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="ecs-dashboard", error="invalid_token"`)
			return apperr.New(apperr.Unauthorized, "The API token is not valid: unknown, revoked, expired, or its user is disabled. Create a new one.")
		}
		if errors.Is(err, users.ErrSSOToken) {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="ecs-dashboard", error="invalid_token"`)
			return apperr.New(apperr.Unauthorized, "This API token's user signs in through single sign-on, whose rights come from the sign-in proxy's groups and cannot be known for an API request: such tokens no longer work. Use the dashboard's pages, or a token of a local account.")
		}
		if err != nil {
			return apperr.Wrap(err, apperr.Unavailable, "The API token could not be checked: the dashboard's database did not answer. Nothing was done; try again in a moment.")
		}
		if wait, ok := a.apiLimits.take(t.ID, a.cfg.APIRate, a.now()); !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			return apperr.New(apperr.TooMany, "Too many requests with this token; try again in %s.", wait.Round(time.Second).String())
		}
		c.Set(ctxUser, u)
		c.Set(ctxUserName, u.Name)
		c.Set(ctxToken, t)
		c.Set(ctxRights, a.users.Compiled(u.ID, grants)) // the user's grants at this request
		return next(c)
	}
}

// apiActor is who acts through the API: the token's user, with the user's
// role and grants as they are now (requireToken loads them: without them
// the actor would hold its role over every instance), and the token's id
// for the audit log.
func (a *App) apiActor(c echo.Context) starts.Actor {
	u := currentUser(c)
	t, _ := c.Get(ctxToken).(users.Token)
	return starts.Actor{User: u.Name, Role: u.Role, AuthMethod: "token", Token: t.ID, SourceIP: c.RealIP(),
		UserAgent: apperr.Truncate(c.Request().UserAgent(), 256), Rights: currentRights(c)}
}

// mayAct refuses what a read-only token may not do; the user's own rights
// are the start service's to check.
func mayAct(c echo.Context) error {
	if t, _ := c.Get(ctxToken).(users.Token); t.ReadOnly {
		return apperr.New(apperr.Forbidden, "This API token is read-only: it may list instances and read operations, not start or check.")
	}
	return nil
}

// apiLimits paces each token on this replica.
type apiLimits struct {
	mu sync.Mutex
	by map[string]*rate.Limiter
}

// take spends one request of the token's budget of perMinute (0: no
// limit); when there is none, it says how long until there is.
func (l *apiLimits) take(token string, perMinute int, now time.Time) (time.Duration, bool) {
	if perMinute == 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string]*rate.Limiter{}
	}
	lim, ok := l.by[token]
	if !ok {
		if len(l.by) > 10_000 { // bounded: tokens idle long enough are full again anyway
			clear(l.by)
		}
		lim = rate.NewLimiter(rate.Limit(float64(perMinute)/60), min(apiBurst, perMinute))
		l.by[token] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return max(d, time.Second), false
	}
	return 0, true
}
