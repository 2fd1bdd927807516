package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/storage"
	"usersapi/users"
)

// newEnvWith is newEnv with the hasher and server options given.
func newEnvWith(t *testing.T, h users.Hasher, o httpapi.Options) *env {
	t.Helper()
	store := storage.NewMemory()
	clk := &clock{t: time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)}
	svc := users.NewService(users.Config{Store: store, Hasher: h, Tokens: auth.Tokens{}, Now: clk.Now})
	srv := httptest.NewServer(httpapi.NewServer(svc, o))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, store: store, clock: clk}
}

// record returns what the store holds about the user: the user (hashes included) and
// its sessions, to compare before and after requests that must change nothing.
func (e *env) record(id int64) string {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.store.User(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	sessions, err := e.store.Sessions(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.SortFunc(sessions, func(a, b users.Session) int { return strings.Compare(a.ID, b.ID) })
	return fmt.Sprintf("%+v %+v", u, sessions)
}

// me returns the body of GET /users/me for the token: with the clock standing still,
// it is the same bytes as long as nothing about the user changed.
func (e *env) me(token string) string {
	e.t.Helper()
	res := e.do("GET", "/users/me", nil, bearerH(token)...)
	if res.status != 200 {
		e.t.Fatalf("GET /users/me: %d %s", res.status, res.body)
	}
	return string(res.body)
}

// TestKeysMatchExactly covers R-WIRE-7: a key names a field only when it is spelled
// exactly as the field; "NEWPASSWORD" or "Name" is an unknown field, ignored, and not
// a second spelling of "newPassword" or "name". Only the same key twice is refused.
func TestKeysMatchExactly(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	stored := e.record(u.id)
	for _, body := range []string{
		`{"oldPassword":"correct horse","newPassword":"first new password","newPassword":"second new password"}`,
		`{"oldPassword":"correct horse","newPassword":"first new password","extra":{"a":1,"a":2}}`,
	} {
		res := e.do("PUT", "/users/me/changePassword", body, bearerH(u.token)...)
		wantStatus(t, body, res, 400)
	}
	if got := e.record(u.id); got != stored {
		t.Errorf("after refused bodies the store holds %s, want %s", got, stored)
	}

	res := e.do("PUT", "/users/me", `{"Name":"Mallory","about":"a","ABOUT":"b"}`, bearerH(u.token)...)
	wantStatus(t, "case variants of name and about", res, 200)
	if me := e.me(u.token); !strings.Contains(me, `"name":"Test User"`) || !strings.Contains(me, `"about":"a"`) {
		t.Errorf("after case variants GET /users/me is %s; want the name unchanged and about %q", me, "a")
	}
	res = e.do("PUT", "/users/me/changePassword",
		`{"oldPassword":"correct horse","newPassword":"first new password","NEWPASSWORD":"second new password","newPa\u017F\u017Fword":"third"}`, bearerH(u.token)...)
	wantStatus(t, "case variants of newPassword", res, 200)
	u.password = "first new password"
	e.login(u, newDevice())
	res = e.do("PUT", "/users/me/setAccountKey", "{\"password\":\"first new password\",\"accountKey\":\"an account key of at least 25 characters\",\"\u212Aey\":1,\"key\":2}", bearerH(u.token)...)
	wantStatus(t, "a Kelvin-sign spelling beside an unknown key", res, 200)
}

// TestSaturatedHashing covers R-SEC-5: with every hashing slot taken, a login waits at
// most the bounded time and gets 503 with Retry-After, which counts as no failure and
// changes nothing, while GET /users/me keeps answering.
func TestSaturatedHashing(t *testing.T) {
	h := auth.NewHasher(auth.HasherOptions{Iterations: 200_000, Slots: 1, MaxWait: time.Millisecond})
	e := newEnvWith(t, h, httpapi.Options{})
	u := e.register()
	before := e.me(u.token)

	// Keep the one slot busy: back-to-back hashes, each many times the wait.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			h.Hash(context.Background(), "keeping the slot busy")
		}
	})
	var busy, reads int
	var refused []string
	for i := 0; i < 200 && busy < 3; i++ {
		res := e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH("nosuchuser", "wrong horse")...)
		switch res.status {
		case 503:
			busy++
			wantStatus(t, "login while saturated", res, 503)
			if ra := res.header.Get("Retry-After"); ra != "1" {
				t.Errorf("503 with Retry-After %q, want 1", ra)
			}
		case 401, 429:
			// This one got the slot between two of the busy hashes (or, after ten
			// such, was blocked without needing one).
		default:
			t.Fatalf("login while saturated: %d %s", res.status, res.body)
		}
		if got := e.me(u.token); got != before {
			t.Fatalf("GET /users/me while saturated: %s, want %s", got, before)
		}
		reads++
		name := fmt.Sprintf("newcomer%dx", i)
		switch reg := e.do("POST", "/users", map[string]any{"name": "Newcomer", "username": name, "password": "correct horse", "deviceInfo": newDevice()}); reg.status {
		case 503:
			wantStatus(t, "register while saturated", reg, 503)
			refused = append(refused, name)
		case 200: // it got the slot between two busy hashes
		default:
			t.Fatalf("register while saturated: %d %s", reg.status, reg.body)
		}
	}
	stop()
	wg.Wait()
	if busy < 3 {
		t.Fatalf("no login was refused with 503 in %d tries while the only slot was taken", reads)
	}
	if got := e.me(u.token); got != before {
		t.Errorf("after the storm GET /users/me is %s, want %s", got, before)
	}
	for _, name := range refused {
		if res := e.do("GET", "/users?s="+name, nil); string(res.body) != "[]" {
			t.Errorf("the registration of %s, refused with 503, left a user: %s", name, res.body)
		}
	}
	e.login(u, newDevice())
}

