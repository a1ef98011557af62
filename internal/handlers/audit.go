package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
	"ecsdash/web/templates"
)

// auditFilter reads the audit page's filters, refusing malformed ones. The
// from and to dates are days in zone (the user's, nil for UTC), as the
// page shows its times; the export of the same filters covers the same
// period.
func auditFilter(c echo.Context, zone *time.Location) (audit.Filter, url.Values, error) {
	if zone == nil {
		zone = time.UTC
	}
	f := audit.Filter{User: strings.TrimSpace(c.QueryParam("user")), Instance: strings.TrimSpace(c.QueryParam("instance")),
		State: c.QueryParam("state"), Action: c.QueryParam("action"), BatchID: c.QueryParam("batch")}
	if f.BatchID != "" && !batchIDRe.MatchString(f.BatchID) {
		return f, nil, apperr.New(apperr.Invalid, "%q is not a batch id.", apperr.Quote(f.BatchID))
	}
	// instance_id is one instance's history by its exact id (the list's
	// History link), read through the log's instance index; instance is
	// the typed text, part of an id or a name, which reads every operation.
	if id := c.QueryParam("instance_id"); id != "" {
		if !starts.ValidID(id) {
			return f, nil, apperr.New(apperr.Invalid, "%q is not an instance id.", apperr.Quote(id))
		}
		f.InstanceID = id
	}
	if len(f.User) > 64 || len(f.Instance) > 64 {
		return f, nil, apperr.New(apperr.Invalid, "The user and instance filters take at most 64 characters.")
	}
	if f.State != "" && !slices.Contains(audit.States, f.State) {
		return f, nil, apperr.New(apperr.Invalid, "%q is not an audit state.", apperr.Quote(f.State))
	}
	if f.Action == "all" {
		f.Action = ""
	}
	if f.Action != "" && !slices.Contains(audit.Actions, f.Action) {
		return f, nil, apperr.New(apperr.Invalid, "%q is not an audit action.", apperr.Quote(f.Action))
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.QueryParam(name); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, zone)
			if err != nil {
				return f, nil, apperr.New(apperr.Invalid, "%q is not a date (YYYY-MM-DD).", apperr.Quote(v))
			}
			*dst = t
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return f, nil, apperr.New(apperr.Invalid, "The from date (%s) is after the to date (%s), so no operation could match. Swap them, or clear one.",
			f.From.Format("2006-01-02"), f.To.Format("2006-01-02"))
	}
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // the "to" day is included
	}
	keep := url.Values{}
	for _, k := range []string{"user", "instance", "instance_id", "state", "action", "from", "to", "batch"} {
		if v := c.QueryParam(k); v != "" {
			keep.Set(k, v)
		}
	}
	return f, keep, nil
}

