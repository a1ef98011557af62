package handlers

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"ecsdash/internal/apperr"
	"ecsdash/internal/metrics"
)

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// requestTimeout bounds a request's context (its queries and ECS calls);
// a handler that runs past it answers 503.
const requestTimeout = 60 * time.Second

// common is the middleware every request goes through, in this order: it
// gives the request an id of its own (assignRequestID), logs it when done
// (accessLog), sets the security headers, turns a panic into an internal
// error page (recoverPanics), bounds the body (64 KiB) and the request's
// time (requestTimeout). It is one middleware, not six, and makes what it
// can once, outside the chain: Echo composes its middleware around the
// route's handler at every request, a closure each.
func (a *App) common() echo.MiddlewareFunc {
	headers := a.securityHeaders()
	bodyLimit := middleware.BodyLimit("64K")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			began := time.Now()
			st := &reqState{Context: c}
			h := c.Response().Header()
			st.assignRequestID(h)
			headers.setOn(h)
			if err := a.guard(st, next, bodyLimit); err != nil {
				a.handleError(err, st)
			}
			a.accessLog(st, began)
			return nil
		}
	}
}

// assignRequestID gives every request an id of our own, sent back as
// X-Request-ID, logged and shown as the reference for support. An id the
// client sent is never shown; it is logged as client_request_id, at most 64
// characters of [A-Za-z0-9._:-], so that logs can be joined with a proxy's.
func (st *reqState) assignRequestID(h http.Header) {
	st.id[0] = randomToken()
	h[echo.HeaderXRequestID] = st.id[:]
	if v := st.Request().Header.Get(echo.HeaderXRequestID); v != "" {
		st.clientID, st.hasID = cleanClientID(v), true
	}
}

