package templates

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
)

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// zoneAfterRegion is what a zone adds to its region ("-h" of
// "cn-hangzhou-h"), so the cell reads as the zone with the region standing
// out; a zone named otherwise is shown whole.
func zoneAfterRegion(region, zone string) string {
	if rest, ok := strings.CutPrefix(zone, region); ok && rest != "" {
		return rest
	}
	if zone == "" {
		return ""
	}
	return " " + zone
}

// splitRequestID finds "RequestId X" in a message: the text before X, X,
// and the text after it ("" for X when there is none).
func splitRequestID(text string) (before, id, after string) {
	const key = "RequestId "
	i := strings.Index(text, key)
	if i < 0 {
		return text, "", ""
	}
	start := i + len(key)
	end := start
	for end < len(text) && (isIDByte(text[end])) {
		end++
	}
	if end == start {
		return text, "", ""
	}
	return text[:start], text[start:end], text[end:]
}

func isIDByte(b byte) bool {
	return b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// otherLangs is every language offered but lang.
func otherLangs(lang string) []string {
	var out []string
	for _, l := range i18n.Languages {
		if l != lang {
			out = append(out, l)
		}
	}
	return out
}

// langName is a language's name in itself.
func langName(lang string) string {
	if lang == i18n.Chinese {
		return "中文"
	}
	return "English"
}

// jsKeys are the texts the page script shows (dialogs, the live status's
// announcements): the page gives them in its language, as JSON in the
// <html> element's data-i18n, with {id}, {name}, {status}, {n} for the
// script to fill in.
var jsKeys = []string{
	"js.not_the_id", "js.request_wipe", "js.wipe_start", "js.dismiss", "js.starting",
	"js.start_selected", "js.stopped_reload", "js.now_status", "js.announce",
	"js.unit_h", "js.unit_m", "js.unit_s", "js.list_sep",
}

// jsTextsJSON is the page script's texts as JSON.
func jsTextsJSON(p Page) string {
	m := make(map[string]string, len(jsKeys)+len(statusKeys))
	for _, k := range jsKeys {
		m[strings.TrimPrefix(k, "js.")] = p.T(k)
	}
	for _, s := range statusKeys {
		m["status."+s] = p.T("status." + s)
	}
	b, _ := json.Marshal(m) // strings only: cannot fail
	return string(b)
}

// statusKeys are ECS's instance statuses, as the catalogue names them.
var statusKeys = []string{"Running", "Starting", "Stopping", "Stopped", "Pending"}

// statusWords is an ECS status in the page's language (the status itself
// for one the catalogue lacks).
func statusWords(p Page, status string) string { return StatusText(p.Loc, status) }

// StatusText is an ECS status in l's language (the status itself for one
// the catalogue lacks).
func StatusText(l *i18n.Localizer, status string) string {
	for _, s := range statusKeys {
		if s == status {
			return l.T("status." + s)
		}
	}
	return status
}

// LockText is an operation lock's reason in words; a reason ECS does not
// document stays its code.
func LockText(l *i18n.Localizer, reason string) string {
	if slices.Contains(ecs.LockReasons, reason) {
		return l.T("lock." + reason)
	}
	return reason
}

// chargeWords is a billing method as the console names it.
func chargeWords(l *i18n.Localizer, charge string) string {
	switch strings.ToLower(charge) {
	case "prepaid":
		return l.T("list.prepaid")
	case "postpaid":
		return l.T("list.postpaid")
	}
	return charge
}

// roleWords is a role in the page's language; a description of grants
// (not one role) is shown as it is.
func roleWords(p Page, role string) string {
	switch role {
	case "viewer", "operator", "approver", "admin":
		return p.T("role." + role)
	}
	return role
}

// stateText is an audit state in the page's language.
func stateText(p Page, state string) string { return StateText(p.Loc, state) }

// StateText is an audit state in l's language (the state itself for one
// the catalogue lacks).
func StateText(l *i18n.Localizer, state string) string {
	if slices.Contains(audit.States, state) {
		return l.T("state." + state)
	}
	return state
}

// actionText is an audit action in the page's language.
func actionText(p Page, action string) string {
	if slices.Contains(audit.Actions, action) {
		return p.T("action." + action)
	}
	return action
}

// actionLabel is an action filter's choice in the page's language (its
// English label for an action the catalogue lacks).
func actionLabel(p Page, c Choice) string {
	if slices.Contains(audit.Actions, c.Value) {
		return p.T("action." + c.Value)
	}
	return c.Label
}

// sourceKey is where an account comes from, as the catalogue names it.
func sourceKey(source string) string {
	if source == "sso" {
		return "sso"
	}
	return "local"
}

// scopeIn says a scope expression in the page's language.
func scopeIn(p Page, s string) string {
	if s == "" {
		return p.T("admin.every_instance")
	}
	return s
}