func (a *App) auditPage(c echo.Context) error {
	f, keep, err := auditFilter(c, a.zone(c))
	if err != nil {
		return err
	}
	if f.Action == "" && c.QueryParam("action") != "all" {
		f.Actions = audit.Shown // sign-ins only when asked for
	}
	// A page number is a bookmark: one that is not a number reads as the
	// first page, one past the end as the last.
	if n, err := strconv.Atoi(c.QueryParam("page")); err == nil && n > 1 {
		f.Page = min(n, 1_000_000)
	}
	// The pager's links are keysets (older than one operation, or newer):
	// a page deep in a large log costs what the first one does.
	for name, dst := range map[string]*int64{"before": &f.Before, "after": &f.After} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return apperr.New(apperr.Invalid, "%q is not an operation id.", apperr.Quote(v))
			}
			*dst = n
		}
	}
	f.PerPage = 50
	ctx := c.Request().Context()
	a.scopeHistory(c, &f)
	awaiting, err := a.auditLog.Awaiting(ctx)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "audit")
	}
	pg, err := a.auditLog.OperationsPage(ctx, f)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "audit")
	}
	if last := max(1, (pg.Total.N+f.PerPage-1)/f.PerPage); f.Page > last && !pg.Total.AtLeast {
		f.Page = last
		if pg, err = a.auditLog.OperationsPage(ctx, f); err != nil {
			return apperr.Wrap(err, apperr.Internal, "audit")
		}
	}
	history := pg.Ops
	if err := a.auditLog.Timelines(ctx, history); err != nil {
		return apperr.Wrap(err, apperr.Internal, "audit")
	}
	actor := a.actor(c)
	l := a.loc(c)
	v := templates.AuditPage{Page: a.page(c, l.T("audit.title"), "audit"), User: f.User, Instance: cmp.Or(f.Instance, f.InstanceID), State: f.State, Action: f.Action,
		From: c.QueryParam("from"), To: c.QueryParam("to"), States: audit.States, Actions: actionChoices(), Total: strconv.Itoa(pg.Total.N)}
	if pg.Total.AtLeast {
		v.Total = l.T("audit.more_than", "N", v.Total)
	}
	if f.Before == 0 && f.After == 0 && !pg.Total.AtLeast {
		v.PageNum, v.Pages = max(f.Page, 1), max(1, int(math.Ceil(float64(pg.Total.N)/50)))
	}
	exp := url.Values{}
	for k, vals := range keep {
		exp[k] = vals
	}
	if actor.Unscoped(audit.ExportNeeds) {
		exp.Set("format", "csv")
		v.ExportCSV = a.cfg.BasePath() + "audit/export?" + exp.Encode()
		exp.Set("format", "json")
		v.ExportJSON = a.cfg.BasePath() + "audit/export?" + exp.Encode()
	}
	pageLink := func(key string, id int64) string {
		q := url.Values{}
		for k, vals := range keep {
			q[k] = vals
		}
		q.Set(key, strconv.FormatInt(id, 10))
		return a.cfg.BasePath() + "audit?" + q.Encode()
	}
	if pg.Newer && len(history) > 0 {
		v.PrevURL = pageLink("after", history[0].ID())
	}
	if pg.Older && len(history) > 0 {
		v.NextURL = pageLink("before", history[len(history)-1].ID())
	}
	byBatch := map[string][]string{}
	decides := actor.Holds(audit.DecideNeeds)
	for _, op := range awaiting {
		inst := a.starts.Described(op.First.Region, op.First.InstanceID)
		// The queue shows an approver the requests they may decide (and their
		// own); anyone else, the requests on instances they see.
		shown := starts.Sees(actor, inst) && (!decides || op.First.User == actor.User || starts.MayDecideOn(actor, op.First.User, inst))
		if shown && !a.starts.Expired(op) {
			r := a.auditRow(v.Page, op, actor)
			v.Awaiting = append(v.Awaiting, r)
			if r.CanDecide && r.BatchID != "" {
				byBatch[r.BatchID] = append(byBatch[r.BatchID], fmt.Sprintf("%d:%s", r.ID, r.Digest))
			}
		}
	}
	for id, reqs := range byBatch {
		if len(reqs) > 1 {
			v.Batches = append(v.Batches, templates.BatchGroup{ID: id, Count: len(reqs), Requests: reqs, ApproveURL: a.cfg.BasePath() + "audit/batches/" + id + "/approve"})
		}
	}
	slices.SortFunc(v.Batches, func(x, y templates.BatchGroup) int { return strings.Compare(x.ID, y.ID) })
	v.Batch = f.BatchID
	for _, op := range history {
		v.History = append(v.History, a.auditRow(v.Page, op, actor))
	}
	return render(c, http.StatusOK, templates.Audit(v))
}

