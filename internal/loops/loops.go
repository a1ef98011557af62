// Package loops runs the dashboard's background work: a fixed set of
// loops, started in one place (Start) and stopped in one: Stop cancels them
// all and waits until each has returned. A loop returns nil when its
// context ends; an error (or a panic, turned into one) only when it cannot
// go on, which is reported by Failed and Failure: the process is to shut
// down, draining, and exit non-zero. What each loop does is its own
// package's (the replica's heartbeat and following, the start service's
// reconciling and expiry, the audit log's checkpoints, the fleet's refresh,
// the notifications' outbox); which loops run is the assembly's
// (handlers.Build and Server.Start).
package loops

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Loop is one piece of background work.
type Loop struct {
	Name string
	Run  func(ctx context.Context) error
}

// Every calls f at each tick of every until ctx ends, and then returns
// nil: the body of a loop that only waits for its next turn. A call in
// progress when ctx ends is f's to end (it is given ctx).
func Every(ctx context.Context, every time.Duration, f func(context.Context)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f(ctx)
		}
	}
}

// Run runs every loop until ctx ends, and returns once all have returned:
// nil, or the first failure, named. A failure is given to failed at once,
// and does not stop the other loops: the shutdown it calls for drains the
// requests in flight, and that needs the heartbeat and the rest running
// until Stop cancels them.
func Run(ctx context.Context, loops []Loop, failed func(error)) error {
	var g errgroup.Group
	for _, l := range loops {
		g.Go(func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				}
				if err != nil {
					err = fmt.Errorf("background work %q stopped: %w", l.Name, err)
					failed(err)
				}
			}()
			return l.Run(ctx)
		})
	}
	return g.Wait()
}

// Group is loops running in the background, from Start until Stop.
type Group struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once every loop has returned
	failed chan struct{} // closed when one failed
	once   sync.Once
	err    error // the first failure, set before failed is closed
}

// Start runs ls in the background until Stop. The first failure is logged
// to log, and closes Failed.
func Start(ctx context.Context, ls []Loop, log *slog.Logger) *Group {
	ctx, cancel := context.WithCancel(ctx)
	b := &Group{cancel: cancel, done: make(chan struct{}), failed: make(chan struct{})}
	go func() {
		Run(ctx, ls, func(err error) {
			b.once.Do(func() {
				log.Error("background work failed: shutting down", "err", err)
				b.err = err
				close(b.failed)
			})
		})
		close(b.done)
	}()
	return b
}

// Stop cancels the loops and waits (within ctx) until every one has
// returned; an error only when ctx ended first. A nil Group has nothing to
// stop.
func (b *Group) Stop(ctx context.Context) error {
	if b == nil {
		return nil
	}
	b.cancel()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the background work did not stop: %w", ctx.Err())
	}
}

// Failed is closed when a loop failed (Failure says how). For a nil Group
// it is nil (never closes).
func (b *Group) Failed() <-chan struct{} {
	if b == nil {
		return nil
	}
	return b.failed
}

// Failure is the first loop's failure once Failed is closed (nil before,
// and when none failed).
func (b *Group) Failure() error {
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
