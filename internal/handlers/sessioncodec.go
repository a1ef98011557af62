package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gorilla/securecookie"
)

// sessionCodec serializes a session's values as JSON: string keys, and
// values that are strings, int64s or lists of strings (the flashes), which
// is all a session holds. gob, gorilla's default, compiles its type
// information again for every cookie it decodes, a sixth of a list page's
// CPU. A cookie gob wrote before is still read.
type sessionCodec struct{}

func (sessionCodec) Serialize(src any) ([]byte, error) {
	m, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("session values are %T, not a map", src)
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("session key %v is %T, not a string", k, k)
		}
		switch v := v.(type) {
		case string, int64:
			out[key] = v
		case []any:
			list := make([]string, len(v))
			for i, e := range v {
				if list[i], ok = e.(string); !ok {
					return nil, fmt.Errorf("session value %s[%d] is %T, not a string", key, i, e)
				}
			}
			out[key] = list
		default:
			return nil, fmt.Errorf("session value %s is %T: only strings, int64s and lists of strings are kept", key, v)
		}
	}
	return json.Marshal(out)
}

func (sessionCodec) Deserialize(src []byte, dst any) error {
	m, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("session values decode into %T, not *map", dst)
	}
	values, err := decodeSession(src)
	if err != nil {
		return securecookie.GobEncoder{}.Deserialize(src, dst) // a cookie from before
	}
	*m = values
	return nil
}

func decodeSession(src []byte) (map[any]any, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	values := make(map[any]any, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			values[k] = v
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				return nil, fmt.Errorf("session value %s: %w", k, err)
			}
			values[k] = n
		case []any:
			for _, e := range v {
				if _, ok := e.(string); !ok {
					return nil, fmt.Errorf("session value %s holds a %T", k, e)
				}
			}
			values[k] = v
		default:
			return nil, fmt.Errorf("session value %s is a %T", k, v)
		}
	}
	return values, nil
}
