package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"usersapi/httpapi"
	"usersapi/users"
)

// devClock is the test clock with the offset the test mode reports.
type devClock struct {
	*clock
	offset time.Duration
}

func (c *devClock) Offset() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.offset }
func (c *devClock) Advance(d time.Duration) {
	c.clock.Advance(d)
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// devEnv is a server in the test mode that keeps files, allowing the origin
// http://app.example by CORS.
type devEnv struct {
	*env
	dir    string // the uploads folder
	resets atomic.Int64
}

const devOrigin = "http://app.example"

func newDevEnv(t *testing.T) *devEnv {
	t.Helper()
	e := &devEnv{}
	u := newUploadEnvWith(t, 0, func(clk *clock) httpapi.Options {
		dev := &httpapi.Dev{
			Reset: func(context.Context) error { e.resets.Add(1); return nil },
			Clock: &devClock{clock: clk},
		}
		return httpapi.Options{CORSOrigins: []string{devOrigin}, Dev: dev}
	})
	e.env, e.dir = u.env, u.dir
	return e
}

// path fills the wildcards of a route's path.
func fillPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{id}", "1")
	path = strings.ReplaceAll(path, "{file}", users.NewUUID()+".png")
	if strings.HasPrefix(pattern, "DELETE /users/me/photos/") {
		path = "/users/me/photos/" + users.NewUUID()
	}
	return method, path
}

