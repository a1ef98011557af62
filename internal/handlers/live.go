package handlers

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// liveMax is the most rows one poll asks about: a list page's most.
const liveMax = 100

// liveAnswer is what an open list's poll gets back.
type liveAnswer struct {
	V    string    `json:"v"`   // the fleet's and the open requests' version, to send back next time
	Age  int64     `json:"age"` // seconds since the list was fetched from ECS; -1 before the first listing
	Rows []liveRow `json:"rows"`
}

// liveRow is one row of the page that no longer looks as the page shows it.
type liveRow struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status,omitempty"`
	HTML   string `json:"html,omitempty"`
	Gone   bool   `json:"gone,omitempty"` // out of the viewer's sight now (a grant taken, a tag changed): the row goes
}

// liveRows answers an open list's poll, so every viewer's list follows the
// fleet without a reload. Most polls find the fleet and the open requests
// as the page last saw them (two numbers compared) and get nothing; else
// each row the page holds (r=REGION/ID:VERSION) is compared with how it
// looks now, and those that differ come back as HTML from the rows' cache.
// It never calls ECS: the shared cache follows moving instances itself.
func (a *App) liveRows(c echo.Context) error {
	refs := c.QueryParams()["r"]
	if len(refs) > liveMax {
		return apperr.New(apperr.Invalid, "At most %d rows can be followed at once.", liveMax)
	}
	snap := a.fleet.Snapshot()
	open := a.open(c.Request().Context())
	now := a.now()
	actor := a.actor(c)
	l := a.loc(c)
	zone := a.zone(c)
	ans := liveAnswer{V: liveVersion(snap.Seq, open.heldGen, viewerKey(actor, l.Lang(), zone)), Age: -1, Rows: []liveRow{}}
	if !snap.Fetched.IsZero() {
		ans.Age = int64(now.Sub(snap.Fetched) / time.Second)
	}
	if c.QueryParam("v") == ans.V {
		return c.JSON(http.StatusOK, ans)
	}
	rowOf := func(in *ecs.Instance) templates.InstanceRow {
		return a.rowIn(l, zone, *in, actor, open.byInstance[in.ID])
	}
	csrf, token, role := sess(c).csrf(), randomToken(), rightsKey(actor)
	for _, ref := range refs {
		key, version, _ := strings.Cut(ref, ":")
		region, id, _ := strings.Cut(key, "/")
		if !starts.ValidID(id) || !slices.Contains(a.regions, region) {
			return apperr.New(apperr.Invalid, "%q is not an instance of this dashboard.", apperr.Quote(key))
		}
		in, ok := snap.Instance(region, id)
		if !ok || !starts.Sees(actor, in) {
			// Released, or out of the viewer's sight now (a grant taken, a
			// tag changed): told alike, by its id alone, so a poll never
			// says whether an instance the viewer may not see exists. A
			// region whose refresh failed keeps its last good list, so
			// only a snapshot never fetched says nothing.
			if !snap.Fetched.IsZero() {
				ans.Rows = append(ans.Rows, liveRow{ID: id, Gone: true})
			}
			continue
		}
		v, cached := a.rows.version(&in, role, l, zone, now, open)
		if !cached {
			v = rowOf(&in).Version
		}
		if v == version {
			continue
		}
		rows, err := a.rows.render([]*ecs.Instance{&in}, role, l, zone, len(snap.Instances), now, open, rowOf)
		if err != nil {
			return apperr.Wrap(err, apperr.Internal, "render a live row")
		}
		var b strings.Builder
		if err := rows.with(csrf, token).Render(c.Request().Context(), &b); err != nil {
			return apperr.Wrap(err, apperr.Internal, "write a live row")
		}
		ans.Rows = append(ans.Rows, liveRow{ID: in.ID, Name: in.Name, Status: in.Status, HTML: b.String()})
	}
	return c.JSON(http.StatusOK, ans)
}

// liveVersion names everything the rows of an open list depend on: the
// fleet, the open requests, and the viewer (their rights, language and
// zone). A grant given or taken, a role changed or a language switched, in
// another tab or on another replica, reaches the open page at its next
// poll, not when the fleet next changes.
func liveVersion(fleet uint64, held int64, viewer string) string {
	return strconv.FormatUint(fleet, 10) + "." + strconv.FormatInt(held, 10) + "." + viewer
}

// viewerKey is a short name of what in a row depends on its viewer.
func viewerKey(a starts.Actor, lang string, zone *time.Location) string {
	h := fnv.New64a()
	for _, part := range []string{rightsKey(a), a.Key(users.PermView), a.Key(audit.DecideNeeds), lang, zone.String()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// rowVersion names how a row looks: the page sends it back, so a poll
// answers only the rows that changed.
func rowVersion(r templates.InstanceRow) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%#v", r)
	return strconv.FormatUint(h.Sum64(), 36)
}

// backgroundPoll reports whether a request is a page's own poll, which
// must not count as the user being there (an open tab would keep its
// session from ever going idle).
func backgroundPoll(c echo.Context) bool {
	p := c.Path()
	return strings.HasSuffix(p, "/instances/live") || strings.HasSuffix(p, "/instances/:id/status")
}
