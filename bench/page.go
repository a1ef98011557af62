package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecsdash/internal/ecs/ecssim"
)

var pageOnly = flag.Bool("page", false, "only the list page against a bare handler of the same bytes, three runs")

// pageRuns is how many times the list page and its bare reference are
// loaded, one after the other in each run.
const pageRuns = 3

// pageFigure loads the list page and a bare net/http handler writing the
// same bytes, pageRuns times each (dashboard, then bare, in each run), and
// reports per run and as the median and spread of the runs: both rates and
// their ratio, both p50s and p99s, the dashboard's allocations per request
// (the Go runtime's malloc count in /metrics, before and after the run, over
// the requests served; and the same net of what the idle process allocated
// in the seconds just before), and the machine's load average at each run's
// start and end (the load generator and the bare handler share the cores
// with the dashboard: the p99s are as much the machine's as the page's).
func pageFigure(base string, client *http.Client, sample string) (row, error) {
	var ratios, ours, bare, p50s, bareP50s, p99s, bareP99s, allocs, netAllocs, idles, gcs, kibs, pauses, loads []float64
	cookies := client.Jar.Cookies(mustURL(base))
	gen, err := pageGenerator()
	if err != nil {
		return row{}, err
	}
	// A page's bytes less a tenth: wrk's check that its responses were
	// pages, not redirects (the pages' sizes differ by a few bytes).
	minBytes := len(sample) * 9 / 10
	for run := 1; run <= pageRuns; run++ {
		load0 := loadAverage()
		fmt.Fprintf(os.Stderr, "list page, run %d of %d, load generator %s (load average %s) …\n", run, pageRuns, gen.name, load0)
		// What the process allocates with nobody asking (its loops), over
		// idleWindow, and what a scrape of /metrics itself costs.
		s0, err := mallocs(base)
		if err != nil {
			return row{}, err
		}
		s1, err := mallocs(base)
		if err != nil {
			return row{}, err
		}
		time.Sleep(idleWindow)
		r0, err := runtimeMetrics(base)
		if err != nil {
			return row{}, err
		}
		m0 := r0.mallocs
		scrape := s1 - s0
		idle := max(0, m0-s1-scrape) / idleWindow.Seconds()
		began := time.Now()
		r, err := gen.load(base, cookies, minBytes)
		if err != nil {
			return row{}, fmt.Errorf("list page run %d, %s: %v", run, gen.name, err)
		}
		took := time.Since(began)
		r1, err := runtimeMetrics(base)
		if err != nil {
			return row{}, err
		}
		m1 := r1.mallocs
		gcs = append(gcs, (r1.gcs-r0.gcs)/took.Seconds())
		kibs = append(kibs, (r1.bytes-r0.bytes)/float64(r.n)/1024)
		if r1.gcs > r0.gcs {
			pauses = append(pauses, 1000*(r1.pauses-r0.pauses)/(r1.gcs-r0.gcs))
		} else {
			pauses = append(pauses, 0)
		}
		ceiling, err := ceilingLoad(sample, gen, minBytes)
		if err != nil {
			return row{}, fmt.Errorf("list page run %d, the bare handler, %s: %v", run, gen.name, err)
		}
		load1 := loadAverage()
		if r.n == 0 || ceiling.rps == 0 || r.errs > 0 {
			return row{}, fmt.Errorf("list page run %d: %s; bare %s", run, r, ceiling)
		}
		perReq := (m1 - m0) / float64(r.n)
		netPerReq := (m1 - m0 - scrape - idle*took.Seconds()) / float64(r.n)
		ratios = append(ratios, r.rps/ceiling.rps)
		ours, bare = append(ours, r.rps), append(bare, ceiling.rps)
		p50s, bareP50s = append(p50s, ms(r.p50)), append(bareP50s, ms(ceiling.p50))
		p99s, bareP99s = append(p99s, ms(r.p99)), append(bareP99s, ms(ceiling.p99))
		allocs, netAllocs, idles = append(allocs, perReq), append(netAllocs, netPerReq), append(idles, idle)
		for _, l := range []string{load0, load1} {
			if v, err := strconv.ParseFloat(l, 64); err == nil {
				loads = append(loads, v)
			}
		}
		fmt.Fprintf(os.Stderr, "  dashboard %s\n  bare      %s\n  ratio %.2f; %.1f allocations a request (%.1f net of the idle process's %.0f a second), %.1f KiB; %.1f collections a second; load average %s → %s\n",
			r, ceiling, r.rps/ceiling.rps, perReq, netPerReq, idle, kibs[len(kibs)-1], gcs[len(gcs)-1], load0, load1)
	}
	loadWords := "unknown"
	if len(loads) > 0 {
		loadWords = fmt.Sprintf("%.1f–%.1f", slices.Min(loads), slices.Max(loads))
	}
	return row{fmt.Sprintf("GET /instances, %d rows (%d KiB), %d connections, fleet still; load generator %s; %d runs of %s, median (spread); load average %s",
			*pageRows, len(sample)/1024, *conns, gen.name, pageRuns, *loadTime, loadWords),
			fmt.Sprintf("%s, p50 %s, p99 %s; %s a request (%s net of the idle process's %s); %s; %s, %s", spread(ours, "req/s"), spread(p50s, "ms"), spread(p99s, "ms"),
				spread(allocs, "allocations"), spread(netAllocs, "allocations"), spread(idles, "a second"), spread(kibs, "KiB allocated a request"), spread(gcs, "collections a second"), spread(pauses, "ms of stop-the-world pauses a collection")),
			fmt.Sprintf("bare net/http writing the same bytes (a process of its own), same runs: %s, p50 %s, p99 %s", spread(bare, "req/s"), spread(bareP50s, "ms"), spread(bareP99s, "ms")),
			fmt.Sprintf("**%s of the bare handler** (target ≥ 0.5); p99 %s beside the bare handler's %s (target < 10); %s a request for %d rows (target ≤ %d)",
				spread(ratios, "×"), spread(p99s, "ms"), spread(bareP99s, "ms"), spread(allocs, "allocations"), *pageRows, *pageRows)},
		nil
}

