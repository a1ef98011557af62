// Package starts runs the Start flow: validation, the fresh precondition
// check, the approval policy, and StartInstance with every attempt audited
// (intent durable before the request leaves, outcome after).
package starts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/users"
)

// ECS is what the flow needs of internal/ecs.
type ECS interface {
	HasRegion(region string) bool
	Describe(ctx context.Context, region, id string) (ecs.Instance, error)
	StartInstance(ctx context.Context, region, id string, initLocalDisk bool, h ecs.Hooks) (string, error)
}

// Fleet is the shared cache: what it knows of an instance (to refuse what
// cannot be asked without asking ECS), and fresh views of instances so that
// pages show them at once.
type Fleet interface {
	Lookup(region, id string) (ecs.Instance, bool)
	Update(ecs.Instance)
}

// Actor is who asks, and from where.
type Actor struct {
	User       string
	Role       string
	AuthMethod string // "password", "sso" or "token"
	Token      string // the API token's id, for a request made with one
	SourceIP   string
	UserAgent  string
	// Grants are what the actor holds at this moment: the user's own role
	// over its scope, the user's grants and their SSO groups' (loaded on
	// every request). nil: Role over every instance.
	Grants []users.Grant
	// Rights, when set, are the grants compiled (users.Store.Rights): the
	// rights check asks them instead of Grants.
	Rights *users.Rights
}

// took is e as taken by a, the one place an actor's fields reach an entry:
// who took it (its user, or for an action whose row says ByApprover, a
// decision or a withdrawal, its approver, the requester staying its user),
// how they signed in, from where, with which browser and API token.
func (a Actor) took(e audit.Event) audit.Event {
	if audit.Is(e, func(x audit.ActionInfo) bool { return x.ByApprover }) {
		e.Approver = a.User
	} else {
		e.User = a.User
	}
	e.AuthMethod, e.SourceIP, e.UserAgent, e.Token = a.AuthMethod, a.SourceIP, a.UserAgent, a.Token
	return e
}

// byDashboard is e, an entry of an operation, as the dashboard writes it
// itself (an expiry, a reconcile, a lost outcome recorded as unknown): the
// operation's requester stays its user and its approver stays as it was,
// but no session is named, for nobody acted when it was written. The one
// place these entries lose the requester's sign-in method, API token,
// address and browser.
func byDashboard(e audit.Event) audit.Event {
	e.AuthMethod, e.Token, e.SourceIP, e.UserAgent = "", "", "", ""
	return e
}

// Options are what a Service is made of. New copies them: a Service does
// not change after it is made, and nothing outside it changes it.
type Options struct {
	ECS   ECS
	Fleet Fleet
	Log   *audit.Log
	// Batch is the batch start's and the dry run's ECS (nil: neither is
	// offered, and both are refused in words).
	Batch    BatchECS
	Families ecs.Families // the instance families with local disks
	Approval Policy
	TTL      time.Duration    // how long a request waits for approval
	Now      func() time.Time // nil: time.Now (the database's clock in the product)
	Logger   *slog.Logger     // nil: slog.Default()
	// CallLimit is the deadline for a whole start, retries included
	// (0: 30 seconds).
	CallLimit time.Duration
	// Limiter, when set, paces starts to stay under ECS's StartInstance
	// rate limit (about 500 a minute for an account).
	Limiter Limiter
}

// Service runs starts.
type Service struct {
	ecs       ECS
	fleet     Fleet
	log       *audit.Log
	batch     BatchECS
	families  ecs.Families
	approval  Policy
	ttl       time.Duration
	now       func() time.Time
	logger    *slog.Logger
	callLimit time.Duration
	limiter   Limiter

	out outbook // the outcomes kept until written, and the calls held (outcomes.go)
}

// New is a Service made of o.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CallLimit <= 0 {
		o.CallLimit = 30 * time.Second
	}
	return &Service{ecs: o.ECS, fleet: o.Fleet, log: o.Log, batch: o.Batch, families: slices.Clone(o.Families), approval: o.Approval,
		ttl: o.TTL, now: o.Now, logger: o.Logger, callLimit: o.CallLimit, limiter: o.Limiter}
}

// Approval is the approval policy the service applies.
func (s *Service) Approval() Policy { return s.approval }

// Families are the instance families with local disks.
func (s *Service) Families() ecs.Families { return s.families }

// TTL is how long a request waits for approval before it expires.
func (s *Service) TTL() time.Duration { return s.ttl }

