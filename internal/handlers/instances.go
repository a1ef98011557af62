package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/ecs"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

var statuses = []string{ecs.StatusRunning, ecs.StatusStarting, ecs.StatusStopping, ecs.StatusStopped, ecs.StatusPending}

// instances lists the fleet from the shared cache: a page view never calls ECS.
func (a *App) instances(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	region, status, family := c.QueryParam("region"), c.QueryParam("status"), strings.ToLower(c.QueryParam("family"))
	if len(q) > 128 {
		return apperr.New(apperr.Invalid, "The search is too long (at most 128 characters).")
	}
	if region != "" && !slices.Contains(a.Regions, region) {
		return apperr.New(apperr.Invalid, "%q is not a region this dashboard manages.", truncate(region, 64))
	}
	if status != "" && !slices.Contains(statuses, status) {
		return apperr.New(apperr.Invalid, "%q is not an instance status.", truncate(status, 32))
	}
	per := 50
	if c.QueryParam("per_page") == "100" {
		per = 100
	}
	pageNum := 1
	if p := c.QueryParam("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			return apperr.New(apperr.Invalid, "%q is not a page number.", truncate(p, 16))
		}
		pageNum = n
	}

	snap := a.Fleet.Snapshot()
	u := currentUser(c)
	lq := strings.ToLower(q)
	keep := func(in *ecs.Instance) bool {
		return (region == "" || in.Region == region) && (status == "" || in.Status == status) &&
			(family == "" || in.Family == family) && (lq == "" || matches(in, lq))
	}
	// One pass counts the matches and keeps only the requested page's, as
	// pointers into the immutable snapshot: a page view copies no instance.
	window := func(from int) (view []*ecs.Instance, total int) {
		view = make([]*ecs.Instance, 0, per)
		for i := range snap.Instances {
			in := &snap.Instances[i]
			if !keep(in) {
				continue
			}
			if total >= from && len(view) < per {
				view = append(view, in)
			}
			total++
		}
		return view, total
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00%t", q, region, status, family, per, pageNum, users.CanStart(u.Role))
	list, err := a.rows.get(snap, key, func() (listing, error) {
		view, total := window((pageNum - 1) * per)
		page := pageNum
		if pages := max(1, (total+per-1)/per); page > pages { // past the end: show the last page
			page = pages
			view, _ = window((page - 1) * per)
		}
		r := make([]templates.InstanceRow, 0, len(view))
		for _, in := range view {
			r = append(r, a.row(*in, u))
		}
		var b strings.Builder
		if err := templates.InstanceRows(r, csrfSlot, tokenSlot).Render(context.Background(), &b); err != nil {
			return listing{}, err
		}
		return listing{rows: cutSlots(b.String()), total: total, page: page}, nil
	})
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "render rows")
	}
	total, pageNum := list.total, list.page
	pages := max(1, (total+per-1)/per)

	v := templates.InstancesPage{Page: a.page(c, "Instances", "instances"), Q: q, Region: region, Status: status, Family: family,
		PerPage: per, Regions: a.Regions, Statuses: statuses, Matched: total, Total: len(snap.Instances),
		PageNum: pageNum, Pages: pages, FormToken: randomToken(), CacheAge: age(snap.Fetched, a.Now()), Families: snap.Families}
	for r, err := range snap.RegionErr {
		v.CacheErrors = append(v.CacheErrors, fmt.Sprintf("Listing %s failed (%s); showing its last good list.", r, ecsWords(err)))
	}
	slices.Sort(v.CacheErrors)
	link := func(p int) string {
		vals := url.Values{}
		for k, val := range map[string]string{"q": q, "region": region, "status": status, "family": family} {
			if val != "" {
				vals.Set(k, val)
			}
		}
		if per != 50 {
			vals.Set("per_page", strconv.Itoa(per))
		}
		vals.Set("page", strconv.Itoa(p))
		return a.Cfg.BasePath() + "instances?" + vals.Encode()
	}
	if pageNum > 1 {
		v.PrevURL = link(pageNum - 1)
	}
	if pageNum < pages {
		v.NextURL = link(pageNum + 1)
	}
	v.Rows = list.rows.with(v.CSRF, v.FormToken)
	return render(c, http.StatusOK, templates.Instances(v))
}

func matches(in *ecs.Instance, lq string) bool {
	if strings.Contains(strings.ToLower(in.ID), lq) || strings.Contains(strings.ToLower(in.Name), lq) {
		return true
	}
	for _, ips := range [][]string{in.PrivateIPs, in.PublicIPs} {
		for _, ip := range ips {
			if strings.Contains(ip, lq) {
				return true
			}
		}
	}
	return false
}

