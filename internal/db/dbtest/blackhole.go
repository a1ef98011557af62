package dbtest

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// NewBlackhole puts a Blackhole between the test and the PostgreSQL server
// of dsn, and returns it with the DSN that goes through it.
func NewBlackhole(t testing.TB, dsn string) (*Blackhole, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := newBlackhole(t, u.Host)
	u.Host = b.ln.Addr().String()
	return b, u.String()
}

// Held is sent on (without waiting) whenever bytes are kept back: a
// client is waiting for an answer it will not have until Release.
func (b *Blackhole) Held() <-chan struct{} { return b.held }

// Blackhole is a TCP proxy to a PostgreSQL server that can stop carrying
// bytes, as a network black hole or a server that accepts and never
// answers would: while held, what either side sends is kept back (and
// said on held), and new connections are accepted and never answered.
type Blackhole struct {
	ln     net.Listener
	target string
	held   chan struct{} // one slot: bytes were kept back
	mu     sync.Mutex
	gate   chan struct{} // non-nil while held; closed to let the bytes through
	conns  []net.Conn
}

func newBlackhole(t testing.TB, target string) *Blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Blackhole{ln: ln, target: target, held: make(chan struct{}, 1)}
	go b.serve()
	t.Cleanup(func() {
		b.Release()
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

func (b *Blackhole) serve() {
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

func (b *Blackhole) copy(dst, src net.Conn) {
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
func (b *Blackhole) pass() {
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

// Hold stops every byte, on the connections open and on new ones.
func (b *Blackhole) Hold() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gate == nil {
		b.gate = make(chan struct{})
	}
}

// Release lets the bytes kept back through, and the ones after them.
func (b *Blackhole) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gate != nil {
		close(b.gate)
		b.gate = nil
	}
}
