package handlers

import (
	"context"
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
	return []prometheus.Collector{age, waiting}
}

func (a *App) serveMetrics(c echo.Context) error {
	promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
