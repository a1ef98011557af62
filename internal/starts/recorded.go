package starts

import (
	"regexp"
	"strings"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
)

// The service's notes in the audit log (an unknown outcome's lookup, a
// follow-up's sighting, a withdrawal's or an expiry's reason) are stored in
// English with times in UTC: the log is a record, and its exports and API
// carry that English. This file is the one place that writes them from
// their formats and reads them back into formats and arguments, so that a
// page says them in its reader's language and zone. Entries written before
// a note was made from a format read back the same, for the English stored
// is the same.

// The formats of the notes, as stored.
const (
	noteLookedUp        = "Looked up right after the call (%s), the instance was %s."
	noteLookedUpStopped = "Looked up right after the call (%s), the instance was still Stopped, which says nothing yet: ECS may not have acted on the call. " +
		"A follow-up entry will say what the instance is seen doing later."
	noteNotLookedUp    = "Its status could not be looked up afterwards."
	noteSeen           = "Seen %s at %s, %s after the call: the start most likely took effect (ECS's answer itself was never received)."
	noteStillStopped   = "Still Stopped at %s, %s after the call: the start did not take effect (or the instance was stopped again since)."
	noteStopped        = "The dashboard stopped before ECS's answer was recorded."
	noteNotRecorded    = "ECS's answer to this call was not recorded by the process that made it (it lost its lease, or its call ended without an answer on record)."
	noteReplicaStopped = "Replica %s stopped before ECS's answer was recorded."
	reasonWithdrawn    = "withdrawn by %s"
	reasonExpired      = "not approved within %s"
)

// How an argument of a stored note is read back.
type argKind int

const (
	argWord   argKind = iota // an English word or sentence (a status): said in the language
	argName                  // a name (a user, a replica): as it is
	argClock                 // a time of day in UTC ("15:04:05 UTC") on the entry's day
	argMoment                // a time in UTC ("2006-01-02 15:04:05 UTC")
	argSpan                  // a Go duration ("1m5s")
)

type form struct {
	format string
	kinds  []argKind
	re     *regexp.Regexp // the stored text: a sentence before it, then the format's
}

func newForm(format string, kinds ...argKind) form {
	body := strings.ReplaceAll(regexp.QuoteMeta(format), "%s", "(.+?)")
	return form{format: format, kinds: kinds, re: regexp.MustCompile(`^(?:(.*?) )??` + body + `$`)}
}

// notes are the forms of an entry's error message; reasons of its reason.
var (
	notes = []form{
		newForm(noteLookedUpStopped, argClock),
		newForm(noteLookedUp, argClock, argWord),
		newForm(noteSeen, argWord, argMoment, argSpan),
		newForm(noteStillStopped, argMoment, argSpan),
		newForm(noteReplicaStopped, argName),
	}
	reasons = []form{
		newForm(reasonWithdrawn, argName),
		newForm(reasonExpired, argSpan),
	}
)

// lookedUp is the note of a status read right after a call whose outcome
// is unknown: ECS may not have acted yet, so it is no answer. The log gets
// a follow-up entry once the instance is seen settled (Reconcile).
func lookedUp(status string, at time.Time) i18n.Words {
	if status == ecs.StatusStopped {
		return i18n.Wordsf(noteLookedUpStopped, i18n.Clock(at))
	}
	return i18n.Wordsf(noteLookedUp, i18n.Clock(at), i18n.Word(status))
}

// seenWords is a follow-up's note, or nil while what is seen is no answer
// yet.
func seenWords(status string, at, call time.Time) i18n.Said {
	after := i18n.Span(at.Sub(call).Round(time.Second))
	switch {
	case status == ecs.StatusRunning || status == ecs.StatusStarting:
		return i18n.Wordsf(noteSeen, i18n.Word(status), i18n.At(at), after)
	case status == ecs.StatusStopped && time.Duration(after) >= Settle:
		return i18n.Wordsf(noteStillStopped, i18n.At(at), after)
	}
	return nil
}

