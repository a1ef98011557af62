package starts_test

import (
	"testing"

	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/starts"
)

func TestApprovalPolicy(t *testing.T) {
	for policy, want := range map[string][2]bool{ // {plain start, InitLocalDisk}
		config.ApprovalNone:          {false, false},
		config.ApprovalInitLocalDisk: {false, true},
		config.ApprovalAll:           {true, true},
	} {
		s := &starts.Service{Approval: policy}
		if s.NeedsApproval(false) != want[0] || s.NeedsApproval(true) != want[1] {
			t.Errorf("%s: plain=%v init=%v", policy, s.NeedsApproval(false), s.NeedsApproval(true))
		}
	}
}

func TestDigestChangesWithEveryParameter(t *testing.T) {
	base := audit.Event{OpID: 7, Region: "cn-hangzhou", InstanceID: "i-abcdefgh12", InitLocalDisk: true, User: "op1"}
	d := starts.Digest(base)
	for name, mod := range map[string]func(*audit.Event){
		"op":     func(e *audit.Event) { e.OpID = 8 },
		"region": func(e *audit.Event) { e.Region = "cn-shanghai" },
		"id":     func(e *audit.Event) { e.InstanceID = "i-abcdefgh13" },
		"init":   func(e *audit.Event) { e.InitLocalDisk = false },
		"dryrun": func(e *audit.Event) { e.DryRun = true },
		"user":   func(e *audit.Event) { e.User = "op2" },
	} {
		e := base
		mod(&e)
		if starts.Digest(e) == d {
			t.Errorf("changing %s keeps the digest", name)
		}
	}
}
