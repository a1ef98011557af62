package starts

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Who took an entry, how they signed in, from where, with which browser and
// API token reach the entry in one place (Actor.took), not copied by hand
// where each kind of entry is made (issue 24's "field copying"): a new
// field of the actor, or a new action, is then one place too.
func TestAnActorsFieldsReachAnEntryInOnePlace(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{"AuthMethod": true, "SourceIP": true, "UserAgent": true, "Token": true}
	places := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
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
			actors := map[string]bool{} // the function's Actor parameters and receiver
			lists := fn.Type.Params.List
			if fn.Recv != nil {
				lists = append(lists, fn.Recv.List...)
			}
			for _, p := range lists {
				if id, ok := p.Type.(*ast.Ident); ok && id.Name == "Actor" {
					for _, n := range p.Names {
						actors[n.Name] = true
					}
				}
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if s, ok := n.(*ast.SelectorExpr); ok && fields[s.Sel.Name] {
					if x, ok := s.X.(*ast.Ident); ok && actors[x.Name] {
						places[name+": "+fn.Name.Name] = true
					}
				}
				return true
			})
		}
	}
	if len(places) != 1 {
		var list []string
		for p := range places {
			list = append(list, p)
		}
		sort.Strings(list)
		t.Fatalf("an actor's fields are copied into entries in %d places, want one:\n%s", len(places), strings.Join(list, "\n"))
	}
}
