// Command bench measures the dashboard on this machine and prints a table:
// the list page against a bare net/http ceiling, the cold list against its
// ideal, a start end to end against the bare SDK call, audit throughput
// against a bare INSERT loop, and peak memory. Everything runs on loopback
// and every loop is bounded in count and time.
//
//	go run ./bench            # several minutes, the growth figures included
//	go run ./bench -quick     # smaller counts
//	go run ./bench -page      # only the list page against the bare handler, three runs
//	go run ./bench -page -generator wrk   # the same, loaded by wrk (a lighter generator) instead of the bench's own
//	go run ./bench -growth    # only the growth figures (logs to 1M events, fleets to 100k)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

var (
	quick      = flag.Bool("quick", false, "small counts and short runs")
	loadTime   = flag.Duration("load", 10*time.Second, "how long each page-load run lasts")
	conns      = flag.Int("conns", 32, "concurrent connections for the page load")
	onlyStarts = flag.Bool("starts", false, "measure only a start's overhead (the page's and the API's) against the bare SDK call")
	pgDSN      = flag.String("db", "", "a postgres:// DSN of a scratch database: measure only the audit appends of replicas on it")
	pageRows   = flag.Int("rows", 50, "the list page's rows in the page loads: 50 (the list's default page, as issue 32 measured it) or 100")
	// serveBytes makes this binary the bare reference's process (ceilingLoad).
	bareHere   = flag.Bool("bare-here", false, "run the bare reference in the bench's own process (as before 2026-12-02), beside the load generator, not in a process of its own")
	serveBytes = flag.String("serve-bytes", "", "internal: serve this file's bytes from a bare net/http handler on 127.0.0.1, print the address, serve until killed")
)

type row struct{ what, ours, reference, result string }

