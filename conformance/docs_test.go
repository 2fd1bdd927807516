package conformance_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// citedRules reads the suite's own sources and returns every rule ID passed to cites,
// with the files that cite it. It reads the code rather than a run's records, so that it
// holds whatever -run selects and whether or not a server is there.
func citedRules(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("the suite's sources are not in the working directory")
	}
	cited := map[string][]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "cites" {
				return true
			}
			for _, arg := range call.Args[1:] {
				lit, ok := arg.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: cites takes string literals, so that this test can read them", fset.Position(arg.Pos()))
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				if ruleID.MatchString(s) && !slices.Contains(cited[s], name) {
					cited[s] = append(cited[s], name)
				}
			}
			return true
		})
	}
	return cited
}

// TestCitationsAreKnownRules checks that every rule the suite cites is in the catalogue
// of rules_test.go (a typo would otherwise cite nothing), and that every rule the
// catalogue calls observable is cited by some test.
func TestCitationsAreKnownRules(t *testing.T) {
	cited := citedRules(t)
	catalogue := map[string]rule{}
	for _, r := range rules {
		catalogue[r.id] = r
	}
	for id, files := range cited {
		if _, ok := catalogue[id]; !ok {
			t.Errorf("%v cite %s, which is not in the rule catalogue", files, id)
		}
	}
	for _, r := range rules {
		if _, ok := cited[r.id]; !ok && r.unobservable == "" {
			t.Errorf("%s is observable over HTTP but no test cites it", r.id)
		}
	}
}

// TestAPIReferenceRulesAreCited checks that every rule ID the API reference
// (docs/api.md) cites is checked by some conformance test, or is in the catalogue as not
// observable over HTTP, with the reason.
func TestAPIReferenceRulesAreCited(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "api.md"))
	if os.IsNotExist(err) {
		t.Skip("docs/api.md does not exist yet: nothing to compare the suite with")
	}
	if err != nil {
		t.Fatal(err)
	}
	cited := citedRules(t)
	unobservable := map[string]string{}
	for _, r := range rules {
		if r.unobservable != "" {
			unobservable[r.id] = r.unobservable
		}
	}
	ids := ruleID.FindAllString(string(doc), -1)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if _, ok := cited[id]; ok {
			continue
		}
		if why, ok := unobservable[id]; ok {
			t.Logf("%s is cited by docs/api.md and not checked over HTTP: %s", id, why)
			continue
		}
		t.Errorf("docs/api.md cites %s, but no conformance test does", id)
	}
}
