package handlers

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// scrapeCollectors are read at scrape time: the fleet cache's age and the
// starts awaiting approval.
func (a *App) scrapeCollectors() []prometheus.Collector {
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecsdash_fleet_cache_age_seconds", Help: "Age of the oldest region list in the cache."},
		func() float64 {
			if s := a.fleet.Snapshot(); !s.Fetched.IsZero() {
				return a.now().Sub(s.Fetched).Seconds()
			}
			return -1
		})
	waiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecsdash_approvals_waiting", Help: "Starts awaiting approval."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			ops, err := a.auditLog.Awaiting(ctx)
			if err != nil {
				return -1
			}
			return float64(len(ops))
		})
	failing := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecsdash_fleet_regions_failing",
		Help: "Regions whose last listing failed (ECS trouble; /readyz does not follow it)."},
		func() float64 { return float64(len(a.fleet.Snapshot().RegionErr)) })
	return []prometheus.Collector{age, waiting, failing}
}

// serveMetrics answers a scrape; with --metrics-token-file, only one that
// carries the token as a bearer.
func (a *App) serveMetrics(c echo.Context) error {
	if a.metricsToken != nil {
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), a.metricsToken) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			return c.String(http.StatusUnauthorized, "metrics need the bearer token\n")
		}
	}
	promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
