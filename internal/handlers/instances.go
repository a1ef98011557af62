package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// perPageCookie remembers the rows a page the user chose.
const perPageCookie = "ecsdash_per_page"

var statuses = []string{ecs.StatusRunning, ecs.StatusStarting, ecs.StatusStopping, ecs.StatusStopped, ecs.StatusPending}

// instances lists the fleet from the shared cache: a page view never calls ECS.
func (a *App) instances(c echo.Context) error {
	q, err := a.listQuery(c)
	if err != nil {
		return err
	}
	q.PerPage = 50
	// per_page is remembered in a small cookie of its own (re-writing the
	// signed session on a page view costs far more); a link without it keeps
	// the choice.
	remembered, _ := cookieValue(c.Request(), perPageCookie)
	switch v := queryParam(c, "per_page"); v {
	case "100", "50":
		q.PerPage, _ = strconv.Atoi(v)
		if remembered != v {
			ck := &http.Cookie{Name: perPageCookie, Value: v, Path: a.cfg.BasePath(), MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: a.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode}
			if a.cfg.CrossSiteCookies { // as the session's, for a portal on another site
				ck.SameSite, ck.Partitioned = http.SameSiteNoneMode, true
			}
			c.SetCookie(ck)
		}
	case "":
		if remembered == "100" {
			q.PerPage = 100
		}
	}
	tags, rg, match, err := listMatch(c)
	if err != nil {
		return err
	}
	q.Match = match

	snap := a.fleet.Snapshot()
	actor := a.actor(c)
	q.Visible = actor.Key(users.PermView)
	open := a.open(c.Request().Context())
	l := a.loc(c)
	zone := a.zone(c)
	found, rows, err := a.rows.page(snap, q, rightsKey(actor), l, zone, a.now(), open,
		func(in *ecs.Instance) templates.InstanceRow {
			return a.rowIn(l, zone, *in, actor, open.byInstance[in.ID])
		})
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "render rows")
	}

	page := a.page(c, "", "instances") // its title (the language's, as the key has it) only when rendered
	page.SkipToList = true
	slots := slotValues{csrf: page.CSRF, token: randomToken(), age: age(l, snap.Fetched, a.now()), rows: rows}
	k := listKey{snap: snap, q: q, tags: strings.Join(tags, "\x00"), rg: rg, user: page.User, role: page.Role,
		waiting: page.Waiting, admin: page.Admin, canStart: actor.Holds(users.PermStart), refresh: mayRefresh(currentUser(c).Role),
		approval: a.starts.Approval().NeedsApproval(false), acctErrs: a.accountWords(l), lang: l.Lang(), zone: page.ZoneName(), here: page.Here}
	// The page around the rows, rendered once per snapshot and key; a view
	// with flashes is rendered for itself.
	cacheable := len(page.Flash) == 0
	if cacheable {
		if p, ok := a.lists.get(k); ok {
			return writePage(c, p, &slots)
		}
	}
	page.Title = l.T("list.heading")
	v := a.listView(k, page, found, open)
	if !cacheable {
		v.FormToken, v.CacheAge, v.Rows = slots.token, slots.age, rows.with(slots.csrf, slots.token)
		return render(c, http.StatusOK, templates.Instances(v))
	}
	v.CSRF, v.FormToken, v.CacheAge, v.Rows = csrfSlot, tokenSlot, ageSlot, rowsMarker
	var b strings.Builder
	if err := templates.Instances(v).Render(context.Background(), &b); err != nil {
		return apperr.Wrap(err, apperr.Internal, "render")
	}
	p := cutPage(b.String())
	a.lists.put(k, p)
	return writePage(c, p, &slots)
}

