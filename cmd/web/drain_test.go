package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs/ecssim"
)

// heldECS passes calls to the simulator but holds every call of action
// until answer is closed (then passes it on: ECS acts and answers),
// telling the test when one arrived.
func heldECS(t *testing.T, sim *ecssim.Server, action string) (endpoint string, arrived <-chan struct{}, answer chan struct{}) {
	t.Helper()
	in := make(chan struct{}, 8)
	answer = make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-acs-action") == action {
			in <- struct{}{}
			select {
			case <-answer:
			case <-r.Context().Done():
				return
			}
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-answer:
		default:
			close(answer)
		}
	})
	return srv.URL, in, answer
}

// dbTimeAfter waits until the database's clock is past t (TimeFormat).
func dbTimeAfter(t *testing.T, p *pair, at string) {
	t.Helper()
	d, _ := p.store(t)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var past bool
		if err := d.Read.QueryRow(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') > $1`, at).Scan(&past); err != nil {
			t.Fatal(err)
		}
		if past {
			return
		}
	}
	t.Fatalf("the database's clock never passed %s", at)
}

func leaseOf(t *testing.T, p *pair, id string) string {
	t.Helper()
	d, _ := p.store(t)
	var until string
	if err := d.Read.QueryRow("SELECT lease_until FROM replicas WHERE id = $1", id).Scan(&until); err != nil {
		t.Fatal(err)
	}
	return until
}

