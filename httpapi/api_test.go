package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/storage"
	"usersapi/users"
)

// TestRegister covers api.md §1, R-REG-1, R-OBJ-1/3/4/5, R-WIRE-2/8.
func TestRegister(t *testing.T) {
	e := newEnv(t)
	dev := newDevice()
	dev["id"] = strings.ToUpper(dev["id"].(string))
	res := e.do("POST", "/users", map[string]any{"name": "  Zoë O'Brien ", "username": " AliceSmith ", "password": "correct horse", "deviceInfo": dev})
	wantStatus(t, "register", res, 200)
	if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q (R-WIRE-2)", ct)
	}
	m := res.json(t)
	if m["name"] != "Zoë O'Brien" || m["username"] != "alicesmith" || m["about"] != "" {
		t.Errorf("name, username, about = %q, %q, %q; want trimmed and lower-cased (R-FLD-1/2)", m["name"], m["username"], m["about"])
	}
	if photos, ok := m["photos"].([]any); !ok || len(photos) != 0 {
		t.Errorf("photos = %v, want [] (R-OBJ-1)", m["photos"])
	}
	date := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	if !date.MatchString(fmt.Sprint(m["createdAt"])) || m["lastSeen"] != "2026-11-25T16:11:45Z" {
		t.Errorf("createdAt %v, lastSeen %v: want RFC 3339 UTC seconds (R-WIRE-8)", m["createdAt"], m["lastSeen"])
	}
	sessions := m["deviceSessions"].([]any)
	s := sessions[0].(map[string]any)
	if len(sessions) != 1 || len(s["accessToken"].(string)) != 43 {
		t.Fatalf("deviceSessions %v: want one with a 43-character token (R-OBJ-3, R-SEC-2)", sessions)
	}
	di := s["deviceInfo"].(map[string]any)
	if di["id"] != strings.ToLower(dev["id"].(string)) || di["transport"] != "none" || s["ipAddress"] != "127.0.0.1" {
		t.Errorf("session %v: want lower-case device id (R-WIRE-9), transport none (R-OBJ-5), ipAddress 127.0.0.1 (R-OBJ-4)", s)
	}
	for _, k := range []string{"passwordHash", "password", "tokenHash"} {
		if strings.Contains(string(res.body), k) {
			t.Errorf("the answer names %s", k)
		}
	}

	t.Run("the token works at once", func(t *testing.T) {
		wantStatus(t, "me", e.do("GET", "/users/me", nil, bearerH(s["accessToken"].(string))...), 200)
	})
	t.Run("a taken username is 409, in any case", func(t *testing.T) {
		res := e.do("POST", "/users", map[string]any{"name": "B", "username": "ALICESMITH", "password": "another pass", "deviceInfo": newDevice()})
		wantStatus(t, "duplicate", res, 409)
	})
	t.Run("ids grow", func(t *testing.T) {
		a, b := e.register(), e.register()
		if b.id <= a.id {
			t.Errorf("ids %d then %d", a.id, b.id)
		}
	})
}

