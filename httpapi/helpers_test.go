package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/storage"
	"usersapi/users"
)

// clock is a settable clock for tests of time-dependent rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one server under test, with its store and clock at hand.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	store users.Store
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := storage.NewMemory()
	clk := &clock{t: time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)}
	svc := users.NewService(users.Config{
		Store:  store,
		Hasher: auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens: auth.Tokens{},
		Now:    clk.Now,
	})
	srv := httptest.NewServer(httpapi.NewServer(svc, httpapi.Options{}))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, store: store, clock: clk}
}

// response is an answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request. body may be nil, a string (sent as is) or a value encoded as JSON.
func (e *env) do(method, path string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func bearerH(token string) []string { return []string{"Authorization", "Bearer " + token} }

func basicH(username, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))}
}

var seq atomic.Int64

// newDevice returns a fresh DeviceInfo body.
func newDevice() map[string]any {
	return map[string]any{"id": users.NewUUID(), "name": "laptop", "model": "x1"}
}

// user is a registered test user.
type user struct {
	id       int64
	username string
	password string
	token    string
	device   map[string]any
}

// register registers a fresh user and returns it.
func (e *env) register() user {
	e.t.Helper()
	u := user{username: fmt.Sprintf("user%d", seq.Add(1)), password: "correct horse", device: newDevice()}
	res := e.do("POST", "/users", map[string]any{"name": "Test User", "username": u.username, "password": u.password, "deviceInfo": u.device})
	if res.status != 200 {
		e.t.Fatalf("register: %d %s", res.status, res.body)
	}
	m := res.json(e.t)
	u.id = int64(m["id"].(float64))
	u.token = m["deviceSessions"].([]any)[0].(map[string]any)["accessToken"].(string)
	return u
}

// login logs u in from device and returns the new token.
func (e *env) login(u user, device map[string]any) string {
	e.t.Helper()
	res := e.do("POST", "/users/login", map[string]any{"deviceInfo": device}, basicH(u.username, u.password)...)
	if res.status != 200 {
		e.t.Fatalf("login: %d %s", res.status, res.body)
	}
	return res.json(e.t)["deviceSessions"].([]any)[0].(map[string]any)["accessToken"].(string)
}

// wantStatus fails unless res has the status; an error status must carry the error body.
func wantStatus(t *testing.T, what string, res response, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, res.status, status, res.body)
	}
	if status >= 400 {
		m := res.json(t)
		if m["error"] != true || m["reason"] == "" || len(m) != 2 {
			t.Fatalf("%s: error body %s, want {\"error\": true, \"reason\": …} (R-WIRE-4)", what, res.body)
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
	}
	if status == 200 && res.header.Get("Content-Type") == "" && (len(res.body) != 0 || res.header.Get("Content-Length") != "0") {
		t.Errorf("%s: an OK answer must be empty with Content-Length 0 (R-WIRE-3), got %q", what, res.body)
	}
}
