package users

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)

// try reserves a check of key and ends it with o, as the Service does.
func try(t *testing.T, th *throttle, key string, now time.Time, o Outcome) {
	t.Helper()
	if wait, _ := th.begin(key, now); wait != 0 {
		t.Fatalf("begin(%q) at %v: blocked for %v, want a check", key, now, wait)
	}
	th.end(key, now, o)
}

// TestThrottleWindow covers R-SEC-4: limit failures within the window block the key
// until the oldest leaves it; a success clears the count; keys are independent.
func TestThrottleWindow(t *testing.T) {
	th := newThrottle(3, time.Minute, 100)
	for i := range 3 {
		try(t, th, "alice", t0.Add(time.Duration(i)*10*time.Second), Failed)
	}
	if got, _ := th.begin("alice", t0.Add(25*time.Second)); got != 35*time.Second {
		t.Errorf("after 3 failures at 0s, 10s, 20s: blocked for %v at 25s, want 35s", got)
	}
	if got, _ := th.begin("bob", t0.Add(25*time.Second)); got != 0 {
		t.Errorf("another key: blocked for %v, want 0", got)
	}
	th.end("bob", t0, Abandoned)
	if got, _ := th.begin("alice", t0.Add(time.Minute-time.Nanosecond)); got != time.Nanosecond {
		t.Errorf("a nanosecond before the first failure leaves the window: blocked for %v, want 1ns", got)
	}
	// At 60s the first failure has left the window: one more check is allowed, and
	// failing it blocks again until the second failure leaves.
	try(t, th, "alice", t0.Add(time.Minute), Failed)
	if got, _ := th.begin("alice", t0.Add(time.Minute)); got != 10*time.Second {
		t.Errorf("after a fourth failure at 60s: blocked for %v, want 10s", got)
	}
	try(t, th, "alice", t0.Add(80*time.Second), Succeeded)
	for range 2 {
		try(t, th, "alice", t0.Add(81*time.Second), Failed)
	}
	if got, _ := th.begin("alice", t0.Add(81*time.Second)); got != 0 {
		t.Errorf("2 failures after a success: blocked for %v, want 0 (the success cleared the count)", got)
	}
	th.end("alice", t0, Abandoned)
	th.clear("alice")
	if failing, checking := th.size(); failing != 0 || checking != 0 {
		t.Errorf("after clear: %d keys failing and %d checking, want none", failing, checking)
	}
}

// TestThrottleChecksUnderWay covers the reservation: checks under way count against
// the limit, an abandoned check counts nothing, and the bookkeeping is dropped when
// the checks end.
func TestThrottleChecksUnderWay(t *testing.T) {
	th := newThrottle(3, time.Minute, 100)
	try(t, th, "alice", t0, Failed)
	for i := range 2 {
		if got, _ := th.begin("alice", t0); got != 0 {
			t.Fatalf("check %d under way: blocked for %v, want 0", i, got)
		}
	}
	got, turn := th.begin("alice", t0)
	if got != 0 || turn == nil {
		t.Fatalf("1 failure and 2 checks under way: blocked for %v with turn %v, want 0 and a turn to wait for", got, turn)
	}
	select {
	case <-turn:
		t.Fatal("the turn came before any check ended")
	default:
	}
	th.end("alice", t0, Abandoned)
	select {
	case <-turn:
	default:
		t.Fatal("a check ended, and the turn did not come")
	}
	if got, turn := th.begin("alice", t0); got != 0 || turn != nil {
		t.Errorf("after a check was abandoned: blocked for %v with turn %v, want 0 and none", got, turn)
	}
	th.end("alice", t0, Failed)
	th.end("alice", t0, Failed)
	if got, _ := th.begin("alice", t0.Add(time.Second)); got != time.Minute-time.Second {
		t.Errorf("after 3 failures: blocked for %v, want 59s", got)
	}
	if _, checking := th.size(); checking != 0 {
		t.Errorf("%d keys checking after every check ended, want 0", checking)
	}
}

// TestThrottleIsBounded covers the bound: a flood of made-up keys far beyond the cap
// keeps the throttle at the cap, forgetting the keys that failed least recently.
func TestThrottleIsBounded(t *testing.T) {
	const max = 1000
	th := newThrottle(MaxFailures, FailureWindow, max)
	for range 3 {
		try(t, th, "victim", t0, Failed)
	}
	for i := range 50 * max {
		try(t, th, fmt.Sprintf("made-up-%d", i), t0, Failed)
		if i%max == 0 {
			try(t, th, "busy", t0, Abandoned) // abandoned checks do not keep a key
		}
	}
	failing, checking := th.size()
	if failing != max || checking != 0 {
		t.Errorf("after %d made-up keys: %d keys failing, %d checking; want %d and 0", 50*max, failing, checking, max)
	}
	th.mu.Lock()
	_, victim := th.byKey["victim"]
	_, recent := th.byKey[fmt.Sprintf("made-up-%d", 50*max-1)]
	th.mu.Unlock()
	if victim || !recent {
		t.Errorf("victim kept %v, most recent kept %v; want the least recent forgotten", victim, recent)
	}
	if len(th.byKey) != th.lru.Len() {
		t.Errorf("map holds %d keys, list %d", len(th.byKey), th.lru.Len())
	}
}

// TestServiceThrottleIsBounded: through the Service, made-up usernames leave the
// password throttle at its cap.
func TestServiceThrottleIsBounded(t *testing.T) {
	s := NewService(Config{})
	pw, key := s.passwordFailures.(*throttle), s.keyFailures.(*throttle)
	if pw.max != throttleEntries || key.max != throttleEntries {
		t.Fatalf("caps %d and %d, want %d", pw.max, key.max, throttleEntries)
	}
	pw.max = 100
	for i := range 10_000 {
		done, err := s.beginCheck(context.Background(), s.passwordFailures, passwordKey(fmt.Sprintf("user%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		done(Failed)
	}
	if failing, checking := pw.size(); failing != 100 || checking != 0 {
		t.Errorf("%d keys failing, %d checking; want 100 and 0", failing, checking)
	}
}

// TestPasswordKey: the throttle key is the username as login reads it, and stays short
// whatever a client sends, so a throttle full of made-up names stays small.
func TestPasswordKey(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"alice", " ALICE "},
		{"Bad User!", "bad user!"},
		{"\u212Aelvin", "\u212Aelvin "},
	} {
		if ka, kb := passwordKey(c.a), passwordKey(c.b); ka != kb {
			t.Errorf("passwordKey(%q) = %q, passwordKey(%q) = %q; want one key", c.a, ka, c.b, kb)
		}
	}
	if k := passwordKey(" Alice "); k != "alice" {
		t.Errorf(`passwordKey(" Alice ") = %q, want "alice"`, k)
	}
	if passwordKey("bad user!") == passwordKey("bad user?") || passwordKey("\u212Aelvin") == passwordKey("kelvin") {
		t.Error("two different usernames share a key")
	}
	for _, s := range []string{strings.Repeat("x", 64<<10), strings.Repeat("é", 30), "bad user!"} {
		if k := passwordKey(s); len(k) > 2*UsernameMax {
			t.Errorf("passwordKey of %d bytes is %d bytes long, want at most %d", len(s), len(k), 2*UsernameMax)
		}
	}
}