// errorKeys returns the keys of an error body, sorted.
func errorKeys(t *testing.T, res response) []string {
	t.Helper()
	var keys []string
	for k := range res.json(t) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestDevForcedEveryRoute forces every code each route can give, with valid
// credentials and a body, and checks the answer: the status, the error body saying it
// was forced, the headers of that status, Preference-Applied, and the mode.
//
// R-TEST-2.
func TestDevForcedEveryRoute(t *testing.T) {
	e := newDevEnv(t)
	u := e.register()
	statuses := httpapi.ForcibleStatuses()
	for _, route := range httpapi.Routes() {
		codes, ok := statuses[route]
		if !ok {
			t.Errorf("%s: no forcible statuses", route)
			continue
		}
		codes = append(codes, 405)
		slices.Sort(codes)
		for _, code := range codes {
			method, path := fillPath(route)
			auth := bearerH(u.token)
			if route == "POST /users/login" || route == "DELETE /users/me" {
				auth = basicH(u.username, u.password)
			}
			var body any
			if method == "POST" || method == "PUT" {
				body = map[string]any{}
			}
			what := route + " code=" + strconv.Itoa(code)
			res := e.do(method, path, body, append(auth, "Prefer", "code="+strconv.Itoa(code), "Origin", devOrigin)...)
			wantStatus(t, what, res, code)
			if r := res.json(t)["reason"].(string); !strings.Contains(r, "forced") {
				t.Errorf("%s: reason %q does not say it was forced", what, r)
			}
			if got := res.header.Get("Preference-Applied"); got != "code="+strconv.Itoa(code) {
				t.Errorf("%s: Preference-Applied %q", what, got)
			}
			if got := res.header.Get("Usersd-Mode"); got != "dev" {
				t.Errorf("%s: Usersd-Mode %q", what, got)
			}
			if got := res.header.Get("Access-Control-Allow-Origin"); got != devOrigin {
				t.Errorf("%s: Access-Control-Allow-Origin %q", what, got)
			}
			wantAuth := map[bool]string{true: `Basic realm="users", charset="UTF-8"`, false: `Bearer realm="users"`}[strings.Contains(auth[1], "Basic")]
			if got := res.header.Get("WWW-Authenticate"); code == 401 && got != wantAuth || code != 401 && got != "" {
				t.Errorf("%s: WWW-Authenticate %q", what, got)
			}
			if got := res.header.Get("Retry-After"); (code == 429 || code == 503) != (got == "1") {
				t.Errorf("%s: Retry-After %q", what, got)
			}
			if got := res.header.Get("Allow"); (code == 405) != (got != "") {
				t.Errorf("%s: Allow %q", what, got)
			}
		}
	}
	if res := e.do("HEAD", "/uploads/"+users.NewUUID()+".png", nil, "Prefer", "code=416"); res.status != 416 || len(res.body) != 0 || res.header.Get("Preference-Applied") != "code=416" {
		t.Errorf("HEAD code=416: %d %v %q", res.status, res.header, res.body)
	}
	// Nothing of it happened: the user is there with the same password and name, and no
	// file was written.
	e.login(u, newDevice())
	if res := e.do("GET", "/users/me", nil, bearerH(u.token)...); !strings.Contains(string(res.body), `"name":"Test User"`) {
		t.Errorf("after the forced answers GET /users/me: %s", res.body)
	}
	if entries, _ := os.ReadDir(e.dir); len(entries) != 0 {
		t.Errorf("the forced answers left %d entries in the uploads folder", len(entries))
	}
}

// TestDevForcedLikeReal provokes real errors and forces the same statuses on the same
// routes, and compares the two answers: the same header names, the same values where
// they are deterministic, the same keys in the body.
//
// R-TEST-2.
func TestDevForcedLikeReal(t *testing.T) {
	e := newDevEnv(t)
	taken := e.register()
	locked := e.register()
	other := e.register()
	register := func(username string) map[string]any {
		return map[string]any{"name": "N", "username": username, "password": "correct horse", "deviceInfo": newDevice()}
	}
	origin := []string{"Origin", devOrigin}
	for range 10 {
		e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(locked.username, "wrong password")...)
	}
	tests := []struct {
		name         string
		real, forced func(prefer ...string) response
		status       int
	}{
		{"400 GET /users/{id}",
			func(h ...string) response { return e.do("GET", "/users/abc", nil, h...) },
			func(h ...string) response { return e.do("GET", "/users/1", nil, h...) }, 400},
		{"401 GET /users/me (Bearer)",
			func(h ...string) response { return e.do("GET", "/users/me", nil, h...) },
			func(h ...string) response {
				return e.do("GET", "/users/me", nil, append(bearerH(other.token), h...)...)
			}, 401},
		{"401 DELETE /users/me (Basic)",
			func(h ...string) response { return e.do("DELETE", "/users/me", nil, h...) },
			func(h ...string) response {
				return e.do("DELETE", "/users/me", nil, append(basicH(other.username, other.password), h...)...)
			}, 401},
		{"404 GET /users/{id}",
			func(h ...string) response { return e.do("GET", "/users/999999", nil, h...) },
			func(h ...string) response { return e.do("GET", "/users/1", nil, h...) }, 404},
		{"405 /users/me",
			func(h ...string) response { return e.do("PATCH", "/users/me", nil, h...) },
			func(h ...string) response {
				return e.do("GET", "/users/me", nil, append(bearerH(other.token), h...)...)
			}, 405},
		{"409 POST /users",
			func(h ...string) response { return e.do("POST", "/users", register(taken.username), h...) },
			func(h ...string) response { return e.do("POST", "/users", register("freshname1"), h...) }, 409},
		{"413 POST /users",
			func(h ...string) response {
				return e.do("POST", "/users", `{"name": "`+strings.Repeat("x", 70_000)+`"}`, h...)
			},
			func(h ...string) response { return e.do("POST", "/users", register("freshname2"), h...) }, 413},
		{"415 PUT /users/me",
			func(h ...string) response {
				return e.do("PUT", "/users/me", `{}`, append(append(bearerH(other.token), "Content-Type", "text/plain"), h...)...)
			},
			func(h ...string) response {
				return e.do("PUT", "/users/me", `{}`, append(bearerH(other.token), h...)...)
			}, 415},
		{"429 POST /users/login",
			func(h ...string) response {
				return e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, append(basicH(locked.username, locked.password), h...)...)
			},
			func(h ...string) response {
				return e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, append(basicH(other.username, other.password), h...)...)
			}, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			real := tt.real(origin...)
			forced := tt.forced(append(origin, "Prefer", "code="+strconv.Itoa(tt.status))...)
			wantStatus(t, "real", real, tt.status)
			wantStatus(t, "forced", forced, tt.status)
			if r, f := errorKeys(t, real), errorKeys(t, forced); !slices.Equal(r, f) {
				t.Errorf("body keys: real %v, forced %v", r, f)
			}
			names := func(h http.Header) []string {
				var out []string
				for k := range h {
					if k != "Date" && k != "Preference-Applied" {
						out = append(out, k)
					}
				}
				slices.Sort(out)
				return out
			}
			if r, f := names(real.header), names(forced.header); !slices.Equal(r, f) {
				t.Errorf("header names: real %v, forced %v", r, f)
			}
			for _, k := range []string{"Content-Type", "WWW-Authenticate", "Allow", "Usersd-Mode", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Vary"} {
				if r, f := real.header.Values(k), forced.header.Values(k); !slices.Equal(r, f) {
					t.Errorf("%s: real %q, forced %q", k, r, f)
				}
			}
			if forced.header.Get("Preference-Applied") != "code="+strconv.Itoa(tt.status) {
				t.Errorf("Preference-Applied %q", forced.header.Get("Preference-Applied"))
			}
		})
	}

	// A real 412 or 416 of GET /uploads/{file} has found the file and carries its
	// headers, which a forced one has no file for; the rest are the same.
	ue := &uploadEnv{env: e.env, dir: e.dir}
	file := "/uploads/" + ue.mustUpload(other.token, "", "bin", []byte("0123456789")) + ".bin"
	fileHeaders := []string{"Cache-Control", "Content-Range", "Date", "Etag", "Last-Modified", "Preference-Applied"}
	for _, tt := range []struct {
		status        int
		header, value string
	}{{412, "If-Match", `"other"`}, {416, "Range", "bytes=20-30"}} {
		real := e.do("GET", file, nil, tt.header, tt.value)
		forced := e.do("GET", "/uploads/"+users.NewUUID()+".png", nil, "Prefer", "code="+strconv.Itoa(tt.status))
		wantStatus(t, "real", real, tt.status)
		wantStatus(t, "forced", forced, tt.status)
		for k := range real.header {
			if !slices.Contains(fileHeaders, k) && !slices.Equal(real.header.Values(k), forced.header.Values(k)) && k != "Content-Length" {
				t.Errorf("%d of GET /uploads/{file}: %s: real %q, forced %q", tt.status, k, real.header.Values(k), forced.header.Values(k))
			}
		}
		for k := range forced.header {
			if _, ok := real.header[k]; !ok && !slices.Contains(fileHeaders, k) {
				t.Errorf("%d of GET /uploads/{file}: a forced answer has %s, a real one not", tt.status, k)
			}
		}
	}

	// The forced 409 and 413 registered nobody; the forced 401 and 429 did not delete or
	// lock out the user.
	wantStatus(t, "register freshname1", e.do("POST", "/users", register("freshname1")), 200)
	wantStatus(t, "register freshname2", e.do("POST", "/users", register("freshname2")), 200)
	e.login(other, newDevice())
}

