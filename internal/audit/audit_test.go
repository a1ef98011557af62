package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// passed closes wins and counts the true ones.
func passed(wins chan bool) int {
	close(wins)
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	return n
}

func openLog(t testing.TB, path string) (*db.DB, *audit.Log) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "audit.db")
	}
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	clock := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	return d, audit.New(d.Write, d.Read, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	})
}

func TestEveryEventKindIsWrittenAndReadBack(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, log := openLog(t, dsn)
		ctx := context.Background()
		start := audit.Event{Action: audit.ActionStartInstance, User: "op1", AuthMethod: "password", SourceIP: "10.0.0.1",
			UserAgent: "ua", Region: "cn-hangzhou", InstanceID: "i-abc12345", InstanceName: "web", InstanceType: "ecs.d1.large",
			InitLocalDisk: true, DryRun: false, State: audit.StateAwaitingApproval}
		first, err := log.Append(ctx, start)
		if err != nil {
			t.Fatal(err)
		}
		steps := []audit.Event{
			{Action: audit.ActionApprove, State: audit.StateSent, Approver: "appr"},
			{Action: audit.ActionStartInstance, State: audit.StateSent, Attempt: 1},
			{Action: audit.ActionStartInstance, State: audit.StateFailed, Attempt: 1, RequestID: "R-1", ErrorCode: "InternalError", ErrorMessage: "boom", HTTPStatus: 500, DurationMS: 12},
			{Action: audit.ActionStartInstance, State: audit.StateSent, Attempt: 2},
			{Action: audit.ActionStartInstance, State: audit.StateSucceeded, Attempt: 2, RequestID: "R-2", HTTPStatus: 200, DurationMS: 9},
		}
		for _, s := range steps {
			e := start
			e.OpID, e.Action, e.State, e.Approver, e.Attempt, e.RequestID, e.ErrorCode, e.ErrorMessage, e.HTTPStatus, e.DurationMS =
				first.OpID, s.Action, s.State, s.Approver, s.Attempt, s.RequestID, s.ErrorCode, s.ErrorMessage, s.HTTPStatus, s.DurationMS
			if _, err := log.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, kind := range []audit.Event{
			{Action: audit.ActionLogin, User: "op1", State: audit.StateSucceeded},
			{Action: audit.ActionLogout, User: "op1", State: audit.StateSucceeded},
			{Action: audit.ActionReject, User: "op2", State: audit.StateRejected, Reason: "no"},
			{Action: audit.ActionExpire, User: "op2", State: audit.StateExpired},
			{Action: audit.ActionRecover, User: "op2", State: audit.StateUnknown},
		} {
			if _, err := log.Append(ctx, kind); err != nil {
				t.Fatal(err)
			}
		}
		op, err := log.Operation(ctx, first.OpID)
		if err != nil {
			t.Fatal(err)
		}
		if len(op.Events) != 6 || op.Last.State != audit.StateSucceeded || op.Last.RequestID != "R-2" || op.Events[3].ErrorCode != "InternalError" {
			t.Fatalf("timeline %+v", op.Events)
		}
		got := op.Events[0]
		got.Seq, got.OpID, got.Time, got.PrevHash, got.Hash = 0, 0, time.Time{}, "", ""
		if got != start {
			t.Fatalf("read back %+v\nwant %+v", got, start)
		}
		ops, total, err := log.Operations(ctx, audit.Filter{})
		if err != nil || total != 6 || len(ops) != 6 {
			t.Fatalf("%d ops (%d total): %v", len(ops), total, err)
		}
		if _, _, err := audit.Verify(ctx, d.Read, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTriggersRefuseUpdateAndDelete(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, log := openLog(t, dsn)
		if _, err := log.Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: "a", State: audit.StateSucceeded}); err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{`UPDATE audit_events SET "user" = 'b'`, "DELETE FROM audit_events"} {
			if _, err := d.Write.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	})
}

func fill(t *testing.T, log *audit.Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := log.Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: "u" + string(rune('a'+i%26)), State: audit.StateSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyPassesOnAGoodLogAndReportsTheHead(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, log := openLog(t, dsn)
		fill(t, log, 20)
		head, n, err := audit.Verify(context.Background(), d.Read, nil)
		if err != nil || n != 20 || head.Seq != 20 || len(head.Hash) != 64 {
			t.Fatalf("head %+v n %d err %v", head, n, err)
		}
	})
}