// idleWindow is how long the dashboard is watched idle before each run.
const idleWindow = 2 * time.Second

// mallocs reads the dashboard's go_memstats_mallocs_total from /metrics.
func mallocs(base string) (float64, error) {
	m, err := runtimeMetrics(base)
	return m.mallocs, err
}

// runtimeStats are the dashboard's Go runtime counters in /metrics.
type runtimeStats struct{ mallocs, bytes, gcs, pauses float64 }

func runtimeMetrics(base string) (runtimeStats, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return runtimeStats{}, err
	}
	defer resp.Body.Close()
	var m runtimeStats
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		for name, to := range map[string]*float64{"go_memstats_mallocs_total ": &m.mallocs, "go_memstats_alloc_bytes_total ": &m.bytes,
			"go_gc_duration_seconds_count ": &m.gcs, "go_gc_duration_seconds_sum ": &m.pauses} {
			if v, ok := strings.CutPrefix(sc.Text(), name); ok {
				if *to, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
					return m, err
				}
				found++
			}
		}
	}
	if found < 4 {
		return m, fmt.Errorf("no go_memstats_mallocs_total, go_memstats_alloc_bytes_total or go_gc_duration_seconds_{count,sum} in %s/metrics (HTTP %d)", base, resp.StatusCode)
	}
	return m, nil
}

// pageOnlyFigure starts a dashboard on a simulated fleet of 10,000 and
// gives the list page figure alone.
func pageOnlyFigure(bin, dir string) (row, error) {
	sim := ecssim.New(ecssim.Options{Instances: benchFleet, Zones: 4, Seed: 1, StartDelay: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simURL, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
	if err != nil {
		return row{}, err
	}
	dbPath := filepath.Join(dir, "page.db")
	if out, err := runBin(bin, "pw-for-bench\n", "user", "add", "--db", dbPath, "--role", "operator", "bench"); err != nil {
		return row{}, fmt.Errorf("user add: %v %s", err, out)
	}
	child, err := startDashboard(bin, dbPath, simURL, sim.Regions(), "--approval", "none", "--refresh-interval", "1h")
	if err != nil {
		return row{}, err
	}
	defer child.stop()
	if err := waitReady(child.base, 60*time.Second); err != nil {
		return row{}, err
	}
	client, _, err := login(child.base, "bench", "pw-for-bench")
	if err != nil {
		return row{}, err
	}
	sample, err := warmPages(client, child.base)
	if err != nil {
		return row{}, err
	}
	return pageFigure(child.base, client, sample)
}

// benchFleet is the simulated fleet's size in the page loads.
const benchFleet = 10000

// pageURL is the i-th page load's URL: base and pagePath(i).
func pageURL(base string, i int) string { return base + pagePath(i) }

// pagePath is the i-th page load's path: the pages of -rows rows in turn,
// the default page of 50 as a link without per_page asks for it. Both
// generators ask for these paths, in this order.
func pagePath(i int) string {
	page := 1 + i%pageCount()
	if *pageRows == 50 {
		return fmt.Sprintf("/instances?page=%d", page)
	}
	return fmt.Sprintf("/instances?per_page=%d&page=%d", *pageRows, page)
}

// pageCount is how many pages of -rows rows the fleet makes.
func pageCount() int { return benchFleet / *pageRows }

// warmPages loads every page of the list once, as on a server that has
// been up a while (each page's rows rendered and cached), and gives the
// third page's bytes, the bare reference's body. With -rows 100 the
// first load sets the per_page cookie in the client's jar, so the loads
// after it send it and are not answered with a Set-Cookie.
func warmPages(client *http.Client, base string) (string, error) {
	for i := range pageCount() {
		if _, err := fetch(client, pageURL(base, i)); err != nil {
			return "", err
		}
	}
	return fetch(client, pageURL(base, 2))
}
