// Package metrics holds the dashboard's Prometheus collectors, on a registry
// of their own (no global registration), and the callbacks that feed them.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is every collector the dashboard exports.
type Metrics struct {
	Registry        *prometheus.Registry
	requestDuration *prometheus.HistogramVec
	ecsCalls        *prometheus.CounterVec
	ecsDuration     *prometheus.HistogramVec
	ecsRetries      *prometheus.CounterVec
	auditEvents     *prometheus.CounterVec
	starts          *prometheus.CounterVec
	notifications   *prometheus.CounterVec

	// requests keeps each request series' observer once resolved (its
	// labels hashed, looked up and the status formatted at every request
	// were a third of the access log's cost), at most maxRequestSeries.
	reqMu    sync.RWMutex
	requests map[requestSeries]prometheus.Observer
}

// requestSeries names one series of the request histogram.
type requestSeries struct {
	route, method string
	status        int
}

// maxRequestSeries bounds the observers kept: the routes times the methods
// and statuses they answer, with room to spare. Past it a series is
// resolved at each request, as before.
const maxRequestSeries = 1024

// New builds the collectors; more (read at scrape time) can be added to
// Registry later.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecsdash_http_request_duration_seconds", Help: "HTTP request durations by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method", "code"}),
		ecsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsdash_ecs_calls_total", Help: "ECS API calls by action and answer code (OK, an ECS code, or Dashboard.NoAnswer).",
		}, []string{"action", "code"}),
		ecsDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecsdash_ecs_call_duration_seconds", Help: "ECS API call durations by action.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"action"}),
		ecsRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsdash_ecs_retries_total", Help: "ECS calls that were attempts after the first, by action.",
		}, []string{"action"}),
		auditEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsdash_audit_events_total", Help: "Audit events written, by action and state.",
		}, []string{"action", "state"}),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsdash_starts_total", Help: "Start requests by outcome (succeeded, failed, unknown, awaiting_approval, refused).",
		}, []string{"outcome"}),
	}
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecsdash_notifications_total", Help: "Webhook notifications by outcome (delivered, failed after retries, dropped with a full queue).",
	}, []string{"outcome"})
	m.Registry.MustRegister(m.requestDuration, m.ecsCalls, m.ecsDuration, m.ecsRetries, m.auditEvents, m.starts, m.notifications,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request records one HTTP request. route must be a route template (or ""
// for none); a method outside HTTP's own is counted as "other", so that no
// request can add series of its choosing.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requestObserver(route, Method(method), status).Observe(d.Seconds())
}

func (m *Metrics) requestObserver(route, method string, status int) prometheus.Observer {
	k := requestSeries{route, method, status}
	m.reqMu.RLock()
	o, ok := m.requests[k]
	m.reqMu.RUnlock()
	if ok {
		return o
	}
	o = m.requestDuration.WithLabelValues(route, method, strconv.Itoa(status))
	m.reqMu.Lock()
	defer m.reqMu.Unlock()
	if m.requests == nil {
		m.requests = map[requestSeries]prometheus.Observer{}
	}
	if len(m.requests) < maxRequestSeries {
		m.requests[k] = o
	}
	return o
}

// Method is method if HTTP defines it, else "other".
func Method(method string) string {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return method
	}
	return "other"
}

// ECSCall records one ECS request; attempt 2 and later count as retries.
func (m *Metrics) ECSCall(action, code string, attempt int, d time.Duration) {
	if code == "" {
		code = "OK"
	}
	m.ecsCalls.WithLabelValues(action, code).Inc()
	m.ecsDuration.WithLabelValues(action).Observe(d.Seconds())
	if attempt > 1 {
		m.ecsRetries.WithLabelValues(action).Inc()
	}
}

// AuditEvent records one audit event.
func (m *Metrics) AuditEvent(action, state string) {
	m.auditEvents.WithLabelValues(action, state).Inc()
}

// Notification records the end of one webhook delivery.
func (m *Metrics) Notification(outcome string) { m.notifications.WithLabelValues(outcome).Inc() }

// Start records the outcome of one start request.
func (m *Metrics) Start(outcome string) { m.starts.WithLabelValues(outcome).Inc() }
