package handlers

import (
	"reflect"
	"testing"

	"github.com/gorilla/securecookie"
)

func TestSessionCodecRoundTripsEveryKindOfValue(t *testing.T) {
	t.Parallel()
	in := map[any]any{"csrf": "tok-en", "uid": int64(42), "epoch": int64(-1), "iat": int64(1 << 40),
		"sso": "vera", "_flash": []any{"ok:Started.", "err:Refused: \"quoted\" <b>"}}
	b, err := sessionCodec{}.Serialize(in)
	if err != nil {
		t.Fatal(err)
	}
	var out map[any]any
	if err := (sessionCodec{}).Deserialize(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %#v\nout %#v", in, out)
	}
}

func TestSessionCodecRefusesWhatItCannotKeepExactly(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]map[any]any{
		"int":            {"uid": 42},
		"bool":           {"x": true},
		"non-string key": {1: "a"},
		"list of ints":   {"_flash": []any{1}},
	} {
		if _, err := (sessionCodec{}).Serialize(v); err == nil {
			t.Errorf("%s: serialized, want an error", name)
		}
	}
	var out map[any]any
	if err := (sessionCodec{}).Deserialize([]byte(`{"uid":4.5}`), &out); err == nil {
		t.Error("a fractional number decoded")
	}
}

// Cookies written with gob before the change are still read: nobody is
// logged out by an upgrade.
func TestSessionCodecReadsCookiesGobWrote(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	old := securecookie.New(key, nil) // gob, gorilla's default
	in := map[any]any{"csrf": "tok", "uid": int64(7), "_flash": []any{"ok:hi"}}
	enc, err := old.Encode("ecsdash_session", in)
	if err != nil {
		t.Fatal(err)
	}
	cur := securecookie.New(key, nil)
	cur.SetSerializer(sessionCodec{})
	var out map[any]any
	if err := cur.Decode("ecsdash_session", enc, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("gob cookie read as %#v", out)
	}
}