// accountWords is the accounts' listing errors in words, one a line, ""
// when every account listed.
func (a *App) accountWords(l *i18n.Localizer) string {
	var out []string
	for acct, err := range a.accountErrs() {
		words := ecs.WordsOf(err).In(l)
		if e := (*ecs.Error)(nil); errors.As(err, &e) && e.Action != "" {
			words += " " + l.Sentence(e.Action)
		}
		out = append(out, l.T("list.account_failed", "Account", acct, "Words", words))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// listView is the list page's view model from its key: everything but the
// CSRF and form tokens, the listing's age and the rows.
func (a *App) listView(k listKey, page templates.Page, found ecs.Found, open *openState) templates.InstancesPage {
	l := page.Loc
	q, snap, rg := k.q, k.snap, k.rg
	var tags []string
	if k.tags != "" {
		tags = strings.Split(k.tags, "\x00")
	}
	v := templates.InstancesPage{Page: page, Q: q.Search, Region: q.Region, Status: q.Status, Family: q.Family,
		PerPage: q.PerPage, Regions: a.regions, Statuses: statuses, Matched: found.Total, Total: len(snap.Instances),
		PageNum: found.Page, Pages: found.Pages, Families: snap.Families,
		CanStart: k.canStart, CanRefresh: k.refresh, NeedsApproval: k.approval, Tags: tags, RG: rg}
	if q.Visible != "" {
		v.Total = a.rows.find(snap, ecs.Query{Visible: q.Visible, PerPage: 1}, open.heldGen).Total
	}
	v.NoLocks = !slices.ContainsFunc(found.Instances, func(in *ecs.Instance) bool { return len(in.LockReasons) > 0 })
	v.Account, v.Accounts = q.Account, a.accounts
	if k.acctErrs != "" {
		v.CacheErrors = strings.Split(k.acctErrs, "\n")
	}
	for r, err := range snap.RegionErr {
		v.CacheErrors = append(v.CacheErrors, l.T("list.region_failed", "Region", r, "Words", ecs.WordsOf(err).In(l)))
	}
	slices.Sort(v.CacheErrors)
	sortParam := q.Sort
	if q.Desc {
		sortParam = "-" + q.Sort
	}
	params := func(sort string) url.Values {
		vals := url.Values{}
		for k, val := range map[string]string{"q": q.Search, "region": q.Region, "account": q.Account, "status": q.Status, "family": q.Family, "sort": sort, "rg": rg} {
			if val != "" {
				vals.Set(k, val)
			}
		}
		for _, t := range tags {
			vals.Add("tag", t)
		}
		if q.PerPage != 50 {
			vals.Set("per_page", strconv.Itoa(q.PerPage))
		}
		return vals
	}
	link := func(p int) string {
		vals := params(sortParam)
		vals.Set("page", strconv.Itoa(p))
		return a.cfg.BasePath() + "instances?" + vals.Encode()
	}
	// Column headers sort; a second click on the same column reverses it.
	v.SortLinks = map[string]string{}
	for _, key := range ecs.SortKeys {
		next := key
		if q.Sort == key && !q.Desc {
			next = "-" + key
		}
		v.SortLinks[key] = a.cfg.BasePath() + "instances?" + params(next).Encode()
	}
	v.Sort, v.Desc = q.Sort, q.Desc
	v.JumpParams = params(sortParam)
	if found.Page > 1 {
		v.PrevURL = link(found.Page - 1)
	}
	if found.Page < found.Pages {
		v.NextURL = link(found.Page + 1)
	}
	return v
}

// listQuery reads and checks the list's filters, its sort and its page
// (the list page and the API's list take the same).
func (a *App) listQuery(c echo.Context) (ecs.Query, error) {
	q := ecs.Query{Search: strings.TrimSpace(queryParam(c, "q")), Region: queryParam(c, "region"), Status: queryParam(c, "status"),
		Family: strings.ToLower(queryParam(c, "family")), Page: 1}
	if len(q.Search) > 128 {
		return q, apperr.New(apperr.Invalid, "The search is too long (at most 128 characters).")
	}
	if q.Region != "" && !slices.Contains(a.regions, q.Region) {
		return q, apperr.New(apperr.Invalid, "%q is not a region this dashboard manages.", apperr.Quote(q.Region))
	}
	if q.Account = queryParam(c, "account"); q.Account != "" && !slices.Contains(a.accounts, q.Account) {
		return q, apperr.New(apperr.Invalid, "%q is not an account this dashboard manages.", apperr.Quote(q.Account))
	}
	if q.Status != "" && !slices.Contains(statuses, q.Status) {
		return q, apperr.New(apperr.Invalid, "%q is not an instance status.", apperr.Quote(q.Status))
	}
	if sort := queryParam(c, "sort"); sort != "" {
		key, desc := strings.CutPrefix(sort, "-")
		if !slices.Contains(ecs.SortKeys, key) {
			return q, apperr.New(apperr.Invalid, "%q is not a column to sort by (name, status, type, region, expiry).", apperr.Quote(sort))
		}
		q.Sort, q.Desc = key, desc
	}
	if p := queryParam(c, "page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			return q, apperr.New(apperr.Invalid, "%q is not a page number.", apperr.Quote(p))
		}
		q.Page = n
	}
	return q, nil
}

// row decides, for one instance and one user, whether the Start form shows,
// and says why not in words.
func (a *App) row(l *i18n.Localizer, in ecs.Instance, actor starts.Actor, held audit.OpenOp) templates.InstanceRow {
	return a.rowIn(l, nil, in, actor, held)
}

// rowIn is row with its dates in zone (UTC when nil), the page's.
func (a *App) rowIn(l *i18n.Localizer, zone *time.Location, in ecs.Instance, actor starts.Actor, held audit.OpenOp) templates.InstanceRow {
	base := a.cfg.BasePath()
	r := templates.InstanceRow{ID: in.ID, Name: in.Name, Region: in.Region, Account: in.Account, Zone: in.Zone, Type: in.Type, Family: in.Family,
		Status: in.Status, Locks: in.LockReasons, Charge: in.ChargeType, LocalDisk: a.starts.Families().Contains(in.Family),
		NeedsApproval: a.starts.Approval().NeedsApproval(false), NeedsApprovalInit: a.starts.Approval().NeedsApproval(true),
		StartURL:   base + "instances/" + in.ID + "/start",
		CheckURL:   base + "instances/" + in.ID + "/check",
		HistoryURL: base + "audit?instance_id=" + url.QueryEscape(in.ID),
	}
	if len(in.PrivateIPs) > 0 {
		r.PrivateIP = in.PrivateIPs[0]
	}
	if len(in.PublicIPs) > 0 {
		r.PublicIP = in.PublicIPs[0]
	}
	r.Expiry = in.ExpiryDate(zone)
	r.LockNotes = in.LockNotes
	r.Expired = in.Expired(a.now())
	if in.Economical() {
		r.Economical = ecs.EconomicalWords
	}
	r.Tags, r.ResourceGroup = in.TagList(), in.ResourceGroupID
	x := a.starts.MayStart(actor, in, held)
	// A refusal for the role holds for every row: the page says it once at
	// the top, and each row to a screen reader only (the contract: a row
	// says why, in words).
	r.CanStart, r.WhyNot, r.QuietWhy = x.OK, x.WhyIn(l), x.ByRole
	if x.Why == in.Status+"." { // not stopped: the status, in words
		r.WhyNot = l.T("list.why_status", "Status", templates.StatusText(l, in.Status))
	}
	r.Selectable = actor.Holds(users.PermStart)
	if held.OpID != 0 && held.State == audit.StateAwaitingApproval {
		r.HeldBy, r.HeldURL = held.OpID, base+"audit#request-"+strconv.FormatInt(held.OpID, 10)
	}
	if !r.CanStart {
		r.LocalDisk = false
	}
	r.Version = rowVersion(r)
	return r
}

// age is how long ago the listing was made, in words ("Listed 5s ago").
func age(l *i18n.Localizer, t, now time.Time) string {
	d := time.Duration(-1) // never listed
	if !t.IsZero() {
		d = now.Sub(t).Round(time.Second)
	}
	return ages.words(l, d)
}

// ageWords keeps the age in words last said in each language: every view
// of the list in the same second says the same, and putting it in words
// runs the catalogue's templates (a tenth of a view's allocations).
type ageWords struct {
	mu sync.Mutex
	m  map[string]saidAge // by language
}

type saidAge struct {
	d     time.Duration
	words string
}

var ages ageWords

func (w *ageWords) words(l *i18n.Localizer, d time.Duration) string {
	w.mu.Lock()
	said, ok := w.m[l.Lang()]
	w.mu.Unlock()
	if ok && said.d == d {
		return said.words
	}
	var words string
	switch {
	case d < 0:
		words = l.T("list.age_never")
	case d < 2*time.Second:
		words = l.T("list.age_now")
	default:
		words = l.T("list.age_ago", "Age", durationWords(l, d))
	}
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]saidAge{}
	}
	w.m[l.Lang()] = saidAge{d, words}
	w.mu.Unlock()
	return words
}

