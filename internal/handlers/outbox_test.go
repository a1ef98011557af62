package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/notify"
)

// outboxReceiver is a webhook that can be down (503 to everything); it
// records each delivery it took, and how many ran at once.
type outboxReceiver struct {
	url       string
	down      atomic.Bool
	attempts  atomic.Int32
	inFlight  atomic.Int32
	maxAtOnce atomic.Int32
	mu        sync.Mutex
	ids       []string // X-ECS-Dashboard-Event-Id of each delivery taken, in arrival order
	bodies    map[string][]byte
	dups      int
}

func newOutboxReceiver(t *testing.T) *outboxReceiver {
	r := &outboxReceiver{bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		for m := r.maxAtOnce.Load(); n > m && !r.maxAtOnce.CompareAndSwap(m, n); m = r.maxAtOnce.Load() {
		}
		r.attempts.Add(1)
		b, _ := io.ReadAll(req.Body)
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		id := req.Header.Get("X-ECS-Dashboard-Event-Id")
		r.mu.Lock()
		defer r.mu.Unlock()
		if first, seen := r.bodies[id]; seen {
			r.dups++
			if string(first) != string(b) {
				t.Errorf("event %s delivered twice with different bodies:\n%s\n%s", id, first, b)
			}
			return
		}
		r.bodies[id] = b
		r.ids = append(r.ids, id)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

// events are the events taken, each once, in the order they first came.
func (r *outboxReceiver) events(t *testing.T) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range r.ids {
		var m notify.Message
		if err := json.Unmarshal(r.bodies[id], &m); err != nil {
			t.Fatalf("event %s: %v", id, err)
		}
		if m.EventID != id || id != strconv.FormatInt(m.AuditID, 10)+"."+m.Event {
			t.Fatalf("event id %q in the header, %q in the body, for audit entry %d's %s", id, m.EventID, m.AuditID, m.Event)
		}
		out = append(out, m.Event)
	}
	return out
}

// waitFor waits until n distinct events have been taken.
func (r *outboxReceiver) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.ids)
		r.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events arrived: %v", got, n, r.events(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// approvalEvents makes seven events on h: a request approved (and
// started), one withdrawn, one rejected.
func approvalEvents(t *testing.T, on, decider *harness) {
	t.Helper()
	id1, _ := requestInitOf(t, on, "op1", "hadoop-data-01")
	decide(t, decider.loggedIn("appr"), id1, "approve", nil)
	id2, op1 := requestInitOf(t, on, "op1", "hadoop-data-02")
	if p := op1.post("audit/"+strconv.FormatInt(id2, 10)+"/withdraw", nil); p.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", p.status)
	}
	id3, _ := requestInitOf(t, on, "op1", "kafka-broker-01")
	decide(t, decider.loggedIn("appr"), id3, "reject", url.Values{"reason": {"not now"}})
}

var sevenEvents = "awaiting_approval approved succeeded awaiting_approval withdrawn awaiting_approval rejected"

// A receiver that is down while the events happen, and across a restart
// of the dashboard, is given every one of them once it is back, in order,
// each with its stable id (a repeat carries the same id and body).
func TestAReceiverDownAcrossARestartIsGivenEveryEventAfterwards(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		rec := newOutboxReceiver(t)
		rec.down.Store(true)
		dir := t.TempDir()
		if !strings.Contains(dsn, "://") {
			dsn = filepath.Join(dir, "dash.db")
		}
		keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
		args := []string{"--notify-url", rec.url, "--audit-key-file", filepath.Join(dir, "audit-key"), "--replica-id", "one"}
		first := newHarness(t, opts{dbPath: dsn, keys: keys, args: args})
		approvalEvents(t, first, first)
		for deadline := time.Now().Add(20 * time.Second); rec.attempts.Load() == 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the receiver was never asked")
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := first.srvr.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		rec.down.Store(false)
		newHarness(t, opts{dbPath: dsn, keys: keys, args: args})
		rec.waitFor(t, 7)
		if got := strings.Join(rec.events(t), " "); got != sevenEvents {
			t.Fatalf("events after the restart\n got %s\nwant %s", got, sevenEvents)
		}
	})
}

// Two replicas on one PostgreSQL database: each event is delivered (by
// one of them), and never by both at once.
func TestTwoReplicasDeliverEachEventOneAtATime(t *testing.T) {
	t.Parallel()
	rec := newOutboxReceiver(t)
	a, b := twoReplicas(t, "--notify-url", rec.url)
	approvalEvents(t, a, b)
	rec.waitFor(t, 7)
	if got := strings.Join(rec.events(t), " "); got != sevenEvents {
		t.Fatalf("events\n got %s\nwant %s", got, sevenEvents)
	}
	if n := rec.maxAtOnce.Load(); n != 1 {
		t.Fatalf("%d deliveries to the receiver ran at once: both replicas delivered", n)
	}
	rec.mu.Lock()
	t.Logf("7 events, %d repeated", rec.dups)
	rec.mu.Unlock()
}

// A receiver configured for the first time is not sent the log's history:
// it starts at the end of the log.
func TestANewReceiverStartsAtTheEndOfTheLog(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		if !strings.Contains(dsn, "://") {
			dsn = filepath.Join(dir, "dash.db")
		}
		keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
		args := []string{"--audit-key-file", filepath.Join(dir, "audit-key"), "--replica-id", "one"}
		before := newHarness(t, opts{dbPath: dsn, keys: keys, args: args})
		approvalEvents(t, before, before)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := before.srvr.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		history := before.ops()[0].Last.Seq
		rec := newOutboxReceiver(t)
		after := newHarness(t, opts{dbPath: dsn, keys: keys, args: append(args, "--notify-url", rec.url)})
		requestInitOf(t, after, "op2", "redis-cache-01")
		rec.waitFor(t, 1)
		got := rec.events(t)
		rec.mu.Lock()
		first := rec.ids[0]
		rec.mu.Unlock()
		seq, _, _ := strings.Cut(first, ".")
		if n, _ := strconv.ParseInt(seq, 10, 64); strings.Join(got, " ") != "awaiting_approval" || n <= history {
			t.Fatalf("the new receiver was sent %v (first %s; the history ends at entry %d)", got, first, history)
		}
	})
}
