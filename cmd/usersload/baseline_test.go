package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestMain lets the test binary be the baseline child, as usersload is for itself.
func TestMain(m *testing.M) {
	asBaselineChild()
	os.Exit(m.Run())
}

// TestBaselineProcess checks that the baseline of a -target run is served by another
// process with exactly the body given, and that closing it stops that process.
func TestBaselineProcess(t *testing.T) {
	body := []byte(`{"id":1,"name":"Ada Lovelace"}` + "\n")
	p, err := startBaselineProcess(body)
	if err != nil {
		t.Fatal(err)
	}
	if p.cmd.Process.Pid == os.Getpid() {
		t.Fatal("the baseline runs in this process")
	}
	resp, err := http.Get(p.url + "/users/me")
	if err != nil {
		p.close()
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("GET %s: %s %q, Content-Type %q; want 200 %q", p.url, resp.Status, got, resp.Header.Get("Content-Type"), body)
	}
	p.close()
	if p.cmd.ProcessState == nil || !p.cmd.ProcessState.Success() {
		t.Errorf("the baseline process did not end cleanly: %v", p.cmd.ProcessState)
	}
	http.DefaultClient.CloseIdleConnections()
	if resp, err := http.Get(p.url); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s after close: %s, want no answer", p.url, resp.Status)
	}
}

// TestTargetBaseline runs the me scenario against a server at a URL, with the baseline
// in a process of its own and, with -baseline-here, in this one, and checks that the
// table says which.
func TestTargetBaseline(t *testing.T) {
	srv, err := startInProcess(context.Background(), config{users: 1, iterations: 1000, store: "memory", seedKey: "t"}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	for _, tc := range []struct {
		flag, note string
	}{
		{"-baseline-here=false", "note: the baseline, like the server, runs in a process of its own"},
		{"-baseline-here", "note: the baseline runs in this process and the server in another"},
	} {
		var out, errs bytes.Buffer
		args := []string{"usersload", "-target", srv.url, tc.flag, "-users", "5", "-scenarios", "me",
			"-d", "200ms", "-slice", "100ms", "-warmup", "0", "-c", "2", "-pbkdf2-iterations", "1000"}
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
			t.Fatalf("%s: run: %v\nstderr:\n%s", tc.flag, err, errs.String())
		}
		if !strings.Contains(out.String(), tc.note) {
			t.Errorf("%s: no %q in the table:\n%s", tc.flag, tc.note, out.String())
		}
		for _, row := range []string{"baseline", "me"} {
			if !regexp.MustCompile(`(?m)^ +` + row + ` +2 +[1-9][0-9]* +0 `).MatchString(out.String()) {
				t.Errorf("%s: no %s row with requests and no errors:\n%s", tc.flag, row, out.String())
			}
		}
	}
}
