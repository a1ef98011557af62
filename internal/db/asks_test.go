package db_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Code outside this package asks a store for what it can do (Has, RowID),
// never which database it is (issue 24's dialects item): a third dialect is
// then a row of dialectCaps and its own words here, not a hunt through the
// tree. Two places are SQLite's own on purpose, and said so: a planner hint
// in SQLite's syntax (INDEXED BY, for a planner without statistics), and a
// read that is not cancellable because the store is in this process.
func TestNoCodeOutsideDBAsksWhichDatabaseItIs(t *testing.T) {
	t.Parallel()
	compare := regexp.MustCompile(`[=!]= *db\.(Postgres|SQLite)\b|db\.(Postgres|SQLite) *[=!]=`)
	sqlitesOwn := map[string]string{
		"../../internal/audit/query.go": "if d == db.SQLite && f.readsShown() {",
		"../../internal/users/users.go": "if s.r.Dialect == db.SQLite {",
	}
	var found []string
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.HasPrefix(filepath.ToSlash(path), "../../internal/db/") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if compare.MatchString(line) && strings.TrimSpace(line) != sqlitesOwn[filepath.ToSlash(path)] {
					found = append(found, filepath.ToSlash(path)+":"+strings.TrimSpace(line)+" (line "+strconv.Itoa(i+1)+")")
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) > 0 {
		t.Fatalf("code asks which database it is, not what it can do:\n%s", strings.Join(found, "\n"))
	}
}