// CallLimit is the deadline for a whole start, retries included.
func (s *Service) CallLimit() time.Duration { return s.callLimit }

// The notification events (Notes says which entry stands for which).
const (
	NoteAwaiting  = "awaiting_approval"
	NoteApproved  = "approved"
	NoteRejected  = "rejected"
	NoteWithdrawn = "withdrawn"
	NoteExpired   = "expired"
	NoteSucceeded = "succeeded"
	NoteFailed    = "failed"
	NoteUnknown   = "unknown"
)

// Result is what came of a start request.
type Result struct {
	OpID      int64
	Awaiting  bool // recorded, waiting for a second person
	RequestID string
	Instance  ecs.Instance
	ECSError  *ecs.Error // ECS refused or did not answer; recorded
	// Pending: ECS's answer is not yet in the audit log (the database
	// refused the write); it is kept and written as soon as it can be.
	Pending bool
}

// Policy says which starts wait for a second person's approval.
type Policy string

// The approval policies.
const (
	PolicyInitLocalDisk Policy = "init-local-disk" // only starts that wipe local disks
	PolicyAll           Policy = "all"
	PolicyNone          Policy = "none"
)

// ParsePolicy reads a policy's name.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case PolicyInitLocalDisk, PolicyAll, PolicyNone:
		return p, nil
	}
	return "", fmt.Errorf("%q is not an approval policy (init-local-disk, all, none)", s)
}

// NeedsApproval applies the policy to one start.
func (p Policy) NeedsApproval(initLocalDisk bool) bool {
	return p == PolicyAll || (p == PolicyInitLocalDisk && initLocalDisk)
}

// Request is one start as asked for.
type Request struct {
	Region        string
	InstanceID    string
	InitLocalDisk bool
	// Confirm is the instance ID typed by the operator: an InitLocalDisk
	// start needs it to match.
	Confirm string
	// Reason says why, for the approver and the audit log (at most
	// MaxReason characters; required when every start needs approval).
	Reason string
}

// ErrConfirm means an InitLocalDisk start lacks a matching confirmation: the
// operator is to be asked again.
var ErrConfirm = errors.New("starts: the confirmation does not match the instance ID")

// ErrRejectReason means a rejection's reason is too short or too long:
// the approver is to be asked again, nothing decided.
var ErrRejectReason = errors.New("starts: the rejection's reason does not fit")

// ErrWipeReason means an InitLocalDisk start that waits for an approver
// has no reason: the operator is to be asked again, for the reason.
var ErrWipeReason = errors.New("starts: a wipe for approval needs a reason")

// Validate is the one place for the rules a start must pass before anything
// is asked of ECS: the id's shape, a managed region, a local-disk family for
// InitLocalDisk (as far as the cache knows it), the role, and the typed
// confirmation. A refusal is an *apperr.Error; a missing or wrong
// confirmation also matches ErrConfirm.
func (s *Service) Validate(a Actor, r Request) error {
	if err := s.validRef(r.Region, r.InstanceID); err != nil {
		return err
	}
	cached, known := s.fleet.Lookup(r.Region, r.InstanceID)
	if known && !Sees(a, cached) {
		// Out of every grant as far as the cache knows: refused before
		// anything is asked (the fresh description is matched again).
		return May(a, users.PermView, cached).Err()
	}
	if r.InitLocalDisk && known {
		if e := ecs.NoLocalDisk(cached, s.families); e != nil {
			return apperr.Wrap(e, apperr.Unprocessable, "%s %s", e.SummaryWords(), e.ActionWords())
		}
	}
	if err := mayStart(a); err != nil {
		return err
	}
	if r.InitLocalDisk && strings.TrimSpace(r.Confirm) != r.InstanceID {
		if r.Confirm != "" {
			return apperr.Wrap(ErrConfirm, apperr.Unprocessable,
				"The confirmation does not match the instance ID; nothing was started. Type the instance ID exactly to confirm that its local disks will be wiped.")
		}
		return apperr.Wrap(ErrConfirm, apperr.Unprocessable, "Type the instance ID exactly to confirm that its local disks will be wiped.")
	}
	return nil
}

