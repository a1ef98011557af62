package starts

import (
	"context"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
)

// Settle is how long after a call whose outcome is unknown an instance
// still Stopped is taken as not started: far beyond ECS's own timeouts for
// a start to take effect.
const Settle = 5 * time.Minute

// reconcileWithin is how far back unknown outcomes are looked at.
const reconcileWithin = 24 * time.Hour

// Reconcile looks up, in one DescribeInstances per region, the instances
// of start operations whose outcome is unknown, and gives each a follow-up
// entry once the truth is visible: seen Running (or Starting) after the
// call, or still Stopped long after it (Settle). The entry says what was
// seen and when, in words; its state stays unknown, for what ECS answered
// is still not known. A status read before ECS could have acted (Stopped,
// soon after the call) is no answer, and waits for the next pass.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	if s.batch == nil {
		return 0, nil
	}
	ops, err := s.log.Unsettled(ctx, s.now().Add(-reconcileWithin), 500)
	if err != nil {
		return 0, err
	}
	byRegion := map[string][]audit.Op{}
	for _, op := range ops {
		byRegion[op.Last.Region] = append(byRegion[op.Last.Region], op)
	}
	n := 0
	for region, group := range byRegion {
		for len(group) > 0 {
			chunk := group[:min(len(group), ecs.MaxBatch)]
			group = group[len(chunk):]
			ids := make([]string, len(chunk))
			for i, op := range chunk {
				ids[i] = op.Last.InstanceID
			}
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			found, err := s.batch.DescribeMany(lctx, region, ids)
			cancel()
			if err != nil {
				continue // ECS is not answering: the next pass
			}
			at := s.now()
			for _, op := range chunk {
				inst, ok := found[op.Last.InstanceID]
				if !ok {
					continue
				}
				s.fleet.Update(inst)
				words := seenWords(inst.Status, at, op.Last.Time)
				if words == nil {
					continue
				}
				ev := byDashboard(op.Last)
				ev.Action, ev.ErrorCode, ev.ErrorMessage = audit.ActionReconcile, "Dashboard.SeenLater", words.String()
				if _, err := s.log.AppendIf(ctx, ev, audit.StateUnknown); err == nil {
					n++
				} // else: written meanwhile by another replica (one per operation), or the next pass
			}
		}
	}
	return n, nil
}