// TestDevPreferRefused checks that a preference the server cannot honour is 400, and
// one it does not know is ignored.
//
// R-TEST-2.
func TestDevPreferRefused(t *testing.T) {
	e := newDevEnv(t)
	u := e.register()
	for _, tt := range []struct {
		path, prefer, reason string
	}{
		{"/users/me", "code=409", "401, 405, 500"},
		{"/healthz", "code=404", "405, 500, 503"},
		{"/healthz", "code=200", "400 to 599"},
		{"/healthz", "code=304", "400 to 599"},
		{"/healthz", "code=600", "400 to 599"},
		{"/healthz", "code=abc", "400 to 599"},
		{"/healthz", "code=", "400 to 599"},
		{"/healthz", "delay=10001", "0 to 10000"},
		{"/healthz", "delay=-5", "0 to 10000"},
		{"/healthz", "delay=1.5", "0 to 10000"},
		{"/healthz", "code=503, delay=forever", "0 to 10000"},
	} {
		what := tt.path + " Prefer: " + tt.prefer
		res := e.do("GET", tt.path, nil, append(bearerH(u.token), "Prefer", tt.prefer)...)
		wantStatus(t, what, res, 400)
		if r := res.json(t)["reason"].(string); !strings.Contains(r, tt.reason) {
			t.Errorf("%s: reason %q does not contain %q", what, r, tt.reason)
		}
		if pa := res.header.Get("Preference-Applied"); pa != "" {
			t.Errorf("%s: Preference-Applied %q on a refusal", what, pa)
		}
	}
	for _, prefer := range []string{"return=minimal", "respond-async, wait=5", "handling=lenient"} {
		res := e.do("GET", "/healthz", nil, "Prefer", prefer)
		wantStatus(t, prefer, res, 200)
		if pa := res.header.Get("Preference-Applied"); pa != "" {
			t.Errorf("Prefer: %s: Preference-Applied %q, want none", prefer, pa)
		}
	}
	// RFC 7240 §2: the first of a preference given twice counts; names ignore case.
	res := e.do("GET", "/healthz", nil, "Prefer", `CODE="503"; x=1, code=500`)
	if res.status != 503 || res.header.Get("Preference-Applied") != "code=503" {
		t.Errorf("two codes: %d %q, want 503 code=503", res.status, res.header.Get("Preference-Applied"))
	}
}