// opsOf is the operations of an instance, each with its whole timeline.
func opsOf(t *testing.T, log *audit.Log, id string) []audit.Op {
	t.Helper()
	ops, _, err := log.Operations(context.Background(), audit.Filter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range ops {
		if ops[i], err = log.Operation(context.Background(), op.ID()); err != nil {
			t.Fatal(err)
		}
	}
	return ops
}

// SIGTERM while a batch's StartInstances is at a slow ECS, on two
// PostgreSQL replicas: the replica drains with its lease renewed past the
// lease it held when told to stop, the user gets the results page, every
// start ECS accepted is recorded as succeeded by that replica (none as
// unknown by the other), and the lease is released on exit.
func TestSIGTERMDuringASlowBatchRecordsEveryOutcomeThenReleasesTheLease(t *testing.T) {
	sim := ecssim.New(ecssim.Options{Seed: 7, Instances: 200})
	endpoint, arrived, answer := heldECS(t, sim, "StartInstances")
	p := startPair(t, endpoint, sim, "--approval", "none", "--ecs-timeout", "30s")
	baseA := "http://" + p.a.addr
	client, csrf := login(t, baseA, "op1", "password-123")
	stopped := stoppedOn(t, client, baseA, "region=cn-hangzhou")
	if len(stopped) < 20 {
		t.Fatalf("%d stopped instances in cn-hangzhou", len(stopped))
	}
	form := url.Values{"_csrf": {csrf}}
	for _, m := range stopped[:20] {
		form.Add("instance", m[2]+"/"+m[1])
	}
	type answerOf struct {
		status int
		body   string
		err    error
	}
	done := make(chan answerOf, 1)
	go func() {
		resp, err := client.PostForm(baseA+"/instances/start", form)
		if err != nil {
			done <- answerOf{err: err}
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, rerr := resp.Body.Read(buf)
			b.Write(buf[:n])
			if rerr != nil {
				break
			}
		}
		done <- answerOf{status: resp.StatusCode, body: b.String()}
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("StartInstances never left replica A")
	}
	held := leaseOf(t, p, "replica-a")
	p.a.cmd.Process.Signal(syscall.SIGTERM)
	// Past the lease A held when told to stop (and a rescue tick of B's
	// beyond), A's heartbeat still renews it.
	dbTimeAfter(t, p, held)
	if now := leaseOf(t, p, "replica-a"); now <= held {
		t.Fatalf("replica A's lease was not renewed while it drained: %s, held %s", now, held)
	}
	close(answer)
	var got answerOf
	select {
	case got = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("no answer to the batch")
	}
	if got.err != nil || got.status != http.StatusOK {
		t.Fatalf("the user got %d %v", got.status, got.err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.a.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("replica A exited: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("replica A did not exit after draining")
	}
	_, log := p.store(t)
	for _, m := range stopped[:20] {
		for _, op := range opsOf(t, log, m[1]) {
			if len(op.Events) < 2 {
				t.Errorf("%s: %d entries", m[1], len(op.Events))
			}
			for _, e := range op.Events {
				if e.Replica != "replica-a" {
					t.Errorf("%s: an entry by %q: %s %s", m[1], e.Replica, e.Action, e.State)
				}
			}
			if op.Last.State != audit.StateSucceeded {
				t.Errorf("%s is %s", m[1], op.Last.State)
			}
		}
	}
	if n := len(sim.IssuedStartRequestIDs()); n != 1 {
		t.Errorf("ECS answered %d StartInstances calls, want the batch's one", n)
	}
	d, _ := p.store(t)
	var released bool
	if err := d.Read.QueryRow(`SELECT lease_until <= to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM replicas WHERE id = 'replica-a'`).Scan(&released); err != nil || !released {
		t.Fatalf("replica A's lease was not released on exit: %v %v", released, err)
	}
}

// SIGSTOP a replica past its lease while its StartInstance is at ECS: the
// other records the call as unknown; on SIGCONT, when ECS answers, the
// paused one writes no outcome of that call (fenced), takes a new lease and
// serves on.
func TestAPausedReplicaWritesNothingForACallItsLeaseNoLongerOwns(t *testing.T) {
	sim := ecssim.New(ecssim.Options{Seed: 8})
	endpoint, arrived, answer := heldECS(t, sim, "StartInstance")
	p := startPair(t, endpoint, sim, "--approval", "none", "--ecs-timeout", "30s")
	baseA := "http://" + p.a.addr
	client, csrf := login(t, baseA, "op1", "password-123")
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m := stoppedOn(t, client, baseA, "region=cn-hangzhou&q=ci-runner-01")
	if len(m) != 1 {
		t.Fatal("ci-runner-01 is not listed")
	}
	id := m[0][1]
	done := make(chan int, 1)
	go func() {
		resp, err := client.PostForm(baseA+"/instances/"+id+"/start", url.Values{"region": {"cn-hangzhou"}, "_csrf": {csrf}})
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("StartInstance never left replica A")
	}
	p.a.cmd.Process.Signal(syscall.SIGSTOP)
	resumed := false
	defer func() {
		if !resumed {
			p.a.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	_, log := p.store(t)
	var op audit.Op
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ops := opsOf(t, log, id); len(ops) == 1 && ops[0].Last.State != audit.StateSent {
			op = ops[0]
			break
		}
	}
	if op.Last.State != audit.StateUnknown || op.Last.Replica != "replica-b" {
		t.Fatalf("while A was paused: %s by %q", op.Last.State, op.Last.Replica)
	}
	p.a.cmd.Process.Signal(syscall.SIGCONT)
	resumed = true
	close(answer)
	var status int
	select {
	case status = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("no answer to the start")
	}
	if status != http.StatusSeeOther {
		t.Errorf("replica A answered its user %d for a start ECS accepted", status)
	}
	events := opsOf(t, log, id)[0].Events
	if len(events) < 2 {
		t.Fatalf("%d entries", len(events))
	}
	for _, e := range events {
		if e.Replica == "replica-a" && e.State != audit.StateSent {
			t.Errorf("the paused replica wrote %s %s after its lease ended", e.Action, e.State)
		}
	}
	if n := len(sim.IssuedStartRequestIDs()); n != 1 {
		t.Fatalf("ECS answered %d StartInstance calls, want 1", n)
	}
	p.a.waitReady(t)
}