// tamperedCopy copies the database, drops the guard triggers on the copy and
// runs stmt there, as an attacker with file access would.
func tamperedCopy(t *testing.T, src, stmt string) *db.DB {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(dst, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, s := range []string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete", stmt} {
		if _, err := d.Write.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return d
}

func TestVerifyNamesTheFirstTamperedEvent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.db")
	d, log := openLog(t, path)
	fill(t, log, 30)
	// Checkpoint so the copy of the main file holds every event.
	if _, err := d.Write.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		stmt string
		seq  int64
	}{
		"altered field":  {"UPDATE audit_events SET user = 'someone-else' WHERE seq = 17", 17},
		"deleted event":  {"DELETE FROM audit_events WHERE seq = 12", 12},
		"rehashed event": {"UPDATE audit_events SET user = 'x', hash = '" + strings.Repeat("a", 64) + "' WHERE seq = 9", 9},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := tamperedCopy(t, path, tc.stmt)
			_, _, err := audit.Verify(context.Background(), c.Read, nil)
			var bad *audit.BadEvent
			if !errors.As(err, &bad) || bad.Seq != tc.seq {
				t.Fatalf("got %v, want entry %d named", err, tc.seq)
			}
		})
	}
}

func TestConcurrentAppendsKeepTheChainGapless(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, log := openLog(t, dsn)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					if _, err := log.Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if _, n, err := audit.Verify(context.Background(), d.Read, nil); err != nil || n != 80 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
}

func TestAppendIfLetsOnlyOneDecisionThrough(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		_, log := openLog(t, dsn)
		ctx := context.Background()
		req, _ := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "op", State: audit.StateAwaitingApproval})
		var wg sync.WaitGroup
		wins := make(chan bool, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := req
				e.State, e.Approver = audit.StateSent, "appr"
				_, err := log.AppendIf(ctx, e, audit.StateAwaitingApproval)
				wins <- err == nil
				if err != nil && !errors.Is(err, audit.ErrStateChanged) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := passed(wins); n != 1 {
			t.Fatalf("%d decisions passed", n)
		}
	})
}

func TestAppendSurvivesACancelledCaller(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		_, log := openLog(t, dsn)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "op", State: audit.StateSent}); err != nil {
			t.Fatalf("an intent was lost because the client went away: %v", err)
		}
	})
}

func TestExportCSVAndJSONCarryTheContractFields(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		_, log := openLog(t, dsn)
		ctx := context.Background()
		log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "=cmd|' /C calc'!A0", State: audit.StateSucceeded, RequestID: "R-9", InstanceID: "i-x"})
		var buf bytes.Buffer
		if err := log.Export(ctx, &buf, "csv", audit.Filter{}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("%v %d", err, len(recs))
		}
		want := strings.Split("id,time,user,action,region,instance_id,init_local_disk,state,approver,reason,request_id,error_code,error_message,http_status,duration_ms,source_ip,prev_hash,hash", ",")
		for i, f := range want {
			if recs[0][i] != f {
				t.Fatalf("column %d is %q, want %q", i, recs[0][i], f)
			}
		}
		if !strings.HasPrefix(recs[1][2], "'=") {
			t.Fatalf("a formula was exported live: %q", recs[1][2])
		}
		buf.Reset()
		if err := log.Export(ctx, &buf, "json", audit.Filter{}); err != nil {
			t.Fatal(err)
		}
		var arr []map[string]any
		if err := json.Unmarshal(buf.Bytes(), &arr); err != nil || len(arr) != 1 || arr[0]["request_id"] != "R-9" || arr[0]["id"] != float64(1) {
			t.Fatalf("%v %v", err, arr)
		}
		buf.Reset()
		if err := log.Export(ctx, io.Discard, "xml", audit.Filter{}); err == nil {
			t.Fatal("unknown format accepted")
		}
	})
}

// Round three, finding 10: with a semicolon (or tab) list separator a
// spreadsheet splits an unquoted field there, so `ok;=cmd|...` ran its second
// cell. Every field holding ; or a tab is quoted; formulas stay defused.
func TestExportQuotesFieldsASemicolonSpreadsheetWouldSplit(t *testing.T) {
	t.Parallel()
	_, log := openLog(t, "")
	ctx := context.Background()
	log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "ok;=cmd|' /C calc'!A0", Reason: "a\t=1+1", State: audit.StateSucceeded, InstanceID: "i-x"})
	log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "=SUM(1)", State: audit.StateSucceeded, InstanceID: "i-y"})
	var buf bytes.Buffer
	if err := log.Export(ctx, &buf, "csv", audit.Filter{}); err != nil {
		t.Fatal(err)
	}
	quoted := false
	for i, b := range buf.Bytes() {
		switch {
		case b == '"':
			quoted = !quoted
		case (b == ';' || b == '\t') && !quoted:
			t.Fatalf("an unquoted %q at byte %d: %s", b, i, buf.Bytes())
		}
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("%v %d", err, len(recs))
	}
	if recs[1][2] != "ok;=cmd|' /C calc'!A0" || recs[1][9] != "a\t=1+1" || recs[2][2] != "'=SUM(1)" {
		t.Fatalf("fields changed: %q %q %q", recs[1][2], recs[1][9], recs[2][2])
	}
}