// row decides, for one instance and one user, whether the Start form shows,
// and says why not in words.
func (a *App) row(in ecs.Instance, u users.User) templates.InstanceRow {
	base := a.Cfg.BasePath()
	r := templates.InstanceRow{ID: in.ID, Name: in.Name, Region: in.Region, Zone: in.Zone, Type: in.Type, Family: in.Family,
		Status: in.Status, Locks: in.LockReasons, Charge: in.ChargeType, LocalDisk: a.Starts.Families.Contains(in.Family),
		NeedsApproval: a.Starts.NeedsApproval(false), NeedsApprovalInit: a.Starts.NeedsApproval(true),
		Live:       !in.Settled(),
		StatusURL:  base + "instances/" + in.ID + "/status?region=" + url.QueryEscape(in.Region),
		StartURL:   base + "instances/" + in.ID + "/start",
		HistoryURL: base + "audit?instance=" + url.QueryEscape(in.ID),
	}
	if len(in.PrivateIPs) > 0 {
		r.PrivateIP = in.PrivateIPs[0]
	}
	if len(in.PublicIPs) > 0 {
		r.PublicIP = in.PublicIPs[0]
	}
	if !in.ExpiredTime.IsZero() {
		r.Expiry = in.ExpiredTime.Format("2006-01-02")
	}
	switch {
	case !users.CanStart(u.Role):
		r.WhyNot = "Your role can only view."
	case in.SecurityLocked():
		r.WhyNot = "Locked by security control."
	case in.Status != ecs.StatusStopped:
		r.WhyNot = in.Status + "."
	default:
		r.CanStart = true
	}
	if !r.CanStart {
		r.LocalDisk = false
	}
	return r
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return "never (ECS has not answered yet)"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 2*time.Second {
		return "just now"
	}
	return d.String() + " ago"
}

func ecsWords(err error) string {
	var e *ecs.Error
	if errors.As(err, &e) {
		return e.Summary
	}
	return "no answer"
}

// refresh asks for a fresh list now; concurrent asks share one refresh.
func (a *App) refresh(c echo.Context) error {
	if err := a.Fleet.Refresh(c.Request().Context()); err != nil {
		sess(c).flash(templates.Flash{Error: true, Text: "Refresh failed for some regions: " + ecsWords(err) + " The last good list is shown."})
	}
	return c.Redirect(http.StatusSeeOther, a.Cfg.BasePath()+"instances")
}

// instanceStatus answers the live-status script: the cached status, checked
// fresh against ECS at most once a second per instance while it is moving.
func (a *App) instanceStatus(c echo.Context) error {
	id, region := c.Param("id"), c.QueryParam("region")
	if !starts.ValidID(id) || !slices.Contains(a.Regions, region) {
		return apperr.New(apperr.Invalid, "Not an instance of this dashboard.")
	}
	in, ok := a.Fleet.Snapshot().Instance(region, id)
	if !ok {
		return apperr.New(apperr.NotFound, "No instance %s in %s.", id, region)
	}
	key := region + "/" + id
	a.statusMu.Lock()
	due := !in.Settled() && a.Now().Sub(a.statusSeen[key]) >= time.Second
	if due {
		a.statusSeen[key] = a.Now()
	}
	a.statusMu.Unlock()
	if due {
		if fresh, err := a.Starts.ECS.Describe(c.Request().Context(), region, id); err == nil {
			a.Fleet.Update(fresh)
			in = fresh
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"id": in.ID, "status": in.Status, "settled": in.Settled()})
}

