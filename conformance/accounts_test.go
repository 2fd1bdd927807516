package conformance_test

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

// account is a user registered by one test, with the token of its first session.
type account struct {
	id       int64
	name     string
	username string
	password string
	device   map[string]any // the deviceInfo it registered with
	token    string         // of the session register made
	info     map[string]any // the register answer
}

// register creates an account with a unique username, so that every test can run in
// parallel against one shared server. It checks only what every later step relies on.
func register(t testing.TB) *account {
	t.Helper()
	u := uniqueUsername()
	return registerAs(t, "Conformance "+u, u, "pw "+randomString(16))
}

// registerAs creates an account with the given fields, which must be valid.
func registerAs(t testing.TB, name, username, password string) *account {
	t.Helper()
	dev := newDevice()
	res := do(t, "POST", "/users", jsonOf(map[string]any{
		"name": name, "username": username, "password": password, "deviceInfo": dev,
	}))
	info := res.wantObject(t)
	sessions := objects(t, "deviceSessions", array(t, info, "deviceSessions"))
	if len(sessions) == 0 {
		t.Fatalf("%s: no deviceSessions in the register answer (R-REG-1)", res)
	}
	token, _ := sessions[0]["accessToken"].(string)
	if token == "" {
		t.Fatalf("%s: no accessToken on the new session (R-REG-1, R-OBJ-3)", res)
	}
	return &account{
		id:       integer(t, info, "id"),
		name:     name,
		username: strings.ToLower(strings.TrimSpace(username)),
		password: password,
		device:   dev,
		token:    token,
		info:     info,
	}
}

// login opens a session of a on the device and returns its token and the answer.
func (a *account) login(t testing.TB, device map[string]any, opts ...option) (string, map[string]any) {
	t.Helper()
	opts = append([]option{basic(a.username, a.password), jsonOf(map[string]any{"deviceInfo": device})}, opts...)
	res := do(t, "POST", "/users/login", opts...)
	info := res.wantObject(t)
	sessions := objects(t, "deviceSessions", array(t, info, "deviceSessions"))
	if len(sessions) == 0 {
		t.Fatalf("%s: no deviceSessions in the login answer (R-LOG-1)", res)
	}
	token, _ := sessions[0]["accessToken"].(string)
	if token == "" {
		t.Fatalf("%s: no accessToken on the new session (R-LOG-1, R-OBJ-3)", res)
	}
	return token, info
}

// me returns GET /users/me for the token, checked as a private UserInfo.
func me(t testing.TB, token string) map[string]any {
	t.Helper()
	u := do(t, "GET", "/users/me", bearer(token)).wantObject(t)
	checkUserInfo(t, "GET /users/me", u, true)
	return u
}

// public returns GET /users/<id>, checked as a public UserInfo.
func public(t testing.TB, id int64) map[string]any {
	t.Helper()
	u := do(t, "GET", fmt.Sprintf("/users/%d", id)).wantObject(t)
	checkUserInfo(t, "GET /users/<id>", u, false)
	return u
}

// wantTokenWorks and wantTokenEnded check a token against GET /users/me.
func wantTokenWorks(t testing.TB, token, what string) {
	t.Helper()
	if res := do(t, "GET", "/users/me", bearer(token)); res.status != 200 {
		t.Errorf("%s: %s, want 200", what, res)
	}
}

func wantTokenEnded(t testing.TB, token, what string) {
	t.Helper()
	res := do(t, "GET", "/users/me", bearer(token))
	if res.status != 401 {
		t.Errorf("%s: %s, want 401", what, res)
		return
	}
	res.wantChallenge(t, "Bearer")
}

// wantLogin checks whether the password logs the user in (200) or not (401).
func wantLogin(t testing.TB, username, password string, status int, what string) {
	t.Helper()
	res := do(t, "POST", "/users/login", basic(username, password), jsonOf(map[string]any{"deviceInfo": newDevice()}))
	if res.status != status {
		t.Errorf("%s: %s, want %d", what, res, status)
	}
}

// newDevice returns a valid DeviceInfo with a fresh id.
func newDevice() map[string]any {
	return map[string]any{"id": newUUID(), "name": "Conformance", "model": "go test", "token": "", "transport": "none"}
}

// uniqueUsername returns a valid username no other test uses: "cf" and 12 random
// letters and digits.
func uniqueUsername() string { return "cf" + randomString(12) }

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n random lower-case letters and digits.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// newUUID returns a random (version 4) UUID in lower case.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