// durationWords is a time ago in whole units, the largest two, with the
// language's plural forms ("1m5s", "1 分钟 5 秒").
func durationWords(l *i18n.Localizer, d time.Duration) string { return l.Duration(d) }

// instanceStatus answers the live-status script from the shared cache, which
// follows moving instances itself: a poll never calls ECS.
func (a *App) instanceStatus(c echo.Context) error {
	id, region := c.Param("id"), c.QueryParam("region")
	if !starts.ValidID(id) || !slices.Contains(a.regions, region) {
		return apperr.New(apperr.Invalid, "Not an instance of this dashboard.")
	}
	in, ok := a.fleet.Lookup(region, id)
	if !ok || !starts.Sees(a.actor(c), in) {
		return apperr.New(apperr.NotFound, "No instance %s in %s.", id, region)
	}
	// words is the status in the page's language, for the script to show.
	return c.JSON(http.StatusOK, map[string]any{"id": in.ID, "status": in.Status, "settled": in.Settled(),
		"words": templates.StatusText(a.loc(c), in.Status)})
}

// start parses the form and checks its one-time token; the start service
// validates the request and runs it.
func (a *App) start(c echo.Context) error {
	req := starts.Request{InstanceID: c.Param("id"), Region: c.FormValue("region"), Confirm: c.FormValue("confirm"), Reason: c.FormValue("reason")}
	switch c.FormValue("init_local_disk") {
	case "", "false", "0", "off":
	case "true", "1", "on":
		req.InitLocalDisk = true
	default:
		a.metrics.Start("refused")
		return apperr.New(apperr.Invalid, "init_local_disk must be true or false.")
	}
	actor := a.actor(c)
	if err := a.starts.Validate(actor, req); err != nil {
		a.metrics.Start("refused")
		if errors.Is(err, starts.ErrConfirm) {
			return a.confirmInit(c, req, apperr.Words(err, a.loc(c), ""))
		}
		return err
	}
	key := ""
	if token := c.FormValue("form_token"); token != "" {
		if !validFormToken(token) {
			a.metrics.Start("refused")
			return apperr.New(apperr.Invalid, "The form's token is not one this dashboard issued. Reload the list and start again.")
		}
		key = token + "|" + req.Region + "/" + req.InstanceID
		fresh, err := a.tokens.Use(c.Request().Context(), key, a.dbNow()) // its hour spans replicas
		if err != nil {
			a.metrics.Start("refused")
			return apperr.Wrap(err, apperr.Unavailable, "The start was not sent: the dashboard could not record its form as used (the database did not answer). Try again in a moment.")
		}
		if !fresh {
			sess(c).flash(templates.Flash{Text: a.loc(c).T("flash.form_used", "ID", req.InstanceID)})
			return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"instances")
		}
	}
	res, err := a.starts.Request(c.Request().Context(), actor, req)
	if err != nil {
		if key != "" {
			a.tokens.Release(context.WithoutCancel(c.Request().Context()), key) // refused before anything was sent: the form may be sent again
		}
		a.metrics.Start("refused")
		if errors.Is(err, starts.ErrWipeReason) {
			return a.confirmInit(c, req, apperr.MessageOf(err))
		}
		return err
	}
	if res.ECSError != nil && !req.InitLocalDisk && (res.ECSError.Retryable() || res.ECSError.Code == "InstanceNotReady") {
		c.Set(ctxRetry, req) // the error page offers to try again (never a wipe without its confirmation)
	}
	return a.afterStart(c, res, a.listBack(c))
}

