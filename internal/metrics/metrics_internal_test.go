package metrics

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A request of a series seen before is counted without resolving its
// labels again: no allocation (issue 32).
func TestARequestOfASeriesSeenBeforeAllocatesNothing(t *testing.T) {
	m := New()
	m.Request("/instances", "GET", 200, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.Request("/instances", "GET", 200, time.Millisecond) }); n != 0 {
		t.Fatalf("%.0f allocations a request", n)
	}
}

// The observers kept are bounded; every request is counted in its own
// series whether its observer was kept or not.
func TestRequestSeriesAreKeptBoundedAndEveryRequestCounted(t *testing.T) {
	m := New()
	const statuses = maxRequestSeries + 50
	for range 2 {
		for s := range statuses {
			m.Request("/instances", "GET", 100+s, time.Millisecond)
		}
	}
	m.Request("", "BREW", 200, time.Millisecond)
	if len(m.requests) > maxRequestSeries {
		t.Fatalf("%d observers kept, at most %d", len(m.requests), maxRequestSeries)
	}
	ch := make(chan prometheus.Metric, 2*statuses)
	m.requestDuration.Collect(ch)
	if n := len(ch); n != statuses+1 {
		t.Fatalf("%d series, want %d", n, statuses+1)
	}
	if got := histCount(t, m, "/instances", "GET", "100"); got != 2 {
		t.Fatalf("a kept series counted %d requests, want 2", got)
	}
	if got := histCount(t, m, "/instances", "GET", strconv.Itoa(100+statuses-1)); got != 2 {
		t.Fatalf("a series past the bound counted %d requests, want 2", got)
	}
	if got := histCount(t, m, "unmatched", "other", "200"); got != 1 {
		t.Fatalf("an unmatched request with a strange method counted %d, want 1", got)
	}
}

func histCount(t *testing.T, m *Metrics, labels ...string) uint64 {
	t.Helper()
	h, err := m.requestDuration.GetMetricWithLabelValues(labels...)
	if err != nil {
		t.Fatal(err)
	}
	var out dto.Metric
	if err := h.(prometheus.Metric).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram().GetSampleCount()
}
