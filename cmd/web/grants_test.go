package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ecsdash/internal/db/dbtest"
)

func TestGrantCommandsAreAuditedAsCLIAndTheChainVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dsn string) {
		if !strings.HasPrefix(dsn, "postgres") {
			dsn = filepath.Join(t.TempDir(), "d.db")
		}
		if out, err := runCmd(t, "s3cret-password\n", "user", "add", "--db", dsn, "--role", "operator", "--scope", "tag:team=data,region=cn-hangzhou", "dana"); err != nil ||
			!strings.Contains(out, "created dana (operator over region=cn-hangzhou,tag:team=data)") {
			t.Fatalf("user add --scope: %v %s", err, out)
		}
		if out, err := runCmd(t, "", "user", "add", "--db", dsn, "--role", "admin", "--scope", "region=cn-hangzhou", "boss"); err == nil || !strings.Contains(out+err.Error(), "always unscoped") {
			t.Fatalf("a scoped admin: %v %s", err, out)
		}
		if _, err := runCmd(t, "", "grant", "add", "--db", dsn, "--role", "operator", "--scope", "tag:team", "--group", "web"); err == nil || !strings.Contains(err.Error(), "no '='") {
			t.Fatalf("a malformed scope: %v", err)
		}
		out, err := runCmd(t, "", "grant", "add", "--db", dsn, "--role", "approver", "--scope", "tag:team=web", "--group", "web-leads")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		id, perr := strconv.Atoi(lines[len(lines)-1])
		if err != nil || perr != nil || id < 1 {
			t.Fatalf("grant add: %v, last line %q", err, lines[len(lines)-1])
		}
		if out, _ := runCmd(t, "", "grant", "list", "--db", dsn); !strings.Contains(out, strconv.Itoa(id)+"   group web-leads  approver  tag:team=web") {
			t.Fatalf("grant list:\n%s", out)
		}
		if _, err := runCmd(t, "", "user", "set-role", "--db", dsn, "--scope", "tag:team=web", "dana", "approver"); err != nil {
			t.Fatal(err)
		}
		if _, err := runCmd(t, "", "grant", "remove", "--db", dsn, strconv.Itoa(id)); err != nil {
			t.Fatal(err)
		}
		if _, err := runCmd(t, "", "grant", "remove", "--db", dsn, strconv.Itoa(id)); err == nil {
			t.Fatal("a grant removed twice")
		}
		js, err := runCmd(t, "", "audit", "export", "--db", dsn, "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		var entries []map[string]any
		if err := json.Unmarshal([]byte(js), &entries); err != nil {
			t.Fatal(err)
		}
		want := []string{"user_add", "grant_add", "user_role", "grant_remove"}
		if len(entries) != len(want) {
			t.Fatalf("%d entries: %s", len(entries), js)
		}
		for i, e := range entries {
			if e["action"] != want[i] || e["user"] != "cli" || e["target"] == "" || e["detail"] == "" {
				t.Errorf("entry %d: %v", i, e)
			}
		}
		if strings.Contains(js, "s3cret") {
			t.Fatal("a password in the export")
		}
		if out, err := runCmd(t, "", "audit", "verify", "--db", dsn); err != nil || !strings.Contains(out, "intact: 4 entries") {
			t.Fatalf("verify: %v %s", err, out)
		}
	})
}
