package i18n_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/notify"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
)

func TestNegotiateFollowsAcceptLanguageUnlessTheUserChose(t *testing.T) {
	cases := []struct{ choice, accept, want string }{
		{"", "", i18n.English},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", i18n.Chinese},
		{"", "zh", i18n.Chinese},
		{"", "zh-Hans-CN", i18n.Chinese},
		{"", "en-US,en;q=0.9", i18n.English},
		{"", "fr-FR,fr;q=0.9", i18n.English},
		{"", "fr;q=0.9,zh-CN;q=0.5", i18n.Chinese},
		{"", "not a header;;;", i18n.English},
		{"en", "zh-CN", i18n.English}, // the remembered choice beats the browser
		{"zh-CN", "en-US", i18n.Chinese},
		{"zh-cn", "en-US", i18n.Chinese},
		{"klingon", "zh-CN", i18n.Chinese}, // a choice not offered is no choice
	}
	for _, c := range cases {
		if got := i18n.Negotiate(c.choice, c.accept); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c.choice, c.accept, got, c.want)
		}
	}
}

func TestPluralsAndNumbersComeFromTheLanguagesRules(t *testing.T) {
	en, zh := i18n.For(i18n.English), i18n.For(i18n.Chinese)
	if got := en.N("batch.count.failed", 1); got != "1 failed" {
		t.Errorf("en 1 failed = %q", got)
	}
	if got := en.N("ago.days", 1); got != "1 day ago" {
		t.Errorf("en 1 day = %q", got)
	}
	if got := en.N("ago.days", 5); got != "5 days ago" {
		t.Errorf("en 5 days = %q", got)
	}
	if got := zh.N("duration.minutes", 1); got != "1 分钟" {
		t.Errorf("zh 1 minute = %q", got)
	}
	if got := zh.N("list.counts", 12, "Matched", 3); got != "3 / 12 台实例" {
		t.Errorf("zh counts = %q", got)
	}
}

func TestAMissingKeyShowsAsTheKey(t *testing.T) {
	if got := i18n.For(i18n.Chinese).T("no.such_key"); got != "no.such_key" {
		t.Fatalf("a missing key shows %q; the page tests look for the key itself", got)
	}
	if got := i18n.For(i18n.Chinese).Sentence("An English sentence no catalogue has."); got != "An English sentence no catalogue has." {
		t.Fatalf("an untranslated sentence shows %q, want the English", got)
	}
}

