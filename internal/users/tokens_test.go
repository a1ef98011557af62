package users_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/users"
)

// clocked is a store whose clock the test moves.
func clocked(t *testing.T, dsn string, skew *atomic.Int64) (*users.Store, *audit.Log) {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	return users.NewStore(d.Write, d.Read, now, bcrypt.MinCost), audit.New(d.Write, d.Read, now)
}

func TestTokensStoreOnlyAHashAndFailWhenRevokedExpiredOrTheirUserIsDisabled(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		skew := new(atomic.Int64)
		s, log := clocked(t, dsn, skew)
		ctx := context.Background()
		if _, err := s.Create(ctx, "ann", users.RoleOperator, "correct-horse"); err != nil {
			t.Fatal(err)
		}
		by := audit.Event{User: "cli"}
		tok, text, err := s.IssueToken(ctx, log, by, "ann", users.TokenOptions{Name: "ci", ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		got, u, _, err := s.AuthenticateToken(ctx, text)
		if err != nil || got.ID != tok.ID || u.Name != "ann" || got.Name != "ci" {
			t.Fatalf("authenticate: %+v %+v %v", got, u, err)
		}
		// Only a hash is in the table.
		var stored string
		d, _ := db.Open(ctx, dsn)
		defer d.Close()
		if err := d.Read.QueryRowContext(ctx, "SELECT secret_hash FROM api_tokens WHERE id = ?", tok.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		secret := strings.SplitN(text, "_", 3)[2]
		if strings.Contains(stored, secret) || len(stored) != 64 {
			t.Fatalf("stored %q for secret %q", stored, secret)
		}
		for name, bad := range map[string]string{"empty": "", "other prefix": "xyz_" + text[5:], "one char off": text[:len(text)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(text, "A")],
			"unknown id": "ecsd_000000000000_" + secret} {
			if _, _, _, err := s.AuthenticateToken(ctx, bad); !errors.Is(err, users.ErrBadToken) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if err := s.SetDisabled(ctx, "ann", true); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.AuthenticateToken(ctx, text); !errors.Is(err, users.ErrBadToken) {
			t.Fatalf("a disabled user's token: %v", err)
		}
		if err := s.SetDisabled(ctx, "ann", false); err != nil {
			t.Fatal(err)
		}
		skew.Store(int64(2 * time.Hour))
		if _, _, _, err := s.AuthenticateToken(ctx, text); !errors.Is(err, users.ErrBadToken) {
			t.Fatalf("an expired token: %v", err)
		}
		skew.Store(0)
		if err := s.RevokeTokenAs(ctx, log, by, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.AuthenticateToken(ctx, text); !errors.Is(err, users.ErrBadToken) {
			t.Fatalf("a revoked token: %v", err)
		}
		if err := s.RevokeTokenAs(ctx, log, by, tok.ID); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("revoked twice: %v", err)
		}
		list, err := s.Tokens(ctx, 0)
		if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Fatalf("list: %+v %v", list, err)
		}
		ops, _, err := log.Operations(ctx, audit.Filter{PerPage: 10})
		if err != nil || len(ops) != 2 || ops[0].First.Action != audit.ActionTokenRevoke || ops[1].First.Action != audit.ActionTokenCreate ||
			ops[1].First.Target != "ann" || !strings.Contains(ops[1].First.Detail, tok.ID) {
			t.Fatalf("audit: %+v %v", ops, err)
		}
		if _, _, err := s.CreateToken(ctx, "nobody", users.TokenOptions{}); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("a token for no user: %v", err)
		}
		if _, _, err := s.CreateToken(ctx, "ann", users.TokenOptions{Name: strings.Repeat("x", 65)}); err == nil {
			t.Fatal("a 65-character name was accepted")
		}
	})
}
