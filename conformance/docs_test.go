package conformance_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// citedRules reads the suite's own sources and returns every rule ID passed to cites,
// with the files that cite it. It reads the code rather than a run's records, so that it
// holds whatever -run selects and whether or not a server is there.
func citedRules(t *testing.T) map[string][]string {
	t.Helper()
	return citedRefs(t, ruleID)
}

// citedRefs returns every argument of cites that matches re, with the files that pass
// it.
func citedRefs(t *testing.T, re *regexp.Regexp) map[string][]string {
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
				if re.MatchString(s) && !slices.Contains(cited[s], name) {
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

// rulesPage reads docs/rules.md and returns the IDs of its rule headings ("### R-…"),
// in their order, and the rules it lists under "Rules the suite cannot check".
func rulesPage(t *testing.T) (ids []string, unobservable map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localDocs, "rules.md"))
	if os.IsNotExist(err) {
		t.Skip("docs/rules.md is not beside the suite: nothing to compare the catalogue with")
	}
	if err != nil {
		t.Fatal(err)
	}
	unobservable = map[string]bool{}
	section := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = strings.TrimSpace(h)
		}
		if h, ok := strings.CutPrefix(line, "### "); ok && ruleID.MatchString(h) {
			ids = append(ids, strings.TrimSpace(h))
		}
		if section == "Rules the suite cannot check" && strings.HasPrefix(line, "| [R-") {
			unobservable[ruleID.FindString(line)] = true
		}
	}
	return ids, unobservable
}

// TestCatalogueIsRulesPage checks the catalogue against docs/rules.md: the same rules
// in the same order, and a reason why a rule cannot be observed exactly for the rules
// that page lists as ones the suite cannot check.
func TestCatalogueIsRulesPage(t *testing.T) {
	ids, unobservable := rulesPage(t)
	var catalogue []string
	for _, r := range rules {
		catalogue = append(catalogue, r.id)
		if !slices.Contains(ids, r.id) {
			t.Errorf("%s is in the catalogue of rules_test.go but has no heading in docs/rules.md", r.id)
		}
		switch {
		case r.unobservable != "" && !unobservable[r.id]:
			t.Errorf("the catalogue calls %s not observable over HTTP, but docs/rules.md does not list it under \"Rules the suite cannot check\"", r.id)
		case r.unobservable == "" && unobservable[r.id]:
			t.Errorf("docs/rules.md lists %s under \"Rules the suite cannot check\", but the catalogue gives no reason why", r.id)
		}
	}
	for _, id := range ids {
		if !slices.Contains(catalogue, id) {
			t.Errorf("docs/rules.md defines %s, which is not in the catalogue of rules_test.go", id)
		}
	}
	if !t.Failed() && !slices.Equal(ids, catalogue) {
		for i := range ids {
			if ids[i] != catalogue[i] {
				t.Errorf("the catalogue has %s where docs/rules.md has %s: keep the order of the page", catalogue[i], ids[i])
				break
			}
		}
	}
}

// TestReportLinks checks the links of the report: every rule's line links to its
// heading in docs/rules.md, every endpoint section the suite cites has its heading in
// docs/api.md, a report written outside the repository still finds the docs folder,
// and a configured address wins.
func TestReportLinks(t *testing.T) {
	ids, _ := rulesPage(t)
	headings := map[string]bool{}
	for _, id := range ids {
		headings[headingAnchor(id)] = true
	}
	out := report("test", 0, localDocs)
	for _, r := range rules {
		link := ruleLink(localDocs, r.id)
		if !strings.Contains(out, "\n| "+link+" | ") {
			t.Errorf("the report has no line that starts with %s", link)
		}
		_, anchor, _ := strings.Cut(link, "#")
		if !headings[strings.TrimSuffix(anchor, ")")] {
			t.Errorf("%s: docs/rules.md has no heading with that anchor", link)
		}
	}

	anchors := endpointAnchors()
	for ref, files := range citedRefs(t, endpointRef) {
		link := sectionLink(localDocs, ref, anchors)
		if link == ref {
			t.Errorf("%v cite %q, but docs/api.md has no heading \"### %d. …\"", files, ref, sectionNumber(ref))
		}
	}
	for n, want := range map[int]string{1: "1-register-post-users", 5: "5-change-password-put-usersmechangepassword"} {
		if anchors[n] != want {
			t.Errorf("the anchor of api.md §%d is %q, want %q", n, anchors[n], want)
		}
	}

	dir := t.TempDir()
	docs := docsLink(filepath.Join(dir, "report.md"))
	if filepath.IsAbs(docs) || docs == "" {
		t.Errorf("docsLink = %q, want a relative path", docs)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(docs), "rules.md")); err != nil {
		t.Errorf("from a report in %s, the links lead to %s, which holds no rules.md: %v", dir, docs, err)
	}
	if got := docsLink("report.md"); got != localDocs {
		t.Errorf("from a report beside the suite, docsLink = %q, want %q", got, localDocs)
	}
	const site = "https://example.org/usersd/blob/main/docs"
	t.Setenv("CONFORMANCE_DOCS", site+"/")
	if got := docsLink(filepath.Join(dir, "report.md")); got != site {
		t.Errorf("with CONFORMANCE_DOCS=%s/, docsLink = %q, want %q", site, got, site)
	}
	if got := ruleLink(site, "R-SEC-3a"); got != "[R-SEC-3a]("+site+"/rules.md#r-sec-3a)" {
		t.Errorf("ruleLink = %q", got)
	}
}
