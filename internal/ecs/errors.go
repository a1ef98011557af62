package ecs

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/alibabacloud-go/tea/tea"

	"ecsdash/internal/apperr"
	"ecsdash/internal/i18n"
)

// ErrorKind classifies what an ECS failure means for the operator.
type ErrorKind string

const (
	KindPrecondition   ErrorKind = "precondition"    // the instance's state forbids it now
	KindForbidden      ErrorKind = "forbidden"       // account, balance, permission or policy
	KindNotFound       ErrorKind = "not_found"       // no such instance
	KindInvalid        ErrorKind = "invalid"         // a parameter ECS refused
	KindThrottled      ErrorKind = "throttled"       // rate limit; retry later
	KindUnavailable    ErrorKind = "unavailable"     // ECS is down or out of capacity
	KindAuth           ErrorKind = "auth"            // credentials wrong or expired
	KindInternal       ErrorKind = "internal"        // ECS's own failure
	KindUnknownOutcome ErrorKind = "unknown_outcome" // the call may or may not have taken effect
)

// Error is a failed ECS call in words. RequestID is ECS's id for the request
// whenever ECS answered; it is empty only when no answer arrived.
type Error struct {
	Kind       ErrorKind
	Code       string // ECS's code, e.g. IncorrectInstanceStatus; ours start with "Dashboard."
	HTTPStatus int    // ECS's status; 0 when no answer arrived
	Message    string // ECS's own message
	RequestID  string
	Summary    string // what happened, in words
	Action     string // what the operator can do
	Err        error  // the transport error behind an unknown outcome
	// The formats and arguments that made Summary and Action when they
	// name something of the instance: a page in another language
	// translates the format.
	SummaryFormat, ActionFormat string
	SummaryArgs, ActionArgs     []any
}

// SummaryIn is Summary in l's language and zone, as ActionIn is Action:
// the format's translation with its arguments put in, the English itself
// when it has none.
func (e *Error) SummaryIn(l *i18n.Localizer) string { return e.SummaryWords().In(l) }

// ActionIn is Action in l's language and zone.
func (e *Error) ActionIn(l *i18n.Localizer) string { return e.ActionWords().In(l) }

// SummaryWords is Summary as words to say when shown (a batch row keeps
// them), as ActionWords is Action.
func (e *Error) SummaryWords() i18n.Said {
	if e.SummaryFormat != "" {
		return i18n.Wordsf(e.SummaryFormat, e.SummaryArgs...)
	}
	return i18n.Word(e.Summary)
}

// ActionWords is Action as words to say when shown.
func (e *Error) ActionWords() i18n.Said {
	if e.ActionFormat != "" {
		return i18n.Wordsf(e.ActionFormat, e.ActionArgs...)
	}
	return i18n.Word(e.Action)
}

func (e *Error) Error() string {
	s := fmt.Sprintf("ecs %s (%s", e.Code, e.Kind)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(", HTTP %d", e.HTTPStatus)
	}
	if e.RequestID != "" {
		s += ", RequestId " + e.RequestID
	}
	s += "): " + e.Summary
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another attempt may succeed: throttling, ECS's
// own failures and unavailability, and a conflict with a request still
// settling (Terraform retries InvalidOperation.Conflict too).
func (e *Error) Retryable() bool { return e.Kind == KindThrottled || retryCodes[e.Code] }

// retryCodes are the codes, besides throttling, that an attempt moments
// later may pass: nothing was done, and the cause passes by itself.
var retryCodes = map[string]bool{"ServiceUnavailable": true, "InternalError": true, "InvalidOperation.Conflict": true}

// appKinds is the one mapping from ECS's kinds to the application's (whose
// one table in the handlers gives the HTTP status): a refusal by ECS for the
// instance or the account is a conflict of the moment, not a refusal of the
// user; a dashboard that ECS does not accept is a bad gateway; no answer is
// a timeout whose outcome is unknown.
var appKinds = map[ErrorKind]apperr.Kind{
	KindPrecondition:   apperr.Conflict,
	KindForbidden:      apperr.Conflict,
	KindNotFound:       apperr.NotFound,
	KindInvalid:        apperr.Unprocessable,
	KindThrottled:      apperr.Unavailable,
	KindUnavailable:    apperr.Unavailable,
	KindInternal:       apperr.Unavailable,
	KindAuth:           apperr.BadGateway,
	KindUnknownOutcome: apperr.Timeout,
}

