package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"ecsdash/internal/db"
)

// audit_ops is derived from the chain (one row an operation: its first
// entry's action, user, instance and time; its newest entry's seq and
// state), and the pages, the approval queue, the history and the export read
// it. Triggers refuse deleting its rows and any update but the fold's own
// (migration 0040); VerifyFold shows any other change: a row missing, added
// or altered makes it differ from the fold of the chain.

// The fold's one definition: each column of audit_ops, and whether it is
// taken from the operation's first entry or its newest. The SQLite
// triggers (sqliteFoldTriggers, created by migrations/0101), PostgreSQL's
// append statement (folded, postgres.go) and the fold computed afresh
// (foldSQL, for VerifyFold) are all generated from it, and so are the kept
// counts' (an operation counts under its first entry's action).
var foldColumns = []struct {
	col    string // in audit_ops
	entry  string // the entry's column it is taken from
	newest bool   // from the newest entry (else from the first)
}{
	{"op_id", "op_id", false},
	{"last_seq", "seq", true},
	{"action", "action", false},
	{`"user"`, `"user"`, false},
	{"instance_id", "instance_id", false},
	{"state", "state", true},
	{"time", "time", false},
}

// foldMigration is the migration that creates SQLite's fold triggers as
// generated (TestSQLitesFoldIsGeneratedFromTheOneDefinition). A change to
// the fold is a new migration, written the same way.
const foldMigration = "0101_fold_one_definition.sqlite.sql"

// foldInto is the upsert of an entry into audit_ops, the entry's columns
// read as prefix+column from the rows of from: its first entry inserts the
// row, a newer one updates the columns taken from the newest.
func foldInto(prefix, from string) string {
	var cols, vals, set []string
	for _, c := range foldColumns {
		cols, vals = append(cols, c.col), append(vals, prefix+c.entry)
		if c.newest {
			set = append(set, c.col+" = excluded."+c.col)
		}
	}
	return "INSERT INTO audit_ops (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(vals, ", ") + " " + from +
		" ON CONFLICT (op_id) DO UPDATE SET " + strings.Join(set, ", ")
}

// countInto is the kept count's upsert: an entry that begins an operation
// (seq = op_id, as where states it) counts under its action.
func countInto(prefix, from string) string {
	return "INSERT INTO audit_op_counts (action, n) SELECT " + prefix + "action, 1 " + from +
		" ON CONFLICT (action) DO UPDATE SET n = audit_op_counts.n + 1"
}

// instanceInto is the kept instances' upsert (audit_instances,
// migrations/0130): an entry that begins an operation (seq = op_id, as
// from states it) counts under its instance id and name. The typed
// instance filter scans this table, one row an instance and name, rather
// than every operation.
func instanceInto(prefix, from string) string {
	return "INSERT INTO audit_instances (instance_id, instance_name, n) SELECT " + prefix + "instance_id, " + prefix + "instance_name, 1 " + from +
		" ON CONFLICT (instance_id, instance_name) DO UPDATE SET n = audit_instances.n + 1"
}

// sqliteInstancesTrigger is SQLite's upkeep of audit_instances, as
// migrations/0130 creates it, in the append's own transaction.
func sqliteInstancesTrigger() string {
	return "CREATE TRIGGER audit_instances_track AFTER INSERT ON audit_events WHEN NEW.seq = NEW.op_id\nBEGIN\n    " +
		instanceInto("NEW.", "WHERE true") + ";\nEND"
}

// sqliteFoldTriggers are SQLite's fold, by trigger name: AFTER INSERT
// triggers in the append's own transaction (its appends go through one
// writer connection, where a trigger costs no round trip).
func sqliteFoldTriggers() map[string]string {
	// SQLite reads an upsert's SELECT with a WHERE (even "true"), so its ON
	// is not taken for a join's.
	return map[string]string{
		"audit_ops_track": "CREATE TRIGGER audit_ops_track AFTER INSERT ON audit_events\nBEGIN\n    " +
			foldInto("NEW.", "WHERE true") + ";\nEND",
		"audit_op_counts_track": "CREATE TRIGGER audit_op_counts_track AFTER INSERT ON audit_events WHEN NEW.seq = NEW.op_id\nBEGIN\n    " +
			countInto("NEW.", "WHERE true") + ";\nEND",
	}
}

// sqliteFoldMigration is foldMigration's text.
func sqliteFoldMigration() string {
	tr := sqliteFoldTriggers()
	return `-- SQLite's fold of the audit log into audit_ops and the kept counts,
-- generated from the fold's one definition (internal/audit/fold.go), which
-- PostgreSQL's append statement is made of too; the triggers of 0003 and
-- 0010 did the same, written by hand. Do not edit: change the definition
-- and write a new migration (go test ./internal/audit -update-fold).
DROP TRIGGER audit_ops_track;
` + tr["audit_ops_track"] + `;

DROP TRIGGER audit_op_counts_track;
` + tr["audit_op_counts_track"] + `;
`
}