// TestRegisterConcurrently covers R-REG-1: of 50 concurrent registrations of one name,
// exactly one succeeds and the rest are 409.
func TestRegisterConcurrently(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	statuses := make(chan int, 50)
	for range 50 {
		wg.Go(func() {
			res := e.do("POST", "/users", map[string]any{"name": "Same", "username": "samename", "password": "correct horse", "deviceInfo": newDevice()})
			statuses <- res.status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[200]+count[409]+count[503] != 50 {
		t.Errorf("statuses %v: want exactly one 200, the rest 409 (or 503)", count)
	}
}

// TestBadRequests covers R-WIRE-5/7/10/11 and the field rules R-FLD-*, R-OBJ-5: each
// bad request gets its status and changes nothing.
func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	valid := func(over map[string]any) map[string]any {
		m := map[string]any{"name": "Bob", "username": "bobby", "password": "correct horse", "deviceInfo": newDevice()}
		for k, v := range over {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	dev := func(k string, v any) map[string]any { d := newDevice(); d[k] = v; return d }
	for _, c := range []struct {
		name   string
		body   any
		header []string
		status int
	}{
		{"malformed JSON", `{"name": "Bob",`, nil, 400},
		{"an array", `[]`, nil, 400},
		{"null body", `null`, nil, 400},
		{"empty body", ``, nil, 400},
		{"trailing data", `{"name":"Bob","username":"bobby","password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}} {}`, nil, 400},
		{"duplicate key", `{"name":"Bob","name":"Eve","username":"bobby","password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, nil, 400},
		{"invalid UTF-8", "{\"name\":\"B\xffb\",\"username\":\"bobby\",\"password\":\"correct horse\",\"deviceInfo\":{\"id\":\"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10\"}}", nil, 400},
		{"missing name", valid(map[string]any{"name": nil}), nil, 400},
		{"null username", `{"name":"Bob","username":null,"password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, nil, 400},
		{"missing deviceInfo", valid(map[string]any{"deviceInfo": nil}), nil, 400},
		{"name of the wrong type", valid(map[string]any{"name": 5}), nil, 400},
		{"blank name", valid(map[string]any{"name": "   "}), nil, 400},
		{"name of 65 code points", valid(map[string]any{"name": strings.Repeat("é", 65)}), nil, 400},
		{"name with a control character", valid(map[string]any{"name": "Bo\u0085b"}), nil, 400},
		{"username too short", valid(map[string]any{"username": "bob"}), nil, 400},
		{"username starting with a digit", valid(map[string]any{"username": "1bobby"}), nil, 400},
		{"username with the Kelvin sign", valid(map[string]any{"username": "\u212Abobby"}), nil, 400},
		{"username of 26", valid(map[string]any{"username": "b" + strings.Repeat("o", 25)}), nil, 400},
		{"password of 7", valid(map[string]any{"password": "1234567"}), nil, 400},
		{"password of 129", valid(map[string]any{"password": strings.Repeat("p", 129)}), nil, 400},
		{"password equal to the username", valid(map[string]any{"password": "BOBBYBOBBY", "username": "bobbybobby"}), nil, 400},
		{"password with a tab", valid(map[string]any{"password": "correct\thorse"}), nil, 400},
		{"device id not a UUID", valid(map[string]any{"deviceInfo": dev("id", "laptop")}), nil, 400},
		{"device name of 65", valid(map[string]any{"deviceInfo": dev("name", strings.Repeat("n", 65))}), nil, 400},
		{"device token of 4097", valid(map[string]any{"deviceInfo": dev("token", strings.Repeat("t", 4097))}), nil, 400},
		{"unknown transport", valid(map[string]any{"deviceInfo": dev("transport", "sms")}), nil, 400},
		{"text content type", valid(nil), []string{"Content-Type", "text/plain"}, 415},
		{"body over 64 KiB", valid(map[string]any{"about": strings.Repeat("a", 70<<10)}), nil, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantStatus(t, c.name, e.do("POST", "/users", c.body, c.header...), c.status)
		})
	}
	if res := e.do("GET", "/users?s=bob", nil); string(res.body) != "[]" {
		t.Errorf("after only bad requests, search finds %s; want [] (nothing changed)", res.body)
	}
	t.Run("unknown fields are ignored", func(t *testing.T) {
		wantStatus(t, "extra field", e.do("POST", "/users", valid(map[string]any{"favouriteColour": "green"})), 200)
	})
	t.Run("a password with any other characters is taken as sent", func(t *testing.T) {
		res := e.do("POST", "/users", map[string]any{"name": "Emoji", "username": "emoji", "password": "  🐴 batterie staple ", "deviceInfo": newDevice()})
		wantStatus(t, "register", res, 200)
		wantStatus(t, "login", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH("emoji", "  🐴 batterie staple ")...), 200)
		wantStatus(t, "login trimmed", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH("emoji", "🐴 batterie staple")...), 401)
	})
}

// TestLogin covers api.md §2, R-LOG-1, R-LOG-2, R-WIRE-6.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	u := e.register()

	t.Run("unknown user and wrong password give the same 401", func(t *testing.T) {
		a := e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH("nobodyhere", "correct horse")...)
		b := e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, "wrong horse")...)
		wantStatus(t, "unknown", a, 401)
		wantStatus(t, "wrong", b, 401)
		if string(a.body) != string(b.body) {
			t.Errorf("bodies differ: %s vs %s", a.body, b.body)
		}
		if got := a.header.Get("WWW-Authenticate"); got != `Basic realm="users", charset="UTF-8"` {
			t.Errorf("WWW-Authenticate %q (R-WIRE-6)", got)
		}
	})
	t.Run("credentials are checked before the body", func(t *testing.T) {
		wantStatus(t, "bad body, wrong password", e.do("POST", "/users/login", `{`, basicH(u.username, "wrong horse")...), 401)
		wantStatus(t, "bad body, right password", e.do("POST", "/users/login", `{`, basicH(u.username, u.password)...), 400)
		wantStatus(t, "no deviceInfo", e.do("POST", "/users/login", `{}`, basicH(u.username, u.password)...), 400)
	})
	t.Run("missing, garbled or wrong-scheme credentials are 401", func(t *testing.T) {
		for _, h := range [][]string{nil, {"Authorization", "Basic !!!"}, {"Authorization", "Bearer " + u.token}, {"Authorization", "Basic " + "Ym9i"}} {
			wantStatus(t, fmt.Sprint(h), e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, h...), 401)
		}
	})
	t.Run("the username is lower-cased", func(t *testing.T) {
		wantStatus(t, "upper", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(strings.ToUpper(u.username), u.password)...), 200)
	})
	t.Run("a new login from the same device replaces its session", func(t *testing.T) {
		first := e.login(u, u.device)
		second := e.login(u, u.device)
		wantStatus(t, "old token", e.do("GET", "/users/me", nil, bearerH(first)...), 401)
		wantStatus(t, "registration token", e.do("GET", "/users/me", nil, bearerH(u.token)...), 401)
		res := e.do("GET", "/users/me", nil, bearerH(second)...)
		wantStatus(t, "new token", res, 200)
		for _, s := range res.json(t)["deviceSessions"].([]any) {
			if s.(map[string]any)["deviceInfo"].(map[string]any)["id"] == u.device["id"] && s.(map[string]any)["accessToken"] != second {
				t.Error("a second session of the same device remains")
			}
		}
	})
	t.Run("different devices get separate sessions, the current first", func(t *testing.T) {
		v := e.register()
		other := newDevice()
		tok := e.login(v, other)
		res := e.do("GET", "/users/me", nil, bearerH(tok)...)
		sessions := res.json(t)["deviceSessions"].([]any)
		if len(sessions) != 2 {
			t.Fatalf("%d sessions, want 2", len(sessions))
		}
		if sessions[0].(map[string]any)["accessToken"] != tok || sessions[1].(map[string]any)["accessToken"] != nil {
			t.Errorf("sessions %v: only the first, the caller's, carries its token (R-OBJ-3)", sessions)
		}
		wantStatus(t, "first device still", e.do("GET", "/users/me", nil, bearerH(v.token)...), 200)
	})
}

