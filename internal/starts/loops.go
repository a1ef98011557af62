package starts

import (
	"context"
	"errors"
	"time"

	"ecsdash/internal/loops"
)

// reconcileEvery is how often a process looks for its own intents whose
// call ended without an outcome on record (a single-process store; with
// replicas, the replica's rescue does it), and for unknown outcomes whose
// truth is now visible (every store).
const reconcileEvery = 15 * time.Second

// ReconcileLoop records as unknown, while the process runs, its own
// intents whose call ended without an outcome on record (with own: on a
// single-process store), and gives unknown outcomes their follow-up entry
// once the instance is seen settled. It returns nil when ctx ends.
func (s *Service) ReconcileLoop(ctx context.Context, own bool) error {
	return loops.Every(ctx, reconcileEvery, func(ctx context.Context) {
		if own {
			if n, err := s.RecoverDangling(ctx, false); err != nil {
				s.logger.Warn("reconciling dangling intents failed", "err", err)
			} else if n > 0 {
				s.logger.Warn("recorded intents whose outcome was not on record as outcome unknown", "count", n)
			}
		}
		if n, err := s.Reconcile(ctx); err != nil {
			s.logger.Warn("reconciling unknown outcomes failed", "err", err)
		} else if n > 0 {
			s.logger.Info("unknown outcomes given a follow-up entry with the status seen later", "count", n)
		}
	})
}

// expiryEvery is how often approval requests past their time are expired.
const expiryEvery = time.Minute

// ExpiryLoop expires approval requests past their time, until ctx ends.
func (s *Service) ExpiryLoop(ctx context.Context) error {
	return loops.Every(ctx, expiryEvery, func(ctx context.Context) {
		if err := s.ExpireDue(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.logger.Warn("approval expiry failed", "err", err)
		}
	})
}
