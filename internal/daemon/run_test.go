package daemon

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return Run(ctx, args, getenv, stdout, stderr)
}

// startRun runs the server as main would, on a free port, and returns its URL and a
// function that stops it and returns run's error and everything it logged.
func startRun(t *testing.T, args ...string) (url string, stop func() (error, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var logs strings.Builder
	done := make(chan error, 1)
	getenv := func(string) string { return "" }
	go func() {
		done <- run(ctx, append([]string{"usersd", "-addr", "127.0.0.1:0", "-pbkdf2-iterations", "1000"}, args...), getenv, outW, &logs)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no URL on stdout: %v; run returned %v; logs:\n%s", err, <-done, logs.String())
	}
	go io.Copy(io.Discard, outR)
	return strings.TrimSpace(line), func() (error, string) {
		cancel()
		select {
		case err := <-done:
			return err, logs.String()
		case <-time.After(15 * time.Second):
			t.Fatal("run did not return after its context ended")
			return nil, ""
		}
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	url, stop := startRun(t, "-store", "memory")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first stdout line %q, want the URL", url)
	}
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /healthz: %d", res.StatusCode)
	}
	if err, logs := stop(); err != nil {
		t.Errorf("run: %v\n%s", err, logs)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"usersd", "-store", "postgres"},
		{"usersd", "-pbkdf2-iterations", "10"},
		{"usersd", "extra"},
		{"usersd", "-no-such-flag"},
	} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}

func TestFlagsFallBackToEnvironment(t *testing.T) {
	env := map[string]string{"USERSD_ADDR": "127.0.0.1:9999", "USERSD_STORE": "memory", "USERSD_PBKDF2_ITERATIONS": "5000", "USERSD_CORS_ORIGINS": "http://localhost:5173"}
	c, err := parseFlags([]string{"usersd", "-addr", "127.0.0.1:1234"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:1234" || c.store != "memory" || c.iterations != 5000 || c.corsOrigins != "http://localhost:5173" {
		t.Errorf("config %+v: the flag wins over USERSD_ADDR, the environment fills the rest", c)
	}
}

func TestCORSPreflight(t *testing.T) {
	url, stop := startRun(t, "-store", "memory", "-cors-origins", "http://localhost:5173")
	defer stop()
	req, _ := http.NewRequest("OPTIONS", url+"/users/me", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" || !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	req.Header.Set("Origin", "http://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("an origin not listed was allowed")
	}
}

// TestRunFileStoreKeepsData covers R-STO-1 and R-STO-4 end to end: the default store is
// the file store, a restarted server still knows its users, and a second server on the
// same folder refuses to start.
func TestRunFileStoreKeepsData(t *testing.T) {
	data := t.TempDir()
	url, stop := startRun(t, "-data", data)
	body := `{"name":"Kept","username":"keptuser","password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`
	res, err := http.Post(url+"/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}

	err = run(context.Background(), []string{"usersd", "-addr", "127.0.0.1:0", "-data", data}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second server on the same folder: %v, want a clear 'in use' error", err)
	}
	if err, logs := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs)
	}

	url, stop = startRun(t, "-data", data)
	defer stop()
	res, err = http.Get(url + "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(got), `"username":"keptuser"`) {
		t.Errorf("after a restart GET /users/1: %d %s", res.StatusCode, got)
	}
}
