package conformance_test

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSetAccountKey covers api.md §6 and R-KEY-1, with the key rules (R-FLD-5).
func TestSetAccountKey(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §6", "R-KEY-1", "R-FLD-5", "R-WIRE-3", "R-WIRE-11")
	alice := register(t)
	set := func(password, key string) *response {
		return do(t, "PUT", "/users/me/setAccountKey", bearer(alice.token),
			jsonOf(map[string]any{"password": password, "accountKey": key}))
	}
	key1 := strings.Repeat("k", 25)
	key2 := strings.Repeat("ключ", 25) // 100 code points, 200 bytes

	run(t, "A wrong password is 403", func(t *testing.T) {
		set("a wrong password", key1).wantError(t, 403)
	})

	run(t, "A key outside its rule is 400, even with a wrong password", func(t *testing.T) {
		cites(t, "R-FLD-5", "R-WIRE-10", "R-WIRE-11")
		for _, bad := range []string{
			"",
			strings.Repeat("k", 24),
			strings.Repeat("ключ", 6), // 24 code points, 48 bytes
			strings.Repeat("k", 101),
			strings.Repeat("k", 30) + "\x00",
			strings.Repeat("k", 30) + "\n",
			strings.Repeat("k", 30) + "\u0085",
		} {
			for _, pw := range []string{alice.password, "a wrong password"} {
				res := set(pw, bad)
				if res.status != 400 {
					t.Errorf("key %.40q with password %q: %s, want 400", bad, pw, res)
					continue
				}
				res.errorBody(t)
			}
		}
	})

	run(t, "A password outside the password rule is 400, not 403", func(t *testing.T) {
		cites(t, "R-FLD-3", "R-WIRE-11")
		set("short", key1).wantError(t, 400)
	})

	run(t, "Missing fields are 400", func(t *testing.T) {
		for _, body := range []string{
			`{}`,
			`{"password": "` + alice.password + `"}`,
			`{"accountKey": "` + key1 + `"}`,
			`{"password": null, "accountKey": "` + key1 + `"}`,
			`{"password": "` + alice.password + `", "accountKey": 1234567890123456789012345}`,
		} {
			res := do(t, "PUT", "/users/me/setAccountKey", bearer(alice.token), rawJSON(body))
			if res.status != 400 {
				t.Errorf("body %s: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
	})

	run(t, "Setting a key needs a token", func(t *testing.T) {
		do(t, "PUT", "/users/me/setAccountKey", jsonOf(map[string]any{"password": alice.password, "accountKey": key1})).
			wantChallenge(t, "Bearer")
	})

	run(t, "Setting a key answers OK", func(t *testing.T) {
		set(alice.password, key1).wantOK(t)
	})

	run(t, "The key is never returned", func(t *testing.T) {
		for _, res := range []*response{
			do(t, "GET", "/users/me", bearer(alice.token)),
			do(t, "GET", "/users/"+itoa(int(alice.id))),
		} {
			if strings.Contains(string(res.body), key1) || strings.Contains(strings.ToLower(string(res.body)), "accountkey") {
				t.Errorf("%s: the answer shows the account key", res)
			}
		}
	})

	run(t, "Setting the key again replaces it", func(t *testing.T) {
		set(alice.password, key2).wantOK(t)
		reset(t, alice.id, key1, "the first new password").wantError(t, 403)
		reset(t, alice.id, key2, "the second new password").wantOK(t)
		wantLogin(t, alice.username, "the second new password", 200, "the password reset with the new key")
	})
}

// TestResetPassword covers api.md §7 and R-RST-1: reset without authentication, the
// same 403 for every failure, and every session ended on success.
func TestResetPassword(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §7", "R-RST-1", "R-WIRE-3", "R-WIRE-11", "R-FLD-3")
	alice := register(t)
	phoneToken, _ := alice.login(t, newDevice())
	key := "  the account key, taken exactly as sent  "
	do(t, "PUT", "/users/me/setAccountKey", bearer(alice.token),
		jsonOf(map[string]any{"password": alice.password, "accountKey": key})).wantOK(t)
	bob := register(t) // has no key

	run(t, "Unknown user, user without a key and wrong key get the same 403", func(t *testing.T) {
		unknownID := int64(8e18) + rand.Int64N(1e18)
		reasons := map[string]string{
			"unknown user":     reset(t, unknownID, key, "a new password").wantError(t, 403),
			"user without key": reset(t, bob.id, key, "a new password").wantError(t, 403),
			"wrong key":        reset(t, alice.id, key+"x", "a new password").wantError(t, 403),
			"key trimmed":      reset(t, alice.id, strings.TrimSpace(key), "a new password").wantError(t, 403),
		}
		if reasons["unknown user"] != reasons["wrong key"] || reasons["user without key"] != reasons["wrong key"] ||
			reasons["key trimmed"] != reasons["wrong key"] {
			t.Errorf("got different reasons %q, want one", reasons)
		}
	})

	run(t, "An invalid new password is 400, even with a wrong key", func(t *testing.T) {
		cites(t, "R-WIRE-11", "R-FLD-3")
		for _, k := range []string{key, "a wrong account key of 25+ chars"} {
			reset(t, alice.id, k, "short").wantError(t, 400)
			reset(t, alice.id, k, strings.Repeat("x", 129)).wantError(t, 400)
			// Needs the account, and is still 400 (R-WIRE-11).
			reset(t, alice.id, k, strings.ToUpper(alice.username)).wantError(t, 400)
		}
	})

	run(t, "A key outside the key rule is 400, for any user", func(t *testing.T) {
		cites(t, "R-FLD-5", "R-WIRE-11")
		reset(t, alice.id, "short key", "a new password").wantError(t, 400)
		reset(t, int64(8e18)+rand.Int64N(1e18), strings.Repeat("k", 101), "a new password").wantError(t, 400)
	})

	run(t, "Malformed requests are 400", func(t *testing.T) {
		cites(t, "R-WIRE-5", "R-WIRE-7")
		for _, body := range []string{
			`{}`,
			`{"userId": "` + itoa(int(alice.id)) + `", "accountKey": "` + key + `", "newPassword": "a new password"}`,
			`{"userId": 1.5, "accountKey": "` + key + `", "newPassword": "a new password"}`,
			`{"accountKey": "` + key + `", "newPassword": "a new password"}`,
			`{"userId": ` + itoa(int(alice.id)) + `, "newPassword": "a new password"}`,
			`{"userId": ` + itoa(int(alice.id)) + `, "accountKey": "` + key + `"}`,
			`{"userId": ` + itoa(int(alice.id)) + `, "accountKey": null, "newPassword": "a new password"}`,
		} {
			res := do(t, "PUT", "/users/resetPassword", rawJSON(body))
			if res.status != 400 {
				t.Errorf("body %s: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
	})

	run(t, "Resetting answers OK, without authentication", func(t *testing.T) {
		reset(t, alice.id, key, "the reset password").wantOK(t)
	})
	run(t, "After a reset, the new password works and the old does not", func(t *testing.T) {
		wantLogin(t, alice.username, alice.password, 401, "the old password")
		wantLogin(t, alice.username, "the reset password", 200, "the reset password")
	})
	run(t, "After a reset, every session has ended", func(t *testing.T) {
		wantTokenEnded(t, alice.token, "the register session")
		wantTokenEnded(t, phoneToken, "the phone session")
	})
	run(t, "POST is accepted as well", func(t *testing.T) {
		do(t, "POST", "/users/resetPassword", jsonOf(map[string]any{
			"userId": alice.id, "accountKey": key, "newPassword": "the posted password",
		})).wantOK(t)
		wantLogin(t, alice.username, "the posted password", 200, "the password reset with POST")
	})
}

// reset sends PUT /users/resetPassword.
func reset(t testing.TB, userID int64, key, newPassword string) *response {
	t.Helper()
	return do(t, "PUT", "/users/resetPassword", jsonOf(map[string]any{
		"userId": userID, "accountKey": key, "newPassword": newPassword,
	}))
}
