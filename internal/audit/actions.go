package audit

import "slices"

// ActionInfo describes one action an entry can carry, once: what pages
// call it, whether it begins an operation or follows one, and what of it
// the pages show. The lists the filters accept, the default view's, the
// fold's follow-ups and the pages' wording are all read from this table,
// so a new action is one row here (and its constant above).
type ActionInfo struct {
	Name  string // the audit action, as stored and as the contract names it
	Words string // what a page calls it
	// Begins: an entry of this action opens an operation (its first
	// entry); the others follow one (a decision, a recovery).
	Begins bool
	// Holds: an operation it begins on an instance holds that instance
	// while awaiting approval or in flight (one open operation an
	// instance).
	Holds bool
	// OnInstance: an ECS call on an instance (its parameters, account and
	// ActionTrail link are shown).
	OnInstance bool
	// ByApprover: the person who took it is recorded as the entry's
	// approver (a decision or a withdrawal), not its user (the requester).
	ByApprover bool
	// SignIn: a sign-in or sign-out, hidden from the audit page's default
	// view.
	SignIn bool
	// Account: an account change (Target and Detail say what).
	Account bool
}

// actionTable is every action, in the order filters list them.
var actionTable = []ActionInfo{
	{Name: ActionStartInstance, Words: "Start instance", Begins: true, Holds: true, OnInstance: true},
	{Name: ActionApprove, Words: "Approve", ByApprover: true},
	{Name: ActionReject, Words: "Reject", ByApprover: true},
	{Name: ActionExpire, Words: "Expire"},
	{Name: ActionWithdraw, Words: "Withdraw", ByApprover: true},
	{Name: ActionCheck, Words: "Check (dry run)", Begins: true, OnInstance: true},
	{Name: ActionRecover, Words: "Record as unknown"},
	{Name: ActionReconcile, Words: "Follow up an unknown outcome"},
	{Name: ActionLogin, Words: "Sign in", Begins: true, SignIn: true},
	{Name: ActionLogout, Words: "Sign out", Begins: true, SignIn: true},
	{Name: ActionChainKeyed, Words: "Audit key", Begins: true},
	{Name: ActionTokenCreate, Words: "Create API token", Begins: true},
	{Name: ActionTokenRevoke, Words: "Revoke API token", Begins: true},
	{Name: ActionUserAdd, Words: "Add user", Begins: true, Account: true},
	{Name: ActionUserDisable, Words: "Disable user", Begins: true, Account: true},
	{Name: ActionUserEnable, Words: "Enable user", Begins: true, Account: true},
	{Name: ActionUserRole, Words: "Change role", Begins: true, Account: true},
	{Name: ActionUserPassword, Words: "Set password", Begins: true, Account: true},
	{Name: ActionGrantAdd, Words: "Add grant", Begins: true, Account: true},
	{Name: ActionGrantRemove, Words: "Remove grant", Begins: true, Account: true},
}

// Action describes the action named name; ok is false for a name no entry
// carries.
func Action(name string) (ActionInfo, bool) {
	i := slices.IndexFunc(actionTable, func(a ActionInfo) bool { return a.Name == name })
	if i < 0 {
		return ActionInfo{}, false
	}
	return actionTable[i], true
}

// names lists the actions of the table that keep holds.
func names(keep func(ActionInfo) bool) []string {
	var out []string
	for _, a := range actionTable {
		if keep(a) {
			out = append(out, a.Name)
		}
	}
	return out
}

var (
	// Actions lists every action an entry can carry: the values the audit
	// filters accept.
	Actions = names(func(ActionInfo) bool { return true })
	// OpActions lists the actions an operation begins with.
	OpActions = names(func(a ActionInfo) bool { return a.Begins })
	// FollowUps lists the actions that follow an operation's first entry.
	FollowUps = names(func(a ActionInfo) bool { return !a.Begins })
	// AccountActions are the actions of account changes.
	AccountActions = names(func(a ActionInfo) bool { return a.Account })
	// SignIns are the actions the audit page's default view hides.
	SignIns = names(func(a ActionInfo) bool { return a.SignIn })
	// Shown are the actions the audit page lists unless asked for another:
	// every operation but sign-ins. A filter on exactly these reads
	// through their own index, audit_ops_shown (migrations/0100), whose
	// condition is "not a sign-in", so a new action is shown without a
	// migration.
	Shown = names(func(a ActionInfo) bool { return a.Begins && !a.SignIn })
)
