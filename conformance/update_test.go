package conformance_test

import (
	"strings"
	"testing"
)

// TestUpdateUser covers api.md §8 and R-UPD-1, with the name and about rules (R-FLD-1,
// R-FLD-4), code-point lengths (R-WIRE-10) and null meaning "not given" (R-WIRE-7).
func TestUpdateUser(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §8", "R-UPD-1", "R-FLD-1", "R-FLD-4", "R-WIRE-3", "R-WIRE-7", "R-WIRE-10")
	alice := register(t)
	update := func(body string) *response {
		return do(t, "PUT", "/users/me", bearer(alice.token), rawJSON(body))
	}
	want := func(t *testing.T, name, about string) {
		t.Helper()
		for _, u := range []map[string]any{me(t, alice.token), public(t, alice.id)} {
			if u["name"] != name || u["about"] != about {
				t.Errorf("got name %.80q about %.80q, want %.80q and %.80q", u["name"], u["about"], name, about)
			}
		}
	}

	run(t, "A given name is trimmed and stored", func(t *testing.T) {
		update(`{"name": "  Zoë O'Brien-Łukasz 李  "}`).wantOK(t)
		want(t, "Zoë O'Brien-Łukasz 李", "")
	})
	run(t, "A given about is trimmed and stored, the name is kept", func(t *testing.T) {
		update(`{"about": "  Hello there.  "}`).wantOK(t)
		want(t, "Zoë O'Brien-Łukasz 李", "Hello there.")
	})
	run(t, "An empty object changes nothing", func(t *testing.T) {
		update(`{}`).wantOK(t)
		want(t, "Zoë O'Brien-Łukasz 李", "Hello there.")
	})
	run(t, "The about text may span lines", func(t *testing.T) {
		// R-FLD-4 bans no characters, unlike the rules of names, passwords and keys.
		bob := register(t)
		do(t, "PUT", "/users/me", bearer(bob.token), rawJSON(`{"about": "First line.\nSecond line.\tTabbed."}`)).wantOK(t)
		if got := public(t, bob.id)["about"]; got != "First line.\nSecond line.\tTabbed." {
			t.Errorf("got about %q, want the text as sent", got)
		}
	})
	run(t, "Null means not given", func(t *testing.T) {
		cites(t, "R-WIRE-7")
		update(`{"name": null, "about": "Changed"}`).wantOK(t)
		want(t, "Zoë O'Brien-Łukasz 李", "Changed")
		update(`{"name": "Alice", "about": null}`).wantOK(t)
		want(t, "Alice", "Changed")
	})
	run(t, "Unknown fields are ignored", func(t *testing.T) {
		cites(t, "R-WIRE-7")
		update(`{"name": "Alice B", "photos": [], "id": 1, "username": "hijack"}`).wantOK(t)
		want(t, "Alice B", "Changed")
		if u := public(t, alice.id); u["username"] != alice.username || integer(t, u, "id") != alice.id {
			t.Errorf("an unknown field changed the user: %s", compact(u))
		}
	})
	run(t, "Lengths count code points", func(t *testing.T) {
		cites(t, "R-WIRE-10")
		name := strings.Repeat("😀", 64)
		update(`{"name": "` + name + `"}`).wantOK(t)
		about := strings.Repeat("я", 500)
		update(`{"about": "  ` + about + `  "}`).wantOK(t)
		want(t, name, about)
	})
	run(t, "The about text can be cleared", func(t *testing.T) {
		update(`{"about": "   "}`).wantOK(t)
		want(t, strings.Repeat("😀", 64), "")
	})
	run(t, "Out-of-rule values are 400 and change nothing", func(t *testing.T) {
		cites(t, "R-FLD-1", "R-FLD-4", "R-WIRE-5")
		update(`{"name": "Alice", "about": "Kept"}`).wantOK(t)
		for _, body := range []string{
			`{"name": ""}`,
			`{"name": "   "}`,
			`{"name": "` + strings.Repeat("é", 65) + `"}`,
			`{"name": "` + strings.Repeat("😀", 65) + `"}`,
			`{"name": "bell\u0007"}`,
			`{"name": "tab\there"}`,
			`{"name": "next\u0085line"}`,
			`{"name": "del\u007f"}`,
			`{"name": "New name", "about": "` + strings.Repeat("a", 501) + `"}`,
			`{"name": 5}`,
			`{"about": true}`,
			`{"name": ["Alice"]}`,
			"{\"name\": \"bad \xff utf-8\"}",
			"{\"about\": \"bad \xc3\x28 utf-8\"}",
		} {
			res := update(body)
			if res.status != 400 {
				t.Errorf("body %.60q: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
		want(t, "Alice", "Kept")
	})
	run(t, "Updating needs a token", func(t *testing.T) {
		do(t, "PUT", "/users/me", rawJSON(`{"name": "Mallory"}`)).wantChallenge(t, "Bearer")
	})
}

// TestUpdateDevice covers api.md §9 and R-DEV-1: the caller's session's device name
// and push token, with their rules (R-FLD-6, R-OBJ-5).
func TestUpdateDevice(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §9", "R-DEV-1", "R-FLD-6", "R-OBJ-5", "R-WIRE-3", "R-WIRE-7")
	alice := register(t)
	phone := newDevice()
	phone["name"], phone["token"] = "Phone", "phone-push-token"
	phoneToken, _ := alice.login(t, phone)
	update := func(body string) *response {
		return do(t, "PUT", "/users/me/device", bearer(alice.token), rawJSON(body))
	}
	want := func(t *testing.T, name, token string) {
		t.Helper()
		u := me(t, alice.token)
		d := object(t, sessionByDevice(t, u, alice.device["id"].(string)), "deviceInfo")
		if d["name"] != name || d["token"] != token {
			t.Errorf("got deviceInfo name %.80q token %.80q, want %.80q and %.80q", d["name"], d["token"], name, token)
		}
		if d["id"] != alice.device["id"] || d["model"] != alice.device["model"] {
			t.Errorf("got deviceInfo %s: the id and model must not change", compact(d))
		}
		p := object(t, sessionByDevice(t, u, phone["id"].(string)), "deviceInfo")
		if p["name"] != "Phone" || p["token"] != "phone-push-token" {
			t.Errorf("the other session's deviceInfo changed: %s", compact(p))
		}
	}

	run(t, "The caller's session gets the name and token", func(t *testing.T) {
		update(`{"deviceName": "  My laptop  ", "deviceToken": " apns-123 "}`).wantOK(t)
		want(t, "My laptop", " apns-123 ") // the name is trimmed, the token is not (R-OBJ-5)
	})
	run(t, "An absent or null field is kept", func(t *testing.T) {
		update(`{"deviceName": "Laptop"}`).wantOK(t)
		want(t, "Laptop", " apns-123 ")
		update(`{"deviceName": null, "deviceToken": "fcm-456"}`).wantOK(t)
		want(t, "Laptop", "fcm-456")
		update(`{}`).wantOK(t)
		want(t, "Laptop", "fcm-456")
	})
	run(t, "The longest values are fine, and can be emptied", func(t *testing.T) {
		cites(t, "R-WIRE-10")
		name, token := strings.Repeat("ü", 64), strings.Repeat("t", 4096)
		update(`{"deviceName": "` + name + `", "deviceToken": "` + token + `"}`).wantOK(t)
		want(t, name, token)
		update(`{"deviceName": "", "deviceToken": ""}`).wantOK(t)
		want(t, "", "")
	})
	run(t, "Out-of-rule values are 400", func(t *testing.T) {
		for _, body := range []string{
			`{"deviceName": "` + strings.Repeat("ü", 65) + `"}`,
			`{"deviceToken": "` + strings.Repeat("t", 4097) + `"}`,
			`{"deviceName": "bad\u0000name"}`,
			`{"deviceToken": "bad\ntoken"}`,
			`{"deviceName": 1}`,
		} {
			res := update(body)
			if res.status != 400 {
				t.Errorf("body %.60q: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "Updating the device needs a token", func(t *testing.T) {
		do(t, "PUT", "/users/me/device", rawJSON(`{"deviceName": "x"}`)).wantChallenge(t, "Bearer")
		wantTokenWorks(t, phoneToken, "the other session")
	})
}
