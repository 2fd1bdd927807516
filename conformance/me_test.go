package conformance_test

import (
	"strings"
	"testing"
)

// TestMe covers api.md §3 and R-ME-1: the private UserInfo of the caller, whose own
// session comes first with its token (R-OBJ-3), and the Bearer challenge (R-WIRE-6).
func TestMe(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §3", "R-ME-1", "R-OBJ-1", "R-OBJ-3", "R-WIRE-6")
	alice := register(t)
	phone := newDevice()
	phoneToken, _ := alice.login(t, phone)

	run(t, "The caller's own session comes first, with its token", func(t *testing.T) {
		for _, c := range []struct {
			token, device string
		}{
			{alice.token, alice.device["id"].(string)},
			{phoneToken, phone["id"].(string)},
		} {
			u := me(t, c.token)
			if integer(t, u, "id") != alice.id || u["username"] != alice.username || u["name"] != alice.name {
				t.Errorf("got %s, want alice's UserInfo", compact(u))
			}
			sessions := objects(t, "deviceSessions", array(t, u, "deviceSessions"))
			if len(sessions) != 2 {
				t.Fatalf("got %d sessions, want 2", len(sessions))
			}
			if id := object(t, sessions[0], "deviceInfo")["id"]; id != c.device {
				t.Errorf("got the session of device %v first, want the caller's, %s", id, c.device)
			}
			if tok := sessions[0]["accessToken"]; tok != c.token {
				t.Errorf("got accessToken %v on the caller's session, want the caller's token", tok)
			}
		}
	})

	run(t, "The answer matches the public one", func(t *testing.T) {
		priv, pub := me(t, alice.token), public(t, alice.id)
		for _, k := range []string{"id", "name", "username", "about", "createdAt", "lastSeen"} {
			if priv[k] != pub[k] {
				t.Errorf("GET /users/me has %s %v, GET /users/<id> has %v", k, priv[k], pub[k])
			}
		}
	})

	run(t, "The scheme name is matched in any case", func(t *testing.T) {
		cites(t, "R-WIRE-6")
		for _, scheme := range []string{"bearer", "BEARER"} {
			if res := do(t, "GET", "/users/me", header("Authorization", scheme+" "+alice.token)); res.status != 200 {
				t.Errorf("Authorization: %s <token>: %s, want 200 (auth schemes are case-insensitive, RFC 9110)", scheme, res)
			}
		}
	})

	run(t, "Missing, malformed or unknown tokens are 401", func(t *testing.T) {
		for _, h := range []string{
			"",
			"Bearer",
			"Bearer ",
			"Bearer not-a-token",
			"Bearer " + strings.Repeat("A", 43),
			"Bearer " + alice.token + "x",
			"Bearer " + alice.token[:42],
			"Basic " + alice.token,
			alice.token,
		} {
			res := do(t, "GET", "/users/me", header("Authorization", h))
			if res.status != 401 {
				t.Errorf("Authorization %q: %s, want 401", h, res)
				continue
			}
			res.wantChallenge(t, "Bearer")
		}
	})
}

// TestLogout covers api.md §4 and R-OUT-1: logout ends the caller's session only.
func TestLogout(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §4", "R-OUT-1", "R-WIRE-3", "R-WIRE-6")
	alice := register(t)
	phone := newDevice()
	phoneToken, _ := alice.login(t, phone)

	run(t, "Logout answers OK", func(t *testing.T) {
		do(t, "POST", "/users/me/logout", bearer(phoneToken)).wantOK(t)
	})
	run(t, "The token is then refused", func(t *testing.T) {
		wantTokenEnded(t, phoneToken, "the logged-out token")
		do(t, "POST", "/users/me/logout", bearer(phoneToken)).wantChallenge(t, "Bearer")
	})
	run(t, "The user's other sessions keep working", func(t *testing.T) {
		u := me(t, alice.token)
		if sessionByDevice(t, u, phone["id"].(string)) != nil {
			t.Errorf("the logged-out session is still listed")
		}
		if n := len(array(t, u, "deviceSessions")); n != 1 {
			t.Errorf("got %d sessions, want 1", n)
		}
	})
	run(t, "Logout needs a token", func(t *testing.T) {
		do(t, "POST", "/users/me/logout").wantChallenge(t, "Bearer")
	})
}
