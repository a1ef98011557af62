package starts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/users"
)

// BatchECS is what a batch start and a check need of internal/ecs beyond ECS.
type BatchECS interface {
	DescribeMany(ctx context.Context, region string, ids []string) (map[string]ecs.Instance, error)
	StartInstances(ctx context.Context, region string, ids []string, h ecs.BatchHooks) (string, []ecs.InstanceOutcome, error)
	DryRun(ctx context.Context, region, id string, initLocalDisk bool) (string, error)
}

// identifier is a BatchECS that can say, before a StartInstances, whom it
// will be made as (ecs.Client.Identify).
type identifier interface {
	Identify(ctx context.Context, region string, ids []string) error
}

// Limiter paces starts to stay under ECS's rate limit; Wait blocks until n
// more may go, or ctx ends.
type Limiter interface {
	WaitN(ctx context.Context, n int) error
}

// The outcomes of a batch, per instance.
const (
	OutcomeStarted  = "started"
	OutcomeAwaiting = "awaiting_approval"
	OutcomeRefused  = "refused"
	OutcomeFailed   = "failed"
	OutcomeUnknown  = "unknown"
)

// OutcomesByConcern lists the outcomes, the ones that need a person first:
// the order a batch's results are read in.
var OutcomesByConcern = []string{OutcomeFailed, OutcomeUnknown, OutcomeRefused, OutcomeAwaiting, OutcomeStarted}

// Ref names one instance of a batch as the form sends it: REGION/ID.
type Ref struct{ Region, ID string }

// ParseRef reads "REGION/ID".
func ParseRef(s string) (Ref, bool) {
	region, id, ok := strings.Cut(strings.TrimSpace(s), "/")
	return Ref{region, id}, ok && region != "" && id != ""
}

// BatchRow is what came of one instance of a batch.
type BatchRow struct {
	Ref       Ref
	Raw       string // as sent, for a malformed entry
	Name      string
	Account   string // the --accounts name of its account ("" with one account)
	Outcome   string
	Words     string // why, in words (English: the API's)
	said      i18n.Said
	Code      string // ECS's code, when it answered with one
	RequestID string
	OpID      int64
}

// notSent is a refusal of a batch's row.
const notSent = "%s Nothing was sent for it."

// tell sets the row's outcome and why, in words said when shown.
func (r *BatchRow) tell(outcome string, why i18n.Said) {
	r.Outcome, r.Words, r.said = outcome, why.String(), why
}

// WordsIn is Words in l's language and zone.
func (r BatchRow) WordsIn(l *i18n.Localizer) string {
	if r.said == nil {
		return l.Sentence(r.Words)
	}
	return r.said.In(l)
}

// Batch is a batch start's result.
type Batch struct {
	ID   string
	Rows []BatchRow
}

