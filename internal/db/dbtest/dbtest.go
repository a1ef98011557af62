// Package dbtest gives tests a fresh store of either kind: a SQLite file in
// the test's temp dir, or a new database on the PostgreSQL server named by
// $ECSDASH_TEST_POSTGRES (CI starts one; see .ci/postgres). Without that
// variable a PostgreSQL case skips loudly, and in CI it fails.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Env names the admin DSN of the test server.
const Env = "ECSDASH_TEST_POSTGRES"

// Kind is a kind of store; New returns the DSN of a fresh, empty one.
type Kind struct {
	Name string
	New  func(t testing.TB) string
}

// Kinds are both stores, for tests that must hold on each.
func Kinds() []Kind {
	return []Kind{
		{Name: "sqlite", New: func(t testing.TB) string { return filepath.Join(t.TempDir(), "store.db") }},
		{Name: "postgres", New: Postgres},
	}
}

// Each runs f as a subtest on a fresh store of each kind, named after it:
// the storage rules must hold on both.
func Each(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) { f(t, k.New(t)) })
	}
}

// Postgres creates a database of its own for the test and returns its DSN;
// it is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(Env)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must start PostgreSQL (.ci/postgres) and export it", Env)
		}
		t.Skipf("!!! SKIPPING POSTGRESQL CASE: %s is not set (run `export %s=$(.ci/postgres start)`) !!!", Env, Env)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ecsdash_t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database on %s: %v", u.Host, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}

// Cut makes the database unreachable, as a network partition or a failed
// server would: connections to it are refused and the open ones ended. The
// returned function lets connections in again.
func Cut(t testing.TB, dsn string) (restore func()) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := u.Path[1:]
	run := func(stmts ...string) {
		a, err := sql.Open("pgx", os.Getenv(Env))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for _, s := range stmts {
			if _, err := a.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	run("ALTER DATABASE "+name+" ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"' AND pid <> pg_backend_pid()")
	return func() { run("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true") }
}
