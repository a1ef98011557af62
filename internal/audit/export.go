package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ExportFields are the export's columns: the contract's fields first, then
// the rest of each event.
var ExportFields = []string{"id", "time", "user", "action", "region", "instance_id", "init_local_disk", "state",
	"approver", "reason", "request_id", "error_code", "error_message", "http_status", "duration_ms", "source_ip",
	"prev_hash", "hash", "operation_id", "attempt", "auth_method", "user_agent", "instance_name", "instance_type", "dry_run", "batch_id", "replica",
	"token", "target", "detail", "account", "account_id", "session_name", "access_key_id"}

// Export streams the events matching f to w as "csv" or "json" (an array of
// objects). It reads them in chunks (exportChunk events, in seq order) and
// holds no database connection while it writes: a client that reads slowly,
// or never, blocks its own export only, never the pool every page reads
// through.
func (l *Log) Export(ctx context.Context, w io.Writer, format string, f Filter) error {
	switch format {
	case "csv":
		bw := bufio.NewWriter(w)
		writeCSV(bw, ExportFields)
		err := l.eachChunk(ctx, f, func(e Event) error {
			vals := e.values()
			for i, v := range vals {
				vals[i] = defuseFormula(v)
			}
			return writeCSV(bw, vals)
		})
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		return err
	case "json":
		// An array streamed one object at a time: the log is never held whole.
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		bw.WriteString("[")
		first := true
		err := l.eachChunk(ctx, f, func(e Event) error {
			if !first {
				bw.WriteString(",")
			}
			first = false
			return enc.Encode(jsonEvent{Event: e, Time: e.Time.UTC().Format(TimeFormat)})
		})
		if err != nil {
			bw.Flush()
			return err
		}
		bw.WriteString("]\n")
		return bw.Flush()
	}
	return fmt.Errorf("audit: unknown export format %q (csv or json)", format)
}

// exportChunk is how many events an export reads at a time: enough that the
// query's cost is spread thin, few enough to hold in memory.
const exportChunk = 500

// eachChunk calls fn for each event whose operation matches f, oldest first,
// reading exportChunk events at a time (keyset on seq) and releasing the
// connection before calling fn on them.
func (l *Log) eachChunk(ctx context.Context, f Filter, fn func(Event) error) error {
	f, err := l.narrowed(ctx, f)
	if err != nil {
		return err
	}
	f = f.all()
	where, args := f.where()
	q := "SELECT " + columnList("e") + " FROM audit_events e JOIN (SELECT x.op_id FROM " + f.source(l.r.Dialect) + where + ") m ON e.op_id = m.op_id" +
		" WHERE e.seq > ? ORDER BY e.seq LIMIT ?"
	chunk := make([]Event, 0, exportChunk)
	for after := int64(0); ; {
		chunk = chunk[:0]
		rows, err := l.r.QueryContext(ctx, q, append(args, after, exportChunk)...)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		for _, e := range chunk {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(chunk) < exportChunk {
			return nil
		}
		after = chunk[len(chunk)-1].Seq
	}
}

// jsonEvent is an event as the JSON export writes it: the Event's json tags,
// with the time in the log's own fixed-width format.
type jsonEvent struct {
	Event
	Time string `json:"time"`
}

// writeCSV writes one record as RFC 4180 does (encoding/csv's rules), and
// quotes a field holding a semicolon or a tab as well: a spreadsheet whose
// list separator is one of them splits an unquoted field there, and the
// second cell may then start with a formula that defuseFormula never saw.
// A failed write is sticky in a bufio.Writer: the last one reports it.
func writeCSV(w *bufio.Writer, fields []string) error {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		if f == "" || !strings.ContainsAny(f, ",;\t\"\r\n") && f[0] != ' ' {
			w.WriteString(f)
			continue
		}
		w.WriteByte('"')
		w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		w.WriteByte('"')
	}
	return w.WriteByte('\n')
}

// defuseFormula keeps a spreadsheet from running a cell that an attacker
// controls (a user agent, a reason) as a formula.
func defuseFormula(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