// TestBearer covers R-WIRE-6 and R-ME-1 for bad tokens.
func TestBearer(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	for _, h := range [][]string{nil, {"Authorization", "Bearer"}, {"Authorization", "Bearer short"}, {"Authorization", "Bearer " + strings.Repeat("A", 43)}, basicH(u.username, u.password), {"Authorization", "Token " + u.token}} {
		res := e.do("GET", "/users/me", nil, h...)
		wantStatus(t, fmt.Sprint(h), res, 401)
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="users"` {
			t.Errorf("%v: WWW-Authenticate %q", h, got)
		}
	}
	wantStatus(t, "lower-case scheme", e.do("GET", "/users/me", nil, "Authorization", "bearer "+u.token), 200)
}

// TestLogout covers api.md §4, R-OUT-1.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	other := e.login(u, newDevice())
	wantStatus(t, "logout", e.do("POST", "/users/me/logout", nil, bearerH(u.token)...), 200)
	wantStatus(t, "logged-out token", e.do("GET", "/users/me", nil, bearerH(u.token)...), 401)
	wantStatus(t, "second logout", e.do("POST", "/users/me/logout", nil, bearerH(u.token)...), 401)
	res := e.do("GET", "/users/me", nil, bearerH(other)...)
	wantStatus(t, "other session", res, 200)
	if n := len(res.json(t)["deviceSessions"].([]any)); n != 1 {
		t.Errorf("%d sessions remain, want 1", n)
	}
}

// TestChangePassword covers api.md §5, R-PW-1 and R-WIRE-11.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	other := e.login(u, newDevice())
	path := "/users/me/changePassword"
	wantStatus(t, "wrong old", e.do("PUT", path, map[string]any{"oldPassword": "wrong horse", "newPassword": "new password"}, bearerH(u.token)...), 403)
	wantStatus(t, "wrong old and invalid new", e.do("PUT", path, map[string]any{"oldPassword": "wrong horse", "newPassword": "short"}, bearerH(u.token)...), 400)
	wantStatus(t, "new equal to username", e.do("PUT", path, map[string]any{"oldPassword": u.password, "newPassword": strings.ToUpper(u.username)}, bearerH(u.token)...), 400)
	wantStatus(t, "missing new", e.do("PUT", path, map[string]any{"oldPassword": u.password}, bearerH(u.token)...), 400)
	wantStatus(t, "other session untouched by failures", e.do("GET", "/users/me", nil, bearerH(other)...), 200)

	wantStatus(t, "change", e.do("PUT", path, map[string]any{"oldPassword": u.password, "newPassword": "new password"}, bearerH(u.token)...), 200)
	wantStatus(t, "caller's session stays", e.do("GET", "/users/me", nil, bearerH(u.token)...), 200)
	wantStatus(t, "other session ended", e.do("GET", "/users/me", nil, bearerH(other)...), 401)
	wantStatus(t, "old password", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, u.password)...), 401)
	wantStatus(t, "new password", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, "new password")...), 200)
}

// TestAccountKeyAndReset covers api.md §6-7, R-KEY-1, R-RST-1.
func TestAccountKeyAndReset(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	key := "a sufficiently long account key"
	wantStatus(t, "key with wrong password", e.do("PUT", "/users/me/setAccountKey", map[string]any{"password": "wrong horse", "accountKey": key}, bearerH(u.token)...), 403)
	wantStatus(t, "key too short", e.do("PUT", "/users/me/setAccountKey", map[string]any{"password": u.password, "accountKey": "short"}, bearerH(u.token)...), 400)

	reset := func(id int64, k, pw string) response {
		return e.do("PUT", "/users/resetPassword", map[string]any{"userId": id, "accountKey": k, "newPassword": pw})
	}
	noKey := reset(u.id, key, "brand new pass")
	wantStatus(t, "reset without a key set", noKey, 403)

	wantStatus(t, "set key", e.do("PUT", "/users/me/setAccountKey", map[string]any{"password": u.password, "accountKey": "first key, soon replaced......"}, bearerH(u.token)...), 200)
	wantStatus(t, "replace key", e.do("PUT", "/users/me/setAccountKey", map[string]any{"password": u.password, "accountKey": key}, bearerH(u.token)...), 200)
	if got, _ := e.store.User(t.Context(), u.id); strings.Contains(got.AccountKeyHash, key) || !strings.HasPrefix(got.AccountKeyHash, "$pbkdf2-sha256$") {
		t.Errorf("stored key %q: want only a PBKDF2 hash", got.AccountKeyHash)
	}
	unknown := reset(999999, key, "brand new pass")
	wrong := reset(u.id, "the wrong account key, long enough", "brand new pass")
	wantStatus(t, "unknown user", unknown, 403)
	wantStatus(t, "wrong key", wrong, 403)
	if string(unknown.body) != string(wrong.body) || string(noKey.body) != string(wrong.body) {
		t.Errorf("403 bodies differ: %s / %s / %s", unknown.body, wrong.body, noKey.body)
	}
	wantStatus(t, "old key", reset(u.id, "first key, soon replaced......", "brand new pass"), 403)
	wantStatus(t, "invalid new password", reset(u.id, key, "short"), 400)
	wantStatus(t, "new password equal to username", reset(u.id, key, u.username), 400)
	wantStatus(t, "userId of the wrong type", e.do("PUT", "/users/resetPassword", map[string]any{"userId": "1", "accountKey": key, "newPassword": "brand new pass"}), 400)
	wantStatus(t, "huge userId", e.do("PUT", "/users/resetPassword", fmt.Sprintf(`{"userId": 1e40, "accountKey": %q, "newPassword": "brand new pass"}`, key)), 400)

	other := e.login(u, newDevice())
	wantStatus(t, "reset", reset(u.id, key, "brand new pass"), 200)
	wantStatus(t, "every session ends: registration", e.do("GET", "/users/me", nil, bearerH(u.token)...), 401)
	wantStatus(t, "every session ends: other", e.do("GET", "/users/me", nil, bearerH(other)...), 401)
	wantStatus(t, "old password", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, u.password)...), 401)
	wantStatus(t, "new password", e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, "brand new pass")...), 200)
	wantStatus(t, "POST alias", e.do("POST", "/users/resetPassword", map[string]any{"userId": u.id, "accountKey": key, "newPassword": "third password"}), 200)
}

// TestUpdateUserAndDevice covers api.md §8-9, R-UPD-1, R-DEV-1, R-WIRE-7 (null).
func TestUpdateUserAndDevice(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	me := func() map[string]any { return e.do("GET", "/users/me", nil, bearerH(u.token)...).json(t) }
	wantStatus(t, "about", e.do("PUT", "/users/me", map[string]any{"about": "  Hello there  "}, bearerH(u.token)...), 200)
	wantStatus(t, "empty", e.do("PUT", "/users/me", `{}`, bearerH(u.token)...), 200)
	wantStatus(t, "null name", e.do("PUT", "/users/me", `{"name": null}`, bearerH(u.token)...), 200)
	if m := me(); m["about"] != "Hello there" || m["name"] != "Test User" {
		t.Errorf("name %q about %q: want about trimmed, name unchanged", m["name"], m["about"])
	}
	wantStatus(t, "name", e.do("PUT", "/users/me", map[string]any{"name": "New Name"}, bearerH(u.token)...), 200)
	wantStatus(t, "empty name", e.do("PUT", "/users/me", map[string]any{"name": ""}, bearerH(u.token)...), 400)
	wantStatus(t, "about of 501", e.do("PUT", "/users/me", map[string]any{"about": strings.Repeat("a", 501), "name": "Not Applied"}, bearerH(u.token)...), 400)
	if m := me(); m["about"] != "Hello there" || m["name"] != "New Name" {
		t.Errorf("name %q about %q after a refused update: nothing may change", m["name"], m["about"])
	}
	wantStatus(t, "no token", e.do("PUT", "/users/me", map[string]any{"name": "X"}), 401)

	wantStatus(t, "device", e.do("PUT", "/users/me/device", map[string]any{"deviceName": " My laptop ", "deviceToken": "push-123"}, bearerH(u.token)...), 200)
	wantStatus(t, "device name of 65", e.do("PUT", "/users/me/device", map[string]any{"deviceName": strings.Repeat("n", 65)}, bearerH(u.token)...), 400)
	di := me()["deviceSessions"].([]any)[0].(map[string]any)["deviceInfo"].(map[string]any)
	if di["name"] != "My laptop" || di["token"] != "push-123" || di["model"] != "x1" {
		t.Errorf("deviceInfo %v after update", di)
	}
}

// TestGetUserAndSearch covers api.md §10-11, R-GET-1, R-SRCH-1, R-OBJ-2.
func TestGetUserAndSearch(t *testing.T) {
	e := newEnv(t)
	reg := func(name, username string) int64 {
		res := e.do("POST", "/users", map[string]any{"name": name, "username": username, "password": "correct horse", "deviceInfo": newDevice()})
		wantStatus(t, "register "+username, res, 200)
		return int64(res.json(t)["id"].(float64))
	}
	other := reg("Annabel Lee", "zzannabel")
	prefix := reg("Someone", "annabel2")
	exact := reg("Exact", "annabel")
	named := reg("ANNABELLA", "yyyyy")

	res := e.do("GET", fmt.Sprint("/users/", exact), nil)
	wantStatus(t, "get", res, 200)
	m := res.json(t)
	if _, ok := m["deviceSessions"]; ok || m["username"] != "annabel" {
		t.Errorf("public UserInfo %s must not carry deviceSessions (R-OBJ-2)", res.body)
	}
	for _, bad := range []string{"0", "-1", "abc", "1.5", "+1", "99999999999999999999"} {
		wantStatus(t, "get "+bad, e.do("GET", "/users/"+bad, nil), 400)
	}
	wantStatus(t, "unknown id", e.do("GET", "/users/424242", nil), 404)

	res = e.do("GET", "/users/?s=%20AnnaBel%20", nil)
	wantStatus(t, "search", res, 200)
	var got []int64
	for _, u := range strings.Split(string(res.body), `"id":`)[1:] {
		var id int64
		fmt.Sscan(strings.SplitN(u, ",", 2)[0], &id)
		got = append(got, id)
	}
	if want := []int64{exact, prefix, other, named}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("search order %v, want %v: exact, prefix, then the rest by id", got, want)
	}
	if strings.Contains(string(res.body), "deviceSessions") || strings.Contains(string(res.body), "accessToken") {
		t.Error("search results carry sessions (R-OBJ-2)")
	}
	wantStatus(t, "same route without slash", e.do("GET", "/users?s=annabel", nil), 200)
	if res := e.do("GET", "/users?s=nomatchatall", nil); string(res.body) != "[]" {
		t.Errorf("no match: %s, want []", res.body)
	}
	wantStatus(t, "one character", e.do("GET", "/users?s=%20a%20", nil), 400)
	wantStatus(t, "no s", e.do("GET", "/users", nil), 400)
	wantStatus(t, "65 characters", e.do("GET", "/users?s="+strings.Repeat("a", 65), nil), 400)
}

// TestDeregister covers api.md §14, R-DEL-1.
func TestDeregister(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	wantStatus(t, "bearer is not enough", e.do("DELETE", "/users/me", nil, bearerH(u.token)...), 401)
	wantStatus(t, "wrong password", e.do("DELETE", "/users/me", nil, basicH(u.username, "wrong horse")...), 401)
	wantStatus(t, "deregister", e.do("DELETE", "/users/me", nil, basicH(u.username, u.password)...), 200)
	wantStatus(t, "old token", e.do("GET", "/users/me", nil, bearerH(u.token)...), 401)
	wantStatus(t, "get", e.do("GET", fmt.Sprint("/users/", u.id), nil), 404)
	res := e.do("POST", "/users", map[string]any{"name": "Again", "username": u.username, "password": "correct horse", "deviceInfo": newDevice()})
	wantStatus(t, "register again", res, 200)
	if id := int64(res.json(t)["id"].(float64)); id <= u.id {
		t.Errorf("new id %d, old %d: ids are never reused", id, u.id)
	}
}

// TestRoutes covers R-WIRE-1 and R-WIRE-5: the mux's own answers are JSON too.
func TestRoutes(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, "unknown route", e.do("GET", "/nothing", nil), 404)
	res := e.do("DELETE", "/users/login", nil)
	wantStatus(t, "wrong method", res, 405)
	if res.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	wantStatus(t, "health", e.do("GET", "/healthz", nil), 200)
}

// TestThrottle covers R-SEC-4 with the clock moved by hand.
func TestThrottle(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	login := func(pw string) response {
		return e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH(u.username, pw)...)
	}
	for i := range 10 {
		wantStatus(t, fmt.Sprint("wrong ", i), login("wrong horse"), 401)
	}
	res := login(u.password)
	wantStatus(t, "right password while blocked", res, 429)
	if ra := res.header.Get("Retry-After"); ra != "900" {
		t.Errorf("Retry-After %q, want 900", ra)
	}
	unknown := e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH("ghostuser", "x-password")...)
	for range 10 {
		unknown = e.do("POST", "/users/login", map[string]any{"deviceInfo": newDevice()}, basicH("ghostuser", "x-password")...)
	}
	if unknown.status != 429 || string(unknown.body) != string(res.body) {
		t.Errorf("unknown account: %d %s; want the same 429 as a known one", unknown.status, unknown.body)
	}
	e.clock.Advance(15 * time.Minute)
	wantStatus(t, "after the window", login(u.password), 200)
	wantStatus(t, "success cleared the count", login("wrong horse"), 401)

	for i := range 10 {
		wantStatus(t, fmt.Sprint("wrong key ", i), e.do("PUT", "/users/resetPassword", map[string]any{"userId": u.id, "accountKey": strings.Repeat("k", 30), "newPassword": "brand new pass"}), 403)
	}
	wantStatus(t, "reset blocked", e.do("PUT", "/users/resetPassword", map[string]any{"userId": u.id, "accountKey": strings.Repeat("k", 30), "newPassword": "brand new pass"}), 429)
	wantStatus(t, "login not blocked by reset failures", login(u.password), 200)
}

// TestSessionActivity covers R-SES-1 and R-SES-2.
func TestSessionActivity(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	created := e.do("GET", "/users/me", nil, bearerH(u.token)...).json(t)["deviceSessions"].([]any)[0].(map[string]any)["updatedAt"]
	e.clock.Advance(30 * time.Second)
	m := e.do("GET", "/users/me", nil, bearerH(u.token)...).json(t)
	if got := m["deviceSessions"].([]any)[0].(map[string]any)["updatedAt"]; got != created {
		t.Errorf("updatedAt %v after 30s, want unchanged %v: at most once a minute", got, created)
	}
	e.clock.Advance(31 * time.Second)
	m = e.do("GET", "/users/me", nil, bearerH(u.token)...).json(t)
	if got := m["deviceSessions"].([]any)[0].(map[string]any)["updatedAt"]; got != "2026-11-25T16:12:46Z" {
		t.Errorf("updatedAt %v after 61s, want 2026-11-25T16:12:46Z", got)
	}
	if pub := e.do("GET", fmt.Sprint("/users/", u.id), nil).json(t); pub["lastSeen"] != "2026-11-25T16:12:46Z" {
		t.Errorf("lastSeen %v, want the newest updatedAt", pub["lastSeen"])
	}
	wantStatus(t, "logout", e.do("POST", "/users/me/logout", nil, bearerH(u.token)...), 200)
	if pub := e.do("GET", fmt.Sprint("/users/", u.id), nil).json(t); pub["lastSeen"] != nil {
		t.Errorf("lastSeen %v without sessions, want it omitted (R-OBJ-1)", pub["lastSeen"])
	}
}

func TestRoutesList(t *testing.T) {
	got := strings.Join(httpapi.Routes(), "\n")
	for _, want := range []string{"POST /users", "GET /users/me", "DELETE /users/me", "PUT /users/resetPassword", "POST /users/resetPassword"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("Routes() lacks %q:\n%s", want, got)
		}
	}
}

// TestAboutMaySpanLines covers R-FLD-4: only trimming and length apply to about.
func TestAboutMaySpanLines(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	wantStatus(t, "about", e.do("PUT", "/users/me", map[string]any{"about": "line one\n\tline two"}, bearerH(u.token)...), 200)
	if got := e.do("GET", "/users/me", nil, bearerH(u.token)...).json(t)["about"]; got != "line one\n\tline two" {
		t.Errorf("about %q", got)
	}
}

// unwritable is a store whose disk refuses writes, as users.WriteChecker tells.
type unwritable struct{ users.Store }

func (unwritable) Writable() error {
	return &users.Error{Kind: users.ErrBusy, Reason: "The server cannot store data right now.", RetryAfter: 5 * time.Second}
}

// TestHealthReportsAStoreThatCannotWrite: /healthz is 200 {"status":"ok"} while the store
// takes writes, and 503 with Retry-After and the error object while it cannot.
func TestHealthReportsAStoreThatCannotWrite(t *testing.T) {
	for _, c := range []struct {
		store  users.Store
		status int
	}{
		{storage.NewMemory(), 200},
		{unwritable{storage.NewMemory()}, 503},
	} {
		svc := users.NewService(users.Config{Store: c.store, Hasher: auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}), Tokens: auth.Tokens{}})
		srv := httptest.NewServer(httpapi.NewServer(svc, httpapi.Options{}))
		res, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if res.StatusCode != c.status {
			t.Errorf("%T: /healthz %d %s, want %d", c.store, res.StatusCode, body, c.status)
		}
		if c.status == 503 && (res.Header.Get("Retry-After") != "5" || !strings.Contains(string(body), `"error":true`)) {
			t.Errorf("/healthz of a store that cannot write: Retry-After %q, body %s; want 5 and the error object", res.Header.Get("Retry-After"), body)
		}
	}
}
