package db_test

import (
	"context"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// A PostgreSQL pool is sized by --db-max-conns, else by the DSN's
// pool_max_conns (which is not sent to the server as a setting), else
// db.DefaultMaxConns.
func TestThePostgresPoolIsSizedByFlagThenDSN(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Postgres(t)
	for _, c := range []struct {
		name string
		dsn  string
		opt  int
		want int
	}{
		{"default", dsn, 0, db.DefaultMaxConns},
		{"the DSN's pool_max_conns", dsn + "&pool_max_conns=3", 0, 3},
		{"the flag over the DSN", dsn + "&pool_max_conns=3", 5, 5},
	} {
		d, err := db.OpenWith(context.Background(), c.dsn, db.Options{MaxConns: c.opt})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := d.Write.Stats().MaxOpenConnections; got != c.want {
			t.Errorf("%s: a pool of %d, want %d", c.name, got, c.want)
		}
		d.Close()
	}
	if _, err := db.Open(context.Background(), dsn+"&pool_max_conns=lots"); err == nil {
		t.Error("pool_max_conns=lots was taken")
	}
}
