package conformance_test

import (
	"strings"
	"testing"
	"time"
)

// TestUserInfoShape covers R-OBJ-1 and R-OBJ-2: the keys of the private and public
// UserInfo, and lastSeen omitted for a user without a session.
func TestUserInfoShape(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-OBJ-1", "R-OBJ-2", "R-OBJ-4", "R-OBJ-5", "R-WIRE-2", "R-WIRE-8")
	alice := register(t)

	run(t, "Private answers have deviceSessions, public ones do not", func(t *testing.T) {
		checkUserInfo(t, "register answer", alice.info, true)
		me(t, alice.token)
		public(t, alice.id)
	})
	run(t, "Dates are RFC 3339 in UTC to the second", func(t *testing.T) {
		cites(t, "R-WIRE-8")
		u := me(t, alice.token)
		for _, d := range []time.Time{date(t, u, "createdAt"), date(t, u, "lastSeen")} {
			recent(t, "date", d)
		}
		s := objects(t, "deviceSessions", array(t, u, "deviceSessions"))[0]
		recent(t, "session createdAt", date(t, s, "createdAt"))
		recent(t, "session updatedAt", date(t, s, "updatedAt"))
	})
	run(t, "A user without a session has no lastSeen", func(t *testing.T) {
		do(t, "POST", "/users/me/logout", bearer(alice.token)).wantOK(t)
		u := public(t, alice.id)
		if v, ok := u["lastSeen"]; ok {
			t.Errorf("got lastSeen %v, want it omitted: the user has no session", v)
		}
	})
}

// TestSessionList covers R-OBJ-3: the caller's session first with the only token, the
// others after it, most recently used first.
func TestSessionList(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-OBJ-3", "R-OBJ-4", "R-SES-1")
	alice := register(t)
	time.Sleep(1100 * time.Millisecond) // distinct seconds for distinct updatedAt
	middle, _ := alice.login(t, newDevice())
	time.Sleep(1100 * time.Millisecond)
	_, u := alice.login(t, newDevice())

	sessions := objects(t, "deviceSessions", array(t, u, "deviceSessions"))
	if len(sessions) != 3 {
		t.Fatalf("got %d sessions, want 3", len(sessions))
	}
	var tokens int
	for _, s := range sessions {
		if _, ok := s["accessToken"]; ok {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("got %d sessions with an accessToken, want only the caller's", tokens)
	}
	// Seen from the middle session: itself, then the newest, then the oldest.
	u = me(t, middle)
	sessions = objects(t, "deviceSessions", array(t, u, "deviceSessions"))
	if len(sessions) != 3 || sessions[0]["accessToken"] != middle {
		t.Fatalf("got %s, want the caller's session first", compact(sessions))
	}
	if a, b := date(t, sessions[1], "updatedAt"), date(t, sessions[2], "updatedAt"); !a.After(b) {
		t.Errorf("got updatedAt %s then %s, want the most recently used first", a, b)
	}
	if object(t, sessions[2], "deviceInfo")["id"] != alice.device["id"] {
		t.Errorf("got %s last, want the register session, the least recently used", compact(sessions[2]))
	}
}

// TestSessionActivity covers R-SES-1 and R-SES-2: updatedAt is recorded at most once a
// minute, and lastSeen is the newest updatedAt.
func TestSessionActivity(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-SES-1", "R-SES-2", "R-OBJ-1")
	alice := register(t)
	s0 := objects(t, "deviceSessions", array(t, alice.info, "deviceSessions"))[0]
	created := date(t, s0, "createdAt")

	run(t, "A new session was last used when it was made", func(t *testing.T) {
		if updated := date(t, s0, "updatedAt"); !updated.Equal(created) {
			t.Errorf("got updatedAt %s, want createdAt %s", updated, created)
		}
	})
	run(t, "Use within a minute does not move updatedAt", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		me(t, alice.token)
		u := me(t, alice.token)
		s := objects(t, "deviceSessions", array(t, u, "deviceSessions"))[0]
		if updated := date(t, s, "updatedAt"); !updated.Equal(created) {
			t.Errorf("got updatedAt %s after a use within a minute of %s, want it unchanged", updated, created)
		}
		if !date(t, s, "createdAt").Equal(created) {
			t.Errorf("createdAt changed")
		}
	})
	run(t, "lastSeen is the newest updatedAt of the user's sessions", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		_, u := alice.login(t, newDevice())
		var newest time.Time
		for _, s := range objects(t, "deviceSessions", array(t, u, "deviceSessions")) {
			if d := date(t, s, "updatedAt"); d.After(newest) {
				newest = d
			}
		}
		for _, v := range []map[string]any{u, me(t, alice.token), public(t, alice.id)} {
			if got := date(t, v, "lastSeen"); !got.Equal(newest) {
				t.Errorf("got lastSeen %s, want %s", got, newest)
			}
		}
		if !newest.After(created) {
			t.Errorf("the newest session's updatedAt %s is not after the first's %s", newest, created)
		}
	})
}