// ctxRetry holds a start the error page may offer to send again.
const ctxRetry = "retry_start"

// listBack is the list page the operator came from (its filters and page),
// from the Referer the browser sends for a same-origin form; the plain list
// when there is none or it is another page or site.
func (a *App) listBack(c echo.Context) string {
	list := a.cfg.BasePath() + "instances"
	// Try again on an error page sends the list it came from (the
	// Referer is then the error page): a path of ours, never a site.
	if b, err := url.Parse(c.FormValue("back")); err == nil && b.Path == list && b.Scheme == "" && b.Host == "" {
		return keepFilters(list, b.Query())
	}
	ref, err := url.Parse(c.Request().Referer())
	if err != nil || ref.Path != list || (ref.Host != "" && ref.Host != c.Request().Host && ref.Host != a.cfg.BaseURL.Host) {
		return list
	}
	return keepFilters(list, ref.Query())
}

// keepFilters is the list with q's filters and page, and nothing else.
func keepFilters(list string, q url.Values) string {
	keep := url.Values{}
	for _, k := range []string{"q", "region", "status", "family", "page", "per_page"} {
		if v := q.Get(k); v != "" && len(v) <= 128 {
			keep.Set(k, v)
		}
	}
	if len(keep) == 0 {
		return list
	}
	return list + "?" + keep.Encode()
}