// withdrawal is the reason, in words, of the entry that records a's
// withdrawal (the withdrawer is its approver: the action's row says so).
func withdrawal(a Actor) (reason string) { return i18n.Wordsf(reasonWithdrawn, a.User).String() }

// OwnWithdrawal reports whether e records a requester withdrawing their own
// request. Entries written before the withdrawer was recorded as approver
// say it only in their reason.
func OwnWithdrawal(e audit.Event) bool {
	if e.Action != audit.ActionWithdraw {
		return false
	}
	if e.Approver == "" {
		return e.Reason == i18n.Wordsf(reasonWithdrawn, e.User).String()
	}
	return e.Approver == e.User
}

// Recorded is entry e's error message as words to say on a page: the
// service's notes read back into their formats; an ECS failure (whose
// message is ECS's own, in ECS's English) as our words for its code, with
// ECS's text apart in ecsText, to show as ECS's.
func Recorded(e audit.Event) (words i18n.Said, ecsText string) {
	if e.ErrorMessage == "" {
		return i18n.Word(""), ""
	}
	if a, _ := audit.Action(e.Action); e.State == audit.StateFailed && (a.OnInstance || a.Name == audit.ActionApprove) &&
		e.ErrorCode != "" && !strings.HasPrefix(e.ErrorCode, "Dashboard.") {
		x := ecs.Explain(e.ErrorCode)
		return i18n.Wordsf("%s %s", i18n.Word(x.Summary), i18n.Word(x.Action)), e.ErrorMessage
	}
	return readBack(notes, e.ErrorMessage, e.Time), ""
}

// Reason is entry e's reason as words to say on a page (a reason a person
// gave stays as they gave it).
func Reason(e audit.Event) i18n.Said {
	verbatim := i18n.Wordsf("%s", e.Reason)
	if e.Action != audit.ActionWithdraw && e.Action != audit.ActionExpire {
		return verbatim
	}
	for _, f := range reasons {
		if m := f.re.FindStringSubmatch(e.Reason); m != nil && m[1] == "" {
			if w, ok := f.words(m[2:], e.Time); ok {
				return w
			}
		}
	}
	return verbatim
}

// readBack is stored text s as words: a form it ends with (after a
// sentence, itself read back), else s as a sentence.
func readBack(forms []form, s string, at time.Time) i18n.Said {
	for _, f := range forms {
		m := f.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		w, ok := f.words(m[2:], at)
		if !ok {
			continue
		}
		if m[1] == "" {
			return w
		}
		return i18n.Wordsf("%s %s", readBack(forms, m[1], at), w)
	}
	return i18n.Word(s)
}

// words are f's format with the stored arguments read back, on an entry
// written at at.
func (f form) words(stored []string, at time.Time) (i18n.Words, bool) {
	args := make([]any, len(stored))
	for i, s := range stored {
		switch f.kinds[i] {
		case argWord:
			args[i] = i18n.Word(s)
		case argName:
			args[i] = s
		case argClock:
			c, err := time.Parse("15:04:05 UTC", s)
			if err != nil {
				return i18n.Words{}, false
			}
			day := at.UTC().Truncate(24 * time.Hour)
			t := day.Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute + time.Duration(c.Second())*time.Second)
			if t.Sub(at) > 12*time.Hour { // looked up just before midnight, recorded after
				t = t.Add(-24 * time.Hour)
			}
			args[i] = i18n.Clock(t)
		case argMoment:
			t, err := time.Parse("2006-01-02 15:04:05 UTC", s)
			if err != nil {
				return i18n.Words{}, false
			}
			args[i] = i18n.At(t)
		case argSpan:
			d, err := time.ParseDuration(s)
			if err != nil {
				return i18n.Words{}, false
			}
			args[i] = i18n.Span(d)
		}
	}
	return i18n.Wordsf(f.format, args...), true
}
