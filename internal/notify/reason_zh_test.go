package notify_test

import (
	"strings"
	"testing"

	"ecsdash/internal/i18n"
	"ecsdash/internal/notify"
)

// The dashboard's own reason of a withdrawal or an expiry is said in the
// receiver's language; the json format (and the English text) keep the
// reason as stored.
func TestTheDashboardsOwnReasonIsSaidInTheReceiversLanguage(t *testing.T) {
	m := msg
	m.Event, m.Approver, m.Reason = "withdrawn", "adm", "withdrawn by adm"
	m.ReasonWords = i18n.Wordsf("withdrawn by %s", "adm")
	if got := notify.TextIn(m, i18n.Chinese); !strings.Contains(got, "由 adm 撤回") || strings.Contains(got, "withdrawn by") {
		t.Errorf("in Chinese: %q", got)
	}
	if got := notify.TextIn(m, i18n.English); !strings.Contains(got, "withdrawn by adm") {
		t.Errorf("in English: %q", got)
	}
}
