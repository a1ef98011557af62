package loops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A loop that fails is reported at once, named, in its own words (a panic
// too, not a crash), and the others run on until their context ends (the
// drain the failure calls for needs the heartbeat); Run returns the
// failure once all have returned.
func TestALoopsFailureIsReportedAndTheOthersRunUntilStopped(t *testing.T) {
	t.Parallel()
	for name, fail := range map[string]func(context.Context) error{
		"error": func(context.Context) error { return errors.New("the lease table is gone") },
		"panic": func(context.Context) error { panic("nil map") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopped := make(chan struct{})
			waiting := func(ctx context.Context) error {
				<-ctx.Done()
				close(stopped)
				return nil
			}
			reported := make(chan error, 2)
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, []Loop{{"waits", waiting}, {"fails", fail}}, func(err error) { reported <- err })
			}()
			var err error
			select {
			case err = <-reported:
			case <-time.After(10 * time.Second):
				t.Fatal("the failure was not reported")
			}
			if !strings.Contains(err.Error(), `"fails"`) ||
				name == "error" && !strings.Contains(err.Error(), "the lease table is gone") ||
				name == "panic" && !strings.Contains(err.Error(), "panic: nil map") {
				t.Fatalf("reported %v, want the failing loop's error, named, in its words", err)
			}
			select {
			case <-stopped:
				t.Fatal("a failure stopped the other loop before its context ended")
			case <-done:
				t.Fatal("Run returned while a loop still ran")
			default:
			}
			cancel()
			select {
			case got := <-done:
				if got == nil || got.Error() != err.Error() {
					t.Fatalf("Run returned %v, want the failure %v", got, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return once its context ended")
			}
			select {
			case <-stopped:
			default:
				t.Fatal("Run returned before the other loop had stopped")
			}
		})
	}
}

// A loop's failure while serving closes Failed (serve then shuts down,
// draining), and Failure says what it was.
func TestALoopsFailureIsSignalledAndReturnedByStop(t *testing.T) {
	t.Parallel()
	var none *Group // before Start
	if none.Failed() != nil || none.Failure() != nil || none.Stop(context.Background()) != nil {
		t.Fatal("a Group not started fails, or has something to stop")
	}
	fail := make(chan struct{})
	g := Start(context.Background(), []Loop{{"fails", func(ctx context.Context) error {
		select {
		case <-fail:
			return errors.New("the outbox's table is gone")
		case <-ctx.Done():
			return nil
		}
	}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	select {
	case <-g.Failed():
		t.Fatal("Failed closed before any loop failed")
	default:
	}
	if g.Failure() != nil {
		t.Fatal("a Failure before any loop failed")
	}
	close(fail)
	select {
	case <-g.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("Failed did not close after a loop failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Failure(); err == nil || !strings.Contains(err.Error(), "the outbox's table is gone") {
		t.Fatalf("Failure is %v, want the loop's", err)
	}
}

// Stop returns only once every loop has returned, each with what it
// started: nothing is left running (goleak, with no retry budget beyond
// its own short wait). A loop that ignores its context past Stop's own is
// reported, not waited for forever.
// Not parallel: goleak compares every goroutine of the process.
func TestStopReturnsOnlyOnceEveryLoopHasReturned(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var stopped atomic.Int32
	ls := make([]Loop, 5)
	for i := range ls {
		ls[i] = Loop{fmt.Sprint("loop ", i), func(ctx context.Context) error {
			// Work of its own, waited for before the loop returns.
			inner := make(chan struct{})
			go func() { <-ctx.Done(); close(inner) }()
			<-inner
			stopped.Add(1)
			return nil
		}}
	}
	g := Start(context.Background(), ls, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stopped.Load(); n != int32(len(ls)) {
		t.Fatalf("Stop returned with %d of %d loops returned", n, len(ls))
	}

	stuck := make(chan struct{})
	defer close(stuck)
	g = Start(context.Background(), []Loop{{"stuck", func(context.Context) error { <-stuck; return nil }}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := g.Stop(short); err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("Stop of a loop that does not end: %v", err)
	}
}

// Every calls its body at each tick, again and again, and returns nil once
// ctx ends (a tick ready at the same moment may give one call more).
func TestEveryCallsItsBodyAtEachTickUntilTheContextEnds(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- Every(ctx, time.Millisecond, func(context.Context) {
			if calls.Add(1) == 3 {
				cancel()
			}
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Every returned %v when its context ended", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
	if n := calls.Load(); n < 3 || n > 4 {
		t.Fatalf("%d calls, want 3 (the third ended the context), or 4", n)
	}
}
