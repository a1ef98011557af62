package handlers

import (
	"crypto/subtle"
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

	"ecsdash/internal/apperr"
	"ecsdash/internal/metrics"
)

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// ctxClientRequestID holds the X-Request-ID a client sent, cleaned.
const ctxClientRequestID = "client_request_id"

// assignRequestID gives every request an id of our own, sent back as
// X-Request-ID, logged and shown as the reference for support. An id the
// client sent is never shown; it is logged as client_request_id, at most 64
// characters of [A-Za-z0-9._:-], so that logs can be joined with a proxy's.
func assignRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderXRequestID, randomToken())
		if v := c.Request().Header.Get(echo.HeaderXRequestID); v != "" {
			c.Set(ctxClientRequestID, cleanClientID(v))
		}
		return next(c)
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

// recoverPanics turns a panic into an internal error page; the stack goes to
// the log with the request id, never to the page.
func (a *App) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				a.log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = apperr.Wrap(fmt.Errorf("panic: %v", r), apperr.Internal, "internal error")
			}
		}()
		return next(c)
	}
}

func (a *App) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		began := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route := c.Path()
		if !a.routeNames[route] {
			route = "" // not one of ours: a 404 or 405 must not name a series
		}
		a.metrics.Request(route, c.Request().Method, status, time.Since(began))
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		ctx := c.Request().Context()
		if !a.log.Enabled(ctx, level) {
			return nil
		}
		// Attrs, not key-value pairs: a page view is logged without boxing
		// each value.
		user, _ := c.Get(ctxUserName).(string)
		attrs := [...]slog.Attr{slog.String("request_id", requestID(c)), slog.String("method", metrics.Method(c.Request().Method)),
			slog.String("path", apperr.Truncate(c.Request().URL.Path, 256)), slog.String("route", route),
			slog.Int("status", status), slog.Int64("bytes", c.Response().Size), slog.Int64("duration_ms", time.Since(began).Milliseconds()),
			slog.String("ip", c.RealIP()), slog.String("user", user), {}}
		n := len(attrs) - 1
		if id, ok := c.Get(ctxClientRequestID).(string); ok {
			attrs[n], n = slog.String("client_request_id", id), n+1
		}
		a.log.LogAttrs(ctx, level, "request", attrs[:n]...)
		return nil
	}
}

// securityHeaders is the middleware that sets every response's security
// headers. Echo builds its chain of middleware at every request: what is
// made once is made here, outside it.
func (a *App) securityHeaders() echo.MiddlewareFunc {
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
	headers := set.values()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			headers.setOn(c.Response().Header())
			return next(c)
		}
	}
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
