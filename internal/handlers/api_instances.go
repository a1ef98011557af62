package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/i18n"
	"ecsdash/internal/users"
)

// apiPerPage is the API list's page size.
const apiPerPage = 100

type apiInstanceList struct {
	Instances []apiInstance `json:"instances"`
	NextPage  *int          `json:"next_page"` // null on the last page
}

type apiInstance struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Region   string            `json:"region"`
	Zone     string            `json:"zone"`
	Status   string            `json:"status"`
	Type     string            `json:"type"`
	Family   string            `json:"family"`
	Tags     map[string]string `json:"tags"`
	Account  string            `json:"account"`
	MayStart bool              `json:"may_start"` // this token's user may start it now
	WhyNot   string            `json:"why_not"`   // why not, in words, when not
}

// apiInstances lists the fleet from the shared cache, as the list page does
// (the same filters and the same answer to "may I start it?"); it never
// calls ECS.
func (a *App) apiInstances(c echo.Context) error {
	q, err := a.listQuery(c)
	if err != nil {
		return err
	}
	q.PerPage = apiPerPage
	_, _, match, err := listMatch(c)
	if err != nil {
		return err
	}
	q.Match = match
	actor := a.actor(c)
	q.Visible = actor.Key(users.PermView) // only what some grant covers
	out := apiInstanceList{Instances: []apiInstance{}}
	snap := a.fleet.Snapshot()
	found := snap.Find(q)
	if q.Page > found.Page { // past the last page: nothing, rather than the last page again
		return c.JSON(http.StatusOK, out)
	}
	open := a.open(c.Request().Context())
	readOnly := mayAct(c) != nil
	for _, in := range found.Instances {
		r := a.row(i18n.For(i18n.English), *in, actor, open.byInstance[in.ID]) // the API's words stay English
		v := apiInstance{ID: in.ID, Name: in.Name, Region: in.Region, Zone: in.Zone, Status: in.Status, Type: in.Type, Family: in.Family,
			Tags: map[string]string{}, Account: in.Account, MayStart: r.CanStart, WhyNot: r.WhyNot}
		for k, val := range in.Tags {
			v.Tags[k] = val
		}
		if v.MayStart && readOnly {
			v.MayStart, v.WhyNot = false, "This API token is read-only."
		}
		out.Instances = append(out.Instances, v)
	}
	if found.Page < found.Pages {
		next := found.Page + 1
		out.NextPage = &next
	}
	return c.JSON(http.StatusOK, out)
}
