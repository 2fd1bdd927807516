package conformance_test

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRegister covers api.md §1 and R-REG-1, with the objects it answers (R-OBJ-1,
// R-OBJ-3, R-OBJ-4, R-OBJ-5), the token format (R-SEC-2) and the request rules it shows
// (R-WIRE-7 unknown fields and null, R-WIRE-9 UUID case).
func TestRegister(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §1", "R-REG-1", "R-OBJ-1", "R-OBJ-3", "R-OBJ-4", "R-OBJ-5", "R-SEC-2", "R-WIRE-2", "R-WIRE-9")

	username := uniqueUsername()
	deviceID := newUUID()
	model := strings.Repeat("ü", 64)
	pushToken := strings.Repeat("t", 4096)
	res := do(t, "POST", "/users", jsonOf(map[string]any{
		"name":     "  Alice Liddell  ",
		"username": "  " + strings.ToUpper(username) + "  ",
		"password": "correct horse battery staple",
		"deviceInfo": map[string]any{
			"id": strings.ToUpper(deviceID), "name": "  My phone  ", "model": model, "token": pushToken,
		},
		"unknownField": map[string]any{"nested": []any{1, "two"}},
	}))
	u := res.wantObject(t)

	run(t, "The answer is the private UserInfo of the new user", func(t *testing.T) {
		checkUserInfo(t, "register answer", u, true)
		if got := str(t, u, "name"); got != "Alice Liddell" {
			t.Errorf("got name %q, want %q (trimmed, R-FLD-1)", got, "Alice Liddell")
		}
		if got := str(t, u, "username"); got != username {
			t.Errorf("got username %q, want %q (trimmed and lower-cased, R-FLD-2)", got, username)
		}
		if got := str(t, u, "about"); got != "" {
			t.Errorf(`got about %q, want "" (R-OBJ-1)`, got)
		}
		if got := array(t, u, "photos"); len(got) != 0 {
			t.Errorf("got photos %v, want [] (R-OBJ-1)", got)
		}
		recent(t, "createdAt", date(t, u, "createdAt"))
	})

	run(t, "The new session is the only one and carries the token", func(t *testing.T) {
		sessions := objects(t, "deviceSessions", array(t, u, "deviceSessions"))
		if len(sessions) != 1 {
			t.Fatalf("got %d sessions, want 1", len(sessions))
		}
		s := sessions[0]
		recent(t, "session createdAt", date(t, s, "createdAt"))
		tok := str(t, s, "accessToken")
		if !tokenRE.MatchString(tok) {
			t.Errorf("got accessToken %q, want 43 characters of unpadded base64url (R-SEC-2)", tok)
		}
		if res := do(t, "GET", "/users/me", bearer(tok)); res.status != 200 {
			t.Errorf("the new token does not work: %s", res)
		}
	})

	run(t, "The device info is stored as sent, normalized", func(t *testing.T) {
		cites(t, "R-OBJ-5", "R-WIRE-9")
		d := object(t, objects(t, "deviceSessions", array(t, u, "deviceSessions"))[0], "deviceInfo")
		want := map[string]any{"id": deviceID, "name": "My phone", "model": model, "token": pushToken, "transport": "none"}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("got deviceInfo.%s %.80q, want %.80q", k, d[k], v)
			}
		}
	})

	run(t, "The session records the client's address", func(t *testing.T) {
		cites(t, "R-OBJ-4")
		ip := str(t, objects(t, "deviceSessions", array(t, u, "deviceSessions"))[0], "ipAddress")
		host := hostOf(baseURL)
		if parsed := net.ParseIP(host); parsed != nil && parsed.IsLoopback() || host == "localhost" {
			if p := net.ParseIP(ip); p == nil || !p.IsLoopback() {
				t.Errorf("got ipAddress %q, want a loopback address: the suite reaches the server on %s", ip, host)
			}
		}
	})

	run(t, "A forwarded address is not trusted by default", func(t *testing.T) {
		cites(t, "R-OBJ-4")
		a := register(t)
		_, info := a.login(t, newDevice(), header("X-Forwarded-For", "203.0.113.77"))
		ip := str(t, objects(t, "deviceSessions", array(t, info, "deviceSessions"))[0], "ipAddress")
		if ip == "203.0.113.77" {
			t.Errorf("got ipAddress %q, the X-Forwarded-For of the request, want the peer's address", ip)
		}
	})

	run(t, "The username is now taken, in any case", func(t *testing.T) {
		for _, name := range []string{username, strings.ToUpper(username), " " + username + " "} {
			do(t, "POST", "/users", jsonOf(map[string]any{
				"name": "Other", "username": name, "password": "another password", "deviceInfo": newDevice(),
			})).wantError(t, 409)
		}
	})

	run(t, "Every field is required", func(t *testing.T) {
		cites(t, "R-WIRE-5", "R-WIRE-7")
		valid := func() map[string]any {
			return map[string]any{"name": "Bob", "username": uniqueUsername(), "password": "long enough", "deviceInfo": newDevice()}
		}
		for _, field := range []string{"name", "username", "password", "deviceInfo"} {
			body := valid()
			delete(body, field)
			do(t, "POST", "/users", jsonOf(body)).wantError(t, 400)
			body[field] = nil
			do(t, "POST", "/users", jsonOf(body)).wantError(t, 400)
		}
	})

	run(t, "Wrong JSON types are 400", func(t *testing.T) {
		cites(t, "R-WIRE-5")
		for _, kv := range []struct {
			key string
			val any
		}{
			{"name", 5}, {"username", true}, {"password", []string{"a"}}, {"deviceInfo", "phone"},
		} {
			body := map[string]any{"name": "Bob", "username": uniqueUsername(), "password": "long enough", "deviceInfo": newDevice()}
			body[kv.key] = kv.val
			do(t, "POST", "/users", jsonOf(body)).wantError(t, 400)
		}
	})

	run(t, "The device info must be valid", func(t *testing.T) {
		cites(t, "R-OBJ-5", "R-WIRE-10")
		for _, tc := range []struct {
			name string
			edit func(d map[string]any)
		}{
			{"no id", func(d map[string]any) { delete(d, "id") }},
			{"null id", func(d map[string]any) { d["id"] = nil }},
			{"id not a UUID", func(d map[string]any) { d["id"] = "my-phone" }},
			{"id a number", func(d map[string]any) { d["id"] = 42 }},
			{"name of 65 code points", func(d map[string]any) { d["name"] = strings.Repeat("é", 65) }},
			{"model of 65 code points", func(d map[string]any) { d["model"] = strings.Repeat("é", 65) }},
			{"token of 4097 code points", func(d map[string]any) { d["token"] = strings.Repeat("t", 4097) }},
			{"control character in name", func(d map[string]any) { d["name"] = "my\x07phone" }},
			{"C1 control character in model", func(d map[string]any) { d["model"] = "model\u0085x" }},
			{"control character in token", func(d map[string]any) { d["token"] = "tok\x00en" }},
			{"unknown transport", func(d map[string]any) { d["transport"] = "pigeon" }},
			{"transport in upper case", func(d map[string]any) { d["transport"] = "APNS" }},
		} {
			d := newDevice()
			tc.edit(d)
			res := do(t, "POST", "/users", jsonOf(map[string]any{
				"name": "Bob", "username": uniqueUsername(), "password": "long enough", "deviceInfo": d,
			}))
			if res.status != 400 {
				t.Errorf("%s: %s, want 400", tc.name, res)
				continue
			}
			res.errorBody(t)
		}
	})
}

