package audit

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The Event struct is the one definition of the audit columns: each field's
// `db` tag is its column, its `json` tag its name in the export. Insert,
// select, scan, hash and export are all derived from it here, in the
// struct's order, so a new field cannot be stored but left out of the hash.
//
// The hash covers prev_hash and then every field but prev_hash and hash, in
// the struct's order; that order is part of the chain format. A field added
// later is tagged audit:"optional": it is hashed as its name and value, and
// only when set, so the entries written before it keep their hashes.

// field is one column of an event.
type field struct {
	column, export string
	index          int  // in Event
	chained        bool // covered by the hash as a field (prev_hash and hash are not)
	optional       bool // added after the first version: hashed, by name, only when set
	raw            bool // a number or a boolean: JSON without quotes
}

var fields = eventFields()

func eventFields() []field {
	t := reflect.TypeFor[Event]()
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		col := sf.Tag.Get("db")
		if col == "" {
			panic("audit: Event." + sf.Name + " has no db tag")
		}
		exp, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		k := sf.Type.Kind()
		fs = append(fs, field{column: col, export: exp, index: i, chained: col != "prev_hash" && col != "hash",
			optional: sf.Tag.Get("audit") == "optional", raw: k == reflect.Int || k == reflect.Int64 || k == reflect.Bool})
	}
	return fs
}

// columnList is "seq, op_id, …" with each column prefixed by p + "." when p
// is not empty.
func columnList(p string) string {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.column
		if f.column == "user" { // a reserved word in PostgreSQL
			cols[i] = `"user"`
		}
		if p != "" {
			cols[i] = p + "." + cols[i]
		}
	}
	return strings.Join(cols, ", ")
}

var (
	columns   = columnList("")
	insertSQL = "INSERT INTO audit_events (" + columns + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?,", len(fields)), ",") + ")"
)

// clean makes every text field valid UTF-8 without NUL (each bad byte
// becomes U+FFFD), before the entry is hashed: PostgreSQL refuses such text,
// and both stores then hold the same entry for the same input (a made-up
// sign-in name of any bytes is still recorded).
func (e *Event) clean() {
	v := reflect.ValueOf(e).Elem()
	for _, f := range fields {
		fv := v.Field(f.index)
		if fv.Kind() != reflect.String {
			continue
		}
		s := fv.String()
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			fv.SetString(strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD"))
		}
	}
}

// text is a field's value as text: what the hash covers and the CSV shows.
func (e *Event) text(f field) string {
	switch v := reflect.ValueOf(e).Elem().Field(f.index).Interface().(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(TimeFormat)
	default:
		panic(fmt.Sprintf("audit: no text for %T", v))
	}
}

// args are the values to insert, in column order.
func (e *Event) args() []any {
	out := make([]any, len(fields))
	v := reflect.ValueOf(e).Elem()
	for i, f := range fields {
		if t, ok := v.Field(f.index).Interface().(time.Time); ok {
			out[i] = t.UTC().Format(TimeFormat)
		} else if b, ok := v.Field(f.index).Interface().(bool); ok {
			out[i] = 0 // the flags are integer columns in both databases
			if b {
				out[i] = 1
			}
		} else {
			out[i] = v.Field(f.index).Interface()
		}
	}
	return out
}

// eventScan holds the scan targets of one event; times arrive as text.
type eventScan struct {
	e       Event
	targets []any
	times   map[int]*string
}

func newEventScan() *eventScan {
	s := &eventScan{targets: make([]any, len(fields)), times: map[int]*string{}}
	v := reflect.ValueOf(&s.e).Elem()
	for i, f := range fields {
		if v.Field(f.index).Type() == reflect.TypeFor[time.Time]() {
			s.times[f.index] = new(string)
			s.targets[i] = s.times[f.index]
			continue
		}
		s.targets[i] = v.Field(f.index).Addr().Interface()
	}
	return s
}

// event finishes a scan: it parses the times.
func (s *eventScan) event() (Event, error) {
	v := reflect.ValueOf(&s.e).Elem()
	for idx, text := range s.times {
		t, err := time.Parse(TimeFormat, *text)
		if err != nil {
			return Event{}, fmt.Errorf("audit: event %d has time %q: %w", s.e.Seq, *text, err)
		}
		v.Field(idx).Set(reflect.ValueOf(t))
	}
	return s.e, nil
}

type scanner interface{ Scan(...any) error }

func scanEvent(r scanner) (Event, error) {
	s := newEventScan()
	if err := r.Scan(s.targets...); err != nil {
		return Event{}, err
	}
	return s.event()
}

// exportIndex finds the fields by export name.
var exportIndex = func() map[string]field {
	m := map[string]field{}
	for _, f := range fields {
		m[f.export] = f
	}
	for _, name := range ExportFields {
		if _, ok := m[name]; !ok {
			panic("audit: export field " + name + " is no Event field")
		}
	}
	return m
}()

// values are the event's export values, in ExportFields order.
func (e Event) values() []string {
	out := make([]string, len(ExportFields))
	for i, name := range ExportFields {
		out[i] = e.text(exportIndex[name])
	}
	return out
}