// Request validates and checks a start, then either records it as awaiting
// approval or sends it. Refusals before sending are *apperr.Error and record
// nothing in ECS; ECS's own answers come back in Result.ECSError.
func (s *Service) Request(ctx context.Context, a Actor, r Request) (Result, error) {
	if err := s.Validate(a, r); err != nil {
		return Result{}, err
	}
	if err := s.checkReason(r.Reason, r.InitLocalDisk); err != nil {
		return Result{}, err
	}
	region, id, initLocalDisk := r.Region, r.InstanceID, r.InitLocalDisk
	if err := s.notOpen(ctx, id); err != nil {
		return Result{}, err
	}
	inst, err := s.fresh(ctx, a, needStart, region, id, initLocalDisk)
	if err != nil {
		return Result{}, err
	}
	base := a.took(audit.Event{Action: audit.ActionStartInstance, Region: region, InstanceID: id, InstanceName: inst.Name, InstanceType: inst.Type,
		InitLocalDisk: initLocalDisk, Reason: strings.TrimSpace(r.Reason)})
	if s.approval.NeedsApproval(initLocalDisk) {
		base.State = audit.StateAwaitingApproval
		ev, err := s.log.Append(ctx, base)
		if oe := (*audit.OpenError)(nil); errors.As(err, &oe) {
			return Result{}, openWords(oe)
		}
		if err != nil {
			return Result{}, apperr.Wrap(err, apperr.Internal, "The request could not be recorded.")
		}
		return Result{OpID: ev.OpID, Awaiting: true, Instance: inst}, nil
	}
	return s.send(ctx, base, inst)
}

// notOpen refuses a start while another operation of the instance is open
// (awaiting approval or in flight); a request past its time is recorded as
// expired first and does not hold the instance. The append re-checks in its
// own transaction.
func (s *Service) notOpen(ctx context.Context, id string) error {
	o, err := s.log.Open(ctx, id)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "The audit log could not be read.")
	}
	if o == nil {
		return nil
	}
	if o.State == audit.StateAwaitingApproval {
		op, err := s.log.Operation(ctx, o.OpID)
		if err == nil && s.Expired(op) {
			s.expire(ctx, op)
			return s.notOpen(ctx, id)
		}
	}
	return openWords(o)
}

func openWords(o *audit.OpenError) error {
	if o.State == audit.StateAwaitingApproval {
		return apperr.New(apperr.Conflict, "Request %d by %s to start this instance is awaiting approval; nothing was sent. "+
			"Wait for the decision, or withdraw that request on the audit page.", o.OpID, o.User)
	}
	return apperr.New(apperr.Conflict, "Request %d by %s is starting this instance right now; nothing more was sent. Its outcome will be on the audit page.", o.OpID, o.User)
}

// fresh looks the instance up in ECS now, asks the rights check whether a
// may do p to it as ECS describes it now (a tag removed since the page was
// drawn takes the right away), and applies StartInstance's preconditions,
// mapping refusals to kinds.
func (s *Service) fresh(ctx context.Context, a Actor, p users.Perm, region, id string, initLocalDisk bool) (ecs.Instance, error) {
	inst, err := s.ecs.Describe(ctx, region, id)
	if err != nil {
		var e *ecs.Error
		if errors.As(err, &e) && e.Kind == ecs.KindNotFound {
			return ecs.Instance{}, apperr.Wrap(err, e.AppKind(), "No instance %s in %s. %s", id, region, e.ActionWords())
		}
		if errors.As(err, &e) && e.Kind == ecs.KindUnknownOutcome {
			// A lookup that got no answer changes nothing: say so, not
			// "whether the call took effect is unknown".
			return ecs.Instance{}, apperr.Wrap(err, apperr.Unavailable, "Could not check the instance's state in ECS: no answer came (timeout or network failure). "+
				"Nothing was sent to start it; try again in a moment.")
		}
		if errors.As(err, &e) {
			return ecs.Instance{}, apperr.Wrap(err, apperr.Unavailable, "Could not check the instance's state in ECS: %s %s Nothing was sent to start it.", e.SummaryWords(), e.ActionWords())
		}
		return ecs.Instance{}, apperr.Wrap(err, apperr.Unavailable, "Could not check the instance's state in ECS.")
	}
	s.fleet.Update(inst)
	if x := May(a, p, inst); !x.OK {
		return inst, x.Err()
	}
	if e := ecs.Check(inst, initLocalDisk, s.families, s.now()); e != nil {
		return inst, apperr.Wrap(e, e.AppKind(), "%s %s", e.SummaryWords(), e.ActionWords())
	}
	return inst, nil
}

