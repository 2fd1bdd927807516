// Package faults checks the conformance suite itself: it starts this project's server
// in-process behind reverse proxies that each break one rule, runs the relevant tests
// of the suite against every proxy, and fails unless the suite fails too. A control run
// through a faithful proxy must pass, so that each failure is the fault's doing.
package faults_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"usersapi/conformance/internal/inprocess"
)

// fault is one way a server can be broken, and the tests of the suite that must see it.
type fault struct {
	name string
	run  string // -test.run pattern of the suite tests that must fail
	// intercept, if set, may answer the request itself instead of the server.
	intercept func(w http.ResponseWriter, r *http.Request) bool
	// modify, if set, changes the server's answer.
	modify func(resp *http.Response) error
	// wrap, if set, wraps the whole proxy.
	wrap func(next http.Handler) http.Handler
}

var faults = []fault{
	{
		name: "logout answered OK but not forwarded",
		run:  "^TestLogout$",
		intercept: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == "POST" && r.URL.Path == "/users/me/logout" {
				w.Header().Set("Content-Length", "0")
				w.WriteHeader(200)
				return true
			}
			return false
		},
	},
	{
		name: "accessToken dropped from answers",
		run:  "^(TestRegister|TestLogin|TestMe)$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			walk(v, func(m map[string]any) { delete(m, "accessToken") })
			return v
		}),
	},
	{
		name: "401 answered as 200",
		run:  "^(TestMe|TestChallenges)$",
		modify: func(r *http.Response) error {
			if r.StatusCode == 401 {
				r.StatusCode, r.Status = 200, "200 OK"
			}
			return nil
		},
	},
	{
		name: "dates written without the T and Z",
		run:  "^(TestUserInfoShape|TestRegister)$",
		modify: rewriteBody(func(r *http.Response, b []byte) []byte {
			return dateRE.ReplaceAll(b, []byte(`"$1 $2"`))
		}),
	},
	{
		name: "search answering []",
		run:  "^TestSearch$",
		modify: rewriteBody(func(r *http.Response, b []byte) []byte {
			if r.StatusCode == 200 && strings.TrimSuffix(r.Request.URL.Path, "/") == "/users" {
				return []byte("[]")
			}
			return b
		}),
	},
	{
		name: "search results in reverse order",
		run:  "^TestSearch$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			if a, ok := v.([]any); ok {
				slices.Reverse(a)
			}
			return v
		}),
	},
	{
		name: "JSON answered as text/plain",
		run:  "^TestMe$",
		modify: func(r *http.Response) error {
			if r.Header.Get("Content-Type") == "application/json; charset=utf-8" && r.StatusCode == 200 {
				r.Header.Set("Content-Type", "text/plain; charset=utf-8")
			}
			return nil
		},
	},
	{
		name: "OK answered with {}",
		run:  "^(TestLogout|TestUpdateUser)$",
		modify: rewriteBody(func(r *http.Response, b []byte) []byte {
			if r.StatusCode == 200 && len(b) == 0 && r.Request.Method != "HEAD" {
				return []byte("{}")
			}
			return b
		}),
	},
	{
		name: "errors without the error key",
		run:  "^TestGetUser$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			if m, ok := v.(map[string]any); ok && r.StatusCode >= 400 {
				delete(m, "error")
			}
			return v
		}),
	},
	{
		name: "WWW-Authenticate dropped",
		run:  "^TestChallenges$",
		modify: func(r *http.Response) error {
			r.Header.Del("WWW-Authenticate")
			return nil
		},
	},
	{
		name: "Allow dropped from 405",
		run:  "^TestRoutes$",
		modify: func(r *http.Response) error {
			r.Header.Del("Allow")
			return nil
		},
	},
	{
		name: "no throttling: 429 answered as 401",
		run:  "^TestLoginThrottle$",
		modify: func(r *http.Response) error {
			if r.StatusCode == 429 {
				r.StatusCode, r.Status = 401, "401 Unauthorized"
				r.Header.Del("Retry-After")
			}
			return nil
		},
	},
	{
		name: "Retry-After dropped",
		run:  "^TestLoginThrottle$",
		modify: func(r *http.Response) error {
			r.Header.Del("Retry-After")
			return nil
		},
	},
	{
		name: "public answers leak deviceSessions",
		run:  "^TestGetUser$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			if m, ok := v.(map[string]any); ok && r.Request.URL.Path != "/users/me" && r.Request.Method == "GET" {
				m["deviceSessions"] = []any{}
			}
			return v
		}),
	},
	{
		name: "username not lower-cased",
		run:  "^TestRegister$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			if m, ok := v.(map[string]any); ok {
				if s, ok := m["username"].(string); ok {
					m["username"] = strings.ToUpper(s[:1]) + s[1:]
				}
			}
			return v
		}),
	},
	{
		name: "nosniff dropped from files",
		run:  "^TestDownload$",
		modify: func(r *http.Response) error {
			r.Header.Del("X-Content-Type-Options")
			return nil
		},
	},
	{
		name: "files served inline as text/html",
		run:  "^TestDownload$",
		modify: func(r *http.Response) error {
			if r.Header.Get("Content-Disposition") != "" {
				r.Header.Del("Content-Disposition")
				r.Header.Set("Content-Type", "text/html")
			}
			return nil
		},
	},
	{
		name: "wrong preview size in MediaInfo",
		run:  "^TestPhotos$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			walk(v, func(m map[string]any) {
				if n, ok := m["previewHeight"].(float64); ok {
					m["previewHeight"] = n + 1
				}
			})
			return v
		}),
	},
	{
		name: "photos oldest first",
		run:  "^TestPhotos$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			walk(v, func(m map[string]any) {
				if a, ok := m["photos"].([]any); ok {
					slices.Reverse(a)
				}
			})
			return v
		}),
	},
	{
		name: "uploads over the cap accepted",
		run:  "^TestUploadLimit$",
		modify: func(r *http.Response) error {
			if r.StatusCode == 413 {
				r.StatusCode, r.Status = 200, "200 OK"
			}
			return nil
		},
	},
	{
		name: "ids of deleted users reused",
		run:  "^TestDeregister$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			if m, ok := v.(map[string]any); ok && r.Request.Method == "POST" && r.Request.URL.Path == "/users" {
				if _, ok := m["id"].(float64); ok {
					m["id"] = 1
				}
			}
			return v
		}),
	},
	{
		name: "409 answered as 200",
		run:  "^(TestRegisterRace|TestUpload)$",
		modify: func(r *http.Response) error {
			if r.StatusCode == 409 {
				r.StatusCode, r.Status = 200, "200 OK"
			}
			return nil
		},
	},
	{
		name: "OK sent chunked, without Content-Length: 0",
		run:  "^TestLogout$",
		wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					if k != "Content-Length" {
						w.Header()[k] = v
					}
				}
				w.WriteHeader(rec.Code)
				w.(http.Flusher).Flush() // headers out before the body: no length, chunked
				w.Write(rec.Body.Bytes())
			})
		},
	},
	{
		name: "405 answered as 404",
		run:  "^TestRoutes$",
		modify: func(r *http.Response) error {
			if r.StatusCode == 405 {
				r.StatusCode, r.Status = 404, "404 Not Found"
			}
			return nil
		},
	},
	{
		name: "a profile update ends the caller's session",
		run:  "^TestSessionEnds$",
		modify: func(r *http.Response) error {
			if r.StatusCode != 200 || r.Request.Method != "PUT" || r.Request.URL.Path != "/users/me" {
				return nil
			}
			logout := *r.Request.URL
			logout.Path = "/users/me/logout"
			req, err := http.NewRequest("POST", logout.String(), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", r.Request.Header.Get("Authorization"))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			return res.Body.Close()
		},
	},
	{
		name: "every session shows its token",
		run:  "^(TestLogin|TestMe|TestSessionList)$",
		modify: rewriteJSON(func(r *http.Response, v any) any {
			walk(v, func(m map[string]any) {
				if s, ok := m["deviceSessions"].([]any); ok {
					for _, e := range s {
						if e, ok := e.(map[string]any); ok {
							if _, ok := e["accessToken"]; !ok {
								e["accessToken"] = strings.Repeat("A", 43)
							}
						}
					}
				}
			})
			return v
		}),
	},
}