// auditRow is an operation as the page p shows it: in its language, with
// times in its zone.
func (a *App) auditRow(p templates.Page, op audit.Op, actor starts.Actor) templates.AuditRow {
	f, l := op.First, op.Last
	loc := p.Loc
	id := strconv.FormatInt(op.ID(), 10)
	r := templates.AuditRow{ID: op.ID(), State: l.State, Time: p.Time(f.Time), Action: f.Action,
		Requester: f.User, Approver: l.Approver, Region: f.Region, InstanceID: f.InstanceID, InstanceName: f.InstanceName,
		RequestID: l.RequestID, ErrorCode: l.ErrorCode, Reason: starts.Reason(l).In(loc), Digest: starts.Digest(f),
		ApproveURL:  a.decisionURL(id, audit.ActionApprove),
		RejectURL:   a.decisionURL(id, audit.ActionReject),
		WithdrawURL: a.decisionURL(id, audit.ActionWithdraw)}
	said, ecsText := starts.Recorded(l)
	r.ErrorMessage, r.ECSMessage = said.In(loc), ecsText
	act, _ := audit.Action(f.Action)
	if act.Holds {
		r.RequestReason, r.BatchID = f.Reason, f.BatchID
	}
	if act.OnInstance {
		r.Account, r.SessionName, r.TrailURL = l.Account, l.SessionName, ActionTrailURL(a.cfg.ActionTrailURL, f.Region, l.RequestID, f.InstanceID, l.AccountID)
		r.Params = fmt.Sprintf("InitLocalDisk=%t", f.InitLocalDisk)
		if f.BatchID != "" {
			r.Params += " " + loc.T("audit.param_batch", "ID", f.BatchID)
		}
		if f.DryRun {
			r.Params += " DryRun=true"
		}
	}
	if id, ok := audit.KeyedReasonKey(r.Reason); ok && f.Action == audit.ActionChainKeyed {
		r.Reason = loc.T("audit.chain_keyed", "Key", id)
	}
	if f.Detail != "" { // an account change: whose, and what
		r.Params = f.Target + ": " + f.Detail
	}
	// Shown as what it is: an expiry is recorded by the ticker or by the
	// next decision, never by a page view.
	r.State = a.starts.State(op)
	if r.State == audit.StateAwaitingApproval {
		now := a.dbNow() // the request's time and expiry are the database's
		r.Wipe = f.InitLocalDisk
		r.Age, r.Expires = ago(loc, now.Sub(f.Time)), within(loc, f.Time.Add(a.starts.TTL()).Sub(now))
		r.CanWithdraw = a.starts.MayWithdraw(actor, op).OK
		if in, ok := a.fleet.Lookup(f.Region, f.InstanceID); ok {
			r.Family, r.Status = in.Family, in.Status
			if why := a.starts.StartBlocked(in, f.InitLocalDisk); why != nil {
				r.NotStopped = why.In(loc)
			}
		} else {
			r.Status = loc.T("audit.not_listed")
			r.NotStopped = loc.T("audit.not_listed_why")
		}
	}
	decide := a.starts.MayDecide(actor, op, a.starts.Described(f.Region, f.InstanceID))
	r.CanDecide, r.WhyNotDecide = decide.OK, decide.WhyIn(loc)
	r.StateWords = templates.StateText(loc, r.State)
	for _, e := range op.Events {
		detail := e.ErrorCode
		if e.RequestID != "" {
			detail = strings.TrimSpace(detail + " RequestId " + e.RequestID)
		}
		if e.Attempt > 0 {
			detail = strings.TrimSpace(loc.T("audit.attempt", "N", e.Attempt) + " " + detail)
		}
		if e.Detail != "" { // an account change: whose, and what
			detail = strings.TrimSpace(e.Target + ": " + e.Detail + " " + detail)
		}
		if e.Token != "" {
			detail = strings.TrimSpace(detail + " " + loc.T("audit.by_token", "Token", e.Token))
		}
		who := e.User
		if e.Approver != "" && !audit.Is(e, func(a audit.ActionInfo) bool { return a.Holds }) {
			who = e.Approver // a decision's, not the request's carried on
		}
		r.Timeline = append(r.Timeline, templates.TimelineRow{Seq: e.Seq, Time: templates.In(e.Time, p.Zone).Format("15:04:05.000"), Action: e.Action,
			User: who, State: e.State, Detail: detail})
	}
	return r
}

// recordedWords is entry e's error message in l's words, with ECS's own
// message of a failure after them, labelled as ECS's (for a flash).
func recordedWords(l *i18n.Localizer, e audit.Event) string {
	said, ecsText := starts.Recorded(e)
	words := said.In(l)
	if ecsText != "" {
		words = strings.TrimSpace(words + " " + l.T("error.ecs_said", "Message", ecsText))
	}
	return words
}

// decisionURL is where request id's form for action posts: audit/ID/VERB.
func (a *App) decisionURL(id, action string) string {
	act, _ := audit.Action(action)
	return a.cfg.BasePath() + "audit/" + id + "/" + act.Verb
}

// actionChoices are the action filter's choices: every action, in words.
func actionChoices() []templates.Choice {
	out := make([]templates.Choice, 0, len(audit.Actions))
	for _, name := range audit.Actions {
		act, _ := audit.Action(name)
		out = append(out, templates.Choice{Value: name, Label: act.Words})
	}
	return out
}

func opID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, apperr.New(apperr.Invalid, "%q is not a request number.", apperr.Quote(c.Param("id")))
	}
	return id, nil
}

