package audit

import (
	"slices"

	"ecsdash/internal/perm"
)

// ActionInfo describes one action an entry can carry, once: its verb and
// what pages call it, what the person taking it needs, whether it begins
// an operation or follows one, and what of it the pages and notifications
// show. The lists the filters accept, the default view's, the fold's
// follow-ups, the one-open-operation rule, the pages' wording and the
// notifications' events are all read from this table (handlers, starts,
// this package), so a new action is one row here and its constant above.
type ActionInfo struct {
	Name  string // the audit action, as stored and as the contract names it
	Verb  string // what a person does, as a form's path ends (audit/ID/VERB); "" for the dashboard's own entries
	Words string // what a page calls it
	// Perm is what the person taking it needs (0: the dashboard takes it,
	// or anyone may, for themselves: a sign-in, withdrawing one's own
	// request).
	Perm perm.Perm
	// Begins: an entry of this action opens an operation (its first
	// entry); the others follow one (a decision, a recovery).
	Begins bool
	// Holds: an operation it begins on an instance holds that instance
	// while awaiting approval or in flight (one open operation an
	// instance): a start request, its reason and batch shown.
	Holds bool
	// Request: it is an entry of a start request's operation (the request
	// or what follows it), whose requester is told how it ended.
	Request bool
	// OnInstance: an ECS call on an instance (its parameters, account and
	// ActionTrail link are shown).
	OnInstance bool
	// ByApprover: the person who took it is recorded as the entry's
	// approver (a decision or a withdrawal), not its user (the requester).
	ByApprover bool
	// Decides: it ends a request awaiting approval (a decision, a
	// withdrawal, an expiry).
	Decides bool
	// Note is the notification event it stands for on a request that
	// needed approval ("" when its state says: an attempt's outcome).
	Note string
	// SignIn: a sign-in or sign-out, hidden from the audit page's default
	// view.
	SignIn bool
	// Account: an account change (Target and Detail say what).
	Account bool
}

// actionTable is every action, in the order filters list them.
var actionTable = []ActionInfo{
	{Name: ActionStartInstance, Verb: "start", Words: "Start instance", Perm: perm.Start, Begins: true, Holds: true, Request: true, OnInstance: true},
	{Name: ActionApprove, Verb: "approve", Words: "Approve", Perm: perm.Decide, Request: true, ByApprover: true, Decides: true, Note: "approved"},
	{Name: ActionReject, Verb: "reject", Words: "Reject", Perm: perm.Decide, Request: true, ByApprover: true, Decides: true, Note: StateRejected},
	{Name: ActionExpire, Words: "Expire", Request: true, Decides: true, Note: StateExpired},
	{Name: ActionWithdraw, Verb: "withdraw", Words: "Withdraw", Perm: perm.Admin, Request: true, ByApprover: true, Decides: true, Note: StateWithdrawn},
	{Name: ActionCheck, Verb: "check", Words: "Check (dry run)", Perm: perm.Start, Begins: true, OnInstance: true},
	{Name: ActionRecover, Words: "Record as unknown", Request: true, Note: StateUnknown},
	{Name: ActionReconcile, Words: "Follow up an unknown outcome", Request: true},
	{Name: ActionLogin, Words: "Sign in", Begins: true, SignIn: true},
	{Name: ActionLogout, Words: "Sign out", Begins: true, SignIn: true},
	{Name: ActionChainKeyed, Words: "Audit key", Begins: true},
	{Name: ActionTokenCreate, Words: "Create API token", Begins: true},
	{Name: ActionTokenRevoke, Words: "Revoke API token", Begins: true},
	{Name: ActionUserAdd, Words: "Add user", Perm: perm.Admin, Begins: true, Account: true},
	{Name: ActionUserDisable, Words: "Disable user", Perm: perm.Admin, Begins: true, Account: true},
	{Name: ActionUserEnable, Words: "Enable user", Perm: perm.Admin, Begins: true, Account: true},
	{Name: ActionUserRole, Words: "Change role", Perm: perm.Admin, Begins: true, Account: true},
	{Name: ActionUserPassword, Words: "Set password", Perm: perm.Admin, Begins: true, Account: true},
	{Name: ActionGrantAdd, Words: "Add grant", Perm: perm.Admin, Begins: true, Account: true},
	{Name: ActionGrantRemove, Words: "Remove grant", Perm: perm.Admin, Begins: true, Account: true},
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

// Needs is what taking action needs, read from its row. It panics for an
// action the table does not hold or gives no permission: a programming
// error, caught at start-up by the variables that read it (DecideNeeds
// below, starts' own).
func Needs(action string) perm.Perm {
	a, ok := Action(action)
	if !ok || a.Perm == 0 {
		panic("audit: the action table gives " + action + " no permission")
	}
	return a.Perm
}

var (
	// DecideNeeds is what approving and rejecting a request need (their
	// rows agree: TestTheActionTableDescribesEachActionOnce): what the
	// approval queue and its count are shown for.
	DecideNeeds = Needs(ActionApprove)
	// ExportNeeds is what exporting the audit log needs. An export
	// writes no entry, so it is no row of the table; it is said here,
	// beside the rows, for the export route and its links alike.
	ExportNeeds = perm.Export
)

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

// Is reports whether e's action has the property want reads from its row
// (false for an action the table does not hold).
func Is(e Event, want func(ActionInfo) bool) bool {
	a, ok := Action(e.Action)
	return ok && want(a)
}

// IsRequest reports whether op is a start request (its first entry begins
// an operation that holds its instance).
func IsRequest(op Op) bool { return Is(op.First, func(a ActionInfo) bool { return a.Holds }) }