func TestZoneNamesAreValidatedAtTheEdge(t *testing.T) {
	for _, ok := range []string{"Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin"} {
		if _, err := i18n.Zone(ok); err != nil {
			t.Errorf("Zone(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Local", "../../etc/passwd", "Asia/Nowhere", "Asia/Shanghai\x00", strings.Repeat("A", 100), "Asia Shanghai"} {
		if _, err := i18n.Zone(bad); err == nil {
			t.Errorf("Zone(%q) accepted", bad)
		}
	}
}

// catalogue is a language's file flattened: key -> plural forms ("" for a
// message without plurals).
type catalogue map[string]map[string]string

var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

func readCatalogue(t *testing.T, lang string) catalogue {
	t.Helper()
	var raw map[string]any
	if _, err := toml.DecodeFile(filepath.Join("locales", lang+".toml"), &raw); err != nil {
		t.Fatal(err)
	}
	out := catalogue{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		plural := false
		for k := range m {
			plural = plural || slices.Contains(pluralForms, k)
		}
		if plural {
			forms := map[string]string{}
			for k, v := range m {
				forms[k], _ = v.(string)
			}
			out[strings.TrimSuffix(prefix, ".")] = forms
			return
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[prefix+k] = map[string]string{"": v}
			case map[string]any:
				walk(prefix+k+".", v)
			}
		}
	}
	walk("", raw)
	return out
}

// uiKeys is the catalogue's page texts (its sentences apart).
func (c catalogue) uiKeys() []string {
	var keys []string
	for k := range c {
		if !strings.HasPrefix(k, "sentences.") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// isText reports whether a flattened message is a plain text (not plural
// forms).
func isText(forms map[string]string) bool {
	_, ok := forms[""]
	return ok
}

func TestEveryLanguageHasEveryKey(t *testing.T) {
	if err := i18n.Load(); err != nil {
		t.Fatal(err)
	}
	en, zh := readCatalogue(t, i18n.English), readCatalogue(t, i18n.Chinese)
	for _, k := range en.uiKeys() {
		if _, ok := zh[k]; !ok {
			t.Errorf("%s is in en.toml but not in zh-CN.toml", k)
		}
		if f := en[k]; !isText(f) && (f["one"] == "" || f["other"] == "") {
			t.Errorf("en.toml: plural %s needs one and other", k)
		}
	}
	for _, k := range zh.uiKeys() {
		if _, ok := en[k]; !ok {
			t.Errorf("%s is in zh-CN.toml but not in en.toml", k)
		}
		if f := zh[k]; !isText(f) && f["other"] == "" {
			t.Errorf("zh-CN.toml: %s has no text (a plural needs other)", k)
		}
	}
	for k := range en {
		if strings.HasPrefix(k, "sentences.") {
			t.Errorf("en.toml: %s: English sentences are the code's own, not the catalogue's", k)
		}
	}
}

// sources is every non-test Go and templ file of the module.
func sources(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string]string{}
	for _, dir := range []string{"internal", "web", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() || strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, "_templ.go") ||
				!(strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".templ")) {
				return nil
			}
			b, err := os.ReadFile(p)
			out[p] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

var keyLiteral = regexp.MustCompile(`"([a-z][a-z_]*(?:\.[A-Za-z0-9_]*)+)"`)

// families are the keys the code builds from a prefix and a value; each
// value must have its key in every language.
func families() map[string][]string {
	var outcomes []string
	outcomes = append(outcomes, starts.OutcomesByConcern...)
	return map[string][]string{
		"role.":          users.Roles,
		"status.":        {ecs.StatusRunning, ecs.StatusStarting, ecs.StatusStopping, ecs.StatusStopped, ecs.StatusPending},
		"state.":         audit.States,
		"action.":        audit.Actions,
		"batch.outcome.": outcomes,
		"batch.count.":   outcomes,
		"error.h":        {"400", "401", "403", "404", "405", "409", "413", "422", "429", "500", "502", "503", "504"},
		"admin.source.":  {users.SourceLocal, users.SourceSSO},
		"tokens.state.":  {"live", "revoked", "expired"},
		"notify.event.":  notify.Events,
		"lock.":          ecs.LockReasons,
	}
}

func TestEveryKeyIsUsedAndEveryKeyUsedExists(t *testing.T) {
	en := readCatalogue(t, i18n.English)
	sections := map[string]bool{}
	for _, k := range en.uiKeys() {
		sections[strings.SplitN(k, ".", 2)[0]] = true
	}
	used := map[string]string{} // literal -> a file using it
	for p, src := range sources(t) {
		for _, m := range keyLiteral.FindAllStringSubmatch(src, -1) {
			if sections[strings.SplitN(m[1], ".", 2)[0]] {
				used[m[1]] = p
			}
		}
	}
	fams := families()
	for lit, p := range used {
		if _, ok := en[lit]; ok {
			continue
		}
		if _, ok := fams[lit]; ok {
			continue
		}
		if strings.HasSuffix(lit, ".") && slices.ContainsFunc(en.uiKeys(), func(k string) bool { return strings.HasPrefix(k, lit) }) {
			continue // a section's name, as code that strips it says it
		}
		t.Errorf("%s uses %q, which no catalogue has", p, lit)
	}
	for prefix, values := range fams {
		if _, ok := used[prefix]; !ok {
			t.Errorf("the family %q is not used in the code any more: drop it from this test and the catalogues", prefix)
		}
		for _, v := range values {
			if _, ok := en[prefix+v]; !ok {
				t.Errorf("%s%s is missing: a page would show the raw key", prefix, v)
			}
		}
	}
	for _, k := range en.uiKeys() {
		if _, ok := used[k]; ok {
			continue
		}
		inFamily := false
		for prefix, values := range fams {
			if rest, ok := strings.CutPrefix(k, prefix); ok && slices.Contains(values, rest) {
				inFamily = true
			}
		}
		if !inFamily {
			t.Errorf("%s is in the catalogues but no code uses it", k)
		}
	}
}

// sentenceFiles are the files whose English sentences (refusals, the ECS
// error table) pages show translated; every such sentence must have its
// translation.
var sentenceFiles = []string{
	"internal/ecs/errors.go", "internal/ecs/instance.go", "internal/ecs/client.go",
	"internal/starts/rules.go", "internal/starts/starts.go", "internal/starts/recorded.go", "internal/starts/reconcile.go", "internal/starts/batch.go", "internal/starts/rights.go",
	"internal/handlers/admin.go", "internal/handlers/audit.go", "internal/handlers/auth.go", "internal/handlers/instances.go",
	"internal/handlers/middleware.go", "internal/handlers/prefs.go", "internal/handlers/refresh.go", "internal/handlers/rights.go",
	"internal/handlers/sso.go", "internal/books/throttle.go", "internal/handlers/tokens.go", "internal/handlers/approvals.go",
	"internal/handlers/render.go", "internal/handlers/session.go", "internal/handlers/formtokens.go", "internal/handlers/live.go",
	"internal/users/users.go", "internal/users/grants.go", "internal/users/tokens.go", "internal/scope/scope.go",
}

// looksLikeSentence is a literal shown to a person: a capital, a space,
// and a full stop at the end.
var looksLikeSentence = regexp.MustCompile(`^[A-Z%].* .*[.?)]$`)

// looksLikeSQL is a statement, not words.
var looksLikeSQL = regexp.MustCompile(`^(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE) `)

// literals is every string constant of a file, with the concatenations of
// constants folded.
func literals(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		e, ok := n.(ast.Expr)
		if !ok {
			return true
		}
		if s, ok := constString(e); ok {
			out = append(out, s)
			return false
		}
		return true
	})
	return out
}

