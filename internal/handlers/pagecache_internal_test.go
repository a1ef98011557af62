package handlers

import (
	"bytes"
	"reflect"
	"testing"

	"ecsdash/web/templates"
)

func TestCachedPageFillsEverySlotAndEscapesTheAge(t *testing.T) {
	t.Parallel()
	page := "<p>" + ageSlot + "</p><input value=\"" + csrfSlot + "\"><tbody>" + rowsSlot + "</tbody><i>" + tokenSlot + ageSlot + "</i>"
	rows := pageRows{{html: cutSlots("<tr>" + csrfSlot + "|" + tokenSlot + "</tr>")}, {html: cutSlots("<tr>2</tr>")}}
	var buf bytes.Buffer
	v := &slotValues{csrf: "C", token: "T", age: "5s <ago>", rows: rows}
	cutPage(page).fillPage(&buf, v)
	want := `<p>5s &lt;ago&gt;</p><input value="C"><tbody><tr>C|T</tr><tr>2</tr></tbody><i>T5s &lt;ago&gt;</i>`
	if got := buf.String(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// Every field of the list page's view model is either part of listKey, a
// slot filled per request, or the same for every view of this App: a
// field added to the page (or to every page's layout) without saying which
// fails here, before two users could share a page they must not.
func TestListKeyCoversEveryFieldOfThePage(t *testing.T) {
	t.Parallel()
	const (
		slot    = "slot: filled per request"
		app     = "the same for every view of this App"
		noCache = "a view with flashes is not cached"
	)
	covered := map[string]string{
		// templates.Page
		"Title": app, "Base": app, "Current": app, "Demo": app, "StyleURL": app, "AppJSURL": app, "SkipToList": app,
		"User": "user", "Role": "role", "Waiting": "waiting", "Admin": "admin", "CSRF": slot, "Flash": noCache,
		"Loc": "lang", "Zone": "zone", "Here": "here",
		// templates.InstancesPage
		"Page": "(embedded)", "Rows": slot, "FormToken": slot, "CacheAge": slot,
		"Q": "q", "Region": "q", "Status": "q", "Family": "q", "Account": "q", "PerPage": "q", "Sort": "q", "Desc": "q",
		"Tags": "tags", "RG": "rg", "Accounts": app, "Regions": app, "Statuses": app,
		"Families": "snap", "NoLocks": "snap", "Matched": "snap", "Total": "snap", "PageNum": "snap", "Pages": "snap",
		"PrevURL": "q", "NextURL": "q", "SortLinks": "q", "JumpParams": "q",
		"CacheErrors": "acctErrs", "CanStart": "canStart", "CanRefresh": "refresh", "NeedsApproval": "approval",
	}
	key := reflect.TypeOf(listKey{})
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			how, ok := covered[f.Name]
			if !ok {
				t.Errorf("%s.%s is shown on the list page but neither in listKey nor a slot: add it to listKey (pagecache.go) and to this table", ty.Name(), f.Name)
				continue
			}
			switch how {
			case slot, app, noCache, "(embedded)":
			default:
				if _, ok := key.FieldByName(how); !ok {
					t.Errorf("%s.%s is said to be covered by listKey.%s, which does not exist", ty.Name(), f.Name, how)
				}
			}
			if f.Anonymous {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(templates.InstancesPage{}))
	if _, ok := key.FieldByName("lang"); !ok {
		t.Error("listKey has no lang: a translated page must be cached per language")
	}
}