// AppKind is the application's kind of an ECS kind (apperr.Internal for one
// the table lacks, which a test forbids).
func (k ErrorKind) AppKind() apperr.Kind {
	if a, ok := appKinds[k]; ok {
		return a
	}
	return apperr.Internal
}

// AppKind makes an *Error an apperr.Kinded error.
func (e *Error) AppKind() apperr.Kind { return e.Kind.AppKind() }

type explanation struct {
	kind    ErrorKind
	summary string
	action  string
}

// explanations covers every code in the StartInstance reference and the
// common ones of DescribeInstances. Codes are matched exactly, then by prefix
// (Throttling.*), then by HTTP status.
var explanations = map[string]explanation{
	"IncorrectInstanceStatus": {KindPrecondition, "ECS refused: the instance is not in a state that allows starting (it must be Stopped).",
		"Refresh the list to see its current status; start it again once it shows Stopped."},
	"InstanceLockedForSecurity": {KindPrecondition, "The instance is under Security Control (operation lock 'security') and cannot be started.",
		"Contact your security team or Alibaba Cloud support to lift the lock."},
	"InstanceExpired": {KindForbidden, "The instance's subscription or pay-as-you-go billing has expired, so ECS will not start it.",
		"Renew the instance or top up the account balance, then start it again."},
	"InsufficientBalance": {KindForbidden, "The account balance is too low to start this pay-as-you-go instance.",
		"Top up the account, then start it again."},
	"InstanceNotReady": {KindPrecondition, "ECS says the instance is not ready yet (it may still be being created or changed).",
		"Wait a few minutes and try again."},
	"DiskError": {KindPrecondition, "One of the instance's disks is in a state that prevents starting (IncorrectDiskStatus).",
		"Check the instance's disks in the console (attaching, detaching or failed) and wait until they settle."}, // starts.Service advises per family (Advise)
	"DiskInArrears": {KindForbidden, "A disk of the instance is suspended for overdue payment.",
		"Settle the account's overdue payment, then start again."},
	"OperationDenied.NoStock": {KindUnavailable, "The zone has no stock of this instance type right now.",
		noStockAction},
	"LackResource": {KindUnavailable, "ECS lacks the resources to start this instance right now.",
		"Try again later, or change the instance type or zone."},
	"QuotaExceed.ElasticQuota": {KindForbidden, "Starting would exceed one of the account's elastic quotas: of this instance type, of vCPUs in the zone, or of all vCPUs (ECS's message below says which).",
		"Ask for a higher quota in Quota Center, or stop other instances of that type or zone first."},
	"OperationDenied.HostRepairing": {KindPrecondition, "The instance's physical host is being repaired.",
		"Wait for the repair to end, or contact Alibaba Cloud support."},
	"InvalidParameter.KMSKeyId.NotFound": {KindForbidden, "The KMS key that encrypts the instance's disks no longer exists.",
		"Restore the key in KMS, or ask the key's owner."},
	"InvalidParameter.KMSKeyId.CMKUnauthorized": {KindForbidden, "ECS may not use the KMS key (CMK) that encrypts the instance's disks: the key lacks the tag that lets ECS use it.",
		"Ask the key's owner to add, in KMS, the tag that ECS's disk-encryption guide names for keys ECS may use; then start again."},
	"InvalidParameter.KMSKeyId.CMKNotEnabled": {KindForbidden, "The KMS key that encrypts the instance's disks is disabled.",
		"Enable the key in KMS, then start again."},
	"InvalidParameter.KMSKeyId.KMSUnauthorized": {KindForbidden, "ECS has no right to use your KMS, which encrypts the instance's disks.",
		"Authorise ECS to access KMS (the AliyunECSDiskEncryptDefaultRole), then start again."},
	"InvalidInstance.NotFoundSystemDisk": {KindPrecondition, "The instance has no system disk, so it cannot start.",
		"Attach or replace a system disk, then start again."},
	"InvalidInstanceId.NotFound": {KindNotFound, "ECS has no instance with this ID in this region.",
		"Refresh the list: the instance may have been released."},
	"InvalidOperation.Conflict": {KindPrecondition, "A previous request on the instance is still being carried out, so ECS refused this one for now; nothing was done.",
		"The dashboard already retried within the request's time. Wait a minute, refresh the list, and start it again if it still shows Stopped."},
	"InstanceExpiredOrInArrears": {KindForbidden, "The instance has expired or the account has an overdue payment, so ECS will not start it.",
		"Renew the instance or settle the account's overdue payment, then start it again."},
	"OperationDenied.SpotPriceLowerThanPublicPrice": {KindUnavailable, "This spot instance's price limit is below the current market price, so ECS has no capacity for it at that price.",
		"Try again later, or raise the instance's spot price limit (or change it to pay-as-you-go)."},
	"Invalid.PrivatePoolOptions.NoStock": {KindUnavailable, "The private pool the instance starts from (an elasticity assurance or a capacity reservation) has no capacity left.",
		"Stop another instance that uses the pool, enlarge the pool, or let the instance use the public pool; then start again."},
	"InvalidDedicatedHost.NotEnoughResource": {KindUnavailable, "The dedicated host the instance runs on has no room left for it.",
		"Stop another instance on that host, or move this one to another dedicated host; then start again."},
	"InvalidCapacityReservationId.NotFound": {KindPrecondition, "The capacity reservation this instance is bound to no longer exists (the instance itself does).",
		"Change the instance's private pool options in the console (the public pool, or another reservation), then start again."},
	"DRYRUN.SUCCESS": {KindPrecondition, "The batch dry run passed: ECS would accept the start.", "Start them for real when ready."},
	"InvalidInstanceIds.NotFound": {KindNotFound, "ECS has none of the batch's instances in this region.",
		"Refresh the list: the instances may have been released."},
	"InvalidParameter.TooManyInstanceIds": {KindInvalid, "The batch named more than 100 instances; ECS starts at most 100 in a call.",
		"Start at most 100 instances at a time."},
	"Abs.InvalidInstanceIds.MalFormed": {KindInvalid, "ECS could not read an instance ID of the batch.",
		"Check that every ID looks like i-…; if they do, report this to the dashboard's maintainers with the RequestId."},
	"Throttling":          {KindThrottled, "ECS is rate-limiting requests right now.", throttleAction},
	"Throttling.User":     {KindThrottled, "ECS is rate-limiting the account's requests (every user, Terraform and the console share the limit).", throttleAction},
	"Throttling.Api":      {KindThrottled, "ECS is rate-limiting this API for the account.", throttleAction},
	"Throttling.Resource": {KindThrottled, "ECS is rate-limiting requests on this instance.", throttleAction},
	"InternalError": {KindInternal, "ECS failed with an internal error.",
		"Try again in a minute; if it persists, contact Alibaba Cloud support with the RequestId."},
	"ServiceUnavailable": {KindUnavailable, "ECS is temporarily unavailable.",
		"Try again in a minute."},
	"DryRunOperation": {KindPrecondition, "The dry run passed: the start would be accepted.", "Start it for real when ready."},
	"InvalidAccessKeyId.NotFound": {KindAuth, "ECS does not know the dashboard's AccessKey ID.",
		"Ask the dashboard's administrator to check its credentials."},
	"SignatureDoesNotMatch": {KindAuth, "ECS rejected the dashboard's request signature.",
		"Ask the dashboard's administrator to check its AccessKey secret."},
	"InvalidSecurityToken.Expired": {KindAuth, "The dashboard's temporary (STS) credentials have expired, and renewing them from their source did not help.",
		"Ask the dashboard's administrator to check where its credentials come from: a RAM role renews itself; a security token in the environment must be replaced and the dashboard restarted."},
	"InvalidSecurityToken.Malformed": {KindAuth, "ECS could not read the dashboard's security token (STS).",
		"Ask the dashboard's administrator to check ALIBABA_CLOUD_SECURITY_TOKEN or the role the credentials come from."},
	"InvalidSecurityToken.MismatchWithAccessKey": {KindAuth, "The dashboard's security token (STS) belongs to another AccessKey.",
		"Ask the dashboard's administrator to set the AccessKey ID, secret and security token of the same STS grant."},
	"MissingSecurityToken": {KindAuth, "The dashboard uses temporary (STS) credentials without their security token.",
		"Ask the dashboard's administrator to set ALIBABA_CLOUD_SECURITY_TOKEN with the temporary AccessKey."},
	"Forbidden.RAM": {KindForbidden, "The dashboard's RAM identity may not perform this operation.",
		"Ask the cloud account's administrator to grant ecs:StartInstance to the dashboard's RAM user or role."},
	"Forbidden": {KindForbidden, "ECS refused the operation for the dashboard's account.",
		"Ask the cloud account's administrator to check the dashboard's permissions."},
}

