package handlers

import (
	"context"
	"errors"
	"testing"
	"time"
)

// closes says whether ch closes within ten seconds (a bound, not a figure).
func closes(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

type ctxKey struct{}

// The request's lazy deadline behaves as context.WithDeadline over its
// parent: its deadline, its values, an expiry seen by Err with or without
// Done asked first, a parent's cancellation, children that end with it, and
// a stop that ends what it made.
func TestTheLazyDeadlineIsAContextWithADeadline(t *testing.T) {
	t.Parallel()
	parent := context.WithValue(context.Background(), ctxKey{}, "v")

	var l lazyDeadline
	at := time.Now().Add(time.Hour)
	l.start(parent, at)
	if d, ok := l.Deadline(); !ok || !d.Equal(at) {
		t.Fatalf("deadline %v %v, want %v", d, ok, at)
	}
	if l.Err() != nil || l.Value(ctxKey{}) != "v" || l.madeCtx() != nil {
		t.Fatalf("before anything asked: err %v, value %v, made %v", l.Err(), l.Value(ctxKey{}), l.madeCtx())
	}
	child, cancelChild := context.WithCancel(&l) // asks for Done
	defer cancelChild()
	if l.madeCtx() == nil || child.Value(ctxKey{}) != "v" {
		t.Fatal("a child context did not make the deadline's context, or lost the values")
	}
	l.stop() // the request is over
	if !closes(child.Done()) || !errors.Is(child.Err(), context.Canceled) || !errors.Is(l.Err(), context.Canceled) {
		t.Fatalf("after stop: child %v, deadline %v", child.Err(), l.Err())
	}

	// Past its time without Done asked: Err says so, and Done, asked then,
	// is closed.
	var past lazyDeadline
	past.start(parent, time.Now().Add(-time.Millisecond))
	if !errors.Is(past.Err(), context.DeadlineExceeded) {
		t.Fatalf("past its deadline: %v", past.Err())
	}
	if !closes(past.Done()) || !errors.Is(past.Err(), context.DeadlineExceeded) {
		t.Fatalf("past its deadline, Done asked: %v", past.Err())
	}

	// Its time comes while a child waits.
	var soon lazyDeadline
	soon.start(parent, time.Now().Add(20*time.Millisecond))
	defer soon.stop()
	waiter, cancelWaiter := context.WithCancel(&soon)
	defer cancelWaiter()
	if !closes(waiter.Done()) || !errors.Is(waiter.Err(), context.DeadlineExceeded) || !errors.Is(soon.Err(), context.DeadlineExceeded) {
		t.Fatalf("at its deadline: child %v, deadline %v", waiter.Err(), soon.Err())
	}

	// The parent ends first: seen with and without Done asked.
	for _, askDone := range []bool{false, true} {
		p, cancel := context.WithCancel(parent)
		var l lazyDeadline
		l.start(p, time.Now().Add(time.Hour))
		if askDone {
			_ = l.Done()
		}
		cancel()
		if !errors.Is(l.Err(), context.Canceled) || !closes(l.Done()) {
			t.Fatalf("parent cancelled (Done asked first: %v): %v", askDone, l.Err())
		}
		l.stop()
	}

	// A parent's earlier deadline is the deadline.
	early, cancel := context.WithDeadline(parent, time.Now().Add(time.Minute))
	defer cancel()
	var l2 lazyDeadline
	l2.start(early, time.Now().Add(time.Hour))
	if d, _ := l2.Deadline(); d.After(time.Now().Add(2 * time.Minute)) {
		t.Fatalf("deadline %v, later than the parent's", d)
	}
}
