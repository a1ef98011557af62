package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs/ecssim"
)

// benchServer is a harness of o's with op1 signed in, and the cookies its
// browser holds after loading the list page of 100 rows (the per-page
// choice remembered, as a browser would).
func benchServer(b *testing.B, o opts) (*harness, *browser, []*http.Cookie) {
	h := newHarness(b, o)
	br := h.loggedIn("op1")
	br.get("instances?per_page=100")
	u, _ := url.Parse(h.srv.URL)
	return h, br, br.c.Jar.Cookies(u)
}

// serveBench sends a GET of target (with the header pairs hdr) carrying
// cookies straight through the router, and fails unless it is answered 200.
func serveBench(b *testing.B, h *harness, cookies []*http.Cookie, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.echo.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: status %d", target, rec.Code)
	}
	return rec
}

// listPage is the list page of 100 rows numbered p (from 1 up, wrapping
// at 100).
func listPage(p int) string { return "/instances?per_page=100&page=" + strconv.Itoa(1+p%100) }

// BenchmarkInstancesPage renders GET /instances (100 rows) for a logged-in
// operator from a cache of 10,000 instances, straight through the router.
func BenchmarkInstancesPage(b *testing.B) {
	h, _, cookies := benchServer(b, opts{simOpts: ecssim.Options{Instances: 10000}})
	// Warm: every page's rows in the row cache, as on a server that has
	// been up a while; the figure is then a page view's steady cost.
	for p := range 100 {
		serveBench(b, h, cookies, listPage(p))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			serveBench(b, h, cookies, listPage(i))
		}
	})
}

// BenchmarkInstancesPageServed is the same page view through the real
// HTTP server on loopback, as `go run ./bench -page` loads it, by raw
// keep-alive clients that allocate nothing (so a -cpuprofile or
// -memprofile shows the server's work, net/http's included): one client a
// goroutine, 8 goroutines a core (-cpu sets the cores).
func BenchmarkInstancesPageServed(b *testing.B) {
	// No background loops (manual): their first refresh would run during
	// the timing and re-render the rows.
	h, br, _ := benchServer(b, opts{simOpts: ecssim.Options{Instances: 10000}, logs: io.Discard, manual: true,
		args: []string{"--approval", "none"}})
	reqs := rawListRequests(h, br, 100, 100)
	host := rawHost(h)
	warm := dialRaw(b, host)
	for _, r := range reqs { // every page's rows cached, as on a server up a while
		if status, _ := warm.get(r); status != http.StatusOK {
			b.Fatalf("status %d", status)
		}
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	defer func() {
		// The process's CPU a view (server and clients alike): on a shared
		// machine steadier than the wall time.
		b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		c := dialRaw(b, host)
		i := 0
		for pb.Next() {
			i++
			if status, _ := c.get(reqs[i%len(reqs)]); status != http.StatusOK {
				b.Errorf("status %d", status)
				return
			}
		}
	})
}

// rawListRequests are GETs of the list's pages 1 to pages, of perPage rows
// each, as br would send them (its cookies), each written out once for a
// raw client.
func rawListRequests(h *harness, br *browser, perPage, pages int) [][]byte {
	u, _ := url.Parse(h.srv.URL)
	var cookies []string
	for _, c := range br.c.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	reqs := make([][]byte, pages)
	for p := range reqs {
		reqs[p] = fmt.Appendf(nil, "GET %sinstances?per_page=%d&page=%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: Go-http-client/1.1\r\n"+
			"Cookie: %s\r\nAccept-Encoding: gzip\r\n\r\n", h.cfg.BasePath(), perPage, p+1, u.Host, strings.Join(cookies, "; "))
	}
	return reqs
}

// rawHost is the harness's server's host:port, for dialRaw.
func rawHost(h *harness) string {
	u, _ := url.Parse(h.srv.URL)
	return u.Host
}

