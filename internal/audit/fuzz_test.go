package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"ecsdash/internal/audit"
)

// FuzzExport: any text in an event comes back out of the CSV and JSON
// exports as stored (valid UTF-8, see stored) (a leading formula character is defused with a quote), and
// both stay parseable.
func FuzzExport(f *testing.F) {
	_, log := openLog(f, "")
	for _, s := range []string{"plain", "=HYPERLINK(\"http://x\")", "a,b\n\"c\"", "\x00nul", "<script>", "ünï©ødé", "\r\n", "@SUM(1)"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, user, reason string) {
		ev, err := log.Append(context.Background(), audit.Event{Action: audit.ActionReject, User: user, Reason: reason, State: audit.StateRejected})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := log.Export(context.Background(), &buf, "csv", audit.Filter{}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("csv does not parse: %v", err)
		}
		user, reason = stored(user), stored(reason)
		last := recs[len(recs)-1]
		if last[2] != csvNormal(defused(user)) || last[9] != csvNormal(defused(reason)) {
			t.Fatalf("csv: user %q -> %q, reason %q -> %q", user, last[2], reason, last[9])
		}
		buf.Reset()
		if err := log.Export(context.Background(), &buf, "json", audit.Filter{}); err != nil {
			t.Fatal(err)
		}
		var arr []map[string]any
		if err := json.Unmarshal(buf.Bytes(), &arr); err != nil {
			t.Fatalf("json does not parse: %v", err)
		}
		got := arr[len(arr)-1]
		if got["id"] != float64(ev.Seq) || got["user"] != jsonText(user) || got["reason"] != jsonText(reason) {
			t.Fatalf("json: %v", got)
		}
	})
}

// stored is the text as the log keeps it: valid UTF-8 without NUL, each
// bad byte U+FFFD (both databases hold the same entry).
func stored(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// defused is the export's rule: a cell starting with a formula character
// gets a leading quote.
func defused(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvNormal is what encoding/csv gives back: it reads \r\n inside a quoted
// field as \n.
func csvNormal(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// jsonText is what encoding/json makes of s: each invalid byte becomes U+FFFD.
func jsonText(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
