package audit

import (
	"slices"
	"testing"
)

// The action table describes each action once and holds together: names
// unique and in the filters' list, words for each, a request's follow-ups
// after its first entry, a verb only with the permission it needs.
func TestTheActionTableDescribesEachActionOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, a := range actionTable {
		switch {
		case seen[a.Name]:
			t.Errorf("%s: two rows", a.Name)
		case a.Words == "":
			t.Errorf("%s: no words for the pages", a.Name)
		case a.Holds && !a.Begins:
			t.Errorf("%s: holds an instance but begins no operation", a.Name)
		case a.Decides && (a.Begins || !a.Request):
			t.Errorf("%s: decides a request but is not one of its follow-ups", a.Name)
		case a.Verb != "" && a.Perm == 0:
			t.Errorf("%s: a person's verb (%s) with no permission", a.Name, a.Verb)
		case a.SignIn && !a.Begins:
			t.Errorf("%s: a sign-in that follows an operation", a.Name)
		}
		seen[a.Name] = true
		if got, ok := Action(a.Name); !ok || got.Name != a.Name {
			t.Errorf("%s: not found by name", a.Name)
		}
	}
	for _, name := range []string{ActionStartInstance, ActionApprove, ActionReject, ActionExpire, ActionWithdraw, ActionCheck, ActionRecover,
		ActionReconcile, ActionLogin, ActionLogout, ActionChainKeyed, ActionTokenCreate, ActionTokenRevoke, ActionUserAdd, ActionUserDisable,
		ActionUserEnable, ActionUserRole, ActionUserPassword, ActionGrantAdd, ActionGrantRemove} {
		if !slices.Contains(Actions, name) {
			t.Errorf("%s is not in the filters' list", name)
		}
	}
	if _, ok := Action("DeleteInstance"); ok {
		t.Error("an action no entry carries is described")
	}
}

// Deciding is one permission, read from the table: approving and
// rejecting need the same, which is what the pages show the queue for
// (DecideNeeds); exporting, which writes no entry, needs what ExportNeeds
// says; an action with no permission is refused by Needs.
func TestWhatDecidingAndExportingNeedIsSaidOnce(t *testing.T) {
	t.Parallel()
	if approve, reject := Needs(ActionApprove), Needs(ActionReject); approve != reject || DecideNeeds != approve {
		t.Fatalf("approve needs %v, reject %v, the pages ask %v", approve, reject, DecideNeeds)
	}
	if ExportNeeds == 0 || ExportNeeds == DecideNeeds {
		t.Fatalf("exporting needs %v (deciding %v): its own permission", ExportNeeds, DecideNeeds)
	}
	for _, name := range []string{ActionLogin, "DeleteInstance"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Needs(%s) gave a permission", name)
				}
			}()
			Needs(name)
		}()
	}
}
