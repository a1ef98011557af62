package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records each Write to the log's file, as one string.
type writes struct {
	mu   sync.Mutex
	got  []string
	fail int // the next fail writes fail
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail > 0 {
		w.fail--
		return 0, errors.New("disk full")
	}
	w.got = append(w.got, string(p))
	return len(p), nil
}

func (w *writes) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

// testLines is a log whose delay timer the test fires itself: it says
// for how long it was asked, and fire runs what it would run.
func testLines(t *testing.T, w *writes) (l *logLines, fire func()) {
	t.Helper()
	var fn func()
	l = newLogLines(w)
	l.after = func(d time.Duration, f func()) *time.Timer {
		if d != requestLogDelay {
			t.Errorf("the lines wait %v, want %v", d, requestLogDelay)
		}
		fn = f
		return time.NewTimer(time.Hour)
	}
	return l, func() {
		if fn == nil {
			t.Fatal("no timer was armed")
		}
		f := fn
		fn = nil
		f()
	}
}

// Request lines wait in memory and go out together in one write, before
// a line written at once (a failure, a warning, any other line), so the
// log's order is the order the lines were made in (issue 32: a write a
// page view was the largest part of its CPU left that is the dashboard's).
func TestRequestLinesWaitAndGoOutInOneWriteBeforeTheNextLineWrittenAtOnce(t *testing.T) {
	w := &writes{}
	l, _ := testLines(t, w)
	soon := slog.New(slog.NewJSONHandler(l.soon(), nil))
	now := slog.New(slog.NewJSONHandler(l.now(), nil))
	soon.Info("request", "n", 1)
	soon.Info("request", "n", 2)
	soon.Info("request", "n", 3)
	if got := w.all(); len(got) != 0 {
		t.Fatalf("request lines were written at once: %q", got)
	}
	now.Error("request failed", "n", 4)
	got := w.all()
	if len(got) != 1 {
		t.Fatalf("%d writes, want the waiting lines and the failure's in one: %q", len(got), got)
	}
	if lines := strings.Split(strings.TrimSuffix(got[0], "\n"), "\n"); len(lines) != 4 ||
		!strings.Contains(lines[0], `"n":1`) || !strings.Contains(lines[2], `"n":3`) || !strings.Contains(lines[3], `"msg":"request failed","n":4`) {
		t.Fatalf("lines out of order or missing: %q", lines)
	}
	now.Info("serving")
	if got := w.all(); len(got) != 2 || !strings.Contains(got[1], `"msg":"serving"`) {
		t.Fatalf("a line written at once with nothing waiting: %q", got)
	}
}

// Lines that wait go out when their delay ends, or as soon as they would
// fill the buffer, whichever is first; the buffer never holds more than
// requestLogSize bytes of lines that could have been written.
func TestRequestLinesGoOutWhenTheirDelayEndsOrTheyFillTheBuffer(t *testing.T) {
	w := &writes{}
	l, fire := testLines(t, w)
	soon := l.soon()
	soon.Write([]byte("a\n"))
	soon.Write([]byte("b\n"))
	fire()
	if got := w.all(); len(got) != 1 || got[0] != "a\nb\n" {
		t.Fatalf("after the delay: %q", got)
	}
	soon.Write([]byte("c\n")) // arms the timer again
	fire()
	if got := w.all(); len(got) != 2 || got[1] != "c\n" {
		t.Fatalf("after the second delay: %q", got)
	}
	line := strings.Repeat("x", 1000) + "\n"
	n := 0
	for len(w.all()) == 2 {
		soon.Write([]byte(line))
		n++
		if n > requestLogSize {
			t.Fatal("a full buffer was never written")
		}
	}
	got := w.all()
	if len(got[2]) > requestLogSize || len(got[2]) != (n-1)*len(line) {
		t.Fatalf("the buffer went out at %d bytes (%d lines), want the %d lines before the one that would fill %d bytes",
			len(got[2]), n, n-1, requestLogSize)
	}
}

// Close writes the lines that wait, and a line after Close is written at
// once: nothing is left in memory when serve returns.
func TestCloseWritesTheLinesThatWaitAndLaterLinesAtOnce(t *testing.T) {
	w := &writes{}
	l, _ := testLines(t, w)
	l.soon().Write([]byte("stopped\n"))
	l.Close()
	if got := w.all(); len(got) != 1 || got[0] != "stopped\n" {
		t.Fatalf("after Close: %q", got)
	}
	l.soon().Write([]byte("late\n"))
	if got := w.all(); len(got) != 2 || got[1] != "late\n" {
		t.Fatalf("a line after Close: %q", got)
	}
}

// A write that fails loses the lines it carried, as a line written alone
// would be lost, and the next lines are written.
func TestALogWriteThatFailsDoesNotStopLaterLines(t *testing.T) {
	w := &writes{fail: 1}
	l, fire := testLines(t, w)
	l.soon().Write([]byte("lost\n"))
	fire()
	l.soon().Write([]byte("kept\n"))
	l.now().Write([]byte("also\n"))
	if got := w.all(); len(got) != 1 || got[0] != "kept\nalso\n" {
		t.Fatalf("after a failed write: %q", got)
	}
}

// serve writes its request lines to stderr: a request's line is there by
// the time serve returns (it may wait until then, never longer), in the
// order of the lines around it.
func TestServeWritesEveryRequestLineToStderrByTheTimeItReturns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	stderr := &writes{}
	done := make(chan error, 1)
	env := map[string]string{"HOME": t.TempDir()}
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "d.db"), "--demo", "--refresh-interval", "1h"},
			func(k string) string { return env[k] }, strings.NewReader(""), pw, stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("serve printed nothing")
	}
	m := regexp.MustCompile(`http://(\S+?)/`).FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("unexpected first line %q", sc.Text())
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get("http://" + m[1] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	log := strings.Join(stderr.all(), "")
	req := strings.Index(log, `"msg":"request","request_id":"`+id+`"`)
	serving, stopped := strings.Index(log, `"msg":"serving"`), strings.Index(log, `"msg":"stopped`)
	if req < 0 || serving < 0 || stopped < 0 || !(serving < req && req < stopped) {
		t.Fatalf("the request's line (at %d) is not between serving (%d) and stopped (%d):\n%s", req, serving, stopped, log)
	}
}

// Lines written at once and lines that wait, from many goroutines, each
// reach the file exactly once, whole, and each goroutine's in its order.
func TestConcurrentLinesEachReachTheFileOnceWholeAndInTheirOrder(t *testing.T) {
	w := &writes{}
	l := newLogLines(w) // the real timer
	var wg sync.WaitGroup
	const writers, each = 8, 500
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				out := l.soon()
				if i%50 == 0 {
					out = l.now()
				}
				fmt.Fprintf(out, "g%d-%d %s\n", g, i, strings.Repeat("x", 200))
			}
		})
	}
	wg.Wait()
	l.Close()
	next := make([]int, writers)
	for line := range strings.Lines(strings.Join(w.all(), "")) {
		var g, i int
		if _, err := fmt.Sscanf(line, "g%d-%d ", &g, &i); err != nil || len(line) < 200 || g < 0 || g >= writers {
			t.Fatalf("a broken line %q", line)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != each {
			t.Errorf("writer %d: %d lines of %d", g, n, each)
		}
	}
}
