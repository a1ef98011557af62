package users

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// blackhole is a TCP proxy to a PostgreSQL server that can stop carrying
// bytes, as a network black hole or a server that accepts and never
// answers would: while held, what either side sends is kept back (and
// said on held), and new connections are accepted and never answered.
type blackhole struct {
	ln     net.Listener
	target string
	held   chan struct{} // a send for the first bytes kept back since hold
	mu     sync.Mutex
	gate   chan struct{} // non-nil while held; closed to let the bytes through
	conns  []net.Conn
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target, held: make(chan struct{}, 1)}
	go b.serve()
	t.Cleanup(func() {
		b.release()
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.pass() // while held, not even the server is dialled
		up, err := net.Dial("tcp", b.target)
		if err != nil {
			c.Close()
			continue
		}
		b.mu.Lock()
		b.conns = append(b.conns, c, up)
		b.mu.Unlock()
		go b.copy(up, c)
		go b.copy(c, up)
	}
}

func (b *blackhole) copy(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			b.pass()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				src.Close()
			}
			return
		}
	}
}

// pass waits while the proxy is held, saying so on held.
func (b *blackhole) pass() {
	b.mu.Lock()
	g := b.gate
	b.mu.Unlock()
	if g == nil {
		return
	}
	select {
	case b.held <- struct{}{}:
	default:
	}
	<-g
}

func (b *blackhole) hold() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gate == nil {
		b.gate = make(chan struct{})
	}
}

func (b *blackhole) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gate != nil {
		close(b.gate)
		b.gate = nil
	}
}

// hungStore is a Store on PostgreSQL through a blackhole, with a user in
// it and its stamp lookup not yet prepared, to be prepared within wait.
func hungStore(t *testing.T, wait time.Duration) (*Store, *blackhole, int64) {
	t.Helper()
	dsn := dbtest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := newBlackhole(t, u.Host)
	u.Host = b.ln.Addr().String()
	ctx := context.Background()
	d, err := db.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
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
	b.hold()
	first := goCurrent(context.Background(), s, id)
	select {
	case <-b.held: // the first call is in its prepare, holding the lookup
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
	b.hold()
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
	b.release()
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
	b.hold()
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