// confirmInit asks again, on a page of its own, for the typed confirmation
// of a start that wipes local disks.
func (a *App) confirmInit(c echo.Context, req starts.Request, msg string) error {
	row := templates.InstanceRow{ID: req.InstanceID, Name: req.InstanceID, Region: req.Region,
		StartURL: a.cfg.BasePath() + "instances/" + req.InstanceID + "/start"}
	if in, known := a.fleet.Lookup(req.Region, req.InstanceID); known {
		row = a.rowIn(a.loc(c), a.zone(c), in, a.actor(c), audit.OpenOp{})
	}
	return render(c, http.StatusUnprocessableEntity, templates.ConfirmInit(templates.ConfirmInitPage{
		Page: a.page(c, a.loc(c).T("init.confirm_title"), "instances"), Row: row, Error: msg, FormToken: randomToken(),
		NeedsApproval: a.starts.Approval().NeedsApproval(true)}))
}

// afterStart shows the outcome: awaiting approval and success redirect with
// a flash; an ECS error is explained on its own page.
func (a *App) afterStart(c echo.Context, res starts.Result, back string) error {
	s := sess(c)
	l := a.loc(c)
	name := res.Instance.Name
	if name == "" {
		name = res.Instance.ID
	}
	switch {
	case res.Awaiting:
		a.metrics.Start("awaiting_approval")
		s.flash(templates.Flash{Text: l.T("flash.awaiting", "Name", name, "ID", res.Instance.ID, "Op", res.OpID)})
		return c.Redirect(http.StatusSeeOther, a.cfg.BasePath()+"audit")
	case res.ECSError != nil:
		e := res.ECSError
		outcome := "failed"
		if e.Kind == ecs.KindUnknownOutcome {
			outcome = "unknown"
		}
		a.metrics.Start(outcome)
		status := statusOf[e.AppKind()]
		heading := l.T("start.failed_heading", "Name", name)
		if outcome == "unknown" {
			heading = l.T("start.unknown_heading", "Name", name)
		}
		failure := &templates.ECSFailure{InstanceID: res.Instance.ID, InstanceName: res.Instance.Name, Region: res.Instance.Region,
			Code: e.Code, Message: e.Message, ECSRequestID: e.RequestID, Summary: e.SummaryIn(l), Action: e.ActionIn(l),
			AuditURL: a.cfg.BasePath() + "audit?instance=" + url.QueryEscape(res.Instance.ID)}
		if req, ok := c.Get(ctxRetry).(starts.Request); ok {
			failure.RetryURL = a.cfg.BasePath() + "instances/" + req.InstanceID + "/start"
		}
		return render(c, status, templates.Error(templates.ErrorPage{Page: a.page(c, heading, "instances"), Status: status, Heading: heading,
			Message: e.SummaryIn(l), RequestID: requestID(c), BackURL: back, ECS: failure}))
	default:
		a.metrics.Start("succeeded")
		s.flash(templates.Flash{Text: l.T("flash.started", "Name", name, "ID", res.Instance.ID, "Region", res.Instance.Region, "RequestID", res.RequestID)})
		if strings.HasPrefix(back, a.cfg.BasePath()+"instances") {
			back += "#row-" + res.Instance.ID // the started row, highlighted and scrolled into view
		}
		return c.Redirect(http.StatusSeeOther, back)
	}
}

