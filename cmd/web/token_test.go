package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/users"
)

// web token create prints the id and then the token alone on the last
// line; list names it without the token; revoke ends it; both changes are
// audit entries by "cli" that still verify, and the token is in none of it.
func TestTokenCommandsCreateListAndRevokeAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dsn string) {
		keyFile := filepath.Join(t.TempDir(), "audit-key")
		if out, err := runCmd(t, "s3cret-password\n", "user", "add", "--db", dsn, "--role", "operator", "ci"); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		out, err := runCmd(t, "", "token", "create", "--db", dsn, "--audit-key-file", keyFile, "--user", "ci", "--name", "pipeline", "--expires", "720h")
		if err != nil {
			t.Fatalf("%v %s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		id, ok := strings.CutPrefix(lines[0], "id: ")
		text := lines[len(lines)-1]
		if !ok || !strings.HasPrefix(text, "ecsd_"+id+"_") || strings.Contains(text, " ") {
			t.Fatalf("create printed:\n%s", out)
		}
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		us := users.NewStore(d.Write, d.Read, nil, 0)
		if _, u, _, err := us.AuthenticateToken(t.Context(), text); err != nil || u.Name != "ci" {
			t.Fatalf("the printed token: %v", err)
		}
		list, err := runCmd(t, "", "token", "list", "--db", dsn)
		if err != nil || !strings.Contains(list, id) || !strings.Contains(list, "pipeline") || strings.Contains(list, text) {
			t.Fatalf("list: %v\n%s", err, list)
		}
		if !strings.HasPrefix(strings.Split(list, "\n")[1], id) {
			t.Fatalf("a line of the list does not begin with the id:\n%s", list)
		}
		if out, err := runCmd(t, "", "token", "revoke", "--db", dsn, "--audit-key-file", keyFile, id); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if _, _, _, err := us.AuthenticateToken(t.Context(), text); err == nil {
			t.Fatal("the revoked token still works")
		}
		if _, err := runCmd(t, "", "token", "revoke", "--db", dsn, "--audit-key-file", keyFile, id); err == nil {
			t.Fatal("revoking twice succeeded")
		}
		if _, err := runCmd(t, "", "token", "create", "--db", dsn, "--audit-key-file", keyFile, "--user", "nobody"); err == nil {
			t.Fatal("a token for no user")
		}
		exp, err := runCmd(t, "", "audit", "export", "--db", dsn, "--format", "json")
		if err != nil || strings.Contains(exp, text) {
			t.Fatalf("export: %v (token in it: %t)", err, strings.Contains(exp, text))
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(exp), &rows); err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, r := range rows {
			if r["action"] == "token_create" || r["action"] == "token_revoke" {
				if r["user"] != "cli" || r["target"] != "ci" || !strings.Contains(r["detail"].(string), id) {
					t.Fatalf("entry: %v", r)
				}
				acts = append(acts, r["action"].(string))
			}
		}
		if strings.Join(acts, " ") != "token_create token_revoke" {
			t.Fatalf("entries: %v", acts)
		}
		if out, err := runCmd(t, "", "audit", "verify", "--db", dsn, "--audit-key-file", keyFile); err != nil || !strings.Contains(out, "intact") {
			t.Fatalf("verify: %v %s", err, out)
		}
	})
}

// A single sign-on user's rights come from the proxy's groups, which a
// token request lacks: the command refuses them a token, in words.
func TestTokenCreateRefusesASingleSignOnUserInWords(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "d.db")
	d, err := db.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.NewStore(d.Write, d.Read, nil, 0).EnsureSSO(t.Context(), "sam", users.RoleViewer); err != nil {
		t.Fatal(err)
	}
	d.Close()
	out, err := runCmd(t, "", "token", "create", "--db", dsn, "--audit-key-file", filepath.Join(t.TempDir(), "audit-key"), "--user", "sam")
	if err == nil || strings.Contains(out, "ecsd_") || !strings.Contains(err.Error(), "single sign-on") {
		t.Fatalf("create for an SSO user: %v\n%s", err, out)
	}
}
