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

// A loop that fails ends the others and its error is what run returns,
// named after the loop; a panic is reported the same way, not a crash.
func TestALoopsFailureEndsTheOthersAndIsReported(t *testing.T) {
	t.Parallel()
	for name, fail := range map[string]func(context.Context) error{
		"error": func(context.Context) error { return errors.New("the lease table is gone") },
		"panic": func(context.Context) error { panic("nil map") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stopped := make(chan struct{})
			waiting := func(ctx context.Context) error {
				<-ctx.Done()
				close(stopped)
				return nil
			}
			done := make(chan error, 1)
			go func() { done <- run(context.Background(), []loop{{"waits", waiting}, {"fails", fail}}) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), `"fails"`) {
					t.Fatalf("run returned %v, want the failing loop's error, named", err)
				}
				if name == "error" && !strings.Contains(err.Error(), "the lease table is gone") ||
					name == "panic" && !strings.Contains(err.Error(), "panic: nil map") {
					t.Fatalf("the failure's own words are lost: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not return after a loop failed")
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
