package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs/ecssim"
)

var (
	growthOnly = flag.Bool("growth", false, "only the growth figures: audit logs of 10k, 100k and 1M events and fleets of 1k to 100k instances")
	logSizes   = flag.String("logs", "10000,100000,1000000", "with -growth: the audit log sizes, in events, comma-separated; empty for none")
	fleetSizes = flag.String("fleets", "1000,10000,50000,100000", "with -growth: the fleet sizes, comma-separated; empty for none")
)

// auditGets is how many times each run loads the audit page (and the
// filtered page), after auditWarm loads that are not counted: the runs in
// between export and verify the whole log, which leaves the page's index
// out of the file cache, and a first load after that is not a page view's
// cost.
const auditGets, auditWarm = 300, 20

// sizes parses a -logs or -fleets list.
func sizes(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1000 {
			return nil, fmt.Errorf("%q is not a size (a whole number, at least 1000)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// loadAverage is the machine's 1-minute load average, from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// The growth figures: each is the median of three runs, with the spread
// (lowest–highest) in brackets.
const growthRuns = 3

const benchPassword = "pw-for-bench\n"

// spread formats the median of xs and its range.
func spread(xs []float64, unit string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	f := func(v float64) string {
		switch {
		case v >= 100:
			return strconv.FormatFloat(v, 'f', 0, 64)
		case v >= 10:
			return strconv.FormatFloat(v, 'f', 1, 64)
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return fmt.Sprintf("%s %s (%s–%s)", f(s[len(s)/2]), unit, f(s[0]), f(s[len(s)-1]))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// buildLog writes n events to the SQLite log at path through the audit
// package's batch append (the single append's sealing and checks, many
// entries a commit): rounds of 2,000 start intents and 1,000 sign-ins,
// then the 2,000 outcomes.
func buildLog(path string, n int) error {
	ctx := context.Background()
	d, err := db.Open(ctx, path)
	if err != nil {
		return err
	}
	defer d.Close()
	log := audit.New(d.Write, d.Read, nil)
	for round := 0; round*5000 < n; round++ {
		batch := make([]audit.Event, 0, 3000)
		for j := range 2000 {
			batch = append(batch, audit.Event{Action: audit.ActionStartInstance, User: fmt.Sprintf("op%d", j%7), InstanceID: fmt.Sprintf("i-%08d", (round*2000+j)%5000),
				Region: "cn-hangzhou", InstanceName: "bench", State: audit.StateSent, SourceIP: "10.0.0.1"})
			if j%2 == 0 {
				batch = append(batch, audit.Event{Action: audit.ActionLogin, User: fmt.Sprintf("guess%d", j), State: audit.StateFailed, SourceIP: "10.0.0.2"})
			}
		}
		sealed, err := log.AppendBatch(ctx, batch)
		if err != nil {
			return err
		}
		var outcomes []audit.Event
		for _, e := range sealed {
			if e.Action == audit.ActionStartInstance {
				e.State, e.RequestID = audit.StateSucceeded, "req-"+strconv.FormatInt(e.Seq, 10)
				outcomes = append(outcomes, e)
			}
		}
		if _, err := log.AppendBatch(ctx, outcomes); err != nil {
			return err
		}
	}
	return nil
}

// bareScan reads every audit row's columns through database/sql: the floor
// under an export or a verify of the same log.
func bareScan(path string) (time.Duration, error) {
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	began := time.Now()
	rows, err := c.Query("SELECT * FROM audit_events ORDER BY seq")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
	}
	return time.Since(began), rows.Err()
}

// timedGets fetches each URL in order and returns the p50 and p99.
func timedGets(c *http.Client, urls []string) (p50, p99 time.Duration, err error) {
	p50, p99, _, err = timedGetsFor(c, urls, 0)
	return p50, p99, err
}

// timedGetsFor is timedGets that stops after budget (0: no bound) once
// five loads are in, and says how many it made.
func timedGetsFor(c *http.Client, urls []string, budget time.Duration) (p50, p99 time.Duration, n int, err error) {
	began := time.Now()
	var d []time.Duration
	for _, u := range urls {
		if budget > 0 && len(d) >= 5 && time.Since(began) > budget {
			break
		}
		t := time.Now()
		if _, err := fetch(c, u); err != nil {
			return 0, 0, 0, err
		}
		d = append(d, time.Since(t))
	}
	return pct(d, 50), pct(d, 99), len(d), nil
}

func auditGrowth(bin, dir string, sizes []int) ([]row, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := ecssim.New(ecssim.Options{Instances: 1000, Seed: 1})
	simURL, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var rows []row
	var firstP99 float64
	for _, n := range sizes {
		// A directory a size: the audit key is made beside the database,
		// and a log built with another size's key would verify as tampered.
		sub := filepath.Join(dir, fmt.Sprintf("audit-%d", n))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return nil, err
		}
		path := filepath.Join(sub, "audit.db")
		if out, err := runBin(bin, benchPassword, "user", "add", "--db", path, "--role", "admin", "bench"); err != nil {
			return nil, fmt.Errorf("user add: %v %s", err, out)
		}
		fmt.Fprintf(os.Stderr, "audit log of %d events: building …\n", n)
		began := time.Now()
		if err := buildLog(path, n); err != nil {
			return nil, err
		}
		built := time.Since(began)
		child, err := startDashboard(bin, path, simURL, sim.Regions(), "--approval", "none", "--refresh-interval", "1h")
		if err != nil {
			return nil, err
		}
		if err := waitReady(child.base, 120*time.Second); err != nil {
			child.stop()
			return nil, err
		}
		c, _, err := login(child.base, "bench", "pw-for-bench")
		if err != nil {
			child.stop()
			return nil, err
		}
		c.Timeout = 10 * time.Minute
		var p50, p99, f50, f99, t50, t99, exp, ver, scan []float64
		var loads []string
		for run := range growthRuns {
			var pages, filtered, typed []string
			for i := range auditWarm + auditGets {
				pages = append(pages, child.base+"/audit")
				filtered = append(filtered, fmt.Sprintf("%s/audit?instance_id=i-%08d", child.base, (run*1000+i)%5000))
				// Part of an id, as an operator types it: "01234" is in
				// i-00001234 alone.
				typed = append(typed, fmt.Sprintf("%s/audit?instance=%05d", child.base, (run*1000+i+500)%5000))
			}
			if _, _, err := timedGets(c, append(pages[:auditWarm:auditWarm], filtered[:3]...)); err != nil {
				child.stop()
				return nil, err
			}
			loads = append(loads, loadAverage())
			a, b, err := timedGets(c, pages[auditWarm:])
			if err != nil {
				child.stop()
				return nil, err
			}
			p50, p99 = append(p50, ms(a)), append(p99, ms(b))
			fmt.Fprintf(os.Stderr, "audit log of %d events, run %d of %d (load average %s): GET /audit p50 %.1f ms, p99 %.1f ms over %d loads\n",
				n, run+1, growthRuns, loads[run], ms(a), ms(b), auditGets)
			// One instance's history, as the list's History link asks: at most
			// a minute of its loads a run.
			a, b, nf, err := timedGetsFor(c, filtered[auditWarm:], time.Minute)
			if err != nil {
				child.stop()
				return nil, err
			}
			f50, f99 = append(f50, ms(a)), append(f99, ms(b))
			fmt.Fprintf(os.Stderr, "  GET /audit?instance_id=… (the History link) p50 %.1f ms, p99 %.1f ms over %d loads\n", ms(a), ms(b), nf)
			// The typed filter, part of an id: at most a minute of its loads
			// a run too.
			a, b, nf, err = timedGetsFor(c, typed[auditWarm:], time.Minute)
			if err != nil {
				child.stop()
				return nil, err
			}
			t50, t99 = append(t50, ms(a)), append(t99, ms(b))
			fmt.Fprintf(os.Stderr, "  GET /audit?instance=… (typed, part of an id) p50 %.1f ms, p99 %.1f ms over %d loads\n", ms(a), ms(b), nf)
			t := time.Now()
			resp, err := c.Get(child.base + "/audit/export?format=csv")
			if err != nil {
				child.stop()
				return nil, err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			exp = append(exp, float64(n)/time.Since(t).Seconds()/1000)
			t = time.Now()
			if out, err := exec.Command(bin, "audit", "verify", "--db", path).CombinedOutput(); err != nil {
				child.stop()
				return nil, fmt.Errorf("audit verify: %v %s", err, out)
			}
			ver = append(ver, time.Since(t).Seconds())
			s, err := bareScan(path)
			if err != nil {
				child.stop()
				return nil, err
			}
			scan = append(scan, s.Seconds())
		}
		child.stop()
		if firstP99 == 0 {
			firstP99 = median(p99)
		}
		label := fmt.Sprintf("%dk", n/1000)
		if n >= 1_000_000 {
			label = fmt.Sprintf("%dM", n/1_000_000)
		}
		rows = append(rows,
			row{fmt.Sprintf("audit log of %s events (built in %.1f s through AppendBatch; load average %s): GET /audit, default view, p50 / p99 of %d loads, %d runs",
				label, built.Seconds(), strings.Join(loads, ", "), auditGets, growthRuns),
				spread(p50, "ms") + " / " + spread(p99, "ms"), fmt.Sprintf("p99 at %dk events, same run: %.1f ms", sizes[0]/1000, firstP99),
				fmt.Sprintf("%.2f× (target ≤ 2×, p99 < 50 ms)", median(p99)/firstP99)},
			row{fmt.Sprintf("%s: GET /audit?instance_id=… (the History link), p50 / p99", label), spread(f50, "ms") + " / " + spread(f99, "ms"), "", ""},
			row{fmt.Sprintf("%s: GET /audit?instance=… (typed, part of an id), p50 / p99", label), spread(t50, "ms") + " / " + spread(t99, "ms"), "the History link (above)", ""},
			row{fmt.Sprintf("%s: GET /audit/export?format=csv", label), spread(exp, "k events/s"),
				"bare scan of every row: " + spread(scan, "s"), ""},
			row{fmt.Sprintf("%s: web audit verify", label), spread(ver, "s"), "bare scan (above)", fmt.Sprintf("%.1f× the scan", median(ver)/median(scan))})
	}
	return rows, nil
}

func fleetGrowth(bin, dir string, sizes []int) ([]row, error) {
	var rows []row
	var refSearch, refRSS float64
	for _, n := range sizes {
		ctx, cancel := context.WithCancel(context.Background())
		sim := ecssim.New(ecssim.Options{Instances: n, Zones: 4, Seed: 1})
		simURL, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
		if err != nil {
			cancel()
			return nil, err
		}
		var first, s50, s99, rss []float64
		for run := range growthRuns {
			fmt.Fprintf(os.Stderr, "fleet of %d: run %d …\n", n, run+1)
			path := filepath.Join(dir, fmt.Sprintf("fleet-%d-%d.db", n, run))
			if out, err := runBin(bin, benchPassword, "user", "add", "--db", path, "--role", "operator", "bench"); err != nil {
				cancel()
				return nil, fmt.Errorf("user add: %v %s", err, out)
			}
			began := time.Now()
			child, err := startDashboard(bin, path, simURL, sim.Regions(), "--approval", "none", "--refresh-interval", "1h")
			if err != nil {
				cancel()
				return nil, err
			}
			if err := waitReady(child.base, 300*time.Second); err != nil {
				child.stop()
				cancel()
				return nil, err
			}
			first = append(first, ms(time.Since(began)))
			c, _, err := login(child.base, "bench", "pw-for-bench")
			if err != nil {
				child.stop()
				cancel()
				return nil, err
			}
			var urls []string
			for i := range 200 { // every query new: found and rendered, not cached
				urls = append(urls, child.base+"/instances?q="+strconv.Itoa(run*1000+i))
			}
			a, b, err := timedGets(c, urls)
			if err != nil {
				child.stop()
				cancel()
				return nil, err
			}
			s50, s99 = append(s50, ms(a)), append(s99, ms(b))
			rss = append(rss, float64(child.peakRSS())/(1<<20))
			child.stop()
		}
		cancel()
		if n == 10000 {
			refSearch, refRSS = median(s50), median(rss)
		}
		res := ""
		if n > 10000 && refSearch > 0 {
			res = fmt.Sprintf("search p50 ×%.1f and RSS ×%.1f of 10k's for ×%d the fleet", median(s50)/refSearch, median(rss)/refRSS, n/10000)
		}
		rows = append(rows,
			row{fmt.Sprintf("fleet of %dk: first listing (exec to listed), uncached search p50 / p99, peak RSS", n/1000),
				spread(first, "ms") + "; search " + spread(s50, "ms") + " / " + spread(s99, "ms") + "; RSS " + spread(rss, "MiB"),
				"fleet of 10k, same run", res})
	}
	return rows, nil
}

// growthFigures runs both.
func growthFigures(bin, dir string) ([]row, error) {
	logs, err := sizes(*logSizes)
	if err != nil {
		return nil, fmt.Errorf("-logs: %w", err)
	}
	fleets, err := sizes(*fleetSizes)
	if err != nil {
		return nil, fmt.Errorf("-fleets: %w", err)
	}
	if *quick {
		logs, fleets = []int{10_000, 100_000}, []int{1000, 10_000}
	}
	a, err := auditGrowth(bin, dir, logs)
	if err != nil {
		return nil, err
	}
	f, err := fleetGrowth(bin, dir, fleets)
	return append(a, f...), err
}