func (a *App) approve(c echo.Context) error {
	id, err := opID(c)
	if err != nil {
		return err
	}
	res, err := a.starts.Approve(c.Request().Context(), a.actor(c), id, c.FormValue("digest"))
	if err != nil {
		return err
	}
	return a.afterStart(c, res, a.cfg.BasePath()+"audit")
}

// confirmApprove is the second look before a wipe is approved, for
// browsers without JavaScript (with it, a dialog asks): the audit page's
// button for a wipe leads here, and this page's form approves.
func (a *App) confirmApprove(c echo.Context) error {
	id, err := opID(c)
	if err != nil {
		return err
	}
	op, err := a.auditLog.Operation(c.Request().Context(), id)
	if errors.Is(err, audit.ErrNotFound) || (err == nil && !audit.IsRequest(op)) {
		return apperr.New(apperr.NotFound, "There is no request %d.", id)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "audit")
	}
	// The row is judged before the page is drawn: drawing takes the
	// session's messages, and a refusal's error page must show them.
	row := a.auditRow(templates.Page{Loc: a.loc(c), Zone: a.zone(c)}, op, a.actor(c))
	if op.Last.State != audit.StateAwaitingApproval || row.State != audit.StateAwaitingApproval {
		return apperr.New(apperr.Conflict, "Request %d is no longer awaiting approval (it is %s).", id, row.StateWords)
	}
	if !row.CanDecide {
		return apperr.New(apperr.Forbidden, "%s", row.WhyNotDecide)
	}
	p := a.page(c, a.loc(c).T("init.confirm_title"), "audit")
	return render(c, http.StatusOK, templates.ConfirmApprove(templates.ConfirmApprovePage{Page: p, Row: row}))
}

var batchIDRe = regexp.MustCompile(`^b-[0-9a-f]{12}$`)

// approveBatch approves the requests of a batch that await this approver's
// decision and that the page showed them: each approval is bound to the
// digest of the parameters shown (a request the form does not name, or
// whose parameters differ, is not approved), re-checked and audited on its
// own. They run a few at a time, detached from the client, so that a closed
// tab never cuts a claimed start off; the page reports how many started.
func (a *App) approveBatch(c echo.Context) error {
	batch := c.Param("batch")
	if !batchIDRe.MatchString(batch) {
		return apperr.New(apperr.Invalid, "%q is not a batch id.", apperr.Quote(batch))
	}
	shown, err := shownRequests(c)
	if err != nil {
		return err
	}
	ctx := context.WithoutCancel(c.Request().Context())
	ops, _, err := a.auditLog.Operations(ctx, audit.Filter{BatchID: batch, State: audit.StateAwaitingApproval, PerPage: 200})
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "audit")
	}
	if len(ops) == 0 {
		return apperr.New(apperr.Conflict, "Nothing of batch %s awaits approval.", batch)
	}
	actor := a.actor(c)
	l := a.loc(c)
	outcome := make([]string, len(ops)) // "" started, else why not
	approve := func(i int) error {
		id := ops[i].ID()
		digest, ok := shown[id]
		if !ok {
			outcome[i] = l.T("flash.batch_not_shown", "ID", id)
			return nil
		}
		res, err := a.starts.Approve(ctx, actor, id, digest)
		switch {
		case apperr.KindOf(err) == apperr.Forbidden:
			return err // the role or one's own batch: nothing of it is decided
		case err != nil:
			outcome[i] = l.T("flash.batch_refused", "ID", id, "Why", apperr.Words(err, l, l.T("error.internal")))
		case res.ECSError != nil:
			outcome[i] = l.T("flash.batch_refused", "ID", id, "Why", res.ECSError.SummaryIn(l))
		}
		return nil
	}
	// The first alone: a refusal of the approver (role, own batch) decides
	// nothing of the batch.
	if err := approve(0); err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(batchApprovals)
	for i := 1; i < len(ops); i++ {
		g.Go(func() error { return approve(i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	started, refused := 0, []string{}
	for _, o := range outcome {
		if o == "" {
			started++
		} else {
			refused = append(refused, o)
		}
	}
	s := sess(c)
	s.flash(templates.Flash{Text: l.N("flash.batch_started", len(ops), "Batch", batch, "Started", started)})
	if len(refused) > 0 {
		s.flash(templates.Flash{Error: true, Text: apperr.Truncate(l.T("flash.not_started", "Why", strings.Join(refused, l.T("flash.list_sep"))), 380)})
	}
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"audit?batch="+batch)
}

// batchApprovals is how many approvals of one batch run at once.
const batchApprovals = 8

// shownRequests reads the batch form's requests, "ID:DIGEST" each.
func shownRequests(c echo.Context) (map[int64]string, error) {
	form, err := c.FormParams()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "The form could not be read.")
	}
	shown := map[int64]string{}
	for _, v := range form["request"] {
		idText, digest, ok := strings.Cut(v, ":")
		id, err := strconv.ParseInt(idText, 10, 64)
		if !ok || err != nil || id <= 0 || digest == "" || len(shown) >= 200 {
			return nil, apperr.New(apperr.Invalid, "The form's list of requests is not one this dashboard wrote. Reload the audit page and approve again.")
		}
		shown[id] = digest
	}
	if len(shown) == 0 {
		return nil, apperr.New(apperr.Invalid, "The form names no request to approve: an approval is bound to the requests shown. Reload the audit page and approve again.")
	}
	return shown, nil
}