func main() {
	flag.Parse()
	if *serveBytes != "" {
		if err := serveBare(*serveBytes); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *pageRows != 50 && *pageRows != 100 {
		fmt.Fprintln(os.Stderr, "bench: -rows is 50 or 100, the list's page sizes")
		os.Exit(2)
	}
	if _, err := pageGenerator(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *quick {
		*loadTime = 2 * time.Second
	}
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	if *pgDSN != "" {
		if !db.IsPostgresDSN(*pgDSN) {
			return fmt.Errorf("--db wants a postgres:// DSN of a scratch database")
		}
		n := 2000
		if *quick {
			n = 300
		}
		fmt.Fprintln(os.Stderr, "PostgreSQL audit appends …")
		rows, err := postgresAppends(*pgDSN, n)
		if err != nil {
			return err
		}
		return printRows(rows)
	}
	dir, err := os.MkdirTemp("", "ecsdash-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "web")
	fmt.Fprintln(os.Stderr, "building ./cmd/web …")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/web").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	if *pageOnly {
		r, err := pageOnlyFigure(bin, dir)
		if err != nil {
			return err
		}
		return printRows([]row{r})
	}
	if *growthOnly {
		g, err := growthFigures(bin, dir)
		if err != nil {
			return err
		}
		return printRows(g)
	}
	var rows []row
	if *onlyStarts {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rows, err := startFigures(ctx, bin, dir)
		if err != nil {
			return err
		}
		return printRows(rows)
	}

	// The simulator runs here; the dashboard in its own process, so that
	// its memory and CPU are its own. Every call takes as long as a real
	// DescribeInstances page of 100; a start takes 5 s to reach Running.
	const fleetSize, zones, callLatency = benchFleet, 4, 200 * time.Millisecond
	sim := ecssim.New(ecssim.Options{Instances: fleetSize, Zones: zones, Latency: callLatency, Seed: 1, StartDelay: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simURL, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
	if err != nil {
		return err
	}
	dbPath := filepath.Join(dir, "dash.db")
	if out, err := runBin(bin, "pw-for-bench\n", "user", "add", "--db", dbPath, "--role", "operator", "bench"); err != nil {
		return fmt.Errorf("user add: %v %s", err, out)
	}

	// Cold list: process start to a full cache (readyz 200).
	fmt.Fprintln(os.Stderr, "cold list …")
	simCalls := func() (int64, int64) { return sim.Calls("DescribeInstances"), sim.Calls("DescribeZones") }
	di0, dz0 := simCalls()
	began := time.Now()
	// Refreshes only when asked, so that the load runs below compare like with like.
	child, err := startDashboard(bin, dbPath, simURL, sim.Regions(), "--log-level", "info", "--approval", "none", "--refresh-interval", "1h")
	if err != nil {
		return err
	}
	defer child.stop()
	if err := waitReady(child.base, 60*time.Second); err != nil {
		return err
	}
	cold := time.Since(began)
	refresh := child.firstRefresh(5 * time.Second)
	di1, dz1 := simCalls()
	regionPages := (fleetSize/len(sim.Regions()) + 1 + 99) / 100
	ideal := time.Duration(regionPages) * callLatency
	seq, seqPages, err := sequentialListing(simURL, sim.Regions()[0])
	if err != nil {
		return err
	}
	rows = append(rows, row{fmt.Sprintf("cold list: the first refresh, %d instances in %d regions × %d zones, %d ms per call", fleetSize, len(sim.Regions()), zones, callLatency.Milliseconds()),
		fmt.Sprintf("%d ms, %d calls (%d DescribeInstances, %d DescribeZones)", refresh.Milliseconds(), di1-di0+dz1-dz0, di1-di0, dz1-dz0),
		fmt.Sprintf("sequential paging of one region: ideal %d ms (%d pages × %d ms); measured, bare SDK: %d ms (%d pages)",
			ideal.Milliseconds(), regionPages, callLatency.Milliseconds(), seq.Milliseconds(), seqPages),
		fmt.Sprintf("%.2f× the ideal (target ≤ 0.5×), %.2f× the measured", float64(refresh)/float64(ideal), float64(refresh)/float64(seq))})
	rows = append(rows, row{"cold start: exec to /readyz 200 (process start, migrations, first refresh)",
		fmt.Sprintf("%d ms", cold.Milliseconds()), "", ""})

	// The list page under load while instances move, against a bare handler
	// writing the same bytes; then the same load while refreshes run.
	fmt.Fprintln(os.Stderr, "list page load …")
	client, csrf, err := login(child.base, "bench", "pw-for-bench")
	if err != nil {
		return err
	}
	sample, err := warmPages(client, child.base)
	if err != nil {
		return err
	}
	stopped, err := stoppedIDs(client, child.base, 400)
	if err != nil {
		return err
	}
	page := func(c *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodGet, pageURL(child.base, i), nil)
		for _, ck := range client.Jar.Cookies(mustURL(child.base)) {
			req.AddCookie(ck)
		}
		return do(c, req)
	}
	still, err := pageFigure(child.base, client, sample)
	if err != nil {
		return err
	}
	rows = append(rows, still)
	mv := startMover(client, child.base, csrf, sim, stopped, 250*time.Millisecond)
	time.Sleep(5 * time.Second) // until starts and settles balance
	mv.reset()
	moving := load(*conns, *loadTime, 200000, page)
	movingSeen := mv.report()
	fmt.Fprintln(os.Stderr, "list page load while refreshing …")
	stopRefresh := refresher(client, child.base, csrf)
	mv.reset()
	refreshing := load(*conns, *loadTime, 200000, page)
	refreshes := stopRefresh()
	refreshSeen := mv.report()
	if err := mv.stop(); err != nil {
		return err
	}
	peak := child.peakRSS()
	// The moving and refreshing rows are the Go generator's (page and
	// bare alike), whatever -generator says: it names the still page's.
	ceiling, err := ceilingLoad(sample, generator{"the bench's Go generator (net/http)", goLoad}, 0)
	if err != nil {
		return err
	}
	rows = append(rows, row{fmt.Sprintf("GET /instances, %d rows (%d KiB), %d connections, instances moving (%s)", *pageRows, len(sample)/1024, *conns, movingSeen),
		moving.String(), "bare net/http, same bytes: " + ceiling.String(),
		fmt.Sprintf("%.0f%% of ceiling (target ≥ 30%%); p99 %.1f ms (target < 20)", 100*moving.rps/ceiling.rps, ms(moving.p99))})
	rows = append(rows, row{fmt.Sprintf("the same load while refreshes run back to back (%s; %s)", refreshes, refreshSeen),
		refreshing.String(), "the run above",
		fmt.Sprintf("p99 moved %+.1f ms (target < 5)", ms(refreshing.p99-moving.p99))})
	rows = append(rows, row{fmt.Sprintf("peak RSS of the dashboard: %d instances cached, after the page loads", fleetSize), fmt.Sprintf("%.1f MiB", float64(peak)/(1<<20)), "", "target < 100 MiB"})

	// Start overhead: end to end through the dashboard (page and API) vs
	// the bare SDK call.
	fmt.Fprintln(os.Stderr, "start overhead …")
	if sr, err := startFigures(ctx, bin, dir); err != nil {
		return err
	} else {
		rows = append(rows, sr...)
	}

	// Batch start: 100 stopped instances of one region in one POST, at 20 ms
	// per ECS call, against the bare SDK calls it makes (one DescribeInstances
	// of the 100 ids, one StartInstances).
	fmt.Fprintln(os.Stderr, "batch start …")
	if row, err := batchFigure(bin, dir, ctx); err != nil {
		return err
	} else {
		rows = append(rows, row)
	}

	// Audit throughput against a bare INSERT loop with the same pragmas.
	fmt.Fprintln(os.Stderr, "audit throughput …")
	events := 3000
	if *quick {
		events = 500
	}
	ar, br, err := auditThroughput(dir, events)
	if err != nil {
		return err
	}
	rows = append(rows, row{fmt.Sprintf("durable audit events (synchronous=FULL, WAL), %d sequential", events),
		fmt.Sprintf("%.0f events/s", ar), fmt.Sprintf("bare single-row INSERT, same pragmas and disk: %.0f rows/s", br),
		fmt.Sprintf("%.0f%% (target ≥ 70%%)", 100*ar/br)})

	// Growth: the audit page at a million events, fleets to 100,000.
	g, err := growthFigures(bin, dir)
	if err != nil {
		return err
	}
	return printRows(append(rows, g...))
}

func printRows(rows []row) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "| measure\t| dashboard\t| reference\t| result\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|")
	for _, r := range rows {
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t|\n", r.what, r.ours, r.reference, r.result)
	}
	return tw.Flush()
}

// batchFigure times a batch start of 100 instances through the dashboard
// against the bare SDK calls it makes, and checks the audit log holds an
// intent and an outcome for each.
func batchFigure(bin, dir string, ctx context.Context) (row, error) {
	const size = 100
	sim := ecssim.New(ecssim.Options{Instances: 3000, Latency: 20 * time.Millisecond, Seed: 3, StartDelay: time.Hour})
	simURL, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
	if err != nil {
		return row{}, err
	}
	dbPath := filepath.Join(dir, "batch.db")
	if out, err := runBin(bin, "pw-for-bench\n", "user", "add", "--db", dbPath, "--role", "operator", "bench"); err != nil {
		return row{}, fmt.Errorf("user add: %v %s", err, out)
	}
	child, err := startDashboard(bin, dbPath, simURL, sim.Regions(), "--approval", "none", "--start-rate", "0")
	if err != nil {
		return row{}, err
	}
	defer child.stop()
	if err := waitReady(child.base, 60*time.Second); err != nil {
		return row{}, err
	}
	c, csrf, err := login(child.base, "bench", "pw-for-bench")
	if err != nil {
		return row{}, err
	}
	region := sim.Regions()[0]
	stopped, err := stoppedIn(c, child.base, region, 2*size)
	if err != nil {
		return row{}, err
	}
	var mine, bare []string
	for _, s := range stopped {
		id, r, _ := strings.Cut(s, " ")
		switch {
		case r != region:
		case len(mine) < size:
			mine = append(mine, r+"/"+id)
		case len(bare) < size:
			bare = append(bare, id)
		}
	}
	if len(mine) < size || len(bare) < size {
		return row{}, fmt.Errorf("only %d+%d stopped instances in %s", len(mine), len(bare), region)
	}
	form := url.Values{"_csrf": {csrf}, "instance": mine}
	t0 := time.Now()
	resp, err := c.PostForm(child.base+"/instances/start", form)
	if err != nil {
		return row{}, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ours := time.Since(t0)
	started := strings.Count(string(page), `data-outcome="started"`)
	if resp.StatusCode != 200 || started != size {
		return row{}, fmt.Errorf("batch: HTTP %d, %d started", resp.StatusCode, started)
	}

	sdk, err := bareSDK(simURL, region)
	if err != nil {
		return row{}, err
	}
	ids, _ := json.Marshal(bare)
	req := &ecsapi.StartInstancesRequest{RegionId: dara.String(region), BatchOptimization: dara.String("SuccessFirst")}
	for _, id := range bare {
		req.InstanceId = append(req.InstanceId, dara.String(id))
	}
	t0 = time.Now()
	if _, err := sdk.DescribeInstancesWithContext(ctx, &ecsapi.DescribeInstancesRequest{RegionId: dara.String(region),
		InstanceIds: dara.String(string(ids)), MaxResults: dara.Int32(100)}, &dara.RuntimeOptions{}); err != nil {
		return row{}, err
	}
	if _, err := sdk.StartInstancesWithContext(ctx, req, &dara.RuntimeOptions{}); err != nil {
		return row{}, err
	}
	ref := time.Since(t0)

	child.stop()
	out, err := runBin(bin, "", "audit", "export", "--db", dbPath, "--format", "json")
	if err != nil {
		return row{}, fmt.Errorf("export: %v", err)
	}
	var events []map[string]any
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		return row{}, err
	}
	intents, outcomes := 0, 0
	for _, e := range events {
		if e["batch_id"] == "" || e["batch_id"] == nil {
			continue
		}
		switch e["state"] {
		case "sent":
			intents++
		case "succeeded":
			outcomes++
		}
	}
	complete := "complete"
	if intents != size || outcomes != size {
		complete = fmt.Sprintf("INCOMPLETE: %d intents, %d outcomes", intents, outcomes)
	}
	return row{fmt.Sprintf("POST /instances/start, %d stopped instances of one region, 20 ms per ECS call", size),
		fmt.Sprintf("%d ms to the results page, %d started", ours.Milliseconds(), started),
		fmt.Sprintf("bare SDK: DescribeInstances of the %d ids + StartInstances: %d ms", size, ref.Milliseconds()),
		fmt.Sprintf("%.1f× the bare calls; audit %s (%d intents, %d outcomes)", float64(ours)/float64(ref), complete, intents, outcomes)}, nil
}

// sequentialListing pages one region with NextToken through the bare SDK,
// one page after another: what a listing costs without partitions.
func sequentialListing(endpoint, region string) (time.Duration, int, error) {
	sdk, err := bareSDK(endpoint, region)
	if err != nil {
		return 0, 0, err
	}
	req := &ecsapi.DescribeInstancesRequest{RegionId: dara.String(region), MaxResults: dara.Int32(100)}
	began := time.Now()
	for pages := 1; pages <= 1000; pages++ {
		resp, err := sdk.DescribeInstancesWithContext(context.Background(), req, &dara.RuntimeOptions{})
		if err != nil {
			return 0, 0, err
		}
		if dara.StringValue(resp.Body.NextToken) == "" {
			return time.Since(began), pages, nil
		}
		req.NextToken = resp.Body.NextToken
	}
	return 0, 0, errors.New("the listing did not end")
}

// mover starts one stopped instance through the dashboard every interval,
// so that some are always moving (Starting until the simulator's start
// delay passes) and the dashboard's tracker keeps updating the snapshot.
type mover struct {
	stopC   chan struct{}
	done    chan error
	sim     *ecssim.Server
	mu      sync.Mutex
	started []string
	samples []int
}

func startMover(c *http.Client, base, csrf string, sim *ecssim.Server, stopped []string, every time.Duration) *mover {
	m := &mover{stopC: make(chan struct{}), done: make(chan error, 1), sim: sim}
	nc := &http.Client{Jar: c.Jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var wg sync.WaitGroup
		errs := make(chan error, len(stopped))
		defer func() { wg.Wait() }()
		for i := 0; ; i++ {
			select {
			case <-m.stopC:
				wg.Wait()
				select {
				case err := <-errs:
					m.done <- err
				default:
					m.done <- nil
				}
				return
			case <-t.C:
			}
			if i >= len(stopped) {
				m.done <- errors.New("the mover ran out of stopped instances")
				return
			}
			if i%2 == 0 { // every other tick: how many are Starting at ECS
				m.mu.Lock()
				n := 0
				for _, s := range m.started {
					if sim.Status(s) == "Starting" {
						n++
					}
				}
				m.samples = append(m.samples, n)
				m.mu.Unlock()
			}
			// Each start on its own: a start waits on ECS twice (the fresh
			// check and the call), longer than the interval.
			id, region, _ := strings.Cut(stopped[i], " ")
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := nc.PostForm(base+"/instances/"+id+"/start", url.Values{"region": {region}, "_csrf": {csrf}})
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					errs <- fmt.Errorf("start %s: %d", id, resp.StatusCode)
					return
				}
				m.mu.Lock()
				m.started = append(m.started, id)
				m.mu.Unlock()
			}()
		}
	}()
	return m
}

