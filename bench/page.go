package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
// reports the median and spread of the ratio, the dashboard's p99 and its
// allocations per request (the Go runtime's malloc count in /metrics,
// before and after each run, over the requests served).
func pageFigure(base string, client *http.Client, sample string) (row, error) {
	var ratios, p99s, allocs, ours, bare []float64
	cookies := client.Jar.Cookies(mustURL(base))
	page := func(c *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/instances?per_page=100&page=%d", base, 1+i%100), nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		return do(c, req)
	}
	for run := 1; run <= pageRuns; run++ {
		fmt.Fprintf(os.Stderr, "list page, run %d of %d …\n", run, pageRuns)
		m0, err := mallocs(base)
		if err != nil {
			return row{}, err
		}
		r := load(*conns, *loadTime, 200000, page)
		m1, err := mallocs(base)
		if err != nil {
			return row{}, err
		}
		ceiling, err := ceilingLoad(sample)
		if err != nil {
			return row{}, err
		}
		if r.n == 0 || ceiling.rps == 0 || r.errs > 0 {
			return row{}, fmt.Errorf("list page run %d: %s; bare %s", run, r, ceiling)
		}
		ratios = append(ratios, r.rps/ceiling.rps)
		p99s = append(p99s, ms(r.p99))
		allocs = append(allocs, (m1-m0)/float64(r.n))
		ours = append(ours, r.rps)
		bare = append(bare, ceiling.rps)
		fmt.Fprintf(os.Stderr, "  dashboard %s\n  bare      %s\n  ratio %.2f, %.0f allocations a request\n", r, ceiling, r.rps/ceiling.rps, (m1-m0)/float64(r.n))
	}
	return row{fmt.Sprintf("GET /instances, 100 rows (%d KiB), %d connections, fleet still; %d runs, median (spread)", len(sample)/1024, *conns, pageRuns),
			fmt.Sprintf("%s, p99 %s, %s a request", spread(ours, "req/s"), spread(p99s, "ms"), spread(allocs, "allocations")),
			"bare net/http writing the same bytes, same runs: " + spread(bare, "req/s"),
			fmt.Sprintf("**%s of the bare handler** (target ≥ 0.5); p99 %s (target < 10); %s a request for 100 rows (target ≤ 100)",
				spread(ratios, "×"), spread(p99s, "ms"), spread(allocs, "allocations"))},
		nil
}

// mallocs reads the dashboard's go_memstats_mallocs_total from /metrics.
func mallocs(base string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_mallocs_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no go_memstats_mallocs_total in %s/metrics (HTTP %d)", base, resp.StatusCode)
}

// pageOnlyFigure starts a dashboard on a simulated fleet of 10,000 and
// gives the list page figure alone.
func pageOnlyFigure(bin, dir string) (row, error) {
	sim := ecssim.New(ecssim.Options{Instances: 10000, Zones: 4, Seed: 1, StartDelay: 5 * time.Second})
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
	sample, err := fetch(client, child.base+"/instances?per_page=100&page=3")
	if err != nil {
		return row{}, err
	}
	for p := 1; p <= 100; p++ { // every page's rows rendered once, as on a server up a while
		if _, err := fetch(client, fmt.Sprintf("%s/instances?per_page=100&page=%d", child.base, p)); err != nil {
			return row{}, err
		}
	}
	return pageFigure(child.base, client, sample)
}
