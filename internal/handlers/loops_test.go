package handlers_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"ecsdash/internal/db/dbtest"
)

// Stop returns only once every background loop Start began has returned
// (the database clock's sync, the heartbeat, the rescue and following, the
// checkpoints, the reconciler, the fleet's refresh and tracking, the
// expiry and the notifications): no goroutine of them is left behind.
// Not parallel: it compares the goroutines before Start and after Stop.
func TestStopReturnsOnlyOnceEveryBackgroundLoopHasStopped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dsn string) {
		rec := newOutboxReceiver(t)
		dir := t.TempDir()
		if !strings.Contains(dsn, "://") {
			dsn = filepath.Join(dir, "dash.db")
		}
		keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
		args := []string{"--notify-url", rec.url, "--audit-key-file", filepath.Join(dir, "audit-key"), "--replica-id", "one"}
		h := newHarness(t, opts{dbPath: dsn, keys: keys, args: args, manual: true, dbClock: true})
		// The connections the ECS client and the simulator keep open are
		// not the dashboard's loops.
		ignore := []goleak.Option{goleak.IgnoreCurrent(),
			goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"), goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreAnyFunction("net/http.(*conn).serve")}
		before := map[string]bool{}
		for _, id := range ours(nil) {
			before[id] = true
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.srvr.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if len(ours(before)) == 0 {
			t.Fatal("no background loop runs after Start")
		}
		if err := h.srvr.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// At once: Stop has returned, so every loop has.
		if left := ours(before); len(left) > 0 {
			t.Fatalf("%d goroutines of the dashboard still run after Stop returned:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		// And nothing else was left behind (goleak waits a little for
		// goroutines on their way out).
		if err := goleak.Find(ignore...); err != nil {
			t.Fatalf("left running after Stop returned:\n%v", err)
		}
	})
}

// ours lists the stacks of the goroutines running the dashboard's own code
// (a frame in ecsdash/) that are not in before (goroutine ids), or, with
// before nil, the ids of every goroutine now.
func ours(before map[string]bool) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		switch {
		case before == nil:
			out = append(out, id)
		case !before[id] && strings.Contains(g, "ecsdash/") && !strings.Contains(g, "loops_test.go"):
			out = append(out, g)
		}
	}
	return out
}