// TestRegisterRace covers R-REG-1: of 50 concurrent registrations of one username
// exactly one succeeds, every other answer is 409 (or 503 with Retry-After, R-SEC-5),
// and reads are served meanwhile (R-SEC-5).
func TestRegisterRace(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §1", "R-REG-1", "R-FLD-2", "R-SEC-5")

	reader := register(t)
	username := uniqueUsername()
	const n = 50
	var (
		wg      sync.WaitGroup
		results [n]*response
		errs    [n]error
	)
	// Reads keep being served during the storm of slow hashes (R-SEC-5).
	done := make(chan struct{})
	readsDone := make(chan struct{})
	var reads []time.Duration
	var readErr error
	go func() {
		defer close(readsDone)
		req := build("GET", "/users/"+itoa(int(reader.id)))
		for {
			select {
			case <-done:
				return
			default:
			}
			start := time.Now()
			res, err := send(req)
			if err == nil && res.status != 200 {
				err = fmt.Errorf("%s", res)
			}
			if err != nil {
				readErr = err
				return
			}
			reads = append(reads, time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := range n {
		name := username
		if i%2 == 1 {
			name = strings.ToUpper(username) // the same username (R-FLD-2)
		}
		req := build("POST", "/users", jsonOf(map[string]any{
			"name": "Racer", "username": name, "password": "racing password", "deviceInfo": newDevice(),
		}))
		wg.Go(func() { results[i], errs[i] = send(req) })
	}
	wg.Wait()
	close(done)
	<-readsDone
	if readErr != nil {
		t.Errorf("a read during the registrations failed: %v", readErr)
	}
	if len(reads) > 0 {
		if slowest := slices.Max(reads); slowest > 2*time.Second {
			t.Errorf("a GET /users/<id> during the registrations took %s, want reads served during a storm (R-SEC-5)", slowest)
		}
	}
	statuses := map[int]int{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("registration %d: %v", i, errs[i])
		}
		statuses[res.status]++
		switch res.status {
		case 200:
			checkUserInfo(t, "the winner's answer", res.wantObject(t), true)
		case 409:
			res.errorBody(t)
		case 503:
			res.errorBody(t)
			res.wantRetryAfter(t, 3600) // R-SEC-5
		default:
			t.Errorf("%s, want 200, 409 or 503", res)
		}
	}
	t.Logf("statuses: %v", statuses)
	if statuses[200] != 1 {
		t.Fatalf("got %d successful registrations of one username (statuses %v), want exactly 1", statuses[200], statuses)
	}
	res := do(t, "GET", "/users/?s="+username)
	found := objects(t, "search", res.wantArray(t))
	count := 0
	for _, u := range found {
		if u["username"] == username {
			count++
		}
	}
	if count != 1 {
		t.Errorf("search for %q finds %d users with that username, want 1", username, count)
	}
}

// hostOf returns the host of a URL, without port.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// TestUsernameRules covers R-FLD-2: trimmed, only A-Z lower-cased, then
// ^[a-z][a-z0-9]{4,24}$; any non-ASCII character is 400.
func TestUsernameRules(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-FLD-2", "R-REG-1", "R-WIRE-5")
	registerName := func(username string) *response {
		return do(t, "POST", "/users", jsonOf(map[string]any{
			"name": "Name", "username": username, "password": "a long password", "deviceInfo": newDevice(),
		}))
	}
	suffix := randomString(8)

	run(t, "Out-of-rule usernames are 400", func(t *testing.T) {
		for _, u := range []string{
			"", "   ", "abcd", "c" + randomString(25), "1" + suffix, "_" + suffix, "a_" + suffix, "a-" + suffix,
			"a " + suffix, "a." + suffix, "é" + suffix, "c" + suffix + "é", "ａ" + suffix, "a\x00" + suffix,
			"\u212Aelvin" + suffix, // the Kelvin sign is not a K
		} {
			res := registerName(u)
			if res.status != 400 {
				t.Errorf("username %q: %s, want 400", u, res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "The Kelvin sign does not take the k username", func(t *testing.T) {
		registerAs(t, "Kelvin", "kelvin"+suffix, "a long password")
	})
	run(t, "Five and 25 characters are fine, lower-cased", func(t *testing.T) {
		for _, u := range []string{"C" + randomString(4), "C" + randomString(24)} {
			got := str(t, registerName(" "+u+" ").wantObject(t), "username")
			if got != strings.ToLower(u) {
				t.Errorf("got username %q, want %q", got, strings.ToLower(u))
			}
		}
	})
}
