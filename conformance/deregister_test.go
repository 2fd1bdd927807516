package conformance_test

import (
	"strings"
	"testing"
)

// TestDeregister covers api.md §14 and R-DEL-1: Basic credentials, and everything
// of the user gone afterwards, the username free again, the id never reused.
func TestDeregister(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §14", "R-DEL-1", "R-WIRE-3", "R-WIRE-6")
	alice := register(t)
	phoneToken, _ := alice.login(t, newDevice())

	run(t, "A Bearer token is 401 with a Basic challenge", func(t *testing.T) {
		do(t, "DELETE", "/users/me", bearer(alice.token)).wantChallenge(t, "Basic")
		do(t, "DELETE", "/users/me").wantChallenge(t, "Basic")
	})
	run(t, "A wrong password is 401", func(t *testing.T) {
		do(t, "DELETE", "/users/me", basic(alice.username, alice.password+"x")).wantChallenge(t, "Basic")
		do(t, "DELETE", "/users/me", basic(uniqueUsername(), alice.password)).wantChallenge(t, "Basic")
		public(t, alice.id)
	})
	run(t, "Deregistering answers OK", func(t *testing.T) {
		// The Basic username is lower-cased as at login (R-FLD-2).
		do(t, "DELETE", "/users/me", basic(strings.ToUpper(alice.username), alice.password)).wantOK(t)
	})
	run(t, "Afterwards the tokens are refused", func(t *testing.T) {
		wantTokenEnded(t, alice.token, "the register session")
		wantTokenEnded(t, phoneToken, "the phone session")
	})
	run(t, "Afterwards the user is not found", func(t *testing.T) {
		do(t, "GET", "/users/"+itoa(int(alice.id))).wantError(t, 404)
		for _, u := range objects(t, "search", do(t, "GET", "/users/?s="+alice.username).wantArray(t)) {
			if integer(t, u, "id") == alice.id {
				t.Errorf("search still finds the deleted user")
			}
		}
	})
	run(t, "Afterwards the credentials are refused", func(t *testing.T) {
		wantLogin(t, alice.username, alice.password, 401, "login of the deleted user")
		do(t, "DELETE", "/users/me", basic(alice.username, alice.password)).wantChallenge(t, "Basic")
	})
	run(t, "The username can be registered again, under a new id", func(t *testing.T) {
		again := registerAs(t, "Alice again", alice.username, "another password")
		if again.id <= alice.id {
			t.Errorf("got id %d for the new user, want more than the deleted user's %d: ids are never reused", again.id, alice.id)
		}
	})
}

// TestDeregisterRemovesFiles covers R-DEL-1 with R-UPL-1 and R-PHO-1: the user's
// uploads and photos go with the user.
func TestDeregisterRemovesFiles(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §14", "R-DEL-1", "R-UPL-2")
	alice := register(t)
	file := uploadOK(t, alice.token, "", "text/plain", []byte("a note"))
	img := pngOf(t, 400, 300)
	photo := uploadOK(t, alice.token, "", "image/png", img)
	addPhoto(t, alice.token, photo, "png", int64(len(img))).wantOK(t)
	do(t, "GET", "/uploads/"+file+".txt").wantStatus(t, 200)

	do(t, "DELETE", "/users/me", basic(alice.username, alice.password)).wantOK(t)
	for _, name := range []string{file + ".txt", photo + ".png", photo + "-preview.png"} {
		do(t, "GET", "/uploads/"+name).wantError(t, 404)
	}
}
