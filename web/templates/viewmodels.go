// Package templates holds the dashboard's templ components and the view
// models they take. Components never call services: handlers build the view
// models and pass them in.
package templates

import (
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
)

// Page is what every page's layout needs.
type Page struct {
	Title    string
	Base     string // path prefix ending in "/"
	Current  string // "instances", "audit", …: marks the nav link
	User     string // "" when nobody is logged in
	Role     string
	CSRF     string
	Demo     bool
	Flash    []Flash
	StyleURL string
	AppJSURL string
	Waiting  int  // requests awaiting this user's decision
	Admin    bool // the user administers users and grants: the nav links /admin/users
	// SkipToList adds "Skip to the instance list" (the list page only:
	// a skip link's target must be on its page).
	SkipToList bool
	// Loc gives the texts of the page's language (nil: English).
	Loc *i18n.Localizer
	// Zone is where the page's times are shown (nil: UTC, until the
	// page script tells the browser's).
	Zone *time.Location
	// Here is where the language control brings the user back to.
	Here string
}

// T is the text of key in the page's language (see i18n.Localizer.T).
func (p Page) T(key string, kv ...any) string { return p.Loc.T(key, kv...) }

// N is the text of key for a count, in the language's plural form.
func (p Page) N(key string, n int, kv ...any) string { return p.Loc.N(key, n, kv...) }

// S is a service's English sentence in the page's language.
func (p Page) S(english string) string { return p.Loc.Sentence(english) }

// Lang is the page's language, as <html lang> names it.
func (p Page) Lang() string { return p.Loc.Lang() }

// ZoneName names the zone of the page's times ("UTC" without one).
func (p Page) ZoneName() string { return i18n.ZoneName(p.Zone) }

// Time is t as a page shows it: in the page's zone, to the second.
func (p Page) Time(t time.Time) string { return In(t, p.Zone).Format("2006-01-02 15:04:05") }

// In is t in loc (UTC without one).
func In(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		return t.UTC()
	}
	return t.In(loc)
}

// Flash is a one-time message carried across a redirect.
type Flash struct {
	Error bool
	Text  string
}

// URL joins the base path and a relative path.
func (p Page) URL(rel string) string { return p.Base + rel }

// The reason fields' limits, as the service enforces them (in characters;
// the browser's count is a courtesy, the server's the rule).
var (
	reasonMax       = strconv.Itoa(starts.MaxReason)
	rejectReasonMin = strconv.Itoa(starts.MinRejectReason)
)

// LoginPage is the sign-in form.
type LoginPage struct {
	Page
	Next      string
	Username  string
	Error     string
	DemoUsers []DemoUser
}

// DemoUser is shown on the login page in demo mode only.
type DemoUser struct{ Name, Role, Password, Scope string }

// InstancesPage is the fleet list.
type InstancesPage struct {
	Page
	Rows                        templ.Component // InstanceRows (the handler caches it)
	Q, Region, Status, Family   string
	Account                     string   // the account filter
	Accounts                    []string // the --accounts names; none with one account
	Tags                        []string // the tag=KEY=VALUE filters
	RG                          string   // the rg= filter
	PerPage                     int
	Regions, Statuses, Families []string
	Matched, Total              int
	PageNum, Pages              int
	PrevURL, NextURL            string
	CacheAge                    string
	NoLocks                     bool // no row of the page has a lock: a small screen leaves the column out
	CacheErrors                 []string
	FormToken                   string
	CanStart                    bool              // the user may start: the batch form shows
	CanRefresh                  bool              // the user may force a refresh: the button shows
	NeedsApproval               bool              // every start needs approval: a reason is required
	SortLinks                   map[string]string // column -> the link that sorts by it
	Sort                        string
	Desc                        bool
	JumpParams                  url.Values // the query of the page jump's form, but the page
}

// InstanceRow is one instance as the list shows it.
type InstanceRow struct {
	ID, Name, Region, Zone, Type, Family, Status string
	Account                                      string   // its --accounts name; "" with one account
	Tags                                         []string // KEY=VALUE, sorted
	ResourceGroup                                string
	Locks                                        []string
	Charge, Expiry                               string
	Expired                                      bool     // past its expiry or locked for billing
	LockNotes                                    []string // ECS's LockMsg for each lock that has one
	PrivateIP, PublicIP                          string
	CanStart                                     bool
	Selectable                                   bool // the user may start instances: the row has a cell for the batch box
	WhyNot                                       string
	LocalDisk                                    bool
	NeedsApproval, NeedsApprovalInit             bool
	HeldBy                                       int64  // the request awaiting approval for it, 0 for none
	HeldURL                                      string // that request on the audit page
	StartURL, HistoryURL                         string
	CheckURL                                     string
	Version                                      string // how the row looks: the list's poll sends it back (handlers.rowVersion)
	QuietWhy                                     bool   // WhyNot for screen readers only (the page says it once)
	Economical                                   string // what economical mode means for its start; "" when not stopped so
}

