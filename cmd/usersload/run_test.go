package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"usersapi/internal/seed"
	"usersapi/storage"
)

// TestScenarios runs every scenario briefly against the in-process server and checks
// that each one did some work without a single error.
func TestScenarios(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"usersload", "-users", "100", "-d", "200ms", "-slice", "100ms", "-warmup", "0",
		"-c", "2", "-login-c", "2", "-pbkdf2-iterations", "1000", "-json"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errs.String())
	}
	got := map[string]Result{}
	dec := json.NewDecoder(strings.NewReader(out.String()[strings.IndexByte(out.String(), '{'):]))
	for {
		var r Result
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding the results: %v\nstdout:\n%s", err, out.String())
		}
		got[r.Scenario] = r
	}
	for _, name := range append([]string{"baseline", "pbkdf2"}, allScenarios...) {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no result; stdout:\n%s", name, out.String())
		case r.Requests == 0 || r.PerSecond <= 0:
			t.Errorf("%s: %d requests, %.1f/s; want some", name, r.Requests, r.PerSecond)
		case r.Errors != 0:
			t.Errorf("%s: %d errors, the first: %s", name, r.Errors, r.FirstError)
		}
	}
	for _, name := range allScenarios {
		want := "baseline"
		if name == "login" {
			want = "pbkdf2"
		}
		if r := got[name]; r.RatioTo != want || r.Ratio <= 0 {
			t.Errorf("%s: ratio %.2f to %q, want a ratio to %q", name, r.Ratio, r.RatioTo, want)
		}
	}
}

// TestSeedOnly checks that -seed-only reports what seeding took and serves nothing.
func TestSeedOnly(t *testing.T) {
	out := runOK(t, "-seed-only", "-users", "50", "-sessions", "3", "-photos", "2")
	for _, want := range []string{"seeded 50 users (3 sessions, 2 photos each)", "per 1,000,000 users"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestSeedFileStore seeds a file store as usersd opens it, then loads it again with
// -seeded: the tokens the tool computes must open the sessions stored the first time.
func TestSeedFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	runOK(t, "-seed-only", "-store", "file", "-data", dir, "-users", "30", "-sessions", "2")
	f, err := storage.OpenFile(dir, &storage.FileOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.User(context.Background(), 30)
	f.Close()
	if err != nil || u.Username != seed.Username(30) {
		t.Fatalf("user 30 of the seeded folder: %+v, %v", u, err)
	}
	out := runOK(t, "-store", "file", "-data", dir, "-seeded", "-users", "30", "-sessions", "2",
		"-scenarios", "me,get", "-d", "100ms", "-warmup", "0", "-c", "2", "-baseline=false")
	if !strings.Contains(out, "opened the file store") || strings.Contains(out, "seeded") {
		t.Errorf("stdout:\n%s", out)
	}
}

// runOK runs the tool with a cheap PBKDF2 count and returns its stdout.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	args = append([]string{"usersload", "-q", "-pbkdf2-iterations", "1000"}, args...)
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("run %q: %v\nstderr:\n%s", args, err, errs.String())
	}
	return out.String()
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scenarios", "me,nope"},
		{"-users", "0"},
		{"-sessions", "50"},
		{"-seeded"},
		{"-store", "disk"},
		{"-seed-only", "-target", "http://localhost:8080"},
		{"extra"},
	} {
		_, err := parseFlags(append([]string{"usersload"}, args...), func(string) string { return "" }, io.Discard)
		if err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

// TestServersInTurn checks that with several servers (-target a,b,c) the requests go to
// each in turn, and with one all go to it.
func TestServersInTurn(t *testing.T) {
	l := &loader{bases: []string{"http://a", "http://b", "http://c"}}
	var got []string
	for range 6 {
		got = append(got, l.at("/users/me"))
	}
	want := []string{"http://b/users/me", "http://c/users/me", "http://a/users/me", "http://b/users/me", "http://c/users/me", "http://a/users/me"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("three servers: got %v, want %v", got, want)
	}
	one := &loader{bases: []string{"http://a"}}
	for range 3 {
		if u := one.at("/users"); u != "http://a/users" {
			t.Errorf("one server: got %s", u)
		}
	}
}
