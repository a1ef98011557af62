package starts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"ecsdash/internal/audit"
)

// Outcomes that ECS gave are never dropped. An outcome whose append fails
// (the database refuses writes, the connection is gone, the disk is full)
// is kept in memory, in order, and written by one writer with backoff until
// it goes in; meanwhile its operation stays "sent" in the log, which is
// true: the instance is held by a call whose answer is not yet on record.
// No new call is sent while outcomes wait, so the log keeps the order in
// which things happened. A replica that lost its lease writes nothing more
// for the calls it made under it (audit.ErrFenced): the replica that took
// over records them, or this one does, in its new lease, from what is on
// record.
//
// The calls this process has in flight are held (an intent written, its
// outcome not): the reconciling of its own dangling intents while it runs
// (RecoverDangling) leaves exactly those alone.

type pendingOutcome struct {
	ev    audit.Event
	epoch int64 // of the lease the intent was written under
}

type outbook struct {
	gate    sync.RWMutex // intents hold it shared; the reconcile of our own dangling intents alone
	mu      sync.Mutex
	held    map[int64]int64 // operation → the lease epoch its intent was written under
	queue   []pendingOutcome
	drained chan struct{} // closed when the queue empties
}

func (b *outbook) hold(op, epoch int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == nil {
		b.held = map[int64]int64{}
	}
	b.held[op] = epoch
}

// holds reports whether op's call is this process's, in flight or with
// its outcome waiting, under the lease of epoch.
func (b *outbook) holds(op, epoch int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.held[op]
	return ok && e == epoch
}

// holding reports whether op's call is this process's, under any lease.
func (b *outbook) holding(op int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.held[op]
	return ok
}

// settle frees op unless its outcome waits to be written.
func (b *outbook) settle(op int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.queue {
		if p.ev.OpID == op {
			return
		}
	}
	delete(b.held, op)
}

// Pending is how many outcomes wait to be written.
func (s *Service) Pending() int {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return len(s.out.queue)
}

// Flush waits until every outcome kept has been written (or given up as
// fenced), or ctx ends.
func (s *Service) Flush(ctx context.Context) error {
	s.out.mu.Lock()
	if len(s.out.queue) == 0 {
		s.out.mu.Unlock()
		return nil
	}
	ch := s.out.drained
	s.out.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d outcomes of ECS calls are not yet recorded: %w", s.Pending(), ctx.Err())
	}
}

// errWaiting refuses to send a call while earlier outcomes wait.
func (s *Service) errWaiting() error {
	if n := s.Pending(); n > 0 {
		return fmt.Errorf("%d outcomes of earlier calls wait to be recorded (the database refused writes); nothing more is sent until they are", n)
	}
	return nil
}

// intent appends an attempt's intent and holds its operation.
func (s *Service) intent(ctx context.Context, ev audit.Event) (audit.Event, error) {
	if err := s.errWaiting(); err != nil {
		return audit.Event{}, err
	}
	s.out.gate.RLock()
	defer s.out.gate.RUnlock()
	written, err := s.log.Append(ctx, ev)
	if err != nil {
		return written, err
	}
	s.out.hold(written.OpID, s.log.Epoch())
	return written, nil
}

// outcome records ev, the outcome ECS gave for an intent this process
// wrote: at once when it can, else kept and written by the writer. It
// returns the entry and whether it is written now.
func (s *Service) outcome(ctx context.Context, ev audit.Event) (audit.Event, bool) {
	s.out.mu.Lock()
	epoch, ok := s.out.held[ev.OpID]
	if !ok {
		epoch = s.log.Epoch()
	}
	p := pendingOutcome{ev: ev, epoch: epoch}
	if len(s.out.queue) > 0 {
		s.keep(p, errors.New("earlier outcomes wait"))
		s.out.mu.Unlock()
		return ev, false
	}
	s.out.mu.Unlock()
	written, err := s.writeOutcome(ctx, p)
	if err == nil || permanent(err) {
		s.out.settle(ev.OpID)
		return written, err == nil
	}
	s.out.mu.Lock()
	s.keep(p, err)
	s.out.mu.Unlock()
	return ev, false
}

// keep queues p (s.out.mu held) and starts the writer when it is idle.
func (s *Service) keep(p pendingOutcome, why error) {
	s.logger.Warn("audit outcome kept to be written later", "op", p.ev.OpID, "state", p.ev.State, "request_id", p.ev.RequestID, "err", why)
	s.out.queue = append(s.out.queue, p)
	if len(s.out.queue) == 1 {
		s.out.drained = make(chan struct{})
		go s.writer()
	}
}

func permanent(err error) bool {
	return errors.Is(err, audit.ErrStateChanged) || errors.Is(err, audit.ErrFenced)
}

// writeOutcome appends one outcome, fenced by the lease of its intent.
func (s *Service) writeOutcome(ctx context.Context, p pendingOutcome) (audit.Event, error) {
	written, err := s.log.AppendFenced(ctx, p.ev, audit.StateSent, audit.Fence{Epoch: p.epoch})
	switch {
	case errors.Is(err, audit.ErrFenced):
		s.logger.Error("audit outcome not written: this replica's lease ended while the call was in flight; the replica that took over (or this one, in its new lease) records it as unknown",
			"op", p.ev.OpID, "state", p.ev.State, "request_id", p.ev.RequestID)
	case errors.Is(err, audit.ErrStateChanged):
		s.logger.Error("audit outcome not written: the operation was recorded meanwhile by another replica", "op", p.ev.OpID, "state", p.ev.State, "request_id", p.ev.RequestID)
	}
	return written, err
}

// writer writes the kept outcomes in order, each retried with backoff
// until it goes in, then stops.
func (s *Service) writer() {
	for {
		s.out.mu.Lock()
		if len(s.out.queue) == 0 {
			close(s.out.drained)
			s.out.mu.Unlock()
			return
		}
		p := s.out.queue[0]
		s.out.mu.Unlock()
		b := backoff.NewExponentialBackOff()
		b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 50*time.Millisecond, 2*time.Second, 0
		_ = backoff.Retry(func() error {
			_, err := s.writeOutcome(context.Background(), p)
			if err != nil && permanent(err) {
				return backoff.Permanent(err)
			}
			return err
		}, b) // never gives up but for a permanent refusal
		s.out.mu.Lock()
		s.out.queue = s.out.queue[1:]
		s.out.mu.Unlock()
		s.out.settle(p.ev.OpID)
	}
}

func noteOf(state string) string {
	switch state {
	case audit.StateSucceeded:
		return NoteSucceeded
	case audit.StateUnknown:
		return NoteUnknown
	}
	return NoteFailed
}
