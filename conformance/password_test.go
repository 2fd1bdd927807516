package conformance_test

import (
	"strings"
	"testing"
)

// TestChangePassword covers api.md §5 and R-PW-1, with the password rules (R-FLD-3)
// and the order of checks (R-WIRE-11: a bad new password is 400 even when the old one
// is wrong).
func TestChangePassword(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §5", "R-PW-1", "R-FLD-3", "R-WIRE-11", "R-WIRE-3")
	alice := register(t)
	phoneToken, _ := alice.login(t, newDevice())
	change := func(token, oldPassword, newPassword string) *response {
		return do(t, "PUT", "/users/me/changePassword", bearer(token),
			jsonOf(map[string]any{"oldPassword": oldPassword, "newPassword": newPassword}))
	}

	run(t, "A wrong old password is 403", func(t *testing.T) {
		change(alice.token, alice.password+"x", "a new password").wantError(t, 403)
	})

	run(t, "An invalid new password is 400, even with a wrong old password", func(t *testing.T) {
		cites(t, "R-WIRE-11", "R-FLD-3", "R-WIRE-10")
		for _, bad := range []string{
			"short",
			strings.Repeat("😀", 7),
			strings.Repeat("p", 129),
			strings.Repeat("é", 129),
			"with\x00nul",
			"with\ttab",
			"with\x7fdel",
			alice.username,
			strings.ToUpper(alice.username),
		} {
			for _, old := range []string{alice.password, "a wrong password"} {
				res := change(alice.token, old, bad)
				if res.status != 400 {
					t.Errorf("new password %.20q with old password %q: %s, want 400", bad, old, res)
					continue
				}
				res.errorBody(t)
			}
		}
	})

	run(t, "An old password outside the password rule is 400, not 403", func(t *testing.T) {
		cites(t, "R-FLD-3", "R-WIRE-11")
		change(alice.token, "short", "a new password").wantError(t, 400)
		change(alice.token, strings.Repeat("x", 129), "a new password").wantError(t, 400)
	})

	run(t, "Missing fields are 400", func(t *testing.T) {
		cites(t, "R-WIRE-7")
		for _, body := range []string{
			`{}`,
			`{"newPassword": "a new password"}`,
			`{"oldPassword": null, "newPassword": "a new password"}`,
			`{"oldPassword": "` + alice.password + `"}`,
			`{"oldPassword": "` + alice.password + `", "newPassword": 12345678}`,
		} {
			res := do(t, "PUT", "/users/me/changePassword", bearer(alice.token), rawJSON(body))
			if res.status != 400 {
				t.Errorf("body %s: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
	})

	run(t, "Changing the password needs a token", func(t *testing.T) {
		do(t, "PUT", "/users/me/changePassword", jsonOf(map[string]any{
			"oldPassword": alice.password, "newPassword": "a new password",
		})).wantChallenge(t, "Bearer")
	})

	// Passwords are taken exactly as sent: spaces around are kept, any script counts
	// by code points (R-FLD-3, R-WIRE-10).
	newPassword := "  Ünïcödé 密码 😀  "
	run(t, "Changing the password answers OK", func(t *testing.T) {
		change(alice.token, alice.password, newPassword).wantOK(t)
	})
	run(t, "After changing password, can't log in with the old one", func(t *testing.T) {
		wantLogin(t, alice.username, alice.password, 401, "the old password")
	})
	run(t, "After changing password, the new one logs in exactly as sent", func(t *testing.T) {
		cites(t, "R-FLD-3")
		wantLogin(t, alice.username, strings.TrimSpace(newPassword), 401, "the new password trimmed")
		wantLogin(t, alice.username, newPassword, 200, "the new password")
	})
	run(t, "Other sessions end, the caller's stays", func(t *testing.T) {
		wantTokenEnded(t, phoneToken, "the other session")
		wantTokenWorks(t, alice.token, "the caller's session")
	})
}

// TestPasswordRules covers R-FLD-3 at registration: lengths in code points, exactly as
// sent, never truncated, not the username; and, on every route whose body carries a
// password, that one equal to the username is a field error (400, R-WIRE-11), not a
// wrong secret.
func TestPasswordRules(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-FLD-3", "R-WIRE-10", "R-WIRE-11", "R-REG-1")

	run(t, "Out-of-rule passwords are refused", func(t *testing.T) {
		username := uniqueUsername()
		for _, pw := range []string{
			"",
			"1234567",
			strings.Repeat("😀", 7),
			strings.Repeat("x", 129),
			strings.Repeat("ж", 129),
			"control\x1fchar",
			"control\x7fdel",
			username,
			strings.ToUpper(username),
		} {
			res := do(t, "POST", "/users", jsonOf(map[string]any{
				"name": "Bob", "username": username, "password": pw, "deviceInfo": newDevice(),
			}))
			if res.status != 400 {
				t.Errorf("password %.20q: %s, want 400", pw, res)
				continue
			}
			res.errorBody(t)
		}
	})

	run(t, "A password equal to the username is 400 on every route, and no failed attempt", func(t *testing.T) {
		alice := register(t)
		key := "an account key of at least 25 characters"
		do(t, "PUT", "/users/me/setAccountKey", bearer(alice.token), jsonOf(map[string]any{"password": alice.password, "accountKey": key})).wantOK(t)
		for _, pw := range []string{alice.username, strings.ToUpper(alice.username)} {
			for i := 0; i < 6; i++ { // twelve in all: past the ten failures of R-SEC-4, were they counted
				do(t, "PUT", "/users/me/changePassword", bearer(alice.token), jsonOf(map[string]any{"oldPassword": pw, "newPassword": "a brand new password"})).wantError(t, 400)
			}
			do(t, "PUT", "/users/me/changePassword", bearer(alice.token), jsonOf(map[string]any{"oldPassword": alice.password, "newPassword": pw})).wantError(t, 400)
			do(t, "PUT", "/users/me/setAccountKey", bearer(alice.token), jsonOf(map[string]any{"password": pw, "accountKey": key})).wantError(t, 400)
			do(t, "PUT", "/users/resetPassword", jsonOf(map[string]any{"userId": alice.id, "accountKey": key, "newPassword": pw})).wantError(t, 400)
		}
		wantLogin(t, alice.username, alice.password, 200, "the right password after passwords equal to the username")
	})

	run(t, "Invalid UTF-8 is refused", func(t *testing.T) {
		body := `{"name": "Bob", "username": "` + uniqueUsername() + `", "password": "bad utf-8 \xff\xfe here",` +
			` "deviceInfo": {"id": "` + newUUID() + `"}}`
		do(t, "POST", "/users", rawJSON(body)).wantError(t, 400)
	})

	run(t, "Eight and 128 code points are fine, and nothing is truncated", func(t *testing.T) {
		short := registerAs(t, "Bob", uniqueUsername(), strings.Repeat("😀", 8))
		wantLogin(t, short.username, strings.Repeat("😀", 8), 200, "an 8-emoji password")
		long := strings.Repeat("ß", 100) + strings.Repeat("x", 28)
		bob := registerAs(t, "Bob", uniqueUsername(), long)
		wantLogin(t, bob.username, long[:len(long)-1], 401, "the password without its last character")
		wantLogin(t, bob.username, long, 200, "the 128-code-point password")
	})
}
