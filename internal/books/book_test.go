package books

import (
	"context"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// books are the throttle's books, one of each kind: memory, and the
// database on each store. Each is opened inside its own subtest, so a
// store that is missing (PostgreSQL without its server) skips its case
// only.
func books() map[string]func(t *testing.T) Book {
	out := map[string]func(t *testing.T) Book{"memory": func(*testing.T) Book { return &MemoryBook{} }}
	for _, k := range dbtest.Kinds() {
		out["database/"+k.Name] = func(t *testing.T) Book {
			d, err := db.Open(context.Background(), k.New(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return NewDBBook(d.Write)
		}
	}
	return out
}

// The throttle's rules hold whatever keeps its book: failures counted in
// the window, a claim made once per interval (one of many made at once),
// a success forgetting the name's failures from its address only.
func TestTheThrottleRulesHoldOnEveryBook(t *testing.T) {
	t.Parallel()
	for name, open := range books() {
		t.Run(name, func(t *testing.T) {
			bk := open(t)
			ctx := context.Background()
			th := NewThrottle(bk, 0)
			now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			for i := range maxPairFailures {
				if r, err := th.check(ctx, "ann", "10.0.0.1", now); err != nil || r != nil {
					t.Fatalf("attempt %d refused: %v %v", i, r, err)
				}
				th.fail(ctx, "ann", "10.0.0.1", now)
			}
			if r, err := th.check(ctx, "ann", "10.0.0.1", now); err != nil || r == nil || r.Retry != throttleWindow {
				t.Fatalf("after %d failures from one address: %+v %v", maxPairFailures, r, err)
			}
			if r, _ := th.check(ctx, "ann", "10.0.0.2", now); r != nil {
				t.Fatal("failures from one address refused the name from another")
			}
			th.Succeeded(ctx, "ann", "10.0.0.1", now.Add(time.Second)) // an attempt of its own, reserved then
			if n, _ := bk.failures(ctx, "pair:ann\x0010.0.0.1", now.Add(-time.Hour)); n != 0 {
				t.Fatalf("a success left %d failures of the pair", n)
			}
			if n, _ := bk.failures(ctx, "user:ann", now.Add(-time.Hour)); n != maxPairFailures {
				t.Fatalf("a success forgot the name's failures from elsewhere: %d left", n)
			}

			// Ten failures from anywhere: one attempt every paceInterval,
			// however many ask at once.
			for i := range paceAfter {
				th.fail(ctx, "bob", "10.1.0."+string(rune('0'+i)), now)
			}
			var wg sync.WaitGroup
			passed := make(chan bool, 8)
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := th.check(ctx, "bob", "10.2.0."+string(rune('0'+i)), now)
					passed <- err == nil && r == nil
				}()
			}
			wg.Wait()
			close(passed)
			n := 0
			for p := range passed {
				if p {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d of 8 paced attempts at once went ahead, want 1", n)
			}
			if r, _ := th.check(ctx, "bob", "10.3.0.1", now.Add(paceInterval)); r != nil {
				t.Fatal("a paced name was refused after its interval")
			}
			if !th.Note(ctx, "ip:10.0.0.1", now) || th.Note(ctx, "ip:10.0.0.1", now.Add(time.Minute)) {
				t.Fatal("a refusal is recorded other than once per window")
			}
			// Time only moves forward: past the window nothing counts.
			th.fail(ctx, "cy", "10.0.0.9", now)
			for range maxPairFailures {
				th.fail(ctx, "cy", "10.0.0.9", now)
			}
			if r, _ := th.check(ctx, "cy", "10.0.0.9", now.Add(throttleWindow+time.Second)); r != nil {
				t.Fatal("failures were counted past the window")
			}
		})
	}
}

// One-time form tokens, in memory and on the database: used once, released
// when the start was refused before anything was sent, and, in the
// database, swept once old. Each store is opened inside its subtest, so a
// missing PostgreSQL skips its case only.
func TestFormTokensAreUsedOnceOnEveryBook(t *testing.T) {
	t.Parallel()
	for name, open := range books() {
		t.Run(name, func(t *testing.T) {
			var tokens TokenBook = &UsedTokens{}
			d, _ := open(t).(*DBBook)
			if d != nil {
				tokens = d
			}
			ctx := context.Background()
			now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			if fresh, err := tokens.Use(ctx, "tok|cn-hangzhou/i-1", now); err != nil || !fresh {
				t.Fatalf("a fresh token: %v %v", fresh, err)
			}
			if fresh, _ := tokens.Use(ctx, "tok|cn-hangzhou/i-1", now.Add(time.Minute)); fresh {
				t.Fatal("a token was used twice")
			}
			tokens.Release(ctx, "tok|cn-hangzhou/i-1")
			if fresh, _ := tokens.Use(ctx, "tok|cn-hangzhou/i-1", now.Add(2*time.Minute)); !fresh {
				t.Fatal("a released token stays used")
			}
			if d == nil {
				return
			}
			d.fail(ctx, []string{"ip:1"}, now)
			if err := d.Sweep(ctx, now.Add(2*formTokenTTL)); err != nil {
				t.Fatal(err)
			}
			var rows int
			d.w.QueryRow("SELECT (SELECT COUNT(*) FROM claims) + (SELECT COUNT(*) FROM login_failures)").Scan(&rows)
			if rows != 0 {
				t.Fatalf("%d rows left after the sweep", rows)
			}
		})
	}
}
