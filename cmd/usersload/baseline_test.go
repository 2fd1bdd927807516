package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
)

// TestMain lets the test binary be the baseline child, as usersload is for itself.
func TestMain(m *testing.M) {
	if os.Getenv(baselineEnv) != "" {
		if err := serveBaselineChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
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
