package handlers

import (
	"bytes"
	"context"
	"testing"
)

func TestCachedRowsFillEverySlot(t *testing.T) {
	t.Parallel()
	html := "<a>" + csrfSlot + tokenSlot + "</a><b x=\"" + tokenSlot + "\">" + csrfSlot
	var buf bytes.Buffer
	if err := cutSlots(html).with("C", "T").Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), `<a>CT</a><b x="T">C`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	buf.Reset()
	cutSlots("no slots").with("C", "T").Render(context.Background(), &buf)
	if buf.String() != "no slots" {
		t.Fatalf("got %q", buf.String())
	}
}
