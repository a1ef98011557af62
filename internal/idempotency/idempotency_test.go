package idempotency_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/idempotency"
)

func open(t *testing.T, dsn string, skew *atomic.Int64) *idempotency.Store {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return idempotency.New(d.Write, d.Read, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
}

func TestAKeyRunsOnceAndAnswersItsRepeats(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		skew := new(atomic.Int64)
		s := open(t, dsn, skew)
		ctx := context.Background()
		if a, err := s.Claim(ctx, 1, "k", "h1"); a != nil || err != nil {
			t.Fatalf("first claim: %v %v", a, err)
		}
		if err := s.Finish(ctx, 1, "k", idempotency.Answer{Status: 202, Body: []byte(`{"x":1}`)}); err != nil {
			t.Fatal(err)
		}
		a, err := s.Claim(ctx, 1, "k", "h1")
		if err != nil || a == nil || a.Status != 202 || string(a.Body) != `{"x":1}` {
			t.Fatalf("repeat: %+v %v", a, err)
		}
		if _, err := s.Claim(ctx, 1, "k", "h2"); !errors.Is(err, idempotency.ErrMismatch) {
			t.Fatalf("another body: %v", err)
		}
		if a, err := s.Claim(ctx, 2, "k", "h2"); a != nil || err != nil {
			t.Fatalf("another user's same key: %v %v", a, err)
		}
		// After 24 h the key is new again.
		skew.Store(int64(idempotency.Window + time.Minute))
		if a, err := s.Claim(ctx, 1, "k", "h2"); a != nil || err != nil {
			t.Fatalf("after the window: %v %v", a, err)
		}
		// Released: the next claim runs.
		if err := s.Release(ctx, 1, "k"); err != nil {
			t.Fatal(err)
		}
		if a, err := s.Claim(ctx, 1, "k", "h3"); a != nil || err != nil {
			t.Fatalf("after release: %v %v", a, err)
		}
	})
}

// Concurrent claims of one key: exactly one runs; the others wait for its
// answer. A repeat whose deadline ends while the first runs is ErrRunning.
func TestConcurrentClaimsRunOnceAndWaitForTheAnswer(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := open(t, dsn, new(atomic.Int64))
		ctx := context.Background()
		const n = 8
		var ran atomic.Int32
		var wg sync.WaitGroup
		answers := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				a, err := s.Claim(cctx, 7, "burst", "h")
				switch {
				case err != nil:
					errs[i] = err
				case a == nil:
					ran.Add(1)
					errs[i] = s.Finish(ctx, 7, "burst", idempotency.Answer{Status: 200, Body: []byte("first")})
					answers[i] = "first"
				default:
					answers[i] = string(a.Body)
				}
			}()
		}
		wg.Wait()
		if ran.Load() != 1 {
			t.Fatalf("%d claims ran", ran.Load())
		}
		for i := range n {
			if errs[i] != nil || answers[i] != "first" {
				t.Fatalf("claim %d: %q %v", i, answers[i], errs[i])
			}
		}

		if a, err := s.Claim(ctx, 7, "held", "h"); a != nil || err != nil {
			t.Fatalf("claim: %v %v", a, err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := s.Claim(short, 7, "held", "h"); !errors.Is(err, idempotency.ErrRunning) {
			t.Fatalf("a repeat while the first runs: %v", err)
		}
	})
}
