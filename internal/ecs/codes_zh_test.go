package ecs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
)

// codeLike is a literal shaped as an ECS code (Throttling.User,
// InstanceExpired, DRYRUN.SUCCESS).
var codeLike = regexp.MustCompile(`^[A-Z][A-Za-z]+(\.[A-Za-z]+)*$`)

// simulatorCodes are the code-shaped literals of the simulator's sources:
// every code it can answer with (and some names that are not codes, which
// are explained as unknown codes are).
func simulatorCodes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("ecssim", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && codeLike.MatchString(s) && len(s) > 6 {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

// englishRun is three English words in a row, once codes are taken out.
var englishRun = regexp.MustCompile(`[A-Za-z']+[ ,:;()-]+[A-Za-z']+[ ,:;()-]+[A-Za-z']+`)

// Every code of the error table and every code the simulator can answer
// with has our own words and advice in Chinese: a Chinese page says them
// first, ECS's own message only after, as ECS's.
func TestEveryCodeHasItsWordsAndAdviceInChinese(t *testing.T) {
	if err := i18n.Load(); err != nil {
		t.Fatal(err)
	}
	zh := i18n.For(i18n.Chinese)
	codes := append(ecs.Codes(), simulatorCodes(t)...)
	codes = append(codes, "Throttling.Unknown", "InvalidParameter.Unknown", "Forbidden.Unknown", "OperationDenied.Unknown", "Unknown.Code")
	if len(ecs.Codes()) < 20 {
		t.Fatalf("the table explains %d codes", len(ecs.Codes()))
	}
	for _, code := range codes {
		x := ecs.Explain(code)
		for what, english := range map[string]string{"words": x.Summary, "advice": x.Action} {
			got := zh.Sentence(english)
			if got == english {
				t.Errorf("%s: its %s have no Chinese: %q", code, what, english)
				continue
			}
			bare := regexp.MustCompile(`[A-Za-z]+(\.[A-Za-z]+)+|--[a-z-]+|[A-Z][a-z]+[A-Z][A-Za-z]+`).ReplaceAllString(got, "")
			if m := englishRun.FindString(bare); m != "" {
				t.Errorf("%s: its %s in Chinese say %q: %q", code, what, m, got)
			}
		}
	}
}