// BatchPage is a batch start's results.
type BatchPage struct {
	Page
	BatchID                                     string
	Rows                                        []BatchRow
	Started, Awaiting, Refused, Failed, Unknown int
	Counts                                      []OutcomeCount // problems first, outcomes that occurred
	Back                                        string
}

// OutcomeCount is how many instances of a batch came to one outcome.
type OutcomeCount struct {
	Outcome, Words string
	N              int
}

// BatchRow is one instance of a batch.
type BatchRow struct {
	ID, Name, Region    string
	Outcome             string // started, awaiting_approval, refused, failed, unknown
	OutcomeWords, Words string
	Code, RequestID     string
	OpID                int64
	Live                bool // started: the script follows its status
	Status, StatusURL   string
}

// CheckPage is a dry run's answer.
type CheckPage struct {
	Page
	ID, Name, Region string
	Would            bool
	Summary, Action  string
	Code, RequestID  string
	Back             string
}

// ConfirmInitPage is the no-JavaScript confirmation for InitLocalDisk.
type ConfirmInitPage struct {
	Page
	Row           InstanceRow
	Error         string
	FormToken     string
	NeedsApproval bool
	Reason        string
}

// AuditPage is the audit log with approvals first.
type AuditPage struct {
	Page
	Awaiting         []AuditRow
	History          []AuditRow
	User, Instance   string
	State, Action    string
	From, To         string
	States           []string
	Actions          []Choice // the action filter's choices, in words
	Total            string   // how many operations match, in words when only bounded
	PageNum, Pages   int      // zero when paged by keyset
	PrevURL, NextURL string
	ExportCSV        string
	ExportJSON       string
	Batches          []BatchGroup // batches with two or more requests this user may approve
	Batch            string       // the batch filter
}

// AuditRow is one operation folded into a row.
type AuditRow struct {
	ID                                 int64
	State                              string
	Time                               string
	Action                             string
	Requester, Approver                string
	Region, InstanceID, InstanceName   string
	Params                             string
	RequestID, ErrorCode, ErrorMessage string // ErrorMessage in the page's words
	ECSMessage                         string // ECS's own message of a failure, as ECS sent it
	Reason                             string
	Digest                             string
	CanDecide                          bool
	WhyNotDecide                       string
	ApproveURL, RejectURL              string
	Timeline                           []TimelineRow
	StateWords                         string // the state in plain words
	// For a request awaiting approval: the context a decision needs.
	RequestReason string // why the requester asks
	Family        string
	Status        string // the instance's status now, from the fleet cache
	NotStopped    string // words when it can no longer start as asked
	Wipe          bool   // InitLocalDisk: all local-disk data is lost
	Age, Expires  string
	CanWithdraw   bool
	WithdrawURL   string
	BatchID       string // the batch start it was part of
	// Who the ECS call was made as, and where ActionTrail shows it.
	Account, SessionName string
	TrailURL             string
}

// BatchGroup is a batch's requests that await this user's decision.
type BatchGroup struct {
	ID         string
	Count      int
	ApproveURL string
	Requests   []string // "ID:DIGEST" of each request shown: the approval is bound to them
}

// ConfirmApprovePage asks once more before approving a start that wipes
// local disks (the page for browsers without JavaScript).
type ConfirmApprovePage struct {
	Page
	Row AuditRow
}

// TimelineRow is one event of an operation.
type TimelineRow struct {
	Seq                               int64
	Time, Action, User, State, Detail string
}

// ErrorPage explains a failure in words.
type ErrorPage struct {
	Page
	Status    int
	Heading   string
	Message   string
	RequestID string // ours, for the log
	BackURL   string
	ECS       *ECSFailure
}

// ECSFailure is what ECS answered, for the page that explains it.
type ECSFailure struct {
	InstanceID, InstanceName string
	Region                   string
	RetryURL                 string // a start worth trying again (ECS busy, not ready yet): its form's action
	Code, Message            string
	ECSRequestID             string
	Summary, Action          string
	AuditURL                 string
}

// firstOr is the first of list, or "".
func firstOr(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// restOf is list without its first.
func restOf(list []string) []string {
	if len(list) < 2 {
		return nil
	}
	return list[1:]
}
