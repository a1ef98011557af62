package audit

import (
	"context"
	"slices"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// An action filter finds every operation that holds an entry of that
// action, not only the ones it began with: ?action=approve lists the
// approved requests, and its total counts them.
func TestTheActionFilterFindsEveryOperationWithThatAction(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ctx := context.Background()
		log := New(d.Write, d.Read, nil)
		req, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "olivia", InstanceID: "i-a", State: StateAwaitingApproval})
		if err != nil {
			t.Fatal(err)
		}
		appr := req
		appr.Action, appr.Approver, appr.State = ActionApprove, "arthur", StateSent
		if _, err := log.AppendIf(ctx, appr, StateAwaitingApproval); err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "olivia", InstanceID: "i-b", State: StateSent}); err != nil {
			t.Fatal(err)
		}
		for action, want := range map[string][]int64{ActionApprove: {req.OpID}, ActionReject: nil, ActionStartInstance: {req.OpID, req.OpID + 2}} {
			p, err := log.OperationsPage(ctx, Filter{Action: action})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, op := range p.Ops {
				got = append(got, op.ID())
			}
			slices.Sort(got)
			if !slices.Equal(got, want) || p.Total.N != len(want) {
				t.Errorf("action=%s: operations %v (total %d), want %v", action, got, p.Total.N, want)
			}
		}
	})
}

// The default view hides sign-ins only: an API token's creation and
// revocation, an account change and every other operation are listed, and
// counted in its total.
func TestTheDefaultViewHidesOnlySignIns(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ctx := context.Background()
		log := New(d.Write, d.Read, nil)
		var want []string
		for _, a := range OpActions {
			if _, err := log.Append(ctx, Event{Action: a, User: "admin", State: StateSucceeded}); err != nil {
				t.Fatal(err)
			}
			if a != ActionLogin && a != ActionLogout {
				want = append(want, a)
			}
		}
		p, err := log.OperationsPage(ctx, Filter{Actions: Shown})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, op := range p.Ops {
			got = append(got, op.First.Action)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || p.Total.N != len(want) {
			t.Errorf("the default view lists %v (total %d), want %v", got, p.Total.N, want)
		}
	})
}
