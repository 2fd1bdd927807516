package conformance_test

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// rule is one entry of the rule catalogue: the IDs of docs/rules.md with a short
// summary, and for the rules no HTTP test can observe, why.
type rule struct {
	id, summary  string
	unobservable string // non-empty: why the suite cannot check the rule over HTTP
}

// rules lists every rule of docs/rules.md, in its order. The report shows each with the
// outcome of the tests that cite it, linked to its heading there. TestCatalogueIsRulesPage
// keeps the two alike: the same IDs in the same order, and unobservable exactly for the
// rules that page lists as ones the suite cannot check.
var rules = []rule{
	{id: "R-WIRE-1", summary: "the paths of the endpoint table, /users?s= and /users/?s= alike"},
	{id: "R-WIRE-2", summary: "JSON success bodies are application/json; charset=utf-8"},
	{id: "R-WIRE-3", summary: "OK is 200 with an empty body, Content-Length: 0"},
	{id: "R-WIRE-4", summary: `every error is {"error": true, "reason": "…"}`},
	{id: "R-WIRE-5", summary: "the status table; JSON 404 and 405 (with Allow) for routes"},
	{id: "R-WIRE-6", summary: "401 carries WWW-Authenticate Bearer or Basic"},
	{id: "R-WIRE-7", summary: "64 KiB JSON cap, unknown fields ignored, null = not given, one object"},
	{id: "R-WIRE-8", summary: "dates are RFC 3339 UTC to the second"},
	{id: "R-WIRE-9", summary: "UUIDs written lower-case, accepted in any case"},
	{id: "R-WIRE-10", summary: "lengths in code points after trimming; control = Cc"},
	{id: "R-WIRE-11", summary: "field rules (400) before secrets (403)"},
	{id: "R-WIRE-12", summary: "net/http's own early answers may stay",
		unobservable: "a permission, not a duty: nothing to check"},
	{id: "R-OBJ-1", summary: "UserInfo keys and their types"},
	{id: "R-OBJ-2", summary: "public answers carry no sessions, tokens, addresses or hashes"},
	{id: "R-OBJ-3", summary: "deviceSessions: own session first with the only accessToken"},
	{id: "R-OBJ-4", summary: "DeviceSession keys; ipAddress is the client's"},
	{id: "R-OBJ-5", summary: "DeviceInfo fields and transport"},
	{id: "R-OBJ-6", summary: "MediaInfo keys, preview size"},
	{id: "R-FLD-1", summary: "name: trimmed, 1..64, no control characters"},
	{id: "R-FLD-2", summary: "username: trimmed, ASCII-lower-cased, ^[a-z][a-z0-9]{4,24}$, unique"},
	{id: "R-FLD-3", summary: "passwords: 8..128 as sent, no control, not the username"},
	{id: "R-FLD-4", summary: "about: trimmed, 0..500"},
	{id: "R-FLD-5", summary: "accountKey: 25..100 as sent, no control"},
	{id: "R-FLD-6", summary: "deviceName 0..64, deviceToken 0..4096"},
	{id: "R-REG-1", summary: "POST /users: required fields, 409 taken, one winner of a race"},
	{id: "R-LOG-1", summary: "POST /users/login: Basic first, same 401 for unknown user and wrong password"},
	{id: "R-LOG-2", summary: "one session per device id, at most 50 sessions"},
	{id: "R-ME-1", summary: "GET /users/me: private UserInfo"},
	{id: "R-OUT-1", summary: "logout ends the caller's session only"},
	{id: "R-PW-1", summary: "change password: 403 wrong old, other sessions end"},
	{id: "R-KEY-1", summary: "set account key: 403 wrong password, replaces, never returned"},
	{id: "R-RST-1", summary: "reset password: same 403 for every failure, every session ends"},
	{id: "R-UPD-1", summary: "PUT /users/me: given fields validated and stored, others kept"},
	{id: "R-DEV-1", summary: "PUT /users/me/device: the caller's session's name and token"},
	{id: "R-GET-1", summary: "GET /users/<id>: 400 bad id, 404 unknown, public UserInfo"},
	{id: "R-SRCH-1", summary: "search: 2..64, case-insensitive, ordered, at most 50"},
	{id: "R-PHO-1", summary: "add photo: own upload, exact size, not twice, at most 10"},
	{id: "R-PHO-2", summary: "delete photo: 400 not a UUID, 404 not yours, files gone"},
	{id: "R-DEL-1", summary: "deregister with Basic; everything goes, ids not reused"},
	{id: "R-UPL-1", summary: "POST /uploads: File-Name, Content-Type, 409, 413, bare name"},
	{id: "R-UPL-2", summary: "GET /uploads: nosniff, inline only for images, no traversal"},
	{id: "R-UPL-3", summary: "previews: long side 350, never enlarged"},
	{id: "R-LIM-1", summary: "previews within a memory budget: a bomb is stored, without preview"},
	{id: "R-LIM-2", summary: "a user's uploads within a quota: 413 naming it, nothing left"},
	{id: "R-LIM-3", summary: "DELETE /uploads: owner only, 404 for others, 409 for a photo"},
	{id: "R-SEC-1", summary: "PBKDF2 hashes", unobservable: "hashes are never on the wire"},
	{id: "R-SEC-2", summary: "tokens: 43 characters of base64url"},
	{id: "R-SEC-3", summary: "no expiry by age by default; sessions end only in the listed ways"},
	{id: "R-SEC-3a", summary: "weak stored hashes never verify", unobservable: "stored hashes are never on the wire"},
	{id: "R-SEC-4", summary: "10 failures -> 429 with Retry-After; two counters"},
	{id: "R-SEC-5", summary: "bounded hashing: 503 with Retry-After, reads served during a storm"},
	{id: "R-SEC-6", summary: "server timeouts and header cap"},
	{id: "R-SES-1", summary: "createdAt, updatedAt recorded at most once a minute"},
	{id: "R-SES-2", summary: "lastSeen is the newest updatedAt"},
	{id: "R-STO-1", summary: "one Store, memory and file", unobservable: "storage is behind the API"},
	{id: "R-STO-2", summary: "acknowledged writes are durable", unobservable: "needs a crash of the server"},
	{id: "R-STO-3", summary: "write cost independent of data size", unobservable: "storage is behind the API"},
	{id: "R-STO-4", summary: "data file format and modes", unobservable: "storage is behind the API"},
	{id: "R-STO-5", summary: "corrupt data stops the server", unobservable: "storage is behind the API"},
	{id: "R-STO-6", summary: "rules hold across servers sharing a store",
		unobservable: "it takes several instances on one database"},
	{id: "R-TEST-1", summary: "test mode off by default; -dev says so", unobservable: "an optional mode of this server; the suite judges any server"},
	{id: "R-TEST-2", summary: "Prefer: code= and delay= in test mode only", unobservable: "an optional mode of this server; the suite judges any server"},
	{id: "R-TEST-3", summary: "-demo N, POST /dev/reset, POST /dev/clock", unobservable: "an optional mode of this server; the suite judges any server"},
}

