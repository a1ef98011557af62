package handlers

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ecsdash_http_request_duration_seconds", Help: "HTTP request durations by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route", "method", "code"})
	startsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecsdash_starts_total", Help: "Start requests by outcome (succeeded, failed, unknown, awaiting_approval, refused).",
	}, []string{"outcome"})
)

var registry = func() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(requestDuration, startsTotal, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}()

func observeRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	requestDuration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// metrics serves the Prometheus text format, with the fleet cache's age and
// the approvals waiting read at scrape time.
func (a *App) metrics(c echo.Context) error {
	snap := a.Fleet.Snapshot()
	age := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ecsdash_fleet_cache_age_seconds", Help: "Age of the oldest region list in the cache."})
	if !snap.Fetched.IsZero() {
		age.Set(a.Now().Sub(snap.Fetched).Seconds())
	}
	waiting := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ecsdash_approvals_waiting", Help: "Starts awaiting approval."})
	if ops, err := a.Audit.Awaiting(c.Request().Context()); err == nil {
		waiting.Set(float64(len(ops)))
	}
	g := prometheus.Gatherers{registry, gatherOnly(age, waiting)}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}

func gatherOnly(cs ...prometheus.Collector) prometheus.Gatherer {
	r := prometheus.NewRegistry()
	r.MustRegister(cs...)
	return r
}