// send calls StartInstance, recording each attempt's intent before it leaves
// and its outcome after. op carries the operation (OpID 0: a new one).
func (s *Service) send(ctx context.Context, op audit.Event, inst ecs.Instance) (Result, error) {
	limit := s.callLimit
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	res := Result{Instance: inst}
	if s.limiter != nil {
		if err := s.limiter.WaitN(cctx, 1); err != nil {
			return res, apperr.New(apperr.Unavailable, "Not sent: the dashboard's start rate limit would be exceeded before the request's deadline. Try again in a minute.")
		}
	}
	// In a role account the call is made under the requester's name (the
	// approver of an approved request is in the log), so that ActionTrail
	// names the person.
	cctx, who := ecs.As(cctx, op.User)
	last := op
	hooks := ecs.Hooks{
		Before: func(n int) error {
			ev := last
			stamp(&ev, who)
			written, err := s.intent(ctx, asIntent(ev, n))
			if err != nil {
				return err
			}
			last, res.OpID = written, written.OpID
			return nil
		},
		After: func(a ecs.Attempt) {
			ev := last
			stamp(&ev, who)
			ev.Attempt, ev.RequestID, ev.DurationMS = a.N, a.RequestID, a.Duration.Milliseconds()
			var unknown string
			if a.Err != nil && a.Err.Kind == ecs.KindUnknownOutcome {
				unknown = a.Err.Summary + " " + s.statusNote(ctx, inst).String()
			}
			withOutcome(&ev, a.Err, unknown)
			// Written now, or kept and written as soon as the database
			// takes it (outcomes.go); never dropped.
			if written, ok := s.outcome(ctx, ev); ok {
				last = written
			} else {
				last, res.Pending = ev, true
			}
		},
	}
	requestID, err := s.ecs.StartInstance(cctx, inst.Region, inst.ID, op.InitLocalDisk, hooks)
	if res.OpID != 0 {
		s.out.settle(res.OpID)
	}
	res.RequestID = requestID
	if err != nil {
		var e *ecs.Error
		if !errors.As(err, &e) {
			return res, apperr.Wrap(err, apperr.Internal, "The start failed.")
		}
		if oe := (*audit.OpenError)(nil); errors.As(err, &oe) {
			return res, openWords(oe)
		}
		if e.Code == ecs.CodeAuditFailed {
			return res, apperr.Wrap(err, apperr.Unavailable, "%s %s", e.SummaryWords(), e.ActionWords())
		}
		res.ECSError, res.RequestID = ecs.Advise(e, inst, s.families), e.RequestID
		return res, nil
	}
	// ECS documents that an accepted start moves the instance to Starting:
	// show that at once; the live status poll and the next refresh confirm it.
	res.Instance.Status = ecs.StatusStarting
	s.fleet.Update(res.Instance)
	return res, nil
}

// describeNow is the instance as ECS describes it now, or as the cache
// last saw it when ECS cannot be asked (a rejection sends nothing, so it
// need not wait for ECS).
func (s *Service) describeNow(ctx context.Context, region, id string) ecs.Instance {
	inst, err := s.ecs.Describe(ctx, region, id)
	if err != nil {
		return s.Described(region, id)
	}
	s.fleet.Update(inst)
	return inst
}

// statusNote looks the instance up after an unknown outcome, for the record.
func (s *Service) statusNote(ctx context.Context, inst ecs.Instance) i18n.Said {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now, err := s.ecs.Describe(lctx, inst.Region, inst.ID)
	if err != nil {
		return i18n.Word(noteNotLookedUp)
	}
	s.fleet.Update(now)
	return lookedUp(now.Status, s.now())
}

// Digest binds an approval to the exact parameters requested.
func Digest(op audit.Event) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d|%s|%s|%t|%t|%s", op.OpID, op.Region, op.InstanceID, op.InitLocalDisk, op.DryRun, op.User)))
	return hex.EncodeToString(h[:12])
}

