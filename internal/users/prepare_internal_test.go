package users

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// hungStore is a Store on PostgreSQL through a blackhole, with a user in
// it and its stamp lookup not yet prepared, to be prepared within wait.
func hungStore(t *testing.T, wait time.Duration) (*Store, *dbtest.Blackhole, int64) {
	t.Helper()
	dsn := dbtest.Postgres(t)
	b, through := dbtest.NewBlackhole(t, dsn)
	ctx := context.Background()
	d, err := db.Open(ctx, through)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	t.Cleanup(b.Release) // before d's Close, which waits for its connections
	// The user is made through connections of their own, so that none of
	// the Store's has prepared a query of its (pgx answers a prepare
	// already made on a connection without asking the server).
	direct, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	ann, err := NewStore(direct.Write, direct.Read, nil, bcrypt.MinCost).Create(ctx, "ann", RoleOperator, "long-enough")
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(d.Write, d.Read, nil, bcrypt.MinCost)
	s.wait = wait
	return s, b, ann.ID
}

type current struct {
	err  error
	took time.Duration
}

func goCurrent(ctx context.Context, s *Store, id int64) <-chan current {
	done := make(chan current, 1)
	began := time.Now()
	go func() {
		_, _, err := s.Current(ctx, id)
		done <- current{err, time.Since(began)}
	}()
	return done
}

// While one request's prepare of the stamp lookup hangs on a server that
// never answers, another request waits for it no longer than its own
// deadline, and fails with its context's error: one hung prepare must not
// stall every signed-in request of the process.
func TestCurrentWaitsForAnotherRequestsHungPrepareNoLongerThanItsDeadline(t *testing.T) {
	t.Parallel()
	const wait = 5 * time.Second
	s, b, id := hungStore(t, wait)
	b.Hold()
	first := goCurrent(context.Background(), s, id)
	select {
	case <-b.Held(): // the first call is in its prepare, holding the lookup
	case r := <-first:
		t.Fatalf("Current answered through a held connection: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the first Current sent nothing to the server in 30 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	select {
	case r := <-goCurrent(ctx, s, id):
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("a call whose deadline passed while another prepared: %v, want its context's error", r.err)
		}
		select {
		case r := <-first:
			t.Fatalf("the hung prepare ended (%v after %v) before the waiting call's 100 ms deadline was seen", r.err, r.took)
		default: // it returned while the prepare still hung: on its own deadline, not the prepare's
		}
	case <-time.After(wait + 10*time.Second):
		t.Fatal("a call with a 100 ms deadline was still waiting on another call's hung prepare after 15 s")
	}
}

// A prepare of the stamp lookup that the server never answers gives up at
// its own deadline, although the requests waiting for it have none; its
// failure is theirs (one prepare, not one after another), it is not kept,
// and a later call prepares afresh once the server answers.
func TestAHungPrepareGivesUpAtItsTimeoutAndALaterCurrentPreparesAfresh(t *testing.T) {
	t.Parallel()
	const wait = 2 * time.Second
	s, b, id := hungStore(t, wait)
	b.Hold()
	calls := []<-chan current{goCurrent(context.Background(), s, id), goCurrent(context.Background(), s, id)}
	for i, call := range calls {
		select {
		case r := <-call:
			if r.err == nil {
				t.Fatal("Current answered through a held connection")
			}
			t.Logf("call %d gave up after %v: %v", i, r.took, r.err)
		case <-time.After(wait + 30*time.Second):
			t.Fatalf("call %d: a prepare on a server that never answers was still waiting 30 s past its %v timeout", i, wait)
		}
	}
	if s.stamp.l.Load() != nil {
		t.Fatal("a failed prepare left a lookup behind")
	}
	if n := s.stamp.tries.Load(); n != 1 {
		t.Errorf("two calls waiting at once began %d prepares, want 1 (the failure of the one is the other's)", n)
	}
	b.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, _, err := s.Current(ctx, id)
	if err != nil {
		t.Fatalf("Current once the server answers again: %v", err)
	}
	if u.ID != id || s.stamp.l.Load() == nil || s.stamp.tries.Load() != 2 {
		t.Fatalf("Current after the failed prepare: user %d, lookup prepared %v after %d prepares", u.ID, s.stamp.l.Load() != nil, s.stamp.tries.Load())
	}
}

// ByID (Current's read of a record it has not cached) prepares its query
// once; on a server that never answers, that prepare too gives up at its
// deadline, and the call answers within its own context's.
func TestByIDsHungPrepareGivesUpAtItsTimeout(t *testing.T) {
	t.Parallel()
	const wait = time.Second
	s, b, id := hungStore(t, wait)
	b.Hold()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.ByID(ctx, id)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("ByID answered through a held connection")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ByID on a server that never answers was still waiting 27 s past its 3 s deadline")
	}
}
