package starts_test

import (
	"regexp"
	"testing"

	"ecsdash/internal/starts"
)

var shape = regexp.MustCompile(`\Ai-[a-z0-9]+\z`)

// FuzzValidID: whatever ValidID accepts is a plain ECS id (no separators,
// markup, NUL bytes or path parts) of a sane length.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"i-bp1g6zv0ce8oghu7k4m2", "i-", "i-../../etc", "i-abc\x00def", "I-ABCDEFGH", "i-abcdefgh\n", "", "i-" + string(make([]byte, 100))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if starts.ValidID(id) && (!shape.MatchString(id) || len(id) < 10 || len(id) > 42) {
			t.Fatalf("accepted %q", id)
		}
	})
}

func TestValidIDExamples(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"i-bp1g6zv0ce8oghu7k4m2": true, "i-abc": false, "i-BP1G6ZV0CE8OGHU7K4M2": false, "i-bp1g6zv0/../x": false,
		"i-bp1g6zv0ce8oghu7k4m2\n": false, "x-bp1g6zv0ce8oghu7k4m2": false,
	} {
		if starts.ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}