func (s *Service) awaiting(ctx context.Context, a Actor, opID int64, digest string) (audit.Op, error) {
	op, err := s.log.Operation(ctx, opID)
	if errors.Is(err, audit.ErrNotFound) {
		return op, apperr.New(apperr.NotFound, "There is no request %d.", opID)
	}
	if err != nil {
		return op, apperr.Wrap(err, apperr.Internal, "The request could not be read.")
	}
	if err := mayDecide(a, op.First.User).Err(); err != nil {
		return op, err
	}
	// As the cache knows the instance: refused before anything else when
	// outside the approver's grants (Approve and Reject ask again with
	// ECS's description).
	if x := May(a, needDecide, s.Described(op.First.Region, op.First.InstanceID)); !x.OK {
		if x.Kind == apperr.NotFound {
			return op, apperr.New(apperr.NotFound, "There is no request %d that you may decide.", opID)
		}
		return op, x.Err()
	}
	// The operation id already names parameters that cannot change (the log
	// is append-only); the audit page's digest also proves that the
	// decision was made on what the approver was shown. Scripts may omit it.
	if digest != "" && digest != Digest(op.First) {
		return op, apperr.New(apperr.Conflict, "The request's parameters do not match what you were shown; reload the audit page.")
	}
	if op.Last.State != audit.StateAwaitingApproval {
		return op, apperr.New(apperr.Conflict, "Request %d is no longer awaiting approval (it is %s).", opID, op.Last.State)
	}
	if s.Expired(op) {
		s.expire(ctx, op)
		return op, apperr.New(apperr.Conflict, "Request %d expired before it was approved; the operator can ask again.", opID)
	}
	return op, nil
}

// Approve executes an awaiting start exactly once, re-checking the instance
// at this moment, and records the approver in the same operation.
func (s *Service) Approve(ctx context.Context, a Actor, opID int64, digest string) (Result, error) {
	op, err := s.awaiting(ctx, a, opID, digest)
	if err != nil {
		return Result{}, err
	}
	req := op.First
	decision := op.Last
	decision.Action = audit.ActionApprove
	decision = a.took(decision)
	inst, ferr := s.fresh(ctx, a, needDecide, req.Region, req.InstanceID, req.InitLocalDisk)
	if k := apperr.KindOf(ferr); ferr != nil && (k == apperr.Unavailable || k == apperr.Internal || k == apperr.Forbidden || k == apperr.NotFound && !errors.As(ferr, new(*ecs.Error))) {
		// ECS could not be asked, or the approver's grants do not cover the
		// instance as ECS describes it now: nothing is decided; the request
		// still waits (for an approver whose grants do).
		// ECS could not be asked: nothing is decided; the request still waits.
		return Result{}, ferr
	}
	if ferr != nil {
		// Approved, but the instance no longer qualifies: record it as failed
		// without sending anything.
		decision.State, decision.ErrorCode, decision.ErrorMessage = audit.StateFailed, "Dashboard.PreconditionFailed", apperr.MessageOf(ferr)
		_, err := s.log.AppendIf(ctx, decision, audit.StateAwaitingApproval)
		if errors.Is(err, audit.ErrStateChanged) {
			return Result{}, apperr.New(apperr.Conflict, "Someone else decided on request %d first.", opID)
		} else if err != nil {
			return Result{}, apperr.Wrap(err, apperr.Internal, "The decision could not be recorded.")
		}
		return Result{OpID: opID}, ferr
	}
	// The claim: only one approver's append passes the state check.
	decision.State = audit.StateSent
	claimed, err := s.log.AppendIf(ctx, decision, audit.StateAwaitingApproval)
	if errors.Is(err, audit.ErrStateChanged) {
		return Result{}, apperr.New(apperr.Conflict, "Someone else decided on request %d first.", opID)
	}
	if err != nil {
		return Result{}, apperr.Wrap(err, apperr.Internal, "The approval could not be recorded.")
	}
	claimed.Action = audit.ActionStartInstance
	res, err := s.send(ctx, claimed, inst)
	res.OpID = opID
	return res, err
}

// Withdraw takes back a request awaiting approval: only its requester, or
// an admin, may; the instance can then be started again.
func (s *Service) Withdraw(ctx context.Context, a Actor, opID int64) error {
	op, err := s.log.Operation(ctx, opID)
	if errors.Is(err, audit.ErrNotFound) || (err == nil && !audit.IsRequest(op)) {
		return apperr.New(apperr.NotFound, "There is no request %d.", opID)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "The request could not be read.")
	}
	if err := s.MayWithdraw(a, op).Err(); err != nil {
		return err
	}
	return s.close(ctx, a, op, audit.ActionWithdraw, audit.StateWithdrawn, withdrawal(a))
}