const noStockAction = "Wait and try again later, or change it to another instance type, or move it to another zone."

const throttleAction = "The dashboard already waited and retried within the request's time. Wait a minute and try again."

// The dashboard's own refusals, decided before anything is sent to ECS.
const (
	CodeNotStopped      = "Dashboard.NotStopped"
	CodeSecurityLocked  = "Dashboard.SecurityLocked"
	CodeExpired         = "Dashboard.Expired"
	CodeNoLocalDisk     = "Dashboard.NotLocalDiskFamily"
	CodeUnknownRegion   = "Dashboard.UnknownRegion"
	CodeUnknownOutcome  = "Dashboard.NoAnswer"
	CodeInvalidResponse = "Dashboard.InvalidResponse"
	CodeAuditFailed     = "Dashboard.AuditFailed" // the intent could not be recorded, so nothing was sent
)

func explain(code string, status int) explanation {
	if e, ok := explanations[code]; ok {
		return e
	}
	switch {
	case strings.HasPrefix(code, "Throttling"):
		return explanation{KindThrottled, "ECS is rate-limiting the account's requests.", throttleAction}
	case strings.HasPrefix(code, "InvalidParameter"), strings.HasPrefix(code, "MissingParameter"):
		return explanation{KindInvalid, "ECS refused a parameter of the request.", "Report this to the dashboard's maintainers with the RequestId."}
	case strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "OperationDenied"):
		return explanation{KindForbidden, "ECS refused the operation.", "Check the message below; the account or the instance forbids it."}
	case status == 404:
		return explanation{KindNotFound, "ECS could not find the resource.", "Refresh the list."}
	case status >= 500:
		return explanation{KindInternal, "ECS failed to handle the request.", "Try again in a minute."}
	}
	return explanation{KindPrecondition, "ECS refused the request.", "Read ECS's message below; refresh the list and try again if the instance's state changed."}
}