// StartBatch starts up to ecs.MaxBatch instances: each is its own audited
// operation (intent before the call, outcome after, with the batch's id),
// checked fresh against ECS with the same preconditions as a single start.
// One that may not start now is refused, and nothing is sent for it; the
// others go in one StartInstances call per region (or each becomes a
// request awaiting approval under --approval all). InitLocalDisk is never
// part of a batch.
func (s *Service) StartBatch(ctx context.Context, a Actor, raw []string, reason string) (Batch, error) {
	if err := s.batchOffered(); err != nil {
		return Batch{}, err
	}
	if err := mayStart(a); err != nil {
		return Batch{}, err
	}
	if len(raw) == 0 {
		return Batch{}, apperr.New(apperr.Invalid, "Select at least one instance to start.")
	}
	if err := s.checkReason(reason, false); err != nil {
		return Batch{}, err
	}
	b := Batch{ID: newBatchID()}
	seen := map[string]bool{}
	var rows []*BatchRow
	for _, r := range raw {
		ref, ok := ParseRef(r)
		key := ref.Region + "/" + ref.ID
		if ok && seen[key] {
			continue // duplicates collapse
		}
		seen[key] = true
		row := &BatchRow{Ref: ref, Raw: apperr.Truncate(r, 80)}
		if !ok {
			row.tell(OutcomeRefused, i18n.Word("Not REGION/INSTANCE-ID."))
		} else if err := s.validRef(ref.Region, ref.ID); err != nil {
			row.tell(OutcomeRefused, apperr.WordsOf(err))
		} else if cached, known := s.fleet.Lookup(ref.Region, ref.ID); known && !Sees(a, cached) {
			row.tell(OutcomeRefused, i18n.Wordsf(notSent, May(a, users.PermView, cached).words()))
		}
		rows = append(rows, row)
	}
	if len(rows) > ecs.MaxBatch {
		return Batch{}, apperr.New(apperr.Invalid, "A batch holds at most %d instances; %d were sent.", ecs.MaxBatch, len(rows))
	}
	base := a.took(audit.Event{Action: audit.ActionStartInstance, Reason: strings.TrimSpace(reason), BatchID: b.ID})

	// Fresh state, one DescribeInstances per region and 100 instances.
	byRegion := map[string][]*BatchRow{}
	for _, row := range rows {
		if row.Outcome == "" {
			byRegion[row.Ref.Region] = append(byRegion[row.Ref.Region], row)
		}
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, region := range regions {
		group := byRegion[region]
		ids := make([]string, len(group))
		for i, row := range group {
			ids[i] = row.Ref.ID
		}
		found, err := s.batch.DescribeMany(ctx, region, ids)
		if err != nil {
			for _, row := range group {
				row.tell(OutcomeRefused, i18n.Wordsf("Its state could not be checked in ECS, so nothing was sent for it: %s", lookupWords(err)))
			}
			byRegion[region] = nil
			continue
		}
		var ready []*BatchRow
		for _, row := range group {
			inst, ok := found[row.Ref.ID]
			if !ok {
				row.tell(OutcomeRefused, i18n.Wordsf("No such instance in %s.", region))
				continue
			}
			s.fleet.Update(inst)
			if x := May(a, needStart, inst); !x.OK {
				// Matched against ECS's description now, not the page's.
				row.tell(OutcomeRefused, i18n.Wordsf(notSent, x.words()))
				continue
			}
			row.Name, row.Account = inst.Name, inst.Account
			if e := ecs.Check(inst, false, s.families, s.now()); e != nil {
				row.tell(OutcomeRefused, e.SummaryWords())
				continue
			}
			if err := s.notOpen(ctx, inst.ID); err != nil {
				row.tell(OutcomeRefused, apperr.WordsOf(err))
				continue
			}
			ready = append(ready, row)
		}
		byRegion[region] = ready
	}

	for _, region := range regions {
		ready := byRegion[region]
		if len(ready) == 0 {
			continue
		}
		if s.approval.NeedsApproval(false) {
			for _, row := range ready {
				ev := base
				ev.Region, ev.InstanceID, ev.InstanceName, ev.State = region, row.Ref.ID, row.Name, audit.StateAwaitingApproval
				written, err := s.log.Append(ctx, ev)
				switch oe := (*audit.OpenError)(nil); {
				case errors.As(err, &oe):
					row.tell(OutcomeRefused, apperr.WordsOf(openWords(oe)))
				case err != nil:
					row.tell(OutcomeRefused, i18n.Word("The request could not be recorded; nothing was sent."))
				default:
					row.OpID = written.OpID
					row.tell(OutcomeAwaiting, i18n.Wordsf("Request %d awaits a second person's approval.", written.OpID))
				}
			}
			continue
		}
		// One StartInstances call per account of the region.
		var accounts []string
		byAccount := map[string][]*BatchRow{}
		for _, row := range ready {
			if _, ok := byAccount[row.Account]; !ok {
				accounts = append(accounts, row.Account)
			}
			byAccount[row.Account] = append(byAccount[row.Account], row)
		}
		for _, acct := range accounts {
			s.sendBatch(ctx, base, region, byAccount[acct])
		}
	}
	for _, row := range rows {
		b.Rows = append(b.Rows, *row)
	}
	return b, nil
}

// sendBatch records an intent per instance, sends one StartInstances, and
// records each instance's outcome, all in its own operation.
func (s *Service) sendBatch(ctx context.Context, base audit.Event, region string, ready []*BatchRow) {
	if s.limiter != nil {
		if err := s.limiter.WaitN(ctx, len(ready)); err != nil {
			for _, row := range ready {
				row.tell(OutcomeRefused, i18n.Word("Not sent: the dashboard's start rate limit would be exceeded before the request's deadline. Try again in a minute."))
			}
			return
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.callLimit)
	defer cancel()
	ictx, who := ecs.As(cctx, base.User)
	// Whom the call will be made as, for the intents (it fails only as the
	// call itself would, which then says so).
	if id, ok := s.batch.(identifier); ok {
		ids := make([]string, len(ready))
		for i, row := range ready {
			ids[i] = row.Ref.ID
		}
		_ = id.Identify(ictx, region, ids)
	}
	c := &batchCall{s: s, base: base, region: region, who: who, ops: map[string]audit.Event{}}
	// The first attempt's intents are recorded now, right before the call
	// (an instance another request holds meanwhile is refused here); a
	// retry records its own.
	for _, row := range ready {
		err := c.intent(ctx, row, 1)
		switch oe := (*audit.OpenError)(nil); {
		case errors.As(err, &oe):
			row.tell(OutcomeRefused, apperr.WordsOf(openWords(oe)))
		case err != nil:
			row.tell(OutcomeRefused, i18n.Word("Not sent: it could not be recorded in the audit log."))
		default:
			c.sent = append(c.sent, row)
		}
	}
	if len(c.sent) == 0 {
		return
	}
	requestID, _, err := s.batch.StartInstances(ictx, region, c.ids(), c.hooks(ctx))
	for _, row := range c.sent {
		s.out.settle(c.ops[row.Ref.ID].OpID)
	}
	c.report(ctx, requestID, err)
}

// batchCall is one StartInstances call of a batch: the rows it names, and
// the newest entry of each one's operation.
type batchCall struct {
	s      *Service
	base   audit.Event
	region string
	who    *ecs.Identity
	ops    map[string]audit.Event // by instance id
	sent   []*BatchRow            // the rows whose first intent is recorded: the call names them
}

func (c *batchCall) ids() []string {
	ids := make([]string, len(c.sent))
	for i, row := range c.sent {
		ids[i] = row.Ref.ID
	}
	return ids
}

// intent records attempt n's intent for row.
func (c *batchCall) intent(ctx context.Context, row *BatchRow, n int) error {
	ev, ok := c.ops[row.Ref.ID]
	if !ok {
		ev = c.base
		ev.Region, ev.InstanceID, ev.InstanceName = c.region, row.Ref.ID, row.Name
	}
	stamp(&ev, c.who) // known before the first attempt (Identify)
	written, err := c.s.intent(ctx, asIntent(ev, n))
	if err != nil {
		return err
	}
	c.ops[row.Ref.ID], row.OpID = written, written.OpID
	return nil
}

// hooks record a retry's intents before it leaves, and every attempt's
// outcomes after.
func (c *batchCall) hooks(ctx context.Context) ecs.BatchHooks {
	return ecs.BatchHooks{
		Before: func(n int) error {
			if n == 1 {
				return nil // recorded before the call
			}
			for _, row := range c.sent {
				if err := c.intent(ctx, row, n); err != nil {
					return err
				}
			}
			return nil
		},
		After: func(n int, requestID string, outcomes []ecs.InstanceOutcome, e *ecs.Error) {
			answered := map[string]ecs.InstanceOutcome{}
			for _, o := range outcomes {
				answered[o.InstanceID] = o
			}
			for _, row := range c.sent {
				id := row.Ref.ID
				ev := c.ops[id]
				stamp(&ev, c.who)
				ev.Attempt, ev.RequestID = n, requestID
				o, named := answered[id]
				switch {
				case e != nil:
					withOutcome(&ev, e, e.Summary)
				case !named:
					ev.State, ev.ErrorCode, ev.ErrorMessage = audit.StateUnknown, "Dashboard.NotInAnswer", "ECS's answer did not name this instance."
				case o.Started:
					withOutcome(&ev, nil, "")
				default:
					ev.State, ev.ErrorCode, ev.ErrorMessage = audit.StateFailed, o.Code, o.Message
				}
				// Written now, or kept and written as soon as the database
				// takes it (outcomes.go); never dropped.
				c.ops[id], _ = c.s.outcome(ctx, ev)
			}
		},
	}
}

// report fills in each sent row's outcome, in words, from the entries
// recorded; the unknown rows' status is looked up in one call for all of
// them (not one lookup per row in series), bounded in time.
func (c *batchCall) report(ctx context.Context, requestID string, err error) {
	var e *ecs.Error
	errors.As(err, &e)
	var unknown []string
	for _, row := range c.sent {
		if c.ops[row.Ref.ID].State == audit.StateUnknown {
			unknown = append(unknown, row.Ref.ID)
		}
	}
	seen := c.s.lookUpMany(ctx, c.region, unknown)
	for _, row := range c.sent {
		last := c.ops[row.Ref.ID]
		switch {
		case e != nil && e.Code == ecs.CodeAuditFailed:
			row.tell(OutcomeUnknown, i18n.Word("Recording failed part way; see the audit log."))
		case last.State == audit.StateSucceeded:
			row.RequestID = requestID
			row.tell(OutcomeStarted, i18n.Word("ECS accepted the start."))
			inst, _ := c.s.fleet.Lookup(c.region, row.Ref.ID)
			inst.Status = ecs.StatusStarting
			c.s.fleet.Update(inst)
		case last.State == audit.StateUnknown:
			row.RequestID = last.RequestID
			row.tell(OutcomeUnknown, i18n.Wordsf("No answer from ECS for it, so whether it started is unknown. %s", seen(row.Ref.ID)))
		default:
			row.RequestID, row.Code = last.RequestID, last.ErrorCode
			x := ecs.Explain(last.ErrorCode)
			row.tell(OutcomeFailed, i18n.Wordsf("%s %s", i18n.Word(x.Summary), i18n.Word(x.Action)))
		}
	}
}

// lookUpMany looks up ids in one DescribeInstances, within 5 seconds, and
// returns each one's words for a results page (lookedUp's).
func (s *Service) lookUpMany(ctx context.Context, region string, ids []string) func(id string) i18n.Said {
	found := map[string]ecs.Instance{}
	var err error
	if len(ids) > 0 {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		found, err = s.batch.DescribeMany(lctx, region, ids)
		cancel()
	}
	at := s.now()
	return func(id string) i18n.Said {
		inst, ok := found[id]
		if err != nil || !ok {
			return i18n.Word(noteNotLookedUp)
		}
		s.fleet.Update(inst)
		return lookedUp(inst.Status, at)
	}
}

// lookupWords is why a lookup failed: a lookup that got no answer changed
// nothing, whatever ECS's words for an unanswered call say.
func lookupWords(err error) i18n.Said {
	if e := (*ecs.Error)(nil); errors.As(err, &e) && e.Kind == ecs.KindUnknownOutcome {
		return i18n.Word("no answer came (timeout or network failure).")
	}
	return ecs.WordsOf(err)
}

func newBatchID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "b-" + hex.EncodeToString(b)
}

// CheckResult is what ECS said to a dry run.
type CheckResult struct {
	Would     bool       // ECS would start it (DryRunOperation)
	RequestID string     // ECS's RequestId of the dry run
	ECSError  *ecs.Error // why not, when ECS said no or did not answer
	Instance  ecs.Instance
}

// checkWait is how long a check waits for the start rate limit: a check is
// advice, not worth holding a request for.
const checkWait = 2 * time.Second

// Check asks ECS whether it would start the instance now (a dry run),
// with the same validation as a start; it starts nothing, needs no
// approval, and is audited (action check, dry_run true).
func (s *Service) Check(ctx context.Context, a Actor, r Request) (CheckResult, error) {
	if err := s.batchOffered(); err != nil {
		return CheckResult{}, err
	}
	if err := s.Validate(a, r); err != nil {
		return CheckResult{}, err
	}
	inst := s.describeNow(ctx, r.Region, r.InstanceID)
	if x := May(a, needCheck, inst); !x.OK {
		return CheckResult{}, x.Err() // nothing asked of ECS for an instance outside the grants
	}
	ev := a.took(audit.Event{Action: audit.ActionCheck, Region: r.Region, InstanceID: r.InstanceID, InstanceName: inst.Name, InstanceType: inst.Type,
		InitLocalDisk: r.InitLocalDisk, DryRun: true})
	if s.limiter != nil { // a dry run spends StartInstance's API budget too
		wctx, cancel := context.WithTimeout(ctx, checkWait)
		err := s.limiter.WaitN(wctx, 1)
		cancel()
		if err != nil {
			return CheckResult{}, apperr.New(apperr.Unavailable, "Not checked: checks count against the dashboard's start rate limit (--start-rate), which is spent for now. Try again in a minute.")
		}
	}
	dctx, who := ecs.As(ctx, a.User)
	requestID, err := s.batch.DryRun(dctx, r.Region, r.InstanceID, r.InitLocalDisk)
	stamp(&ev, who)
	res := CheckResult{RequestID: requestID, Instance: inst, Would: err == nil}
	ev.RequestID = requestID
	switch e := (*ecs.Error)(nil); {
	case err == nil:
		ev.State = audit.StateSucceeded
	case errors.As(err, &e):
		res.ECSError, res.RequestID = ecs.Advise(e, inst, s.families), e.RequestID
		ev.RequestID, ev.ErrorCode, ev.ErrorMessage, ev.HTTPStatus = e.RequestID, e.Code, e.Message, e.HTTPStatus
		ev.State = audit.StateFailed
		if e.Kind == ecs.KindUnknownOutcome {
			ev.State = audit.StateUnknown
		}
	default:
		return res, apperr.Wrap(err, apperr.Internal, "The check failed.")
	}
	if _, err := s.log.Append(ctx, ev); err != nil {
		return res, apperr.Wrap(err, apperr.Unavailable, "The check could not be recorded in the audit log.")
	}
	return res, nil
}
