package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A loop that fails is reported at once, named, in its own words (a panic
// too, not a crash), and the others run on until their context ends (the
// drain the failure calls for needs the heartbeat); run returns the
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
				done <- run(ctx, []loop{{"waits", waiting}, {"fails", fail}}, func(err error) { reported <- err })
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
				t.Fatal("run returned while a loop still ran")
			default:
			}
			cancel()
			select {
			case got := <-done:
				if got == nil || got.Error() != err.Error() {
					t.Fatalf("run returned %v, want the failure %v", got, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not return once its context ended")
			}
			select {
			case <-stopped:
			default:
				t.Fatal("run returned before the other loop had stopped")
			}
		})
	}
}

// A loop's failure while serving closes Failed (serve then shuts down,
// draining), and Failure says what it was.
func TestALoopsFailureIsSignalledAndReturnedByStop(t *testing.T) {
	t.Parallel()
	a := &App{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := &Server{app: a}
	if s.Failed() != nil {
		t.Fatal("Failed is not nil before Start")
	}
	fail := make(chan struct{})
	a.startLoops(context.Background(), []loop{{"fails", func(ctx context.Context) error {
		select {
		case <-fail:
			return errors.New("the outbox's table is gone")
		case <-ctx.Done():
			return nil
		}
	}}})
	select {
	case <-s.Failed():
		t.Fatal("Failed closed before any loop failed")
	default:
	}
	if s.Failure() != nil {
		t.Fatal("a Failure before any loop failed")
	}
	close(fail)
	select {
	case <-s.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("Failed did not close after a loop failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.stopLoops(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Failure(); err == nil || !strings.Contains(err.Error(), "the outbox's table is gone") {
		t.Fatalf("Failure is %v, want the loop's", err)
	}
}