// close ends a request awaiting approval without starting it (a rejection,
// a withdrawal), unless someone decided first.
func (s *Service) close(ctx context.Context, a Actor, op audit.Op, action, state, reason string) error {
	ev := op.Last
	ev.Action, ev.State, ev.Reason = action, state, reason
	ev = a.took(ev) // the decider or withdrawer as its approver
	_, err := s.log.AppendIf(ctx, ev, audit.StateAwaitingApproval)
	if errors.Is(err, audit.ErrStateChanged) {
		return apperr.New(apperr.Conflict, "Someone decided on request %d first.", op.ID())
	} else if err != nil {
		return apperr.Wrap(err, apperr.Internal, "The decision on request %d could not be recorded.", op.ID())
	}
	return nil
}

// Reject records a rejection with its reason; nothing reaches ECS.
func (s *Service) Reject(ctx context.Context, a Actor, opID int64, digest, reason string) error {
	if err := checkRejectReason(reason); err != nil {
		return err
	}
	op, err := s.awaiting(ctx, a, opID, digest)
	if err != nil {
		return err
	}
	if x := May(a, needDecide, s.describeNow(ctx, op.First.Region, op.First.InstanceID)); !x.OK {
		return x.Err()
	}
	return s.close(ctx, a, op, audit.ActionReject, audit.StateRejected, reason)
}

func (s *Service) expire(ctx context.Context, op audit.Op) {
	ev := byDashboard(op.Last)
	ev.Action, ev.State, ev.Approver, ev.Reason = audit.ActionExpire, audit.StateExpired, "", i18n.Wordsf(reasonExpired, i18n.Span(s.ttl)).String()
	if _, err := s.log.AppendIf(ctx, ev, audit.StateAwaitingApproval); err != nil && !errors.Is(err, audit.ErrStateChanged) {
		s.logger.Error("could not record expiry", "op", op.ID(), "err", err)
	}
}

// ExpireDue records expiry for every request older than the TTL.
func (s *Service) ExpireDue(ctx context.Context) error {
	ops, err := s.log.Awaiting(ctx)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if s.Expired(op) {
			s.expire(ctx, op)
		}
	}
	return nil
}

// RecoverDangling records as unknown the operations whose outcome was lost:
// their newest event is an intent, and nobody is left to record ECS's
// answer. On a single-process store (entries name no replica) that is every
// intent, at start-up. With replicas, an intent is left to the replica that
// wrote it while that replica's lease runs; it is recovered by this one
// when the lease has ended, or at this replica's start-up when it wrote the
// intent itself in an earlier life (atStartup). Each gets an "unknown"
// event carrying the instance's status now.
func (s *Service) RecoverDangling(ctx context.Context, atStartup bool) (int, error) {
	// Alone against intents being written: an intent whose call is ours is
	// held by the time it is listed (outcomes.go).
	s.out.gate.Lock()
	ops, err := s.log.Dangling(ctx)
	s.out.gate.Unlock()
	if err != nil {
		return 0, err
	}
	me, epoch := s.log.Replica(), s.log.Epoch()
	n := 0
	for _, op := range ops {
		owner := op.Last.Replica
		fence := audit.Fence{Epoch: epoch}
		var words i18n.Said
		switch {
		case owner == me || owner == "":
			if s.out.holds(op.ID(), epoch) {
				continue // our own call, in flight or its outcome kept
			}
			words = i18n.Word(noteStopped)
			if !atStartup {
				words = i18n.Word(noteNotRecorded)
			}
		default:
			ended, err := s.log.LeaseEnded(ctx, owner)
			if err != nil {
				return n, err
			}
			if !ended {
				continue // its replica lives and may yet record the answer
			}
			fence.Ended = owner // checked again in the append's transaction
			words = i18n.Wordsf(noteReplicaStopped, owner)
		}
		ev := byDashboard(op.Last)
		ev.Action, ev.State, ev.ErrorCode = audit.ActionRecover, audit.StateUnknown, "Dashboard.OutcomeLost"
		ev.ErrorMessage = i18n.Wordsf("%s %s", words, s.statusNote(ctx, ecs.Instance{Region: ev.Region, ID: ev.InstanceID})).String()
		_, err := s.log.AppendFenced(ctx, ev, audit.StateSent, fence)
		if errors.Is(err, audit.ErrStateChanged) || errors.Is(err, audit.ErrFenced) {
			continue // recorded meanwhile, by its replica or another; or its owner came back
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// stamp notes on an entry who its ECS call was made as.
func stamp(ev *audit.Event, who *ecs.Identity) {
	ev.Account, ev.AccountID, ev.SessionName, ev.AccessKeyID = who.Account, who.AccountID, who.SessionName, who.AccessKeyID
}
