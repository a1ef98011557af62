//go:build !race

// The race detector drops sync.Pool's buffers at random, so allocations
// are counted only without it.

package handlers_test

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"ecsdash/internal/ecs/ecssim"
)

// A warm view of the list page (its rows and the page around them cached)
// allocates no more times than it has rows, with a fifth to spare (issue
// 32): counted as `go run ./bench -page` counts it, the whole request in the
// server process, net/http's reading of the request and writing of the
// response included, the server logging JSON lines as `web serve` does. The
// test's client is a raw keep-alive connection that allocates nothing; what
// it and a raw responder cost is measured apart and not counted.
func TestAListPageViewAllocatesNoMoreTimesThanItHasRows(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{Instances: 1000}, logs: io.Discard, dbClock: true,
		args: []string{"--refresh-interval", "1h", "--approval", "none"}})
	br := h.loggedIn("op1")
	const rows = 100
	if n := rowsOf(br.get("instances?per_page=100&page=2")).Length(); n != rows {
		t.Fatalf("a page has %d rows, want %d", n, rows)
	}
	// Three pages in turn, each request written once, up front.
	reqs := rawListRequests(h, br, rows, 3)
	client := dialRaw(t, rawHost(h))
	i := 0
	view := func() {
		i++
		status, body := client.get(reqs[i%len(reqs)])
		if status != http.StatusOK || !bytes.Contains(body, []byte(`data-instance-id=`)) {
			t.Fatalf("status %d, %d bytes", status, len(body))
		}
	}
	for range 2 * len(reqs) {
		view() // every page warm
	}
	// The reference: the same client against a responder that writes a
	// recorded response of the page with no allocation of its own.
	rec := client.last()
	ref := dialRaw(t, rawResponder(t, rec))
	refView := func() {
		if status, _ := ref.get(reqs[0]); status != http.StatusOK {
			t.Fatalf("reference status %d", status)
		}
	}
	// The least of five counts: the fleet's tracker and the other loops, in
	// the background, only ever add to one.
	overhead, got := math.Inf(1), math.Inf(1)
	for range 5 {
		overhead = min(overhead, testing.AllocsPerRun(100, refView))
		got = min(got, testing.AllocsPerRun(100, view))
	}
	got -= overhead
	if path := os.Getenv("ECSDASH_ALLOCS_PROFILE"); path != "" {
		profileAllocs(t, path, 200, view)
	}
	t.Logf("%.0f allocations a view of %d rows, %d bytes (the test's own %.0f not counted)", got, rows, len(rec), overhead)
	if limit := rows * 4 / 5; got > float64(limit) {
		t.Fatalf("a warm list page view allocates %.0f times for %d rows (at most %d)", got, rows, limit)
	}
}

// profileAllocs writes where n calls of f allocate, every allocation
// sampled, as a pprof profile to path (go tool pprof -sample_index
// alloc_objects -base path.base path): ECSDASH_ALLOCS_PROFILE=/tmp/p.
func profileAllocs(t testing.TB, path string, n int, f func()) {
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = rate }()
	write := func(p string) {
		runtime.GC()
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
			t.Fatal(err)
		}
	}
	f()
	write(path + ".base")
	for range n {
		f()
	}
	write(path)
	t.Logf("profile of %d views: go tool pprof -sample_index alloc_objects -base %s.base %s", n, path, path)
}
