package conformance_test

import (
	"os"
	"testing"
)

// knownBugs lists the checks that this project's own server is known to fail, each
// with how it departs from docs/rules.md. They are skipped, with the reason in the test
// log and the report, only when testing that server: in-process, or when
// CONFORMANCE_KNOWN_BUGS=skip (as CI runs cmd/usersd). Against any other server, or with
// CONFORMANCE_KNOWN_BUGS=run, they run like every other check. An entry goes as soon as
// the server is fixed: run them with CONFORMANCE_KNOWN_BUGS=run to see.
//
// The list is empty: the server passes every check. An entry looks like
//
//	"TestUpload/An_empty_File-Name_is_400,_not_a_request_for_a_UUID": {"R-UPL-1",
//		"the server treats an empty File-Name as absent"},
var knownBugs = map[string]knownBug{}

// knownBug is a check the server fails: the rule it breaks and how.
type knownBug struct {
	rule, reason string
}

// skipKnownBugs tells whether the checks of knownBugs are skipped in this run.
func skipKnownBugs() bool {
	switch os.Getenv("CONFORMANCE_KNOWN_BUGS") {
	case "skip":
		return true
	case "run":
		return false
	}
	return inProcess
}

// inProcess is true when the suite tests the in-process server.
var inProcess bool

// skipIfKnownBug skips t if it is a known bug of this project's server under test.
func skipIfKnownBug(t *testing.T) {
	t.Helper()
	if bug, ok := knownBugs[t.Name()]; ok && skipKnownBugs() {
		citations.Lock()
		citations.knownSkipped = append(citations.knownSkipped, t.Name())
		citations.Unlock()
		t.Skipf("known server bug (%s): %s", bug.rule, bug.reason)
	}
}

// run is t.Run for the subtests of the suite: it skips the known bugs of this
// project's server (see knownBugs).
func run(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, func(t *testing.T) {
		skipIfKnownBug(t)
		f(t)
	})
}
