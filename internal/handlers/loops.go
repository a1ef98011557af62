package handlers

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// The dashboard's background work is a fixed set of loops, started in one
// place (run) and stopped in one: Stop cancels them all, once every outcome
// in flight is written, and waits until each has returned. A loop returns
// nil when its context ends; an error (or a panic, turned into one) only
// when it cannot go on, which ends the others and is reported by Failed and
// Stop: the process is to shut down, draining, and exit non-zero.

// loop is one piece of background work.
type loop struct {
	name string
	run  func(ctx context.Context) error
}

// loops lists the background work of this App's configuration.
func (a *App) loops() []loop {
	var ls []loop
	if a.clock != nil {
		ls = append(ls, loop{"database clock", func(ctx context.Context) error { return a.clock.Run(ctx, clockSync, a.log) }})
	}
	if a.shared != nil {
		// The heartbeat on its own: a slow rescue or follow must not delay
		// it past the lease.
		ls = append(ls, loop{"replica heartbeat", a.heartbeat}, loop{"replica rescue and following", a.replicaLoop})
	}
	ls = append(ls,
		loop{"audit checkpoints", a.checkpoints},
		loop{"reconcile", a.reconcileLoop},
		loop{"fleet refresh", func(ctx context.Context) error { return a.fleet.Run(ctx, a.cfg.RefreshInterval) }},
		loop{"fleet tracking", a.fleet.Track},
		loop{"approval expiry", a.expiryLoop})
	if a.outbox != nil {
		ls = append(ls, loop{"notifications", a.outbox.Run})
	}
	return ls
}

// run runs every loop until ctx ends, and returns once all have returned:
// nil, or the first failure, named. A failure is given to failed at once,
// and does not stop the other loops: the shutdown it calls for drains the
// requests in flight, and that needs the heartbeat and the rest running
// until Stop cancels them.
func run(ctx context.Context, loops []loop, failed func(error)) error {
	var g errgroup.Group
	for _, l := range loops {
		g.Go(func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				}
				if err != nil {
					err = fmt.Errorf("background work %q stopped: %w", l.name, err)
					failed(err)
				}
			}()
			return l.run(ctx)
		})
	}
	return g.Wait()
}

// background is the loops started by Start.
type background struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once every loop has returned
	failed chan struct{} // closed when one failed
	once   sync.Once
	err    error // the first failure, set before failed is closed
}

// startLoops runs ls in the background until stopLoops.
func (a *App) startLoops(ctx context.Context, ls []loop) {
	ctx, cancel := context.WithCancel(ctx)
	b := &background{cancel: cancel, done: make(chan struct{}), failed: make(chan struct{})}
	a.bg = b
	go func() {
		run(ctx, ls, func(err error) {
			b.once.Do(func() {
				a.log.Error("background work failed: shutting down", "err", err)
				b.err = err
				close(b.failed)
			})
		})
		close(b.done)
	}()
}

// stopLoops cancels the loops and waits (within ctx) until every one has
// returned; an error only when ctx ended first.
func (a *App) stopLoops(ctx context.Context) error {
	if a.bg == nil {
		return nil
	}
	a.bg.cancel()
	select {
	case <-a.bg.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the background work did not stop: %w", ctx.Err())
	}
}

// Failed is closed when a background loop failed (Failure says how): the
// process is to shut down, draining, and exit non-zero. Before Start it is
// nil (never closes).
func (s *Server) Failed() <-chan struct{} {
	if s.app.bg == nil {
		return nil
	}
	return s.app.bg.failed
}

// Failure is the first background loop's failure once Failed is closed
// (nil before, and when none failed).
func (s *Server) Failure() error {
	b := s.app.bg
	if b == nil {
		return nil
	}
	select {
	case <-b.failed:
		return b.err
	default:
		return nil
	}
}

// expiryEvery is how often approval requests past their time are expired.
const expiryEvery = time.Minute

// expiryLoop expires approval requests past their time.
func (a *App) expiryLoop(ctx context.Context) error {
	t := time.NewTicker(expiryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.starts.ExpireDue(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("approval expiry failed", "err", err)
			}
		}
	}
}
