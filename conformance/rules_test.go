package conformance_test

import (
	"cmp"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rule is one entry of the rule catalogue: the IDs of decisions.md with a short summary,
// and for the rules no HTTP test can observe, why.
type rule struct {
	id, summary  string
	unobservable string // non-empty: why the suite cannot check the rule over HTTP
}

// rules lists every rule of decisions.md, in its order. The report shows each with the
// outcome of the tests that cite it.
var rules = []rule{
	{id: "R-WIRE-1", summary: "paths exactly as in users-api, /users?s= and /users/?s= alike"},
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
}

// ruleID matches the rule IDs of decisions.md.
var ruleID = regexp.MustCompile(`\bR-[A-Z]+-[0-9]+[a-z]?\b`)

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

// cites records that the test checks the users-api sections and rules named in refs
// ("users-api §5", "R-PW-1"). The report reads the outcome of every citing test.
func cites(t *testing.T, refs ...string) {
	t.Helper()
	skipIfKnownBug(t)
	for _, r := range refs {
		if !ruleID.MatchString(r) && !strings.HasPrefix(r, "users-api §") {
			t.Fatalf("cites(%q): not a rule ID or a users-api section", r)
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

// writeReport writes the markdown report of every rule and section cited by the tests
// that ran.
func writeReport(path, where string, elapsed time.Duration) error {
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
			fmt.Fprintf(&b, "| %s | %s | n/a | %s |\n", r.id, r.summary, r.unobservable)
			continue
		}
		result := o.resultOrNone()
		for _, name := range known {
			if knownBugs[name].rule == r.id {
				result += " (known bug skipped)"
				break
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.id, r.summary, result, o.tests())
	}
	var sections, unknown []string
	for ref := range byRef {
		switch {
		case strings.HasPrefix(ref, "users-api §"):
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
	b.WriteString("\n| users-api section | Result | Tests |\n|---|---|---|\n")
	for _, s := range sections {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s, byRef[s].result(), byRef[s].tests())
	}
	if len(known) > 0 {
		b.WriteString("\nSkipped as known bugs of this project's server (CONFORMANCE_KNOWN_BUGS=run runs them):\n\n")
		for _, name := range known {
			fmt.Fprintf(&b, "- %s (%s): %s\n", name, knownBugs[name].rule, knownBugs[name].reason)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
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
	var n int
	fmt.Sscanf(strings.TrimPrefix(ref, "users-api §"), "%d", &n)
	return n
}
