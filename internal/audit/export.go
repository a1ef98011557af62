package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ExportFields are the export's columns: the contract's fields first, then
// the rest of each event.
var ExportFields = []string{"id", "time", "user", "action", "region", "instance_id", "init_local_disk", "state",
	"approver", "reason", "request_id", "error_code", "error_message", "http_status", "duration_ms", "source_ip",
	"prev_hash", "hash", "operation_id", "attempt", "auth_method", "user_agent", "instance_name", "instance_type", "dry_run"}

func (e Event) values() []string {
	return []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(TimeFormat), e.User, e.Action, e.Region, e.InstanceID,
		strconv.FormatBool(e.InitLocalDisk), e.State, e.Approver, e.Reason, e.RequestID, e.ErrorCode, e.ErrorMessage,
		strconv.Itoa(e.HTTPStatus), strconv.FormatInt(e.DurationMS, 10), e.SourceIP, e.PrevHash, e.Hash,
		strconv.FormatInt(e.OpID, 10), strconv.Itoa(e.Attempt), e.AuthMethod, e.UserAgent, e.InstanceName, e.InstanceType,
		strconv.FormatBool(e.DryRun)}
}

// Export streams the events matching f to w as "csv" or "json" (an array of
// objects), one event at a time.
func (l *Log) Export(ctx context.Context, w io.Writer, format string, f Filter) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(ExportFields); err != nil {
			return err
		}
		err := l.Each(ctx, f, func(e Event) error {
			vals := e.values()
			for i, v := range vals {
				vals[i] = defuseFormula(v)
			}
			return cw.Write(vals)
		})
		cw.Flush()
		if err != nil {
			return err
		}
		return cw.Error()
	case "json":
		bw := bufio.NewWriter(w)
		bw.WriteString("[")
		first := true
		err := l.Each(ctx, f, func(e Event) error {
			if !first {
				bw.WriteString(",")
			}
			first = false
			bw.WriteString("\n")
			return writeJSONEvent(bw, e)
		})
		if err != nil {
			bw.Flush()
			return err
		}
		bw.WriteString("\n]\n")
		return bw.Flush()
	}
	return fmt.Errorf("audit: unknown export format %q (csv or json)", format)
}

func writeJSONEvent(w *bufio.Writer, e Event) error {
	vals := e.values()
	w.WriteString("{")
	for i, name := range ExportFields {
		if i > 0 {
			w.WriteString(",")
		}
		k, _ := json.Marshal(name)
		w.Write(k)
		w.WriteString(":")
		var v []byte
		switch name {
		case "id", "http_status", "duration_ms", "operation_id", "attempt", "init_local_disk", "dry_run":
			v = []byte(vals[i]) // numbers and booleans, already JSON
		default:
			v, _ = json.Marshal(vals[i]) // marshalling a string cannot fail
		}
		w.Write(v)
	}
	_, err := w.WriteString("}")
	return err
}

// defuseFormula keeps a spreadsheet from running a cell that an attacker
// controls (a user agent, a reason) as a formula.
func defuseFormula(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