// ruleID matches the rule IDs of docs/rules.md.
var ruleID = regexp.MustCompile(`\bR-[A-Z]+-[0-9]+[a-z]?\b`)

// endpointRef matches a citation of a numbered endpoint section of docs/api.md
// ("api.md §5"), and captures its number.
var endpointRef = regexp.MustCompile(`^api\.md §([0-9]+)$`)

// citation is one test's claim to check some rules, and how that test ended.
type citation struct {
	test   string
	refs   []string
	result string // "pass", "fail" or "skip"; "" while running
}

var citations struct {
	sync.Mutex
	list         []*citation
	knownSkipped []string // tests skipped as known bugs of the server under test
}

// cites records that the test checks the rules and the endpoint sections of docs/api.md
// named in refs ("R-PW-1", "api.md §5"). The report reads the outcome of every citing
// test.
func cites(t *testing.T, refs ...string) {
	t.Helper()
	skipIfKnownBug(t)
	for _, r := range refs {
		if !ruleID.MatchString(r) && !endpointRef.MatchString(r) {
			t.Fatalf("cites(%q): not a rule ID or an api.md section", r)
		}
	}
	c := &citation{test: t.Name(), refs: refs}
	citations.Lock()
	citations.list = append(citations.list, c)
	citations.Unlock()
	t.Cleanup(func() {
		result := "pass"
		switch {
		case t.Failed():
			result = "fail"
		case t.Skipped():
			result = "skip"
		}
		citations.Lock()
		c.result = result
		citations.Unlock()
	})
}

