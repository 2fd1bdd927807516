package docs_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// pagesInProgress are pages of docs/ that the pages here link to and that their owners
// have yet to write. A link to a missing page fails unless the page is listed here.
var pagesInProgress = map[string]bool{
	"security.md":    true,
	"storage.md":     true,
	"performance.md": true,
}

var linkRe = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// anchors returns the anchors GitHub gives the headings of a Markdown page.
func anchors(t *testing.T, page string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	inFence := false
	for _, l := range readLines(t, page) {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		out[b.String()] = true
	}
	return out
}

// TestLinks checks the links of the pages this package keeps: every page linked to
// exists (or is on its way), and every #anchor names a heading of its page.
func TestLinks(t *testing.T) {
	for _, page := range []string{"api.md", "architecture.md", "rules.md", "conformance.md", "testing-clients.md"} {
		for i, l := range readLines(t, page) {
			for _, m := range linkRe.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				if file == "" {
					file = page
				}
				if _, err := os.Stat(file); err != nil {
					if !pagesInProgress[file] {
						t.Errorf("%s:%d: link to %s, which does not exist", page, i+1, file)
					}
					continue
				}
				if anchor != "" && strings.HasSuffix(file, ".md") && !anchors(t, file)[anchor] {
					t.Errorf("%s:%d: link to %s#%s: no heading of %s has that anchor", page, i+1, file, anchor, file)
				}
			}
		}
	}
}