func TestEverySentenceShownHasItsTranslation(t *testing.T) {
	zh := readCatalogue(t, i18n.Chinese)
	for _, f := range sentenceFiles {
		for _, s := range literals(t, filepath.Join("..", "..", f)) {
			if !looksLikeSentence.MatchString(s) || strings.Contains(s, "\n") || looksLikeSQL.MatchString(s) {
				continue
			}
			if _, ok := zh["sentences."+s]; !ok {
				t.Errorf("%s: no translation of %q", f, s)
			}
		}
		// Words said when shown, whatever they look like ("withdrawn by %s").
		for _, s := range saidWords(t, filepath.Join("..", "..", f)) {
			if _, ok := zh["sentences."+s]; !ok && s != "%s" && s != "" {
				t.Errorf("%s: no translation of the words %q", f, s)
			}
		}
	}
	// And every translation is of a sentence the code still has.
	all := map[string]bool{}
	for p, src := range sources(t) {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		for _, s := range literals(t, p) {
			all[s] = true
		}
		_ = src
	}
	for k := range zh {
		if s, ok := strings.CutPrefix(k, "sentences."); ok && !all[s] {
			t.Errorf("zh-CN.toml translates %q, which no code says any more", s)
		}
	}
}

// saidWords are the formats and words a file gives i18n.Word and
// i18n.Wordsf, as literals or as the file's constants.
func saidWords(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, name := range v.Names {
					if i < len(v.Values) {
						if s, ok := constString(v.Values[i]); ok {
							consts[name.Name] = s
						}
					}
				}
			}
		}
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, isIdent := sel.X.(*ast.Ident); !isIdent || x.Name != "i18n" || (sel.Sel.Name != "Word" && sel.Sel.Name != "Wordsf") {
			return true
		}
		if s, ok := constString(call.Args[0]); ok {
			out = append(out, s)
		} else if id, ok := call.Args[0].(*ast.Ident); ok {
			if s, ok := consts[id.Name]; ok {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// constString is a string literal or a sum of them (parenthesised or not).
func constString(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			x, ok1 := constString(e.X)
			y, ok2 := constString(e.Y)
			return x + y, ok1 && ok2
		}
	case *ast.ParenExpr:
		return constString(e.X)
	}
	return "", false
}

func TestTranslatedFormatsKeepTheirVerbs(t *testing.T) {
	zh := readCatalogue(t, i18n.Chinese)
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)
	for k, f := range zh {
		s, ok := strings.CutPrefix(k, "sentences.")
		if !ok {
			continue
		}
		want, got := verbs.FindAllString(s, -1), verbs.FindAllString(f[""], -1)
		if !slices.Equal(want, got) {
			t.Errorf("the translation of %q has the verbs %v, want %v (in the English's order)", s, got, want)
		}
	}
}

// A page view asks for the user's zone at every request: the zone is
// loaded once and the same *time.Location answers after.
func TestZoneLoadsANameOnceAndReturnsTheSameLocation(t *testing.T) {
	a, err := i18n.Zone("America/Argentina/Ushuaia")
	if err != nil {
		t.Fatal(err)
	}
	b, err := i18n.Zone("America/Argentina/Ushuaia")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("two loads of one zone: %p and %p", a, b)
	}
	if a.String() != "America/Argentina/Ushuaia" {
		t.Fatalf("the zone is %q", a)
	}
	for _, bad := range []string{"Local", "", "Nowhere/Atlantis"} {
		if _, err := i18n.Zone(bad); err == nil {
			t.Fatalf("%q: accepted", bad)
		}
		if _, err := i18n.Zone(bad); err == nil {
			t.Fatalf("%q: accepted the second time", bad)
		}
	}
}
