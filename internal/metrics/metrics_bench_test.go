package metrics_test

import (
	"testing"
	"time"

	"ecsdash/internal/metrics"
)

// BenchmarkRequest is one request's count in the request histogram, from
// goroutines at once, as requests end.
func BenchmarkRequest(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/instances", "GET", 200, time.Millisecond)
		}
	})
}
