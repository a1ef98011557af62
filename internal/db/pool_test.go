package db_test

import (
	"reflect"
	"slices"
	"testing"

	"ecsdash/internal/db"
)

// A Pool offers only methods that rebind what they send (or send nothing):
// an embedded *sql.DB would lend it Prepare, Conn and the rest, which take
// a query written with ? to PostgreSQL as it is.
func TestPoolOffersOnlyRebindingMethods(t *testing.T) {
	t.Parallel()
	allowed := []string{"Begin", "BeginTx", "Close", "Exec", "ExecContext", "Has", "PingContext", "PrepareContext", "PrepareLookup",
		"Query", "QueryContext", "QueryRow", "QueryRowContext", "Raw", "Stats"}
	typ := reflect.TypeOf(&db.Pool{})
	for i := range typ.NumMethod() {
		if m := typ.Method(i).Name; !slices.Contains(allowed, m) {
			t.Errorf("Pool offers %s, which does not rebind", m)
		}
	}
	for i := range typ.Elem().NumField() {
		if f := typ.Elem().Field(i); f.Anonymous {
			t.Errorf("Pool embeds %s", f.Type)
		}
	}
}

func TestDialectsHaveTheirCapabilities(t *testing.T) {
	t.Parallel()
	all := []db.Cap{db.Shared, db.AdvisoryLocks, db.Pipeline, db.NumberedParams, db.IntegerBools}
	for _, c := range all {
		if db.SQLite.Has(c) {
			t.Errorf("SQLite has capability %d", c)
		}
		if !db.Postgres.Has(c) {
			t.Errorf("PostgreSQL lacks capability %d", c)
		}
	}
	if db.SQLite.Has(db.Shared|db.Pipeline) || !db.Postgres.Has(db.Shared|db.Pipeline) {
		t.Error("a set of capabilities is not asked as a whole")
	}
}