// dateRE matches the dates of R-WIRE-8 inside JSON.
var dateRE = regexp.MustCompile(`"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z"`)

func TestSuiteCatchesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the suite once per fault")
	}
	suite := buildSuite(t)
	srv, err := inprocess.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	runSuite := func(t *testing.T, f fault) (string, error) {
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = f.modify
		proxy.ErrorLog = nil
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f.intercept != nil && f.intercept(w, r) {
				return
			}
			proxy.ServeHTTP(w, r)
		})
		var handler http.Handler = h
		if f.wrap != nil {
			handler = f.wrap(h)
		}
		front := httptest.NewServer(handler)
		defer front.Close()
		cmd := exec.Command(suite, "-test.run", f.run, "-test.count=1")
		cmd.Env = append(os.Environ(),
			"USERS_BASE_URL="+front.URL,
			"USERS_UPLOAD_LIMIT="+strconv.FormatInt(srv.MaxUpload, 10),
			"CONFORMANCE_KNOWN_BUGS=skip", // the server behind the proxies is ours
		)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("A faithful proxy passes", func(t *testing.T) {
		var patterns []string
		for _, f := range faults {
			patterns = append(patterns, strings.Trim(f.run, "^$()"))
		}
		out, err := runSuite(t, fault{run: "^(" + strings.Join(patterns, "|") + ")$"})
		if err != nil {
			t.Fatalf("the suite fails through a faithful proxy (%v):\n%s", err, out)
		}
	})
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			out, err := runSuite(t, f)
			if err == nil {
				t.Fatalf("the suite (%s) passes against a server with the fault %q:\n%s", f.run, f.name, out)
			}
			if !strings.Contains(out, "--- FAIL") {
				t.Fatalf("the suite did not run to a test failure (%v):\n%s", err, out)
			}
		})
	}
}

// buildSuite compiles the conformance tests once into a binary.
func buildSuite(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "conformance.test")
	out, err := exec.Command(goTool, "test", "-c", "-o", bin, "usersapi/conformance").CombinedOutput()
	if err != nil {
		t.Fatalf("building the suite: %v\n%s", err, out)
	}
	return bin
}

// rewriteBody returns a ModifyResponse that replaces the body by edit's result.
func rewriteBody(edit func(r *http.Response, b []byte) []byte) func(*http.Response) error {
	return func(r *http.Response) error {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		b = edit(r, b)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
}

// rewriteJSON returns a ModifyResponse that edits JSON bodies as decoded values.
func rewriteJSON(edit func(r *http.Response, v any) any) func(*http.Response) error {
	return rewriteBody(func(r *http.Response, b []byte) []byte {
		var v any
		if len(b) == 0 || json.Unmarshal(b, &v) != nil {
			return b
		}
		out, err := json.Marshal(edit(r, v))
		if err != nil {
			return b
		}
		return out
	})
}

// walk calls f on every object inside v.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, e := range v {
			walk(e, f)
		}
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	}
}