// TestHostileCredentials covers R-WIRE-6 and R-SEC-2: Basic credentials HTTP cannot
// honestly carry, and bearer tokens that cannot be ours, are 401 with the route's
// challenge, reach no check (so count as no failure) and change nothing.
func TestHostileCredentials(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	before, stored := e.me(u.token), e.record(u.id)
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	basics := []string{
		"",
		"Basic",
		"Basic ",
		"Basic !!!notbase64!!!",
		b64(u.username + u.password), // no colon
		b64(":" + u.password),        // empty username
		b64(u.username[:2] + "\x00" + u.username[2:] + ":" + u.password),
		b64(u.username + ":correct\x00horse"),
		b64(u.username + ":correct\nhorse"),
		b64(u.username + ":correct\x1bhorse"),
		b64(u.username + ":correct\x7fhorse"),
		b64(u.username + ":correct \xff\xfe horse"), // invalid UTF-8
		b64(u.username + "\xc3:" + u.password),      // truncated UTF-8
		"Bearer " + u.token,
		"Digest " + base64.StdEncoding.EncodeToString([]byte(u.username+":"+u.password)),
		"Basic" + base64.StdEncoding.EncodeToString([]byte(u.username+":"+u.password)), // no space
	}
	// The right credentials in the wrong alphabet: refused, not guessed at.
	right := []byte(u.username + ":" + u.password)
	if raw := base64.RawStdEncoding.EncodeToString(right); raw != base64.StdEncoding.EncodeToString(right) {
		basics = append(basics, "Basic "+raw) // unpadded
	}
	if url := base64.URLEncoding.EncodeToString(right); url != base64.StdEncoding.EncodeToString(right) {
		basics = append(basics, "Basic "+url)
	}
	for i := 0; i < 2; i++ { // twice the throttle's limit in all
		for _, h := range basics {
			for _, route := range []string{"POST /users/login", "DELETE /users/me"} {
				method, path, _ := strings.Cut(route, " ")
				res := e.do(method, path, map[string]any{"deviceInfo": newDevice()}, "Authorization", h)
				wantStatus(t, fmt.Sprintf("%s with Authorization %q", route, h), res, 401)
				if got := res.header.Get("WWW-Authenticate"); got != `Basic realm="users", charset="UTF-8"` {
					t.Errorf("%s with %q: WWW-Authenticate %q (R-WIRE-6)", route, h, got)
				}
			}
		}
	}

	tok := u.token
	bearers := []string{
		"Bearer",
		"Bearer ",
		"Bearer  " + tok,
		"Bearer " + tok[:42],
		"Bearer " + tok + "A",
		"Bearer " + tok + "=",
		"Bearer " + tok[:42] + "=",
		"Bearer " + tok[:42] + "+",
		"Bearer " + tok[:42] + "/",
		"Bearer " + tok[:42] + ".",
		"Bearer " + tok[:42] + "é",
		"Bearer " + strings.Repeat("A", 42) + "B", // trailing bits not zero
		"Bearer " + strings.Repeat("_", 43),       // the right shape, unknown
		"Bearer " + tok + " " + tok,
		"Bearer " + base64.StdEncoding.EncodeToString([]byte(tok)),
		"Basic " + tok,
		"Token " + tok,
		"Bearer " + strings.Repeat("A", 4096),
	}
	for _, h := range bearers {
		res := e.do("GET", "/users/me", nil, "Authorization", h)
		wantStatus(t, fmt.Sprintf("GET /users/me with Authorization %q", h), res, 401)
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="users"` {
			t.Errorf("%q: WWW-Authenticate %q (R-WIRE-6)", h, got)
		}
	}
	if got := e.me(u.token); got != before {
		t.Errorf("after hostile credentials GET /users/me is %s, want %s", got, before)
	}
	if got := e.record(u.id); got != stored {
		t.Errorf("after hostile credentials the store holds %s, want %s", got, stored)
	}
	// None of them counted as a failure: nine more still leave the account open.
	for range users.MaxFailures - 1 {
		e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, "wrong horse")...)
	}
	e.login(u, newDevice())
}

// TestHostileBodies covers R-WIRE-5/7 for every endpoint that reads JSON: trailing data,
// duplicate keys, deep nesting, invalid UTF-8, the wrong shape, an oversized body and
// the wrong media type each get their status, and nothing changes.
func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	key := "an account key of at least 25 characters"
	wantStatus(t, "set key", e.do("PUT", "/users/me/setAccountKey", map[string]any{"password": u.password, "accountKey": key}, bearerH(u.token)...), 200)
	before, stored := e.me(u.token), e.record(u.id)
	dev := fmt.Sprintf(`{"id":%q}`, users.NewUUID())

	// A valid body of each endpoint, as the prefix and suffix around a hostile part.
	endpoints := []struct {
		route string
		body  string // a valid body
		auth  []string
	}{
		{"POST /users", `{"name":"Mallory","username":"mallory","password":"correct horse","deviceInfo":` + dev + `}`, nil},
		{"POST /users/login", `{"deviceInfo":` + dev + `}`, basicH(u.username, u.password)},
		{"PUT /users/me/changePassword", `{"oldPassword":"correct horse","newPassword":"a brand new password"}`, bearerH(u.token)},
		{"PUT /users/me/setAccountKey", `{"password":"correct horse","accountKey":"another key of at least 25 characters"}`, bearerH(u.token)},
		{"PUT /users/resetPassword", fmt.Sprintf(`{"userId":%d,"accountKey":%q,"newPassword":"a brand new password"}`, u.id, key), nil},
		{"POST /users/resetPassword", fmt.Sprintf(`{"userId":%d,"accountKey":%q,"newPassword":"a brand new password"}`, u.id, key), nil},
		{"PUT /users/me", `{"name":"Mallory","about":"pwned"}`, bearerH(u.token)},
		{"PUT /users/me/device", `{"deviceName":"pwned","deviceToken":"pwned"}`, bearerH(u.token)},
	}
	deep := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
	for _, ep := range endpoints {
		method, path, _ := strings.Cut(ep.route, " ")
		inner := strings.TrimSuffix(strings.TrimPrefix(ep.body, "{"), "}")
		for _, c := range []struct {
			name   string
			body   string
			ctype  string
			status int
		}{
			{"trailing object", ep.body + " {}", "", 400},
			{"trailing garbage", ep.body + "x", "", 400},
			{"trailing close", ep.body + "}", "", 400},
			{"two objects, no space", ep.body + ep.body, "", 400},
			{"duplicate key", "{" + inner + "," + inner + "}", "", 400},
			{"duplicate unknown key", `{"x":1,"x":2,` + inner + "}", "", 400},
			{"deeply nested unknown field", `{"x":` + deep + "," + inner + "}", "", 400},
			{"deeply nested objects", `{"x":` + strings.Repeat(`{"a":`, 10_500) + "1" + strings.Repeat("}", 10_500) + "," + inner + "}", "", 400},
			{"invalid UTF-8 in a value", `{"x":"` + "\xff" + `",` + inner + "}", "", 400},
			{"invalid UTF-8 in a key", "{\"\xc3\":1," + inner + "}", "", 400},
			{"byte order mark", "\ufeff" + ep.body, "", 400},
			{"an array", "[" + ep.body + "]", "", 400},
			{"a string", `"` + ep.body + `"`, "", 400},
			{"null", "null", "", 400},
			{"empty", "", "", 400},
			{"unterminated", ep.body[:len(ep.body)-1], "", 400},
			{"over 64 KiB", `{"x":"` + strings.Repeat("a", 64<<10) + `",` + inner + "}", "", 413},
			{"over 64 KiB of spaces", ep.body + strings.Repeat(" ", 64<<10), "", 413},
			{"text/plain", ep.body, "text/plain", 415},
			{"form", ep.body, "application/x-www-form-urlencoded", 415},
			{"bad media type", ep.body, "application/json; charset", 415},
		} {
			h := append([]string{}, ep.auth...)
			if c.ctype != "" {
				h = append(h, "Content-Type", c.ctype)
			}
			res := e.do(method, path, c.body, h...)
			wantStatus(t, ep.route+" with "+c.name, res, c.status)
		}
	}

	for _, id := range []string{"1e400", "9223372036854775808", "-9223372036854775809", "1.5", "1e2", `"1"`, "-1", "0", "true", "[1]", "{}", "18446744073709551616"} {
		body := fmt.Sprintf(`{"userId":%s,"accountKey":%q,"newPassword":"a brand new password"}`, id, key)
		wantStatus(t, "reset with userId "+id, e.do("PUT", "/users/resetPassword", body), 400)
	}
	for _, id := range []string{"99999999999999999999", "9223372036854775808", "-1", "0", "1e3", "0x1", "+1", "1.0", "%201"} {
		wantStatus(t, "GET /users/"+id, e.do("GET", "/users/"+id, nil), 400)
	}

	if got := e.me(u.token); got != before {
		t.Errorf("after hostile bodies GET /users/me is %s, want %s", got, before)
	}
	if got := e.record(u.id); got != stored {
		t.Errorf("after hostile bodies the store holds %s, want %s", got, stored)
	}
	if res := e.do("GET", "/users?s=mallory", nil); string(res.body) != "[]" {
		t.Errorf("a refused registration left a user: %s", res.body)
	}
	e.login(u, newDevice())
}

// TestClientAddress covers R-OBJ-4: X-Forwarded-For is believed only when the server
// is told that a trusted proxy is in front of it, and then only its last entry, which
// that proxy appended.
func TestClientAddress(t *testing.T) {
	ipOf := func(t *testing.T, e *env, xff ...string) string {
		t.Helper()
		body := fmt.Sprintf(`{"name":"Client","username":"client%d","password":"correct horse","deviceInfo":{"id":%q}}`, seq.Add(1), users.NewUUID())
		req, err := http.NewRequest("POST", e.srv.URL+"/users", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r := response{status: res.StatusCode, header: res.Header, body: b}
		wantStatus(t, "register", r, 200)
		return r.json(t)["deviceSessions"].([]any)[0].(map[string]any)["ipAddress"].(string)
	}
	cases := []struct {
		xff          []string
		direct, prox string
	}{
		{nil, "127.0.0.1", "127.0.0.1"},
		{[]string{"203.0.113.9"}, "127.0.0.1", "203.0.113.9"},
		{[]string{"198.51.100.1, 203.0.113.9"}, "127.0.0.1", "203.0.113.9"},
		{[]string{"198.51.100.1", "203.0.113.9"}, "127.0.0.1", "203.0.113.9"},
		{[]string{"203.0.113.9", "198.51.100.1,not-an-address"}, "127.0.0.1", "127.0.0.1"},
		{[]string{" 2001:DB8::1 "}, "127.0.0.1", "2001:db8::1"},
		{[]string{"203.0.113.9:4711"}, "127.0.0.1", "127.0.0.1"},
		{[]string{""}, "127.0.0.1", "127.0.0.1"},
	}
	direct := newEnv(t)
	proxied := newEnvWith(t, auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}), httpapi.Options{TrustedProxy: true})
	for _, c := range cases {
		if got := ipOf(t, direct, c.xff...); got != c.direct {
			t.Errorf("without a trusted proxy, X-Forwarded-For %q: ipAddress %q, want %q", c.xff, got, c.direct)
		}
		if got := ipOf(t, proxied, c.xff...); got != c.prox {
			t.Errorf("behind a trusted proxy, X-Forwarded-For %q: ipAddress %q, want %q", c.xff, got, c.prox)
		}
	}
}