// fromSDK turns what the SDK returned into an *Error. A transport error (no
// answer from ECS) becomes KindUnknownOutcome: the call may have taken effect.
func fromSDK(err error) *Error {
	if err == nil {
		return nil
	}
	var sdk *tea.SDKError
	if errors.As(err, &sdk) && sdk.StatusCode != nil && tea.IntValue(sdk.StatusCode) != 0 {
		code := tea.StringValue(sdk.Code)
		status := tea.IntValue(sdk.StatusCode)
		var body struct {
			RequestId string
			Message   string
		}
		if sdk.Data != nil {
			_ = json.Unmarshal([]byte(tea.StringValue(sdk.Data)), &body) // Data is the SDK's JSON of ECS's body; a malformed one leaves the fields empty
		}
		msg := body.Message
		if msg == "" {
			msg = tea.StringValue(sdk.Message)
		}
		x := explain(code, status)
		return &Error{Kind: x.kind, Code: code, HTTPStatus: status, Message: msg, RequestID: body.RequestId,
			Summary: x.summary, Action: x.action}
	}
	if errors.As(err, &sdk) && tea.StringValue(sdk.Code) == "InvalidCredentials" {
		return &Error{Kind: KindAuth, Code: "InvalidCredentials", Summary: "The dashboard has no usable Alibaba Cloud credentials.",
			Action: "Ask the dashboard's administrator to configure credentials.", Err: errors.New(tea.StringValue(sdk.Code))}
	}
	return &Error{Kind: KindUnknownOutcome, Code: CodeUnknownOutcome,
		Summary: "No answer came from ECS (timeout or network failure), so whether the call took effect is unknown.",
		Action:  "Refresh the list to see the instance's status before trying again.", Err: err}
}

// sentNothing reports whether a transport error happened before the request
// could reach ECS (the connection was never made), so a retry cannot double
// an operation.
func sentNothing(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return false
}

// Explanation is a code's meaning for the operator.
type Explanation struct {
	Kind            ErrorKind
	Summary, Action string
	Retryable       bool // another attempt moments later may pass
}

// Explain says in words what an ECS code means and what to do (as Error's
// Summary and Action would for it).
func Explain(code string) Explanation {
	x := explain(code, 0)
	return Explanation{Kind: x.kind, Summary: x.summary, Action: x.action, Retryable: (&Error{Kind: x.kind, Code: code}).Retryable()}
}

// Codes are the codes the table explains by name (others by their prefix
// or status), sorted.
func Codes() []string { return slices.Sorted(maps.Keys(explanations)) }

// Words is what went wrong, in words: an *Error's summary, "no answer" for
// anything else.
func Words(err error) string { return WordsOf(err).String() }

// WordsOf is Words to say when shown, in the reader's language.
func WordsOf(err error) i18n.Said {
	var e *Error
	if errors.As(err, &e) {
		return e.SummaryWords()
	}
	return i18n.Word("no answer")
}