// outcome sums up the citations of one reference.
type outcome struct {
	pass, fail, skip []string
}

func (o outcome) result() string {
	switch {
	case len(o.fail) > 0:
		return "FAIL"
	case len(o.pass) > 0:
		return "pass"
	case len(o.skip) > 0:
		return "skip"
	}
	return "not run"
}

// writeReport writes the markdown report of every rule and endpoint section cited by
// the tests that ran, with links to the docs at docsLink(path).
func writeReport(path, where string, elapsed time.Duration) error {
	return os.WriteFile(path, []byte(report(where, elapsed, docsLink(path))), 0o644)
}

// report returns the markdown report of every rule and endpoint section cited by the
// tests that ran so far. Each rule links to its heading in docs/rules.md, and each
// endpoint section to its heading in docs/api.md, under docs, the address of the docs
// folder; with docs "", nothing is linked.
func report(where string, elapsed time.Duration, docs string) string {
	citations.Lock()
	byRef := map[string]*outcome{}
	for _, c := range citations.list {
		for _, r := range c.refs {
			o := byRef[r]
			if o == nil {
				o = &outcome{}
				byRef[r] = o
			}
			switch c.result {
			case "fail":
				o.fail = append(o.fail, c.test)
			case "skip":
				o.skip = append(o.skip, c.test)
			default:
				o.pass = append(o.pass, c.test)
			}
		}
	}
	known := slices.Sorted(slices.Values(citations.knownSkipped))
	citations.Unlock()

	var b strings.Builder
	fmt.Fprintf(&b, "# Users API conformance report\n\n")
	fmt.Fprintf(&b, "- Server: %s\n- Date: %s\n- Runtime: %s (%s)\n\n",
		where, time.Now().UTC().Format(time.RFC3339), elapsed.Round(100*time.Millisecond), runtime.Version())
	counts := map[string]int{}
	for _, r := range rules {
		if r.unobservable != "" && byRef[r.id] == nil {
			counts["n/a"]++
			continue
		}
		counts[byRef[r.id].resultOrNone()]++
	}
	fmt.Fprintf(&b, "Rules: %d pass, %d FAIL, %d skip, %d not run, %d not observable over HTTP.\n\n",
		counts["pass"], counts["FAIL"], counts["skip"], counts["not run"], counts["n/a"])

	b.WriteString("| Rule | Summary | Result | Tests |\n|---|---|---|---|\n")
	catalogued := map[string]bool{}
	for _, r := range rules {
		catalogued[r.id] = true
		o := byRef[r.id]
		if r.unobservable != "" && o == nil {
			fmt.Fprintf(&b, "| %s | %s | n/a | %s |\n", ruleLink(docs, r.id), r.summary, r.unobservable)
			continue
		}
		result := o.resultOrNone()
		for _, name := range known {
			if knownBugs[name].rule == r.id {
				result += " (known bug skipped)"
				break
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", ruleLink(docs, r.id), r.summary, result, o.tests())
	}
	var sections, unknown []string
	for ref := range byRef {
		switch {
		case endpointRef.MatchString(ref):
			sections = append(sections, ref)
		case !catalogued[ref]:
			unknown = append(unknown, ref)
		}
	}
	for _, ref := range unknown {
		fmt.Fprintf(&b, "| %s | (not in the catalogue) | %s | %s |\n", ref, byRef[ref].result(), byRef[ref].tests())
	}
	slices.SortFunc(sections, func(a, b string) int {
		return cmp.Compare(sectionNumber(a), sectionNumber(b))
	})
	anchors := endpointAnchors()
	b.WriteString("\n| api.md endpoint | Result | Tests |\n|---|---|---|\n")
	for _, s := range sections {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", sectionLink(docs, s, anchors), byRef[s].result(), byRef[s].tests())
	}
	if len(known) > 0 {
		b.WriteString("\nSkipped as known bugs of this project's server (CONFORMANCE_KNOWN_BUGS=run runs them):\n\n")
		for _, name := range known {
			fmt.Fprintf(&b, "- %s (%s): %s\n", name, knownBugs[name].rule, knownBugs[name].reason)
		}
	}
	return b.String()
}

func (o *outcome) resultOrNone() string {
	if o == nil {
		return "not run"
	}
	return o.result()
}

// tests lists the failing tests of a failed reference, else how many tests passed or
// skipped.
func (o *outcome) tests() string {
	if o == nil {
		return ""
	}
	if len(o.fail) > 0 {
		slices.Sort(o.fail)
		return "failed: " + strings.Join(o.fail, ", ")
	}
	s := fmt.Sprintf("%d passed", len(o.pass))
	if len(o.skip) > 0 {
		slices.Sort(o.skip)
		s += fmt.Sprintf(", %d skipped (%s)", len(o.skip), strings.Join(o.skip, ", "))
	}
	return s
}

func sectionNumber(ref string) int {
	m := endpointRef.FindStringSubmatch(ref)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// localDocs is this repository's docs folder, seen from the folder of the suite's
// package, where go test runs it.
const localDocs = "../docs"

// docsLink returns the address of the docs folder that the report written to
// reportPath links to: -conformance.docs or CONFORMANCE_DOCS when given (a URL or a
// path, used as it is), else the relative path from the report's folder to this
// repository's docs folder, so that the links work wherever the report is written. It
// is "" (no links) when neither is given and the docs folder has no rules.md.
func docsLink(reportPath string) string {
	if v := cmp.Or(*docsFlag, os.Getenv("CONFORMANCE_DOCS")); v != "" {
		return strings.TrimRight(v, "/")
	}
	docs, err := filepath.Abs(localDocs)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(docs, "rules.md")); err != nil {
		return ""
	}
	dir, err := filepath.Abs(filepath.Dir(reportPath))
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(dir, docs)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// ruleLink returns the rule ID as a link to its heading in rules.md under docs, or
// the bare ID when docs is "". A heading's anchor is its ID in lower case.
func ruleLink(docs, id string) string {
	if docs == "" {
		return id
	}
	return "[" + id + "](" + docs + "/rules.md#" + strings.ToLower(id) + ")"
}

// sectionLink returns an "api.md §N" reference as a link to that section of api.md
// under docs, or as it is when docs is "" or the section's anchor is not known.
func sectionLink(docs, ref string, anchors map[int]string) string {
	a, ok := anchors[sectionNumber(ref)]
	if docs == "" || !ok {
		return ref
	}
	return "[" + ref + "](" + docs + "/api.md#" + a + ")"
}

// endpointAnchors returns the anchors of the numbered endpoint sections of this
// repository's docs/api.md ("### 5. Change password: …"), by number; none when the page
// cannot be read.
func endpointAnchors() map[int]string {
	out := map[int]string{}
	b, err := os.ReadFile(filepath.Join(localDocs, "api.md"))
	if err != nil {
		return out
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		text, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "### ")
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(text, ". ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		out[n] = headingAnchor(text)
	}
	return out
}

// headingAnchor returns the anchor GitHub gives a heading: its text in lower case, a
// space becoming '-', and every character but letters, digits, '-' and '_' dropped.
func headingAnchor(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