// start validates at the edge, then hands over to the start service.
func (a *App) start(c echo.Context) error {
	id := c.Param("id")
	region := c.FormValue("region")
	initRaw := c.FormValue("init_local_disk")
	confirm := strings.TrimSpace(c.FormValue("confirm"))
	token := c.FormValue("form_token")
	u := currentUser(c)

	if !starts.ValidID(id) {
		return a.refused(apperr.New(apperr.Invalid, "%q is not an ECS instance ID.", truncate(id, 64)))
	}
	if !slices.Contains(a.Regions, region) {
		return a.refused(apperr.New(apperr.Invalid, "%q is not a region this dashboard manages.", truncate(region, 64)))
	}
	initLocalDisk := false
	switch initRaw {
	case "", "false", "0", "off":
	case "true", "1", "on":
		initLocalDisk = true
	default:
		return a.refused(apperr.New(apperr.Invalid, "init_local_disk must be true or false."))
	}
	cached, known := a.Fleet.Snapshot().Instance(region, id)
	if initLocalDisk && known && !a.Starts.Families.Contains(cached.Family) {
		return a.refused(apperr.New(apperr.Unprocessable, "Initializing local disks applies only to the local-disk families (%s); %s is %s.",
			strings.Join(a.Starts.Families, ", "), id, cached.Family))
	}
	if !users.CanStart(u.Role) {
		return a.refused(apperr.New(apperr.Forbidden, "Your role (%s) may not start instances; ask an operator.", u.Role))
	}
	if initLocalDisk && confirm != id {
		msg := "Type the instance ID exactly to confirm that its local disks will be wiped."
		if confirm != "" {
			msg = "The confirmation does not match the instance ID; nothing was started. " + msg
		}
		a.Metrics.Start("refused")
		row := a.row(cached, u)
		if !known {
			row = templates.InstanceRow{ID: id, Name: id, Region: region, StartURL: a.Cfg.BasePath() + "instances/" + id + "/start"}
		}
		return render(c, http.StatusUnprocessableEntity, templates.ConfirmInit(templates.ConfirmInitPage{
			Page: a.page(c, "Confirm", "instances"), Row: row, Error: msg, FormToken: randomToken(),
			NeedsApproval: a.Starts.NeedsApproval(true)}))
	}
	if token != "" && !a.usedTokens.use(token+"|"+id, a.Now()) {
		sess(c).flash(templates.Flash{Text: fmt.Sprintf("That form for %s was already sent; it was not sent again. Its outcome is in the audit log.", id)})
		return c.Redirect(http.StatusSeeOther, a.Cfg.BasePath()+"instances")
	}

	res, err := a.Starts.Request(c.Request().Context(), a.actor(c), region, id, initLocalDisk, false)
	if err != nil {
		return a.refused(err)
	}
	return a.afterStart(c, res, a.Cfg.BasePath()+"instances")
}

func (a *App) refused(err error) error {
	a.Metrics.Start("refused")
	return err
}

// afterStart shows the outcome: awaiting approval and success redirect with
// a flash; an ECS error is explained on its own page.
func (a *App) afterStart(c echo.Context, res starts.Result, back string) error {
	s := sess(c)
	name := res.Instance.Name
	if name == "" {
		name = res.Instance.ID
	}
	switch {
	case res.Awaiting:
		a.Metrics.Start("awaiting_approval")
		s.flash(templates.Flash{Text: fmt.Sprintf("Start of %s (%s) is recorded as request %d and waits for a second person's approval.", name, res.Instance.ID, res.OpID)})
		return c.Redirect(http.StatusSeeOther, a.Cfg.BasePath()+"audit")
	case res.ECSError != nil:
		e := res.ECSError
		outcome := "failed"
		if e.Kind == ecs.KindUnknownOutcome {
			outcome = "unknown"
		}
		a.Metrics.Start(outcome)
		status := ecsPageStatus(e)
		heading := "ECS did not start " + name
		if outcome == "unknown" {
			heading = "The outcome of starting " + name + " is unknown"
		}
		return render(c, status, templates.Error(templates.ErrorPage{Page: a.page(c, heading, "instances"), Status: status, Heading: heading,
			Message: e.Summary, RequestID: requestID(c), BackURL: back,
			ECS: &templates.ECSFailure{InstanceID: res.Instance.ID, InstanceName: res.Instance.Name, Code: e.Code, Message: e.Message,
				ECSRequestID: e.RequestID, Summary: e.Summary, Action: e.Action,
				AuditURL: a.Cfg.BasePath() + "audit?instance=" + url.QueryEscape(res.Instance.ID)}}))
	default:
		a.Metrics.Start("succeeded")
		s.flash(templates.Flash{Text: fmt.Sprintf("ECS accepted the start of %s (%s). RequestId %s.", name, res.Instance.ID, res.RequestID)})
		return c.Redirect(http.StatusSeeOther, back)
	}
}

// ecsPageStatus is the status of the page that explains an ECS error: the
// state or account forbids it (409), ECS is busy or down (503), no answer (504).
func ecsPageStatus(e *ecs.Error) int {
	switch e.Kind {
	case ecs.KindThrottled, ecs.KindUnavailable, ecs.KindInternal:
		return http.StatusServiceUnavailable
	case ecs.KindUnknownOutcome:
		return http.StatusGatewayTimeout
	case ecs.KindAuth:
		return http.StatusBadGateway
	case ecs.KindNotFound:
		return http.StatusNotFound
	}
	return http.StatusConflict
}