// TestUUIDCase covers R-WIRE-9: UUIDs are written in lower case and read in any case.
func TestUUIDCase(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-WIRE-9", "R-LOG-2")
	alice := register(t)
	dev := newDevice()
	dev["id"] = strings.ToUpper(dev["id"].(string))
	first, u := alice.login(t, dev)
	s := sessionByDevice(t, u, dev["id"].(string))
	if s == nil {
		t.Fatalf("no session with device id %s in lower case: %s", strings.ToLower(dev["id"].(string)), compact(u))
	}
	uuid(t, s, "id")
	// The same device, in lower case, is the same device (R-LOG-2).
	dev["id"] = strings.ToLower(dev["id"].(string))
	_, u = alice.login(t, dev)
	if n := len(array(t, u, "deviceSessions")); n != 2 {
		t.Errorf("got %d sessions, want 2: the upper- and lower-case ids are one device", n)
	}
	wantTokenEnded(t, first, "the session of the upper-case device id")
}

// TestSessionEnds covers R-SEC-3: a session ends only in the ways the rule lists. What
// else the user does (update the profile or a device, set an account key, fail a
// password or key check, log in on another device and out again there) ends none of
// its sessions. That tokens do not expire by age would take waiting, and a server may
// run with a maximum age; the listed ways are checked under their own rules (R-OUT-1,
// R-LOG-2, R-PW-1, R-RST-1, R-DEL-1).
func TestSessionEnds(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-SEC-3", "R-OUT-1")
	alice := register(t)
	phone, _ := alice.login(t, newDevice())
	key := "a key of " + randomString(20)
	stillWorking := func(t *testing.T, after string) {
		t.Helper()
		wantTokenWorks(t, alice.token, "the first session, after "+after)
		wantTokenWorks(t, phone, "the phone's session, after "+after)
	}

	run(t, "Updating the profile or a device ends no session", func(t *testing.T) {
		do(t, "PUT", "/users/me", bearer(alice.token), jsonOf(map[string]any{"name": "Renamed", "about": "still here"})).wantOK(t)
		do(t, "PUT", "/users/me/device", bearer(phone), jsonOf(map[string]any{"deviceName": "Renamed phone"})).wantOK(t)
		stillWorking(t, "updates of the profile and a device")
	})
	run(t, "Setting an account key ends no session", func(t *testing.T) {
		do(t, "PUT", "/users/me/setAccountKey", bearer(alice.token),
			jsonOf(map[string]any{"password": alice.password, "accountKey": key})).wantOK(t)
		stillWorking(t, "setting an account key")
	})
	run(t, "Failed checks of the password or the key end no session", func(t *testing.T) {
		wantLogin(t, alice.username, "a wrong password", 401, "a login with a wrong password")
		do(t, "PUT", "/users/me/changePassword", bearer(phone),
			jsonOf(map[string]any{"oldPassword": "a wrong password", "newPassword": "a new password"})).wantError(t, 403)
		reset(t, alice.id, "not "+key, "a new password").wantError(t, 403)
		stillWorking(t, "failed checks")
	})
	run(t, "A login on another device, and its logout, end no other session", func(t *testing.T) {
		tablet, _ := alice.login(t, newDevice())
		do(t, "POST", "/users/me/logout", bearer(tablet)).wantOK(t)
		stillWorking(t, "a login and a logout on a third device")
		if n := len(array(t, me(t, alice.token), "deviceSessions")); n != 2 {
			t.Errorf("got %d sessions, want 2: the first and the phone's", n)
		}
	})
}
