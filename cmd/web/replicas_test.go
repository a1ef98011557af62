package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/ecs/ecssim"
)

// pair is two replica processes on one PostgreSQL database, with shared
// key files, as behind a load balancer.
type pair struct {
	dsn  string
	keys []string // --session-key-file and --audit-key-file, and their files
	env  []string
	args []string
	a, b *child
}

func startPair(t *testing.T, endpoint string, sim *ecssim.Server, extra ...string) *pair {
	t.Helper()
	dsn := dbtest.Postgres(t)
	dir := t.TempDir()
	for _, u := range []struct{ name, role string }{{"op1", "operator"}, {"op2", "operator"}, {"appr1", "approver"}, {"appr2", "approver"}} {
		if out, err := runCmd(t, "password-123\n", "user", "add", "--db", dsn, "--role", u.role, u.name); err != nil {
			t.Fatalf("user add on PostgreSQL: %v %s", err, out)
		}
	}
	p := &pair{dsn: dsn,
		keys: []string{"--session-key-file", filepath.Join(dir, "session-keys"), "--audit-key-file", filepath.Join(dir, "audit-key")},
		env:  []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret},
	}
	p.args = append(append([]string{"--db", dsn, "--ecs-endpoint", endpoint, "--regions", strings.Join(sim.Regions(), ","),
		"--replica-lease", "3s"}, p.keys...), extra...)
	// The first creates the key files; the second reads the same ones.
	p.a = startChild(t, p.env, append(p.args, "--replica-id", "replica-a")...)
	p.b = startChild(t, p.env, append(p.args, "--replica-id", "replica-b")...)
	return p
}

