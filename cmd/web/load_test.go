package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs/ecssim"
)

// minLoadRequests is how many requests TestLoadWithECSFaults sends however
// long they take: about one in eight is a start, so some always are.
const minLoadRequests = 400

var loadDuration = flag.Duration("load-duration", 5*time.Second, "how long TestLoadWithECSFaults runs (the full run: 60s)")

// TestLoadWithECSFaults runs page views and starts against a real server
// process while ECS answers 5% InternalError and 5% throttling, then checks:
// no internal-error page, every ECS failure explained in words with its
// RequestId, every RequestId ECS issued in the audit log, and an intact chain.
// Bounded by count and time: loopback only; at least minLoadRequests
// however busy the machine (so a slow run still sends starts), then until
// -load-duration (5s by default) has passed since the workers signed in, at
// most 3,000 requests a second of it.
func TestLoadWithECSFaults(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "d.db")
	for _, u := range []string{"op1", "op2", "op3", "op4"} {
		if _, err := runCmd(t, "password-123\n", "user", "add", "--db", dbPath, "--role", "operator", u); err != nil {
			t.Fatal(err)
		}
	}
	sim := ecssim.New(ecssim.Options{Seed: 7, Instances: 10000, StartDelay: time.Second,
		RandomFaults: map[string]float64{"InternalError": 0.05, "Throttling.User": 0.05}})
	simSrv := serveSim(t, sim)
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret}
	c := startChild(t, env, "--db", dbPath, "--ecs-endpoint", simSrv, "--regions", strings.Join(sim.Regions(), ","), "--approval", "none")
	base := "http://" + c.addr

	// The stopped instances, shared out between the workers.
	client, _ := login(t, base, "op1", "password-123")
	var stopped []string
	for page := 1; page <= 60; page++ {
		body := get(t, client, fmt.Sprintf("%s/instances?status=Stopped&per_page=100&page=%d", base, page))
		for _, m := range regexp.MustCompile(`data-instance-id="(i-[a-z0-9]+)" data-region="([a-z0-9-]+)"`).FindAllStringSubmatch(body, -1) {
			stopped = append(stopped, m[1]+" "+m[2])
		}
		if !strings.Contains(body, `rel="next"`) {
			break
		}
	}
	if len(stopped) < 1000 {
		t.Fatalf("only %d stopped instances listed", len(stopped))
	}

	var (
		requests, pages, startsOK, ecsErrors, internal atomic.Int64
		next                                           atomic.Int64
		mu                                             sync.Mutex
		problems                                       []string
	)
	type worker struct {
		cl   *http.Client
		csrf string
	}
	var workers []worker
	for _, user := range []string{"op1", "op2", "op3", "op4"} {
		cl, csrf := login(t, base, user, "password-123")
		cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		workers = append(workers, worker{cl, csrf})
	}
	// The clock starts once every worker is signed in.
	began := time.Now()
	deadline := began.Add(*loadDuration)
	maxRequests := int64(loadDuration.Seconds()*3000) + minLoadRequests
	more := func() bool {
		n := requests.Add(1)
		return n <= maxRequests && (n <= minLoadRequests || time.Now().Before(deadline))
	}
	var wg sync.WaitGroup
	for w, wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, csrf := wk.cl, wk.csrf
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for more() {
				var resp *http.Response
				var err error
				i := -1
				if rng.IntN(8) == 0 {
					i = int(next.Add(1)) - 1
				}
				if i >= 0 && i < len(stopped) {
					id, region, _ := strings.Cut(stopped[i], " ")
					resp, err = cl.PostForm(base+"/instances/"+id+"/start", url.Values{"region": {region}, "_csrf": {csrf}})
				} else {
					resp, err = cl.Get(fmt.Sprintf("%s/instances?page=%d", base, 1+rng.IntN(30)))
					pages.Add(1)
				}
				if err != nil {
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusSeeOther:
					startsOK.Add(1)
				case resp.StatusCode == 200:
				case strings.Contains(string(body), `data-testid="ecs-code"`) && strings.Contains(string(body), `data-testid="ecs-request-id"`):
					ecsErrors.Add(1) // ECS refused after our retries: explained, with its RequestId
				default:
					if resp.StatusCode >= 500 {
						internal.Add(1)
					}
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%d: %.200s", resp.StatusCode, body))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests in %s: %d page views, %d starts accepted, %d ECS errors explained, %d internal errors",
		pages.Load()+startsOK.Load()+ecsErrors.Load()+int64(len(problems)), time.Since(began).Round(time.Millisecond), pages.Load(), startsOK.Load(), ecsErrors.Load(), internal.Load())
	if len(problems) > 0 {
		t.Fatalf("%d unexpected answers, first: %s", len(problems), problems[0])
	}
	if startsOK.Load() == 0 {
		t.Fatal("no start was accepted")
	}

	// Stop the server cleanly, then read its log.
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if out, err := runCmd(t, "", "audit", "verify", "--db", dbPath); err != nil || !strings.Contains(out, "intact") || !strings.Contains(out, "keyed chain") {
		t.Fatalf("audit verify: %v: %s", err, out)
	}
	var buf strings.Builder
	if err := audit.New(d.Write, d.Read, nil).Export(context.Background(), &buf, "json", audit.Filter{}); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &events); err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	for _, e := range events {
		logged[e["request_id"].(string)] = true
	}
	issued := sim.IssuedStartRequestIDs()
	missing := 0
	for _, id := range issued {
		if !logged[id] {
			missing++
		}
	}
	t.Logf("ECS issued %d StartInstance RequestIds; %d missing from the audit log", len(issued), missing)
	if missing > 0 || len(issued) == 0 {
		t.Fatalf("%d of %d RequestIds ECS issued are not in the audit log", missing, len(issued))
	}
}