// TestDevDelay checks that delay= delays the answer, alone or with code=, in one
// Prefer header or two. Only the lower bound is checked: a loaded machine may be slow.
//
// R-TEST-2.
func TestDevDelay(t *testing.T) {
	e := newDevEnv(t)
	timed := func(header ...string) (response, time.Duration) {
		start := time.Now()
		res := e.do("GET", "/healthz", nil, header...)
		return res, time.Since(start)
	}
	res, took := timed("Prefer", "delay=300")
	wantStatus(t, "delay=300", res, 200)
	if took < 300*time.Millisecond || res.header.Get("Preference-Applied") != "delay=300" {
		t.Errorf("delay=300: took %v, Preference-Applied %q", took, res.header.Get("Preference-Applied"))
	}
	res, took = timed("Prefer", "code=503, delay=200")
	wantStatus(t, "code=503, delay=200", res, 503)
	if took < 200*time.Millisecond || res.header.Get("Preference-Applied") != "code=503, delay=200" {
		t.Errorf("code=503, delay=200: took %v, Preference-Applied %q", took, res.header.Get("Preference-Applied"))
	}

	req, _ := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
	req.Header.Add("Prefer", "delay=200")
	req.Header.Add("Prefer", "code=500")
	start := time.Now()
	r, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if took := time.Since(start); r.StatusCode != 500 || took < 200*time.Millisecond || r.Header.Get("Preference-Applied") != "delay=200, code=500" {
		t.Errorf("two Prefer headers: %d after %v, Preference-Applied %q", r.StatusCode, took, r.Header.Get("Preference-Applied"))
	}
}