func (p *pair) store(t *testing.T) (*db.DB, *audit.Log) {
	t.Helper()
	d, err := db.Open(context.Background(), p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, audit.New(d.Write, d.Read, nil)
}

func stoppedOn(t *testing.T, c *http.Client, base, query string) [][]string {
	t.Helper()
	body := get(t, c, base+"/instances?status=Stopped&per_page=100&"+query)
	return regexp.MustCompile(`data-instance-id="(i-[a-z0-9]+)" data-region="([a-z0-9-]+)"`).FindAllStringSubmatch(body, -1)
}

// A session from one replica works on the other; two approvers on two
// replicas approve one request at once, and the instance starts once.
func TestTwoReplicasShareSessionsAndApproveOnce(t *testing.T) {
	sim := ecssim.New(ecssim.Options{Seed: 5})
	p := startPair(t, serveSim(t, sim), sim, "--approval", "all")
	baseA, baseB := "http://"+p.a.addr, "http://"+p.b.addr

	op, csrf := login(t, baseA, "op1", "password-123")
	if body := get(t, op, baseB+"/instances"); !strings.Contains(body, `data-testid="whoami">op1 (operator)`) {
		t.Fatalf("the session from replica A is not honoured by replica B: %.300s", body)
	}

	for round, name := range []string{"ci-runner-01", "ci-runner-02", "batch-worker-01"} {
		m := stoppedOn(t, op, baseB, "region=cn-hangzhou&q="+name)
		if len(m) != 1 {
			t.Fatalf("%s: %d rows", name, len(m))
		}
		id := m[0][1]
		resp, err := op.PostForm(baseB+"/instances/"+id+"/start", url.Values{"region": {"cn-hangzhou"}, "_csrf": {csrf}, "reason": {"round " + fmt.Sprint(round)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, log := p.store(t)
		ops, _, err := log.Operations(context.Background(), audit.Filter{InstanceID: id})
		if err != nil || len(ops) != 1 || ops[0].Last.State != audit.StateAwaitingApproval {
			t.Fatalf("%s: the request is not awaiting approval: %v %+v", name, err, ops)
		}
		opID := ops[0].ID()
		var wg sync.WaitGroup
		for i, who := range []struct{ base, user string }{{baseA, "appr1"}, {baseB, "appr2"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, tok := login(t, who.base, who.user, "password-123")
				resp, err := c.PostForm(fmt.Sprintf("%s/audit/%d/approve", who.base, opID), url.Values{"_csrf": {tok}})
				if err != nil {
					t.Errorf("approver %d: %v", i, err)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
		if n, _ := sim.Starts(id); n != 1 {
			t.Fatalf("%s: two approvals on two replicas started it %d times", name, n)
		}
		op1, _ := log.Operation(context.Background(), opID)
		approvals := 0
		for _, e := range op1.Events {
			if e.Action == audit.ActionApprove {
				approvals++
			}
		}
		if approvals != 1 || op1.Last.State != audit.StateSucceeded {
			t.Fatalf("%s: %d approvals recorded, state %s", name, approvals, op1.Last.State)
		}
	}
}

// 20 starts spread over both replicas: every RequestId ECS issued is in the
// one audit log, and the chain verifies, whichever replica wrote each entry.
func TestStartsSpreadOverTwoReplicasAreAllInOneIntactChain(t *testing.T) {
	sim := ecssim.New(ecssim.Options{Seed: 6, Instances: 200})
	p := startPair(t, serveSim(t, sim), sim, "--approval", "none")
	bases := []string{"http://" + p.a.addr, "http://" + p.b.addr}
	clients := make([]*http.Client, 2)
	tokens := make([]string, 2)
	for i, base := range bases {
		clients[i], tokens[i] = login(t, base, []string{"op1", "op2"}[i], "password-123")
	}
	stopped := stoppedOn(t, clients[0], bases[0], "")
	for _, c := range clients {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if len(stopped) < 20 {
		t.Fatalf("%d stopped instances", len(stopped))
	}
	var wg sync.WaitGroup
	for i, m := range stopped[:20] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := i % 2
			resp, err := clients[r].PostForm(bases[r]+"/instances/"+m[1]+"/start", url.Values{"region": {m[2]}, "_csrf": {tokens[r]}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("start of %s on replica %d: %d", m[1], r, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	issued := sim.IssuedStartRequestIDs()
	if len(issued) != 20 {
		t.Fatalf("ECS issued %d RequestIds for 20 starts", len(issued))
	}
	out, err := runCmd(t, "", "audit", "export", "--db", p.dsn, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("export: %v %.200s", err, out)
	}
	logged, writers := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		logged[fmt.Sprint(e["request_id"])] = true
		writers[fmt.Sprint(e["replica"])] = true
	}
	for _, id := range issued {
		if !logged[id] {
			t.Errorf("RequestId %s is not in the audit log", id)
		}
	}
	if !writers["replica-a"] || !writers["replica-b"] {
		t.Errorf("the entries name the replicas %v, not both", writers)
	}
	verify, err := runCmd(t, "", append([]string{"audit", "verify", "--db", p.dsn}, p.keys[2:]...)...)
	if err != nil || !strings.Contains(verify, "intact:") || !strings.Contains(verify, "keyed chain") {
		t.Fatalf("verify: %v %s", err, verify)
	}
}

// kill -9 a replica while its StartInstance is on the wire: the other does
// not record the call as unknown while the dead replica's lease runs, and
// does once it has run out; then nothing dangles.
func TestAKilledReplicasCallIsLeftToItsLeaseThenRecovered(t *testing.T) {
	sim := ecssim.New(ecssim.Options{Seed: 1})
	endpoint, arrived := stallingECS(t, sim)
	p := startPair(t, endpoint, sim, "--approval", "none")
	baseA := "http://" + p.a.addr
	client, csrf := login(t, baseA, "op1", "password-123")
	m := stoppedOn(t, client, baseA, "region=cn-hangzhou&q=ci-runner-01")
	if len(m) != 1 {
		t.Fatal("ci-runner-01 is not listed")
	}
	id := m[0][1]
	go client.PostForm(baseA+"/instances/"+id+"/start", url.Values{"region": {"cn-hangzhou"}, "_csrf": {csrf}})
	select {
	case <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("StartInstance never left replica A")
	}
	p.a.cmd.Process.Signal(syscall.SIGKILL)
	p.a.cmd.Wait()
	killed := time.Now()

	d, log := p.store(t)
	var leaseUntil string
	if err := d.Read.QueryRow("SELECT lease_until FROM replicas WHERE id = 'replica-a'").Scan(&leaseUntil); err != nil {
		t.Fatal(err)
	}
	until, _ := time.Parse(audit.TimeFormat, leaseUntil)
	state := func() audit.Op {
		ops, _, err := log.Operations(context.Background(), audit.Filter{InstanceID: id})
		if err != nil || len(ops) != 1 {
			t.Fatalf("%v: %d operations", err, len(ops))
		}
		return ops[0]
	}
	if op := state(); op.Last.State != audit.StateSent || op.Last.Replica != "replica-a" {
		t.Fatalf("right after the kill: %s by %q", op.Last.State, op.Last.Replica)
	}
	var op audit.Op
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if op = state(); op.Last.State != audit.StateSent {
			break
		}
	}
	if op.Last.State != audit.StateUnknown || op.Last.Replica != "replica-b" || !strings.Contains(op.Last.ErrorMessage, "replica-a") {
		t.Fatalf("%s after the kill: %s by %q: %s", time.Since(killed).Round(time.Millisecond), op.Last.State, op.Last.Replica, op.Last.ErrorMessage)
	}
	if op.Last.Time.Before(until) {
		t.Fatalf("replica B recorded A's call as unknown at %s, before A's lease ran out at %s", op.Last.Time.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	}
	dangling, err := log.Dangling(context.Background())
	if err != nil || len(dangling) != 0 {
		t.Fatalf("after recovery %d operations dangle (%v)", len(dangling), err)
	}
	resp, err := http.Get("http://" + p.b.addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("replica B is not ready: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Without key file flags, a PostgreSQL replica keeps its keys in its working
// directory (nothing is "beside" a DSN), and `audit verify --db DSN` run
// there checks the keyed chain with them.
func TestPostgresKeyFilesDefaultToTheWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dsn := dbtest.Postgres(t)
	if out, err := runCmd(t, "password-123\n", "user", "add", "--db", dsn, "--role", "operator", "op1"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	sim := ecssim.New(ecssim.Options{Seed: 2})
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret}
	c := startChild(t, env, "--db", dsn, "--ecs-endpoint", serveSim(t, sim), "--regions", strings.Join(sim.Regions(), ","), "--approval", "none")
	base := "http://" + c.addr
	client, csrf := login(t, base, "op1", "password-123")
	m := stoppedOn(t, client, base, "region=cn-hangzhou&q=ci-runner-01")
	if len(m) != 1 {
		t.Fatal("ci-runner-01 is not listed")
	}
	resp, err := client.PostForm(base+"/instances/"+m[0][1]+"/start", url.Values{"region": {"cn-hangzhou"}, "_csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, f := range []string{"session-keys", "audit-key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s in the working directory: %v", f, err)
		}
	}
	out, err := runCmd(t, "", "audit", "verify", "--db", dsn)
	if err != nil || !strings.Contains(out, "intact:") || !strings.Contains(out, "keyed chain checked with audit-key") {
		t.Fatalf("verify: %v %s", err, out)
	}
}