func serveSim(t *testing.T, sim *ecssim.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestKill9DuringConcurrentStartsLosesNoStartedInstance kills the server
// while starts are in flight, restarts it, and checks that every instance
// ECS started has an operation in the audit log.
func TestKill9DuringConcurrentStartsLosesNoStartedInstance(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "d.db")
	runCmd(t, "password-123\n", "user", "add", "--db", dbPath, "--role", "operator", "op")
	sim := ecssim.New(ecssim.Options{Seed: 3, Instances: 600, Latency: 30 * time.Millisecond})
	simSrv := serveSim(t, sim)
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret}
	args := []string{"--db", dbPath, "--ecs-endpoint", simSrv, "--regions", strings.Join(sim.Regions(), ","), "--approval", "none"}
	c := startChild(t, env, args...)
	base := "http://" + c.addr
	client, csrf := login(t, base, "op", "password-123")
	var matches [][]string
	for page := 1; page <= 3; page++ {
		body := get(t, client, fmt.Sprintf("%s/instances?status=Stopped&per_page=100&page=%d", base, page))
		matches = append(matches, regexp.MustCompile(`data-instance-id="(i-[a-z0-9]+)" data-region="([a-z0-9-]+)"`).FindAllStringSubmatch(body, -1)...)
	}
	if len(matches) < 250 {
		t.Fatalf("%d stopped instances", len(matches))
	}
	var wg sync.WaitGroup
	for _, m := range matches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.PostForm(base+"/instances/"+m[1]+"/start", url.Values{"region": {m[2]}, "_csrf": {csrf}})
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	// Kill once a few starts have reached ECS, with most still in flight.
	for wait := time.Now().Add(20 * time.Second); sim.Calls("StartInstance") < 5 && time.Now().Before(wait); {
		time.Sleep(5 * time.Millisecond)
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	wg.Wait()

	startChild(t, env, args...) // recovers unfinished operations at start-up
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	log := audit.New(d.Write, d.Read, nil)
	started, recorded := 0, 0
	for _, m := range matches {
		if n, _ := sim.Starts(m[1]); n == 0 {
			continue
		}
		started++
		ops, _, err := log.Operations(context.Background(), audit.Filter{InstanceID: m[1]})
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) == 1 && (ops[0].Last.State == audit.StateSucceeded || ops[0].Last.State == audit.StateUnknown) {
			recorded++
		} else {
			t.Errorf("%s was started by ECS but the log has %d operations %+v", m[1], len(ops), ops)
		}
	}
	dangling, _ := log.Dangling(context.Background())
	t.Logf("killed with %d of %d starts accepted by ECS; all %d in the log; %d left dangling", started, len(matches), recorded, len(dangling))
	if started == 0 || started == len(matches) {
		t.Fatalf("the kill came with %d of %d starts done: nothing was in flight, nothing was tested", started, len(matches))
	}
	if len(dangling) != 0 {
		t.Fatalf("%d operations still show only an intent after the restart", len(dangling))
	}
}
