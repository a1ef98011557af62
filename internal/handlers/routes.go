package handlers

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// routes builds the Echo server with every route and middleware. The whole
// surface is on this one screen.
func routes(a *App) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = ipExtractor(a.cfg.TrustedProxies)

	e.Use(a.common()) // request id, access log, security headers, panics, body and time bounds (middleware.go)

	base := strings.TrimSuffix(a.cfg.BasePath(), "/")
	if base != "" {
		// Probes often hit the root even when pages live under a prefix.
		e.GET("/healthz", a.healthz)
		e.GET("/readyz", a.readyz)
	}
	root := e.Group(base)
	root.GET("/healthz", a.healthz)
	root.GET("/readyz", a.readyz)
	root.GET("/metrics", a.serveMetrics)
	root.GET("/static/:name", a.asset)
	// The JSON API: bearer tokens only, never the session or its CSRF check.
	a.registerAPI(e, base)

	pages := e.Group(base, a.loadSession, a.checkCSRF)
	pages.GET("", a.home)
	pages.GET("/", a.home)
	pages.GET("/login", a.loginForm)
	pages.POST("/login", a.login)
	pages.POST("/prefs", a.setPrefs)

	in := pages.Group("", a.requireUser)
	in.POST("/logout", a.logout)
	// The list page, the one loaded all day and polled by the portal's
	// widgets, with its group's middleware composed once: Echo composes a
	// group's at every request (three allocations a view).
	e.GET(base+"/instances", a.loadSession(a.checkCSRF(a.requireUser(a.instances))))
	in.POST("/instances/refresh", a.refresh)
	// The polls' answers are the viewer's own (rows with their CSRF and form
	// tokens): no cache keeps them.
	in.GET("/instances/live", a.liveRows, noStore)
	in.GET("/instances/:id/status", a.instanceStatus, noStore)
	in.POST("/instances/:id/start", a.start)
	in.POST("/instances/:id/check", a.check)
	in.POST("/instances/start", a.startBatch)
	in.GET("/audit", a.auditPage)
	in.GET("/audit/export", a.auditExport)
	in.GET("/audit/:id/approve", a.confirmApprove)
	in.POST("/audit/:id/approve", a.approve)
	in.POST("/audit/:id/reject", a.reject)
	in.POST("/audit/:id/withdraw", a.withdraw)
	in.POST("/audit/batches/:batch/approve", a.approveBatch)
	in.GET("/tokens", a.tokensPage)
	in.POST("/tokens", a.createToken)
	in.POST("/tokens/:id/revoke", a.revokeToken)
	adm := in.Group("/admin", a.requireAdmin)
	adm.GET("/users", a.adminUsers)
	adm.POST("/users", a.adminAddUser)
	adm.POST("/users/:name/role", a.adminSetRole)
	adm.POST("/users/:name/disable", func(c echo.Context) error { return a.adminDisable(c, true) })
	adm.POST("/users/:name/enable", func(c echo.Context) error { return a.adminDisable(c, false) })
	adm.POST("/users/:name/password", a.adminPassword)
	adm.POST("/grants", a.adminAddGrant)
	adm.POST("/grants/:id/remove", a.adminRemoveGrant)

	a.routeNames = map[string]bool{}
	for _, r := range e.Routes() {
		a.routeNames[r.Path] = true
	}
	return e
}

// ipExtractor trusts X-Forwarded-For only from the configured proxies; with
// none configured, the TCP peer is the client.
func ipExtractor(proxies []netip.Prefix) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(prefixToIPNet(p)))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func (a *App) home(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"instances")
}

// noStore tells every cache not to keep a response.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
