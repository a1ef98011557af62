package replica

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/books"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// two is replicas a and b on one PostgreSQL database: a is the Replica
// under test, with the entries it takes in recorded in took; b is only
// the other one's audit log.
func two(t *testing.T) (r *Replica, a, b *audit.Log, took *[]audit.Event) {
	t.Helper()
	dsn := dbtest.Postgres(t)
	var logs []*audit.Log
	var first *db.DB
	for _, id := range []string{"replica-a", "replica-b"} {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if first == nil {
			first = d
		}
		l := audit.New(d.Write, d.Read, time.Now)
		l.SetReplica(id)
		logs = append(logs, l)
	}
	took = &[]audit.Event{}
	r = New(Options{ID: "replica-a", Lease: time.Minute, Log: logs[0], Book: books.NewDBBook(first.Write),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		Head: func() int64 { return 0 }, Took: func(e audit.Event) { *took = append(*took, e) }})
	return r, logs[0], logs[1], took
}

func signIn(t *testing.T, l *audit.Log, user string) audit.Event {
	t.Helper()
	e, err := l.Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: user, AuthMethod: "password", State: audit.StateSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Following takes in every entry the other replica appended, in order, and
// none of its own (those it saw when appending), past one page of 500.
func TestFollowingTakesInTheOthersEntriesOnly(t *testing.T) {
	t.Parallel()
	r, a, b, took := two(t)
	ctx := context.Background()
	signIn(t, a, "ours")
	var want []int64
	for range 520 {
		want = append(want, signIn(t, b, "theirs").Seq)
	}
	last := signIn(t, a, "ours again")
	cursor := r.follow(ctx, 0)
	if cursor != last.Seq {
		t.Fatalf("following ended at %d, want the newest entry %d", cursor, last.Seq)
	}
	if len(*took) != len(want) {
		t.Fatalf("took in %d entries, want the other's %d", len(*took), len(want))
	}
	for i, e := range *took {
		if e.Seq != want[i] || e.Replica != "replica-b" {
			t.Fatalf("entry %d taken in: seq %d of %q, want seq %d of replica-b", i, e.Seq, e.Replica, want[i])
		}
	}
	*took = nil
	next := signIn(t, b, "later")
	if got := r.follow(ctx, cursor); got != next.Seq || len(*took) != 1 || (*took)[0].Seq != next.Seq {
		t.Fatalf("from %d: cursor %d, took %d entries, want the one at %d", cursor, got, len(*took), next.Seq)
	}
}

// A heartbeat that finds its lease run out takes a new one (a new epoch),
// and the lease is given up by Release: another process may then take the
// same id at once.
func TestABeatAfterTheLeaseRanOutTakesANewOne(t *testing.T) {
	t.Parallel()
	r, a, _, _ := two(t)
	ctx := context.Background()
	if err := a.Claim(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	epoch := a.Epoch()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ended, err := a.LeaseEnded(ctx, "replica-a")
		if err != nil {
			t.Fatal(err)
		}
		if ended {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never ran out")
		}
	}
	if err := a.Beat(ctx, time.Minute); !errors.Is(err, audit.ErrLeaseLost) {
		t.Fatalf("the log's beat after the lease ran out: %v, want ErrLeaseLost", err)
	}
	r.beat(ctx, time.Minute)
	if a.Epoch() == epoch {
		t.Fatal("the beat did not take a new lease after the old one ran out")
	}
	if err := a.Beat(ctx, time.Minute); err != nil {
		t.Fatalf("the new lease is not renewed: %v", err)
	}
	if err := r.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Claim(ctx); err != nil {
		t.Fatalf("the id after Release: %v", err)
	}
}
