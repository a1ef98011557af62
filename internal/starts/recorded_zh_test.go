package starts_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
)

// englishWords is three English words in a row.
var englishWords = regexp.MustCompile(`[A-Za-z']+[ ,:;()-]+[A-Za-z']+[ ,:;()-]+[A-Za-z']+`)

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := i18n.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The notes of an unknown outcome and of its follow-up are stored in
// English with UTC times, and read back into their formats: in Chinese the
// status is a Chinese word and the time the reader's, named; in English and
// UTC they read back as stored.
func TestTheNotesOfAnUnknownOutcomeAreSaidInTheReadersLanguageAndZone(t *testing.T) {
	t.Parallel()
	r, res := lateStart(t)
	ctx := context.Background()
	*r.now = r.now.Add(30 * time.Second)
	r.ecs.set(stoppedID, ecs.StatusRunning)
	if n, err := r.svc.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("reconciled %d (%v)", n, err)
	}
	op := r.op(t, res.OpID)
	zh := i18n.For(i18n.Chinese).InZone(shanghai(t))
	en := i18n.For(i18n.English)
	var unknown, seen audit.Event
	for _, e := range op.Events {
		switch {
		case e.Action == audit.ActionReconcile:
			seen = e
		case e.State == audit.StateUnknown:
			unknown = e
		}
	}
	for name, c := range map[string]struct {
		e    audit.Event
		want []string
	}{
		"the lookup":    {unknown, []string{"调用后立即查询（17:00:00 Asia/Shanghai）", "已停止"}},
		"the follow-up": {seen, []string{"实例状态为运行中", "2026-11-27 17:00:30 Asia/Shanghai", "30 秒"}},
	} {
		said, ecsText := starts.Recorded(c.e)
		if ecsText != "" {
			t.Errorf("%s: ECS's text %q for the service's own note", name, ecsText)
		}
		got := said.In(zh)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s in Chinese: %q, want %q", name, got, w)
			}
		}
		if m := englishWords.FindString(got); m != "" || strings.Contains(got, "UTC") {
			t.Errorf("%s in Chinese says %q: %q", name, m, got)
		}
		if back := said.In(en); back != c.e.ErrorMessage {
			t.Errorf("%s in English and UTC reads back %q, stored %q", name, back, c.e.ErrorMessage)
		}
	}
}

// A batch's rows say why in the reader's language: the unknown rows' lookup
// and a refusal made of a sentence and a name; their English (the API's) is
// unchanged.
func TestABatchsRowsAreSaidInTheReadersLanguage(t *testing.T) {
	t.Parallel()
	r := newLateRig(t)
	b, err := r.svc.StartBatch(context.Background(), operator, []string{"cn-hangzhou/" + stoppedID, "cn-hangzhou/i-notthere0001"}, "")
	if err != nil {
		t.Fatal(err)
	}
	zh := i18n.For(i18n.Chinese).InZone(shanghai(t))
	for _, row := range b.Rows {
		got := row.WordsIn(zh)
		if m := englishWords.FindString(got); m != "" || strings.Contains(got, "UTC") {
			t.Errorf("row %s (%s) in Chinese says %q: %q", row.Ref.ID, row.Outcome, m, got)
		}
		if row.WordsIn(i18n.For(i18n.English)) != row.Words {
			t.Errorf("row %s in English: %q, its Words %q", row.Ref.ID, row.WordsIn(i18n.For(i18n.English)), row.Words)
		}
	}
}

// A stored reason of the service is said in the reader's language: a
// withdrawal (written before and after the withdrawer was its own field)
// and an expiry; a person's reason stays as they wrote it.
func TestStoredReasonsAreSaidInTheReadersLanguage(t *testing.T) {
	zh := i18n.For(i18n.Chinese)
	for _, c := range []struct {
		e          audit.Event
		want, inEn string // inEn: the English shown, when not the stored text
	}{
		{audit.Event{Action: audit.ActionWithdraw, User: "olivia", Reason: "withdrawn by olivia"}, "由 olivia 撤回", ""},
		{audit.Event{Action: audit.ActionWithdraw, User: "olivia", Approver: "adele", Reason: "withdrawn by adele"}, "由 adele 撤回", ""},
		// A span's zero part is left out when shown (the stored text is Go's).
		{audit.Event{Action: audit.ActionExpire, User: "olivia", Reason: "not approved within 30m0s"}, "30 分钟 内未获审批", "not approved within 30m"},
		{audit.Event{Action: audit.ActionReject, User: "olivia", Approver: "adele", Reason: "Not approved within the change window"}, "Not approved within the change window", ""},
		{audit.Event{Action: audit.ActionWithdraw, User: "olivia", Reason: "withdrawn by olivia and more"}, "由 olivia and more 撤回", ""},
	} {
		if got := starts.Reason(c.e).In(zh); got != c.want {
			t.Errorf("%s %q in Chinese: %q, want %q", c.e.Action, c.e.Reason, got, c.want)
		}
		inEn := c.inEn
		if inEn == "" {
			inEn = c.e.Reason
		}
		if got := starts.Reason(c.e).In(i18n.For(i18n.English)); got != inEn {
			t.Errorf("%s %q in English: %q", c.e.Action, c.e.Reason, got)
		}
	}
}

// An ECS failure's message is ECS's own: a page says our words for its code
// first and keeps ECS's text apart.
func TestAnECSFailureIsOurWordsForItsCodeWithECSsTextApart(t *testing.T) {
	e := audit.Event{Action: audit.ActionStartInstance, State: audit.StateFailed, ErrorCode: "InstanceLockedForSecurity",
		ErrorMessage: "The specified instance is locked for security reasons."}
	said, ecsText := starts.Recorded(e)
	if ecsText != e.ErrorMessage {
		t.Fatalf("ECS's text: %q", ecsText)
	}
	if got := said.In(i18n.For(i18n.Chinese)); !strings.Contains(got, "因安全原因被锁定") || englishWords.MatchString(strings.ReplaceAll(got, "OperationLocks：security", "")) {
		t.Fatalf("in Chinese: %q", got)
	}
}