func (a *App) withdraw(c echo.Context) error {
	id, err := opID(c)
	if err != nil {
		return err
	}
	if err := a.starts.Withdraw(c.Request().Context(), a.actor(c), id); err != nil {
		return err
	}
	sess(c).flash(templates.Flash{Text: a.loc(c).T("flash.withdrawn", "ID", id)})
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"audit")
}

func (a *App) reject(c echo.Context) error {
	id, err := opID(c)
	if err != nil {
		return err
	}
	if err := a.starts.Reject(c.Request().Context(), a.actor(c), id, c.FormValue("digest"), strings.TrimSpace(c.FormValue("reason"))); err != nil {
		if errors.Is(err, starts.ErrRejectReason) { // back to the request, told what to mend
			l := a.loc(c)
			sess(c).flash(templates.Flash{Error: true, Text: l.T("flash.not_rejected", "ID", id, "Why", apperr.Words(err, l, l.T("error.internal")))})
			return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"audit#request-"+strconv.FormatInt(id, 10))
		}
		return err
	}
	sess(c).flash(templates.Flash{Text: a.loc(c).T("flash.rejected", "ID", id)})
	return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"audit")
}

// auditExport streams the matching events as CSV or JSON.
func (a *App) auditExport(c echo.Context) error {
	if x := a.actor(c); !x.Unscoped(audit.ExportNeeds) {
		if x.Holds(audit.ExportNeeds) {
			return apperr.New(apperr.Forbidden, "Exporting the audit log needs the approver or admin role over every instance: the export holds every team's entries and every user's address and browser. Your grants are scoped.")
		}
		return apperr.New(apperr.Forbidden, "Exporting the audit log needs the approver or admin role: it holds every user's address and browser.")
	}
	format := c.QueryParam("format")
	if format != "csv" && format != "json" {
		return apperr.New(apperr.Invalid, "format must be csv or json.")
	}
	f, _, err := auditFilter(c, a.zone(c))
	if err != nil {
		return err
	}
	name := currentUser(c).Name
	if !a.exports.take(name) {
		return apperr.New(apperr.Conflict, "You have %d exports of the audit log running already. Wait for one to finish (or cancel it), then export again.", maxExportsPerUser)
	}
	defer a.exports.release(name)
	ct := map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[format]
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ct)
	h.Set("Content-Disposition", "attachment; filename=audit."+format)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := deadlineWriter{c.Response(), http.NewResponseController(c.Response())}
	if err := a.auditLog.Export(c.Request().Context(), w, format, f); err != nil {
		// Headers are gone; the truncated body is all the client can get.
		a.log.Error("audit export broke off", "request_id", requestID(c), "err", err)
	}
	return nil
}

var trailRegion = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// ActionTrailURL is the link to one ECS call in ActionTrail: the template
// (--actiontrail-url) with the call's region, RequestId (ActionTrail's event
// id), instance and account id filled in, each escaped for a query; ""
// without a template, a RequestId or a valid region. The console shows the
// account it is signed in to: the audit row names the account to sign in to.
func ActionTrailURL(template, region, requestID, instanceID, accountID string) string {
	if template == "" || requestID == "" || !trailRegion.MatchString(region) {
		return ""
	}
	return strings.NewReplacer("{region}", url.QueryEscape(region), "{request_id}", url.QueryEscape(requestID),
		"{instance_id}", url.QueryEscape(instanceID), "{account_id}", url.QueryEscape(accountID)).Replace(template)
}
