package conformance_test

import (
	"strings"
	"testing"
)

// TestGetUser covers api.md §10 and R-GET-1: the public UserInfo (R-OBJ-2) of any
// user, without authentication.
func TestGetUser(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §10", "R-GET-1", "R-OBJ-1", "R-OBJ-2")
	alice := register(t)

	run(t, "Anyone gets the public UserInfo", func(t *testing.T) {
		res := do(t, "GET", "/users/"+itoa(int(alice.id)))
		u := res.wantObject(t)
		checkUserInfo(t, "GET /users/<id>", u, false)
		for _, k := range []string{"id", "name", "username", "about", "createdAt"} {
			if u[k] != alice.info[k] {
				t.Errorf("got %s %v, want %v as registered", k, u[k], alice.info[k])
			}
		}
		if _, ok := u["lastSeen"]; !ok {
			t.Errorf("no lastSeen on a user with a session (R-OBJ-1)")
		}
		for _, secret := range []string{alice.token, alice.password, "ipAddress", "deviceSessions", "127.0.0.1"} {
			if strings.Contains(string(res.body), secret) {
				t.Errorf("the public answer contains %q (R-OBJ-2)", secret)
			}
		}
	})

	run(t, "An id that is not a positive int64 is 400", func(t *testing.T) {
		cites(t, "R-WIRE-5")
		for _, id := range []string{"abc", "0", "-1", "1.5", "1e3", "0x10", "%201", "9223372036854775808", "99999999999999999999"} {
			res := do(t, "GET", "/users/"+id)
			if res.status != 400 {
				t.Errorf("id %q: %s, want 400", id, res)
				continue
			}
			res.errorBody(t)
		}
	})

	run(t, "An unknown id is 404", func(t *testing.T) {
		do(t, "GET", "/users/9223372036854775807").wantError(t, 404)
	})
}