// startBatch starts the instances ticked on the list (instance=REGION/ID,
// 1 to 100) and answers a page with a row per instance.
func (a *App) startBatch(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return apperr.New(apperr.Invalid, "The form could not be read.")
	}
	raw := form["instance"]
	switch {
	case len(raw) == 0:
		return apperr.New(apperr.Invalid, "Select at least one instance to start.")
	case len(raw) > ecs.MaxBatch:
		return apperr.New(apperr.Invalid, "A batch holds at most %d instances; %d were selected.", ecs.MaxBatch, len(raw))
	}
	b, err := a.starts.StartBatch(c.Request().Context(), a.actor(c), raw, form.Get("reason"))
	if err != nil {
		a.metrics.Start("refused")
		return err
	}
	base := a.cfg.BasePath()
	l := a.loc(c)
	v := templates.BatchPage{Page: a.page(c, l.T("batch.title"), "instances"), BatchID: b.ID, Back: base + "instances"}
	for _, r := range b.Rows {
		a.metrics.Start(r.Outcome)
		row := templates.BatchRow{ID: r.Ref.ID, Name: r.Name, Region: r.Ref.Region, Outcome: r.Outcome, OutcomeWords: l.T("batch.outcome." + r.Outcome),
			Words: r.WordsIn(l), Code: r.Code, RequestID: r.RequestID, OpID: r.OpID}
		if row.ID == "" {
			row.ID = r.Raw
		}
		switch r.Outcome {
		case starts.OutcomeStarted:
			v.Started++
			row.Live, row.Status = true, ecs.StatusStarting
			row.StatusURL = base + "instances/" + r.Ref.ID + "/status?region=" + url.QueryEscape(r.Ref.Region)
		case starts.OutcomeAwaiting:
			v.Awaiting++
		case starts.OutcomeRefused:
			v.Refused++
		case starts.OutcomeFailed:
			v.Failed++
		default:
			v.Unknown++
		}
		v.Rows = append(v.Rows, row)
	}
	// Problems first: a person at 3 a.m. reads the top of the page.
	slices.SortStableFunc(v.Rows, func(x, y templates.BatchRow) int {
		return slices.Index(starts.OutcomesByConcern, x.Outcome) - slices.Index(starts.OutcomesByConcern, y.Outcome)
	})
	for _, o := range starts.OutcomesByConcern {
		n := 0
		for _, r := range v.Rows {
			if r.Outcome == o {
				n++
			}
		}
		if n > 0 {
			v.Counts = append(v.Counts, templates.OutcomeCount{Outcome: o, Words: l.N("batch.count."+o, n), N: n})
		}
	}
	return render(c, http.StatusOK, templates.BatchResults(v))
}

// check asks ECS whether it would start the instance (a dry run) and says
// so; nothing starts and no approval is needed.
func (a *App) check(c echo.Context) error {
	req := starts.Request{InstanceID: c.Param("id"), Region: c.FormValue("region"), Confirm: c.FormValue("confirm")}
	switch c.FormValue("init_local_disk") {
	case "", "false", "0", "off":
	case "true", "1", "on":
		req.InitLocalDisk = true
	default:
		return apperr.New(apperr.Invalid, "init_local_disk must be true or false.")
	}
	res, err := a.starts.Check(c.Request().Context(), a.actor(c), req)
	if err != nil {
		return err
	}
	v := templates.CheckPage{Page: a.page(c, a.loc(c).T("check.title"), "instances"), ID: req.InstanceID, Name: res.Instance.Name, Region: req.Region,
		Would: res.Would, RequestID: res.RequestID, Back: a.cfg.BasePath() + "instances"}
	if res.ECSError != nil {
		l := a.loc(c)
		v.Summary, v.Action, v.Code = res.ECSError.SummaryIn(l), res.ECSError.ActionIn(l), res.ECSError.Code
	}
	return render(c, http.StatusOK, templates.CheckResult(v))
}