// TestDevMode checks the marks of the test mode: the header on every answer, the mode
// on /healthz, and Prefer allowed and its answers readable by CORS.
//
// R-TEST-1.
func TestDevMode(t *testing.T) {
	e := newDevEnv(t)
	res := e.do("GET", "/healthz", nil)
	if string(res.body) != `{"mode":"dev","status":"ok"}` || res.header.Get("Usersd-Mode") != "dev" {
		t.Errorf("GET /healthz: %s %v", res.body, res.header)
	}
	if res := e.do("GET", "/nothing", nil); res.status != 404 || res.header.Get("Usersd-Mode") != "dev" {
		t.Errorf("an unknown path: %d, Usersd-Mode %q", res.status, res.header.Get("Usersd-Mode"))
	}
	// Prefer does nothing on paths that are no route.
	if res := e.do("GET", "/nothing", nil, "Prefer", "code=503"); res.status != 404 || res.header.Get("Preference-Applied") != "" {
		t.Errorf("Prefer on an unknown path: %d %v", res.status, res.header)
	}
	res = e.do("OPTIONS", "/users/me", nil, "Origin", devOrigin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "prefer")
	if res.status != 204 || !strings.Contains(res.header.Get("Access-Control-Allow-Headers"), "Prefer") || res.header.Get("Usersd-Mode") != "dev" {
		t.Errorf("preflight: %d %v", res.status, res.header)
	}
	res = e.do("GET", "/healthz", nil, "Origin", devOrigin)
	for _, h := range []string{"Preference-Applied", "Usersd-Mode", "Allow", "Retry-After"} {
		if !strings.Contains(res.header.Get("Access-Control-Expose-Headers"), h) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", res.header.Get("Access-Control-Expose-Headers"), h)
		}
	}
}

// TestDevRoutes checks POST /dev/reset and GET and POST /dev/clock against what they
// act on, and that Prefer leaves them alone.
//
// R-TEST-3.
func TestDevRoutes(t *testing.T) {
	e := newDevEnv(t)
	if res := e.do("POST", "/dev/reset", nil, "Prefer", "code=500"); res.status != 204 || e.resets.Load() != 1 || res.header.Get("Preference-Applied") != "" {
		t.Errorf("POST /dev/reset: %d, %d resets, %v", res.status, e.resets.Load(), res.header)
	}
	wantStatus(t, "GET /dev/reset", e.do("GET", "/dev/reset", nil), 405)

	res := e.do("GET", "/dev/clock", nil)
	if string(res.body) != `{"offset":"0s","now":"2026-11-25T16:11:45Z"}` {
		t.Errorf("GET /dev/clock: %d %s", res.status, res.body)
	}
	res = e.do("POST", "/dev/clock", map[string]any{"advance": "15m"})
	if string(res.body) != `{"offset":"15m0s","now":"2026-11-25T16:26:45Z"}` || !e.clock.Now().Equal(time.Date(2026, 11, 25, 16, 26, 45, 0, time.UTC)) {
		t.Errorf("POST /dev/clock 15m: %d %s", res.status, res.body)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"advance": "-1m"}, map[string]any{"advance": "0s"}, map[string]any{"advance": "soon"}, map[string]any{"advance": 15}, map[string]any{"advance": "9000h"}, "[]"} {
		wantStatus(t, "POST /dev/clock", e.do("POST", "/dev/clock", body), 400)
	}
	if off := e.do("GET", "/dev/clock", nil).json(t)["offset"]; off != "15m0s" {
		t.Errorf("after the refusals the offset is %v", off)
	}
}

// TestDevOff checks that without the test mode Prefer changes nothing, no answer says
// dev, and the /dev/ routes do not exist.
//
// R-TEST-1.
func TestDevOff(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	res := e.do("GET", "/users/me", nil, append(bearerH(u.token), "Prefer", "code=500, delay=10")...)
	wantStatus(t, "GET /users/me with Prefer", res, 200)
	if res.header.Get("Preference-Applied") != "" || res.header.Get("Usersd-Mode") != "" {
		t.Errorf("without the test mode: %v", res.header)
	}
	if res := e.do("GET", "/healthz", nil, "Prefer", "code=503"); string(res.body) != `{"status":"ok"}` {
		t.Errorf("GET /healthz: %d %s", res.status, res.body)
	}
	wantStatus(t, "POST /dev/reset", e.do("POST", "/dev/reset", nil), 404)
	wantStatus(t, "GET /dev/clock", e.do("GET", "/dev/clock", nil), 404)
}