func (m *mover) reset() { m.mu.Lock(); m.samples = nil; m.mu.Unlock() }

// report says how many instances were moving during the run (median of the samples).
func (m *mover) report() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == 0 {
		return "none sampled"
	}
	s := slices.Sorted(slices.Values(m.samples))
	return fmt.Sprintf("%d moving (median; %d–%d), %d started in all", s[len(s)/2], s[0], s[len(s)-1], len(m.started))
}

func (m *mover) stop() error { close(m.stopC); return <-m.done }

// refresher asks the dashboard to refresh, one refresh after another, until
// stopped; it then reports how many ran and how long they took.
func refresher(c *http.Client, base, csrf string) func() string {
	stop := make(chan struct{})
	out := make(chan string, 1)
	nc := &http.Client{Jar: c.Jar, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	go func() {
		var took []time.Duration
		for {
			select {
			case <-stop:
				if len(took) == 0 {
					out <- "no refresh finished"
					return
				}
				out <- fmt.Sprintf("%d refreshes of %.1f s median", len(took), pct(took, 50).Seconds())
				return
			default:
			}
			t0 := time.Now()
			resp, err := nc.PostForm(base+"/instances/refresh", url.Values{"_csrf": {csrf}})
			if err != nil {
				out <- "refresh failed: " + err.Error()
				return
			}
			resp.Body.Close()
			took = append(took, time.Since(t0))
		}
	}()
	return func() string { close(stop); return <-out }
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func runBin(bin, stdin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type dashboard struct {
	cmd      *exec.Cmd
	base     string
	refreshC chan time.Duration
}

// firstRefresh is the duration of the first fleet refresh, from the log.
func (d *dashboard) firstRefresh(wait time.Duration) time.Duration {
	select {
	case r := <-d.refreshC:
		return r
	case <-time.After(wait):
		return -1
	}
}

func startDashboard(bin, dbPath, endpoint string, regions []string, extra ...string) (*dashboard, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"serve", "--addr", addr, "--db", dbPath, "--ecs-endpoint", endpoint, "--regions", strings.Join(regions, ","),
		"--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+ecssim.DemoAccessKeySecret)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &dashboard{cmd: cmd, base: "http://" + addr, refreshC: make(chan time.Duration, 1)}
	go func() {
		re := regexp.MustCompile(`"msg":"fleet refreshed".*"duration_ms":(\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				var n int64
				fmt.Sscan(m[1], &n)
				select {
				case d.refreshC <- time.Duration(n) * time.Millisecond:
				default:
				}
			} else if strings.Contains(sc.Text(), `"level":"ERROR"`) && !strings.Contains(sc.Text(), `"path":"/readyz"`) {
				fmt.Fprintln(os.Stderr, sc.Text())
			}
		}
	}()
	return d, nil
}

func (d *dashboard) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

// peakRSS reads the process's high-water mark of resident memory.
func (d *dashboard) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	var kb int64
	fmt.Sscan(string(m[1]), &kb)
	return kb * 1024
}

func waitReady(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && listed(base) { // readyz does not wait for ECS
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return errors.New("the dashboard never became ready")
}

// listed says whether the dashboard's first fleet listing is in (the cache
// has an age in /metrics).
func listed(base string) bool {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == 200 && !bytes.Contains(b, []byte("ecsdash_fleet_cache_age_seconds -1"))
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func login(base, user, pw string) (*http.Client, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page, err := fetch(c, base+"/login")
	if err != nil {
		return nil, "", err
	}
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		return nil, "", errors.New("no CSRF token on the login page")
	}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {user}, "password": {pw}, "_csrf": {m[1]}})
	if err != nil {
		return nil, "", err
	}
	resp.Body.Close()
	page, err = fetch(c, base+"/instances")
	if err != nil {
		return nil, "", err
	}
	m = csrfRe.FindStringSubmatch(page)
	if m == nil {
		return nil, "", errors.New("login failed")
	}
	return c, m[1], nil
}

func fetch(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return string(b), err
}

func stoppedIDs(c *http.Client, base string, want int) ([]string, error) {
	return stoppedIn(c, base, "", want)
}

// stoppedIn lists stopped instances ("ID REGION") of region ("" for all).
func stoppedIn(c *http.Client, base, region string, want int) ([]string, error) {
	var out []string
	re := regexp.MustCompile(`data-instance-id="(i-[a-z0-9]+)" data-region="([a-z0-9-]+)" data-status="Stopped"`)
	for page := 1; len(out) < want && page < 100; page++ {
		body, err := fetch(c, fmt.Sprintf("%s/instances?status=Stopped&region=%s&per_page=100&page=%d", base, url.QueryEscape(region), page))
		if err != nil {
			return nil, err
		}
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1]+" "+m[2])
		}
	}
	if len(out) < want {
		return nil, fmt.Errorf("only %d stopped instances", len(out))
	}
	return out, nil
}

func do(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	discard(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// bodyBuffers are the load generator's read buffers, each as large as a
// page, so that a response is read in a system call or two rather than
// io.Discard's 8 KiB a call: the generator shares the cores with the
// servers it loads, and what it spends is taken from theirs.
var bodyBuffers = sync.Pool{New: func() any { return new([256 << 10]byte) }}

// discard reads r to its end.
func discard(r io.Reader) {
	buf := bodyBuffers.Get().(*[256 << 10]byte)
	defer bodyBuffers.Put(buf)
	for {
		if _, err := r.Read(buf[:]); err != nil {
			return
		}
	}
}

type result struct {
	n        int
	errs     int64
	rps      float64
	p50, p99 time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%.0f req/s, p50 %.2f ms, p99 %.2f ms (%d requests, %d errors)", r.rps, ms(r.p50), ms(r.p99), r.n, r.errs)
}

// load runs fn from conns workers until the time or the count runs out.
func load(conns int, dur time.Duration, maxReq int64, fn func(c *http.Client, i int) error) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, ReadBufferSize: 64 << 10}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var count, errs atomic.Int64
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(dur)
	began := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := count.Add(1)
				if i > maxReq {
					return
				}
				t0 := time.Now()
				if err := fn(c, int(i)); err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return result{n: len(all), errs: errs.Load(), rps: float64(len(all)) / elapsed.Seconds(), p50: pct(all, 50), p99: pct(all, 99)}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// ceilingLoad serves body from a bare net/http handler and loads it the
// same way. The handler runs in a process of its own, as the dashboard
// does: in the bench's process it would share the load generator's
// scheduler and never wait for the kernel to switch processes, which the
// dashboard does at every request.
func ceilingLoad(body string, gen generator, minBytes int) (result, error) {
	if *bareHere {
		return ceilingHere(body, gen, minBytes)
	}
	bare, err := startBare(body)
	if err != nil {
		return result{}, err
	}
	defer bare.stop()
	return gen.load(bare.base, nil, minBytes)
}

// ceilingHere is the bare reference in this process (-bare-here).
func ceilingHere(body string, gen generator, minBytes int) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: bareHandler([]byte(body))}
	go srv.Serve(ln)
	defer srv.Close()
	return gen.load("http://"+ln.Addr().String(), nil, minBytes)
}

// bareServer is the bare reference's process.
type bareServer struct {
	cmd  *exec.Cmd
	base string
	dir  string
}

// startBare runs this binary again with -serve-bytes and waits for the
// address it prints.
func startBare(body string) (*bareServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ecsdash-bare-")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "page.html")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(self, "-serve-bytes", file)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b := &bareServer{cmd: cmd, dir: dir}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- sc.Text()
		}
		close(addr)
		io.Copy(io.Discard, out)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			b.stop()
			return nil, errors.New("the bare handler's process printed no address")
		}
		b.base = "http://" + a
		return b, nil
	case <-time.After(10 * time.Second):
		b.stop()
		return nil, errors.New("the bare handler's process did not start in 10 s")
	}
}

func (b *bareServer) stop() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
	os.RemoveAll(b.dir)
}

// serveBare is the bare reference: a net/http handler that writes the
// file's bytes, as the dashboard's handler writes the page, and nothing
// else.
func serveBare(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, bareHandler(b))
}

// bareHandler writes b and nothing else, with its type and length as the
// dashboard sends its pages.
func bareHandler(b []byte) http.Handler {
	length := strconv.Itoa(len(b))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", length)
		w.Write(b)
	})
}

func bareSDK(endpoint, region string) (*ecsapi.Client, error) {
	cred, err := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	if err != nil {
		return nil, err
	}
	u := mustURL(endpoint)
	return ecsapi.NewClient(&openapi.Config{RegionId: dara.String(region), Credential: cred, Endpoint: dara.String(u.Host),
		Protocol: dara.String(u.Scheme), ReadTimeout: dara.Int(10000)})
}

// auditThroughput appends n events through the audit log, then inserts n
// rows with a bare loop into a table of the same width on the same disk
// with the same pragmas.
func auditThroughput(dir string, n int) (float64, float64, error) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "audit.db"))
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	log := audit.New(d.Write, d.Read, nil)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if _, err := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "bench", Region: "cn-hangzhou",
			InstanceID: "i-bp1g6zv0ce8oghu7k4m2", State: audit.StateSucceeded, RequestID: "C0003E8B-B930-4F59-ADC0-0E20ABCDEF12", HTTPStatus: 200}); err != nil {
			return 0, 0, err
		}
	}
	ours := float64(n) / time.Since(t0).Seconds()

	d2, err := db.Open(ctx, filepath.Join(dir, "bare.db"))
	if err != nil {
		return 0, 0, err
	}
	defer d2.Close()
	if _, err := d2.Write.Exec(`CREATE TABLE bare (seq INTEGER PRIMARY KEY, time TEXT, action TEXT, user TEXT, region TEXT,
		instance_id TEXT, state TEXT, request_id TEXT, http_status INTEGER, prev_hash TEXT, hash TEXT)`); err != nil {
		return 0, 0, err
	}
	t0 = time.Now()
	for i := 0; i < n; i++ {
		if _, err := d2.Write.Exec(`INSERT INTO bare (time, action, user, region, instance_id, state, request_id, http_status, prev_hash, hash)
			VALUES (?, 'StartInstance', 'bench', 'cn-hangzhou', 'i-bp1g6zv0ce8oghu7k4m2', 'succeeded', 'C0003E8B-B930-4F59-ADC0-0E20ABCDEF12', 200, ?, ?)`,
			time.Now().UTC().Format(audit.TimeFormat), audit.GenesisHash, audit.GenesisHash); err != nil {
			return 0, 0, err
		}
	}
	bare := float64(n) / time.Since(t0).Seconds()
	return ours, bare, nil
}
