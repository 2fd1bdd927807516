package docs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// module is the path of this module; its packages are module + "/" + dir.
const module = "usersapi"

// importRule is one row of the import table of architecture.md.
type importRule struct {
	pkg    string          // directory below the module, or "cmd/..." for a tree
	allow  map[string]bool // packages of the module it may import
	any    bool            // "everything"
	never  []string        // standard library packages it must not import
	line   int
	source string
}

// importRules reads the table that follows the "import rules" marker of architecture.md.
func importRules(t *testing.T) []importRule {
	t.Helper()
	lines := readLines(t, "architecture.md")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "<!-- import rules") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatal("architecture.md has no <!-- import rules --> marker before its import table")
	}
	name := regexp.MustCompile("`([^`]+)`")
	var rules []importRule
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		cells := strings.Split(strings.Trim(lines[i], "|"), "|")
		if len(cells) != 3 || strings.Contains(cells[0], "---") || strings.TrimSpace(cells[0]) == "package" {
			continue
		}
		pkg := name.FindStringSubmatch(cells[0])
		if pkg == nil {
			t.Fatalf("architecture.md:%d: no `package` in the first column", i+1)
		}
		r := importRule{pkg: pkg[1], allow: map[string]bool{}, line: i + 1, source: strings.TrimSpace(lines[i])}
		switch may := strings.TrimSpace(cells[1]); may {
		case "everything":
			r.any = true
		case "nothing":
		default:
			for _, m := range name.FindAllStringSubmatch(may, -1) {
				r.allow[m[1]] = true
			}
			if len(r.allow) == 0 {
				t.Fatalf("architecture.md:%d: say `nothing`, `everything` or list `packages`", i+1)
			}
		}
		for _, m := range name.FindAllStringSubmatch(cells[2], -1) {
			r.never = append(r.never, m[1])
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		t.Fatal("architecture.md: the import table is empty")
	}
	return rules
}

// ruleFor returns the rule of a package directory such as "storage/storagetest".
func ruleFor(rules []importRule, dir string) (importRule, bool) {
	for _, r := range rules {
		if r.pkg == dir {
			return r, true
		}
		if tree, ok := strings.CutSuffix(r.pkg, "/..."); ok && (dir == tree || strings.HasPrefix(dir, tree+"/")) {
			return r, true
		}
	}
	return importRule{}, false
}

// listedPackage is what `go list -json` says of one package.
type listedPackage struct {
	ImportPath   string
	Dir          string
	Imports      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Error        *struct{ Err string }
}

func goList(t *testing.T) []listedPackage {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the packages: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Dir,Imports,TestGoFiles,XTestGoFiles,Error", "./...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportDirection checks every package's non-test imports against the table of
// architecture.md: the arrows of the architecture must all point inward.
func TestImportDirection(t *testing.T) {
	rules := importRules(t)
	pkgs := goList(t)
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Logf("%s: go list: %s (checking its imports anyway)", p.ImportPath, p.Error.Err)
		}
		dir := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		r, ok := ruleFor(rules, dir)
		if !ok {
			t.Errorf("package %s has no row in the import table of architecture.md: add one saying what it may import", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if inner, ours := strings.CutPrefix(imp, module+"/"); ours {
				if !r.any && !r.allow[inner] {
					t.Errorf("%s imports %s, which architecture.md:%d does not allow (%s)", p.ImportPath, imp, r.line, r.source)
				}
				continue
			}
			for _, never := range r.never {
				if imp == never || strings.HasPrefix(imp, never+"/") {
					t.Errorf("%s imports %s, which architecture.md:%d forbids (%s)", p.ImportPath, imp, r.line, r.source)
				}
			}
		}
	}
}

// TestConformanceIsBlackBox checks the rule of the conformance suite that reaches into
// its test files: they speak to the server by HTTP only, and import no package of this
// module, except the one file that starts the server in-process.
func TestConformanceIsBlackBox(t *testing.T) {
	const starter = "inprocess_test.go"
	var found bool
	for _, p := range goList(t) {
		if p.ImportPath != module+"/conformance" {
			continue
		}
		found = true
		fset := token.NewFileSet()
		for _, name := range append(append([]string{}, p.TestGoFiles...), p.XTestGoFiles...) {
			if name == starter {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Errorf("conformance/%s: %v", name, err)
				continue
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if path == module || strings.HasPrefix(path, module+"/") {
					t.Errorf("conformance/%s imports %s: only %s may import a package of this module", name, path, starter)
				}
			}
		}
	}
	if !found {
		t.Fatal("go list did not find the conformance package")
	}
}
