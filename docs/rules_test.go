package docs_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ruleIDRe matches a rule ID as rules.md defines them: R-WIRE-7, R-SEC-3a.
var ruleIDRe = regexp.MustCompile(`\bR-[A-Z]+-[0-9]+[a-z]?\b`)

// cannotCheck is the heading of the section of rules.md that lists the rules no
// conformance test can check, each in the first cell of a table row.
const cannotCheck = "Rules the suite cannot check"

// outside are the names of texts that lie outside the repository. A file that names
// one sends its reader somewhere a clone does not have. They are built from pieces so
// that this file does not name them itself.
var outside = []string{
	".." + "/shared",
	"shared" + "/spec",
	"decisions" + ".md",
	"users-api" + ".txt",
	"users-api" + " §",
}

// rulesDoc is what rules.md defines.
type rulesDoc struct {
	ids    []string       // the IDs of the rule headings, in order
	line   map[string]int // the line of each heading
	exempt map[string]int // the rules listed under cannotCheck, with their lines
}

// readRules reads the rule headings ("### R-…") of rules.md and the rules it lists under
// cannotCheck. A heading is the bare ID, so that its anchor is the ID in lower case.
func readRules(t *testing.T) rulesDoc {
	t.Helper()
	d := rulesDoc{line: map[string]int{}, exempt: map[string]int{}}
	section := ""
	for i, l := range readLines(t, "rules.md") {
		if h, ok := strings.CutPrefix(l, "## "); ok {
			section = strings.TrimSpace(h)
			continue
		}
		if h, ok := strings.CutPrefix(l, "### "); ok {
			h = strings.TrimSpace(h)
			if !ruleIDRe.MatchString(h) {
				continue
			}
			if ruleIDRe.FindString(h) != h {
				t.Errorf("rules.md:%d: the heading %q must be the rule ID alone, so that its anchor is the ID", i+1, h)
				continue
			}
			if n, ok := d.line[h]; ok {
				t.Errorf("rules.md:%d: %s is defined twice (first on line %d)", i+1, h, n)
				continue
			}
			d.ids = append(d.ids, h)
			d.line[h] = i + 1
			continue
		}
		if section == cannotCheck && strings.HasPrefix(l, "| ") {
			cell, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
			if id := ruleIDRe.FindString(cell); id != "" {
				d.exempt[id] = i + 1
			}
		}
	}
	if len(d.ids) == 0 {
		t.Fatal("rules.md defines no rule (no heading ### R-…)")
	}
	return d
}

// repoFile is one text file of the repository, by its path from the repository's root.
type repoFile struct {
	path  string // slash-separated, from the root
	lines []string
}

// repoFiles returns every text file of the repository: code, pages, the OpenAPI
// description, scripts and configuration. It skips what is not the repository's own
// (.git, node_modules, the generated clients, the server's data folder) and binary files.
func repoFiles(t *testing.T) []repoFile {
	t.Helper()
	var files []repoFile
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(filepath.ToSlash(p), "../")
		switch {
		case d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "gen" && d.IsDir() || rel == "data" && d.IsDir():
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case d.IsDir() || !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary: an image, a compiled test
		}
		files = append(files, repoFile{path: rel, lines: strings.Split(string(b), "\n")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files found from the repository's root")
	}
	return files
}

// TestRuleCitationsAreDefined checks that every rule ID cited anywhere in the repository
// (code, comments, tests, pages, openapi.json, scripts) has its heading in rules.md.
func TestRuleCitationsAreDefined(t *testing.T) {
	defined := readRules(t).line
	for _, f := range repoFiles(t) {
		seen := map[string]bool{}
		for i, l := range f.lines {
			for _, id := range ruleIDRe.FindAllString(l, -1) {
				if _, ok := defined[id]; ok || seen[id] {
					continue
				}
				seen[id] = true
				t.Errorf("%s:%d: cites %s, which has no heading \"### %s\" in docs/rules.md", f.path, i+1, id, id)
			}
		}
	}
}

// TestRulesAreChecked checks that every rule of rules.md is cited by a test of the
// conformance suite (in a cites(t, …) call), unless rules.md lists it among the rules
// the suite cannot check. That list stays as short as it can be: a rule on it that a
// conformance test cites after all fails too.
func TestRulesAreChecked(t *testing.T) {
	d := readRules(t)
	cited := conformanceCitations(t)
	for _, id := range d.ids {
		files, isCited := cited[id]
		_, exempt := d.exempt[id]
		switch {
		case !isCited && !exempt:
			t.Errorf("rules.md:%d: no test in conformance/ cites %s: add one that does (cites(t, %q)), or list the rule under %q with the reason",
				d.line[id], id, id, cannotCheck)
		case isCited && exempt:
			t.Errorf("rules.md:%d: %s is listed under %q, but it is cited by %s: take it off the list",
				d.exempt[id], id, cannotCheck, strings.Join(files, ", "))
		}
	}
	for id, line := range d.exempt {
		if _, ok := d.line[id]; !ok {
			t.Errorf("rules.md:%d: %s is listed under %q but has no heading of its own", line, id, cannotCheck)
		}
	}
}

// conformanceCitations reads the conformance suite's sources and returns every rule ID
// passed to cites, with the files that pass it.
func conformanceCitations(t *testing.T) map[string][]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "conformance", "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no tests in ../conformance")
	}
	cited := map[string][]string{}
	fset := token.NewFileSet()
	for _, path := range paths {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		name := "conformance/" + filepath.Base(path)
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
					continue // conformance's own TestCitationsAreKnownRules refuses it
				}
				s, _ := strconv.Unquote(lit.Value)
				for _, id := range ruleIDRe.FindAllString(s, -1) {
					if !slices.Contains(cited[id], name) {
						cited[id] = append(cited[id], name)
					}
				}
			}
			return true
		})
	}
	return cited
}

// TestNothingPointsOutside checks that no file of the repository sends its reader to a
// text outside it: none names the texts of outside, and no relative link of a Markdown
// page leads out of the repository.
func TestNothingPointsOutside(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range repoFiles(t) {
		for i, l := range f.lines {
			for _, name := range outside {
				if strings.Contains(l, name) {
					t.Errorf("%s:%d: points outside the repository (%q): cite a rule of docs/rules.md or a section of docs/api.md instead", f.path, i+1, name)
				}
			}
			if !strings.HasSuffix(f.path, ".md") {
				continue
			}
			for _, m := range linkRe.FindAllStringSubmatch(l, -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.Contains(target, ":") || strings.HasPrefix(target, "/") {
					continue // an anchor of the page, a URL, or a site path
				}
				abs := filepath.Join(root, filepath.FromSlash(path.Dir(f.path)), filepath.FromSlash(target))
				if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Errorf("%s:%d: the link %s leads out of the repository", f.path, i+1, m[1])
				}
			}
		}
	}
}
