package conformance_test

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRoutes covers R-WIRE-1 and R-WIRE-5: the paths of docs/rules.md and no others, with
// JSON 404 and 405 (with Allow) answers from the router itself.
func TestRoutes(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-WIRE-1", "R-WIRE-4", "R-WIRE-5")

	run(t, "Unknown paths are a JSON 404", func(t *testing.T) {
		for _, p := range []string{"/", "/nope", "/api/users", "/v1/users/me", "/users/me/nope", "/users/1/photos",
			"/users/me/photos/a/b", "/upload", "/users/me/logout/x"} {
			res := do(t, "GET", p)
			if res.status != 404 {
				t.Errorf("%s, want 404", res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "A known path with the wrong method is a JSON 405 with Allow", func(t *testing.T) {
		for _, tc := range []struct{ method, path, allow string }{
			{"PATCH", "/users/me", "GET"},
			{"PATCH", "/users/me", "PUT"},
			{"PATCH", "/users/me", "DELETE"},
			{"GET", "/users/me/logout", "POST"},
			{"GET", "/users/me/changePassword", "PUT"},
			{"POST", "/users/me/setAccountKey", "PUT"},
			{"DELETE", "/users/resetPassword", "PUT"},
			{"POST", "/users/me/device", "PUT"},
			{"GET", "/users/me/photos/" + newUUID(), "DELETE"},
			{"PUT", "/users/me/photos", "POST"},
			{"GET", "/users/me/photos", "POST"},
			{"DELETE", "/users", "POST"},
			{"PUT", "/users/login", "POST"},
			{"GET", "/users/login", "POST"}, // not GET /users/{id} of a user "login"
			{"HEAD", "/users/login", "POST"},
			{"GET", "/users/resetPassword", "PUT"},
			{"HEAD", "/users/resetPassword", "POST"},
			{"PUT", "/uploads", "POST"},
			{"PUT", "/uploads/x.png", "GET"},
			{"PUT", "/uploads/x.png", "DELETE"},
		} {
			res := do(t, tc.method, tc.path)
			if res.status != 405 {
				t.Errorf("%s, want 405", res)
				continue
			}
			if tc.method != "HEAD" { // a HEAD answer has no body
				res.errorBody(t)
			}
			allow := strings.Split(strings.ReplaceAll(strings.Join(res.header.Values("Allow"), ","), " ", ""), ",")
			found := false
			for _, m := range allow {
				found = found || m == tc.allow
			}
			if !found {
				t.Errorf("%s %s: got Allow %q, want it to list %s", tc.method, tc.path, res.header.Values("Allow"), tc.allow)
			}
		}
	})
}

// TestJSONContentType covers R-WIRE-5's 415: a JSON endpoint refuses a body whose
// Content-Type is present and not application/json, and accepts none.
func TestJSONContentType(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-WIRE-5", "R-WIRE-4")
	alice := register(t)
	body := []byte(`{"about": "typed"}`)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
		"application/xml", "text/json"} {
		res := do(t, "PUT", "/users/me", bearer(alice.token), rawBody(ct, body))
		if res.status != 415 {
			t.Errorf("Content-Type %q: %s, want 415", ct, res)
			continue
		}
		res.errorBody(t)
	}
	do(t, "POST", "/users", rawBody("text/plain", []byte(`{"name": "x"}`))).wantError(t, 415)
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"} {
		do(t, "PUT", "/users/me", bearer(alice.token), rawBody(ct, body)).wantOK(t)
	}
}

// TestChallenges covers R-WIRE-6: every 401 names the scheme the route wants.
func TestChallenges(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-WIRE-6")
	for _, tc := range []struct{ method, path, scheme string }{
		{"GET", "/users/me", "Bearer"},
		{"POST", "/users/me/logout", "Bearer"},
		{"PUT", "/users/me/changePassword", "Bearer"},
		{"PUT", "/users/me/setAccountKey", "Bearer"},
		{"PUT", "/users/me", "Bearer"},
		{"PUT", "/users/me/device", "Bearer"},
		{"POST", "/users/me/photos", "Bearer"},
		{"DELETE", "/users/me/photos/" + newUUID(), "Bearer"},
		{"POST", "/uploads", "Bearer"},
		{"POST", "/users/login", "Basic"},
		{"DELETE", "/users/me", "Basic"},
	} {
		res := do(t, tc.method, tc.path, rawJSON(`{}`))
		if res.status != 401 {
			t.Errorf("%s, want 401", res)
			continue
		}
		res.wantChallenge(t, tc.scheme)
	}
}

// TestRepeatedHeaders covers R-WIRE-6 and R-WIRE-7 for headers that can be given only
// once: which of two lines would count is a guess, so two Authorization lines are 401
// with the route's challenge, even when both hold the right credentials, and two
// Content-Type or File-Name lines are 400.
func TestRepeatedHeaders(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-WIRE-6", "R-WIRE-7", "R-UPL-1")
	alice := register(t)
	res := do(t, "GET", "/users/me", bearer(alice.token), again("Authorization", "Bearer "+alice.token))
	res.wantError(t, 401)
	res.wantChallenge(t, "Bearer")
	creds := basic(alice.username, alice.password)
	twice := func(r *request) { creds(r); r.header.Add("Authorization", r.header.Get("Authorization")) }
	res = do(t, "POST", "/users/login", twice, jsonOf(map[string]any{"deviceInfo": newDevice()}))
	res.wantError(t, 401)
	res.wantChallenge(t, "Basic")
	do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"about": "twice"}`), again("Content-Type", "application/json")).wantError(t, 400)
	do(t, "POST", "/uploads", bearer(alice.token), rawBody("text/plain", []byte("x")), fileName("one"+randomString(8)), again("File-Name", "two"+randomString(8))).wantError(t, 400)
	do(t, "POST", "/uploads", bearer(alice.token), rawBody("text/plain", []byte("x")), again("Content-Type", "text/plain")).wantError(t, 400)
	if got := public(t, alice.id)["about"]; got == "twice" {
		t.Errorf("a body with two Content-Type lines changed about")
	}
}

// TestRequestBodies covers R-WIRE-7: the 64 KiB cap, unknown fields, and bodies that
// are not exactly one JSON object.
func TestRequestBodies(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-WIRE-7", "R-WIRE-5", "R-WIRE-4")
	alice := register(t)
	// padded returns {"about": "ok", "pad": "xxx…"} of exactly n bytes.
	padded := func(n int) string {
		head, tail := `{"about": "ok", "pad": "`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}

	run(t, "A body of 64 KiB is read", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(padded(64<<10))).wantOK(t)
	})
	run(t, "A body over 64 KiB is 413", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(padded(64<<10+1))).wantError(t, 413)
		do(t, "POST", "/users", rawJSON(padded(1<<20))).wantError(t, 413)
	})
	run(t, "Unknown fields are ignored", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"about": "x", "extra": {"deep": [1, 2, {"x": null}]}}`)).wantOK(t)
	})
	run(t, "Keys are matched exactly: a case variant is an unknown field", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"about": "exact"}`)).wantOK(t)
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"Name": "Renamed", "ABOUT": "variant"}`)).wantOK(t)
		if got := public(t, alice.id); got["name"] != alice.name || got["about"] != "exact" {
			t.Errorf(`after {"Name", "ABOUT"} the user has name %v and about %v; want %q and "exact": keys are matched exactly`, got["name"], got["about"], alice.name)
		}
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"about": "a", "ABOUT": "b"}`)).wantOK(t)
		if got := public(t, alice.id)["about"]; got != "a" {
			t.Errorf(`after {"about": "a", "ABOUT": "b"} about is %v, want "a"`, got)
		}
		u := uniqueUsername()
		do(t, "POST", "/users", jsonOf(map[string]any{
			"Name": "Case Variant", "username": u, "password": "pw " + randomString(16), "deviceInfo": newDevice(),
		})).wantError(t, 400) // "name" is required, and "Name" is not it
	})
	run(t, "Trailing whitespace is fine", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON("{\"about\": \"x\"}\r\n\t \n")).wantOK(t)
	})
	run(t, "A body that is not one JSON object is 400", func(t *testing.T) {
		for _, body := range []string{
			``,
			` `,
			`null`,
			`"about"`,
			`42`,
			`[]`,
			`[{"about": "x"}]`,
			`{"about": "x"} {"about": "y"}`,
			`{"about": "x"}garbage`,
			`{"about": "x"}]`,
			`{"about": "x",}`,
			`{"about": 'x'}`,
			`{about: "x"}`,
			`{"about": "x"`,
		} {
			res := do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(body))
			if res.status != 400 {
				t.Errorf("body %q: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "A refused body changes nothing", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"about": "kept"}`)).wantOK(t)
		do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(`{"about": "changed"} trailing`)).wantError(t, 400)
		if got := public(t, alice.id)["about"]; got != "kept" {
			t.Errorf("got about %q, want kept", got)
		}
	})
}

// TestHeaderCap covers R-SEC-6 as far as it shows on the wire: a huge header block is
// refused before any handler runs (R-WIRE-12 lets the standard library answer it).
func TestHeaderCap(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-SEC-6")
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "http" {
		t.Skipf("the raw-connection test needs an http:// base URL, got %q", baseURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	// 2 MiB of headers: more than any sensible cap, written in the background since the
	// server may stop reading (and answer) early.
	go func() {
		fmt.Fprintf(conn, "GET /users/1 HTTP/1.1\r\nHost: %s\r\n", u.Host)
		line := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
		for range 2 << 10 {
			if _, err := conn.Write([]byte(line)); err != nil {
				return
			}
		}
		conn.Write([]byte("\r\n"))
	}()
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Logf("the server closed the connection without an answer (%v): refused", err)
		return
	}
	if !strings.HasPrefix(status, "HTTP/1.1 431") && !strings.HasPrefix(status, "HTTP/1.1 400") {
		t.Errorf("got %q, want 431 Request Header Fields Too Large", strings.TrimSpace(status))
	}
}