// BenchmarkInstancesPageMoving is the same while the fleet moves: every 20
// requests one instance changes state and a new snapshot is swapped in, as
// when the tracker follows starts (about 4 changes a second at 80 pages/s
// per core).
func BenchmarkInstancesPageMoving(b *testing.B) {
	h, _, cookies := benchServer(b, opts{simOpts: ecssim.Options{Instances: 10000}})
	list := h.fleet.Snapshot().Instances
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if k := n.Add(1); k%20 == 0 {
				in := *list[int(k/20)%len(list)]
				in.Status = map[bool]string{true: "Starting", false: "Stopped"}[in.Status == "Stopped"]
				h.fleet.Update(in)
			}
			serveBench(b, h, cookies, listPage(i))
		}
	})
}

// BenchmarkInstancesSearch is an uncached search (every query new, so the
// matches are found and their rows rendered) at each fleet size: its cost
// and the heap must grow no faster than the fleet.
func BenchmarkInstancesSearch(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run("fleet="+strconv.Itoa(n), func(b *testing.B) {
			h, _, cookies := benchServer(b, opts{simOpts: ecssim.Options{Instances: n}})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				serveBench(b, h, cookies, "/instances?q="+strconv.Itoa(i%100000)+"&page="+strconv.Itoa(1+i%3))
			}
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		})
	}
}

// BenchmarkAuditPage renders the audit page's default view for an admin
// from a log of 30,000 events (built through the batch append), straight
// through the router: its cost must not grow with the log (issue 25).
func BenchmarkAuditPage(b *testing.B) {
	h := newHarness(b, opts{})
	ctx := b.Context()
	for round := range 10 {
		batch := make([]audit.Event, 0, 3000)
		for j := range 2000 {
			batch = append(batch, audit.Event{Action: audit.ActionStartInstance, User: "op" + strconv.Itoa(j%7), InstanceID: "i-" + strconv.Itoa(round*2000+j),
				Region: "cn-hangzhou", InstanceName: "bench", State: audit.StateSucceeded, RequestID: "req-" + strconv.Itoa(j), SourceIP: "10.0.0.1"})
			if j%2 == 0 {
				batch = append(batch, audit.Event{Action: audit.ActionLogin, User: "guess", State: audit.StateFailed, SourceIP: "10.0.0.2"})
			}
		}
		if _, err := h.audit.AppendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	br := h.loggedIn("adm")
	u, _ := url.Parse(h.srv.URL)
	cookies := br.c.Jar.Cookies(u)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serveBench(b, h, cookies, "/audit")
	}
}

// BenchmarkLivePoll is an open list's poll of its 100 rows from a cache of
// 10,000 instances: "unchanged" when the fleet's version is the page's (the
// usual poll), "compare" when it is not and every row is compared (none
// changed), beside "page", the list page itself, as the reference.
func BenchmarkLivePoll(b *testing.B) {
	h, br, cookies := benchServer(b, opts{simOpts: ecssim.Options{Instances: 10000}})
	list := br.get("instances?per_page=100")
	refs := url.Values{}
	list.doc.Find("tr[data-instance-id]").Each(func(_ int, s *goquery.Selection) {
		refs.Add("r", s.AttrOr("data-region", "")+"/"+s.AttrOr("data-instance-id", "")+":"+s.AttrOr("data-row-v", ""))
	})
	if len(refs["r"]) != 100 {
		b.Fatalf("%d rows", len(refs["r"]))
	}
	var first struct{ V string }
	rec := serveBench(b, h, cookies, "/instances/live?"+refs.Encode(), "Accept", "application/json")
	if err := json.Unmarshal(rec.Body.Bytes(), &first); err != nil || first.V == "" {
		b.Fatalf("%v %q", err, rec.Body.String())
	}
	unchanged := url.Values{"v": {first.V}, "r": refs["r"]}
	for _, c := range []struct{ name, target, accept string }{
		{"unchanged", "/instances/live?" + unchanged.Encode(), "application/json"},
		{"compare", "/instances/live?" + refs.Encode(), "application/json"},
		{"page", "/instances?per_page=100", "text/html"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveBench(b, h, cookies, c.target, "Accept", c.accept)
			}
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