// foldSQL is the fold of the chain, computed afresh: what audit_ops must hold.
var foldSQL = func() string {
	sel := make([]string, len(foldColumns))
	for i, c := range foldColumns {
		switch {
		case c.col == "op_id":
			sel[i] = "x.op_id"
		case c.col == "last_seq":
			sel[i] = "x.last"
		case c.newest:
			sel[i] = "l." + c.entry
		default:
			sel[i] = "f." + c.entry
		}
	}
	return "SELECT " + strings.Join(sel, ", ") + `
	FROM (SELECT op_id, MAX(seq) AS last FROM audit_events GROUP BY op_id) x
	JOIN audit_events f ON f.seq = x.op_id
	JOIN audit_events l ON l.seq = x.last`
}()

// opsSQL reads audit_ops's columns, in foldColumns' order.
var opsSQL = func() string {
	cols := make([]string, len(foldColumns))
	for i, c := range foldColumns {
		cols[i] = c.col
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM audit_ops"
}()

// BadFold says audit_ops is not the fold of the chain at operation OpID.
type BadFold struct {
	OpID   int64
	Reason string
	// Table is the derived table that differs: audit_ops when empty, or
	// audit_instances, at InstanceID and InstanceName (OpID is then the
	// first operation begun on them).
	Table                    string
	InstanceID, InstanceName string
}

func (b *BadFold) Error() string {
	if b.Table == "audit_instances" {
		return fmt.Sprintf("audit_instances, instance %q named %q (request %d): %s", b.InstanceID, b.InstanceName, b.OpID, b.Reason)
	}
	return fmt.Sprintf("audit_ops, request %d: %s", b.OpID, b.Reason)
}

// VerifyFold checks that audit_ops is exactly the fold of audit_events,
// and that audit_instances counts every operation under the instance id
// and name it began with: a *BadFold names the first operation (or
// instance) where not.
func VerifyFold(ctx context.Context, r *db.Pool) error {
	if err := verifyOps(ctx, r); err != nil {
		return err
	}
	return verifyInstances(ctx, r)
}

// chainInstancesSQL is what audit_instances must hold, counted afresh
// from the chain (an operation counts under its first entry's instance id
// and name, as instanceInto keeps it).
const chainInstancesSQL = "SELECT instance_id, instance_name, COUNT(*) AS n, MIN(op_id) AS first FROM audit_events WHERE seq = op_id GROUP BY instance_id, instance_name"

// verifyInstances checks that audit_instances accounts for every
// operation of the chain: a row missing, or counting fewer operations than
// began on its instance and name, is a *BadFold naming the instance. Such
// a row hides operations from the typed instance filter whenever the
// totals still agree (narrowed). A row counting more, or a row no
// operation began on, hides none (the filter's own condition decides, and
// totals that differ make it walk the log), and it is what a log cut
// without its derived tables leaves, which a noted head shows (Reaches),
// as it does for audit_op_counts.
func verifyInstances(ctx context.Context, r *db.Pool) error {
	var id, name string
	var first, inChain int64
	var kept sql.NullInt64
	err := r.QueryRowContext(ctx, `SELECT c.instance_id, c.instance_name, c.first, c.n, k.n FROM (`+chainInstancesSQL+`) c
		LEFT JOIN audit_instances k ON k.instance_id = c.instance_id AND k.instance_name = c.instance_name
		WHERE k.n IS NULL OR k.n < c.n
		ORDER BY c.instance_id, c.instance_name LIMIT 1`).Scan(&id, &name, &first, &inChain, &kept)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("audit: compare audit_instances with the chain: %w", err)
	}
	bad := &BadFold{OpID: first, Table: "audit_instances", InstanceID: id, InstanceName: name}
	if !kept.Valid {
		bad.Reason = fmt.Sprintf("audit_instances has no row for it, though %d of the chain's operations began on it "+
			"(deleted, or appended by a replica on a version before migration 0130; the typed instance filter reads the whole log meanwhile)", inChain)
	} else {
		bad.Reason = fmt.Sprintf("its count is %d, the chain's %d (lowered, or appended by a replica on a version before migration 0130)", kept.Int64, inChain)
	}
	return bad
}

// verifyOps checks that audit_ops is exactly the fold of audit_events.
func verifyOps(ctx context.Context, r *db.Pool) error {
	var id int64
	var missing bool
	err := r.QueryRowContext(ctx, `SELECT op_id, missing FROM (
			SELECT op_id, 1 AS missing FROM (`+foldSQL+` EXCEPT `+opsSQL+`) a
			UNION ALL
			SELECT op_id, 0 AS missing FROM (`+opsSQL+` EXCEPT `+foldSQL+`) b
		) d ORDER BY op_id, missing DESC LIMIT 1`).Scan(&id, &missing)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("audit: compare audit_ops with the chain: %w", err)
	}
	var n int
	if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_ops WHERE op_id = ?", id).Scan(&n); err != nil {
		return fmt.Errorf("audit: compare audit_ops with the chain: %w", err)
	}
	switch {
	case n == 0:
		return &BadFold{OpID: id, Reason: "the chain holds this operation but audit_ops has no row for it (deleted: the pages, the approval queue and the export do not show it)"}
	case !missing:
		var inChain int
		if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events WHERE op_id = ?", id).Scan(&inChain); err != nil {
			return fmt.Errorf("audit: compare audit_ops with the chain: %w", err)
		}
		if inChain == 0 {
			return &BadFold{OpID: id, Reason: "audit_ops has a row for an operation the chain does not hold (added)"}
		}
	}
	return &BadFold{OpID: id, Reason: "its row differs from the chain's entries (altered: its state or newest entry is not the chain's)"}
}