func cleanClientID(v string) string {
	var b strings.Builder
	for _, r := range v {
		if b.Len() >= 64 {
			break
		}
		if r < 128 && (r == '.' || r == '_' || r == ':' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// guard runs the route's handler with the request's body and time bounded,
// and turns a panic into an internal error page; the stack goes to the log
// with the request id, never to the page.
func (a *App) guard(st *reqState, next echo.HandlerFunc, bodyLimit echo.MiddlewareFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.log.Error("panic", "request_id", requestID(st), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = apperr.Wrap(fmt.Errorf("panic: %v", r), apperr.Internal, "internal error")
		}
	}()
	req := st.Request()
	if req.ContentLength != 0 { // a body, of known length or not
		next = bodyLimit(next)
	}
	st.deadline.start(req.Context(), time.Now().Add(requestTimeout))
	defer st.deadline.stop()
	st.SetRequest(req.WithContext(&st.deadline))
	if err := next(st); err != nil {
		if errors.Is(err, context.DeadlineExceeded) { // as Echo's ContextTimeout answers it
			return echo.ErrServiceUnavailable.WithInternal(err)
		}
		return err
	}
	return nil
}

// accessLog counts the request in the metrics and logs it.
func (a *App) accessLog(st *reqState, began time.Time) {
	took := time.Since(began)
	status := st.Response().Status
	route := st.Path()
	if !a.routeNames[route] {
		route = "" // not one of ours: a 404 or 405 must not name a series
	}
	req := st.Request()
	a.metrics.Request(route, req.Method, status, took)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	ctx := req.Context()
	h := a.log.Handler()
	if level < slog.LevelWarn && a.requestLog != nil {
		h = a.requestLog // a failure's line is written at once, with the log's others
	}
	if !h.Enabled(ctx, level) {
		return
	}
	// Attrs, not key-value pairs: a page view is logged without boxing
	// each value. The record is made here, without the caller's program
	// counter (Logger.LogAttrs looks it up at every line; no handler of
	// ours shows the source).
	r := slog.NewRecord(time.Now(), level, "request", 0)
	r.AddAttrs(slog.String("request_id", st.id[0]), slog.String("method", metrics.Method(req.Method)),
		slog.String("path", apperr.Truncate(req.URL.Path, 256)), slog.String("route", route),
		slog.Int("status", status), slog.Int64("bytes", st.Response().Size), slog.Int64("duration_ms", took.Milliseconds()),
		slog.String("ip", st.RealIP()), slog.String("user", st.userName))
	if st.hasID {
		r.AddAttrs(slog.String("client_request_id", st.clientID))
	}
	_ = h.Handle(ctx, r) // a log that cannot be written has nowhere to say so
}

// securityHeaders are every response's security headers, made once.
func (a *App) securityHeaders() headerValues {
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + strings.Join(a.cfg.FrameAncestors, " ")
	set := fixedHeaders{
		"Content-Security-Policy":      csp,
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), hid=(), clipboard-read=(), display-capture=()",
	}
	if a.cfg.BaseURL.Scheme == "https" {
		set["Strict-Transport-Security"] = "max-age=31536000"
	}
	// No X-Frame-Options: it would contradict frame-ancestors for the portal.
	return set.values()
}

// fixedHeaders are response headers that never change, by name.
type fixedHeaders map[string]string

// headerValues are fixed headers made once, canonical names and one-value
// lists, so that setting them on a response allocates nothing: every
// response shares the lists, which nothing changes in place (a later Set
// or Add makes a list of its own).
type headerValues []struct {
	name string
	vals []string
}

func (f fixedHeaders) values() headerValues {
	var out headerValues
	for k, v := range f {
		out = append(out, struct {
			name string
			vals []string
		}{textproto.CanonicalMIMEHeaderKey(k), []string{v}})
	}
	return out
}

func (hv headerValues) setOn(h http.Header) {
	for _, x := range hv {
		h[x.name] = x.vals
	}
}

// checkCSRF refuses a state-changing request that is cross-site or lacks the
// session's token (form field _csrf or header X-CSRF-Token).
func (a *App) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" {
			return apperr.New(apperr.Forbidden, "Cross-site requests are refused. Use the dashboard's own forms.")
		}
		token := c.Request().Header.Get("X-CSRF-Token")
		if token == "" {
			token = c.FormValue("_csrf")
		}
		want := sess(c).csrf()
		if token == "" || want == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
			if _, err := c.Cookie(cookieName); err != nil && token != "" && c.Request().Header.Get("Sec-Fetch-Dest") == "iframe" {
				// The form came from our page, inside a frame, and the browser
				// sent no cookie with it: it keeps our cookies from this
				// embedding, and reloading cannot help.
				return apperr.New(apperr.Forbidden, "%s", noCookieInFrame(a.cfg.CrossSiteCookies))
			}
			return apperr.New(apperr.Forbidden, "The form had expired or did not come from this dashboard. Reload the page and try again.")
		}
		return next(c)
	}
}

// noCookieInFrame explains a sign-in that cannot work inside the portal's
// frame because the browser does not send the dashboard's cookie there.
func noCookieInFrame(crossSite bool) string {
	if crossSite {
		return "Your browser did not send the dashboard's cookie inside the portal's frame: it blocks third-party cookies for this site. " +
			"Allow them for the dashboard, or open the dashboard in its own tab."
	}
	return "Your browser did not send the dashboard's cookie inside the portal's frame: the portal is on another site, and the dashboard's cookies " +
		"are not allowed there. Reloading will not help. Open the dashboard in its own tab, or ask its administrator to run it with " +
		"--cross-site-cookies and an https --base-url (or to serve it on the portal's own site)."
}

// safeNext keeps a post-login redirect inside the dashboard.
func (a *App) safeNext(next string) string {
	base := a.cfg.BasePath()
	fallback := base + "instances"
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\r\n") {
		return fallback
	}
	// The path as the browser will resolve it: dot segments and doubled
	// slashes gone, so "/ecs/../..//evil.com" is "/evil.com", not under the base.
	clean := path.Clean("/" + u.Path)
	if !strings.HasPrefix(clean+"/", base) || strings.HasPrefix(clean, "//") || strings.HasSuffix(clean, "/login") {
		return fallback
	}
	return (&url.URL{Path: clean, RawQuery: u.RawQuery}).RequestURI()
}

func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
