package handlers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The handlers speak HTTP (issue 24): they parse, ask a service, fill a
// view model and render. What the dashboard stores, the work it does in the
// background and which permission an action needs live with what they
// belong to (internal/books, internal/replica, internal/loops, the action
// table in internal/audit), and Build hands the services over. So, in this
// package's own code (its tests aside):
//   - no SQL is sent (no Exec, Query or Prepare call on a database);
//   - no background loop is declared: no func(context.Context) error that
//     loops (a loop that outlives a request is a service's, run by
//     internal/loops);
//   - no goroutine is started, nor an errgroup, except within a request
//     (a function that takes an echo.Context), which it ends with;
//   - the permissions that gate deciding and exporting are not named: the
//     action table (audit.Needs, audit.DecideNeeds, audit.ExportNeeds)
//     says them once.
func TestHandlersOnlySpeakHTTP(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sql := map[string]bool{"ExecContext": true, "QueryContext": true, "QueryRowContext": true, "PrepareContext": true,
		"BeginTx": true, "Exec": true, "QueryRow": true}
	perms := map[string]bool{"users.PermDecide": true, "users.PermExport": true, "perm.Decide": true, "perm.Export": true}
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, "_templ.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			inRequest := takes(fn.Type, "echo", "Context")
			if loops(fn) {
				found = append(found, fset.Position(fn.Pos()).String()+": "+fn.Name.Name+" is a background loop")
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					if !inRequest {
						found = append(found, fset.Position(n.Pos()).String()+": a goroutine outside a request, in "+fn.Name.Name)
					}
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok {
						if perms[x.Name+"."+n.Sel.Name] {
							found = append(found, fset.Position(n.Pos()).String()+": names "+x.Name+"."+n.Sel.Name+", which the action table says")
						}
						if x.Name == "errgroup" && !inRequest {
							found = append(found, fset.Position(n.Pos()).String()+": an errgroup outside a request, in "+fn.Name.Name)
						}
					}
				case *ast.CallExpr:
					if s, ok := n.Fun.(*ast.SelectorExpr); ok && sql[s.Sel.Name] {
						found = append(found, fset.Position(n.Pos()).String()+": SQL ("+s.Sel.Name+") in "+fn.Name.Name)
					}
				}
				return true
			})
		}
	}
	if len(found) > 0 {
		t.Fatalf("internal/handlers does more than HTTP:\n%s", strings.Join(found, "\n"))
	}
}

// takes reports whether a function has a parameter of type pkg.name.
func takes(ft *ast.FuncType, pkg, name string) bool {
	for _, p := range ft.Params.List {
		if s, ok := p.Type.(*ast.SelectorExpr); ok && s.Sel.Name == name {
			if x, ok := s.X.(*ast.Ident); ok && x.Name == pkg {
				return true
			}
		}
	}
	return false
}

// loops reports whether fn is shaped as background work: one
// context.Context in, an error out, and a for loop inside.
func loops(fn *ast.FuncDecl) bool {
	ft := fn.Type
	if len(ft.Params.List) != 1 || len(ft.Params.List[0].Names) > 1 || !takes(ft, "context", "Context") ||
		ft.Results == nil || len(ft.Results.List) != 1 {
		return false
	}
	if id, ok := ft.Results.List[0].Type.(*ast.Ident); !ok || id.Name != "error" {
		return false
	}
	has := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if _, ok := n.(*ast.ForStmt); ok {
			has = true
		}
		return !has
	})
	return has
}
