package storage

import (
	"encoding/json"
	"testing"
	"time"

	"usersapi/users"
)

// The snapshot's fast encoder must write exactly what json.Marshal writes.

var encodeStrings = []string{"", "plain", "Zoë Ünïcode", "a\"b\\c", "<script>&</script>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "\u2028\u2029", "bad \xff utf8 \xc3", "emoji 😀", "日本語"}

func TestEncodeMatchesJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	at := time.Date(2026, 11, 25, 16, 11, 45, 123456789, time.FixedZone("x", 3600))
	full := &record{
		Op: opCreateUser, ID: -5, Key: "k\n", Max: 50,
		User: &users.User{ID: 1, Name: "n", Username: "u", About: "a", PasswordHash: "p", AccountKeyHash: "k", CreatedAt: at,
			Photos: []users.Photo{{ID: "p1", FileType: "png", FileSize: 3, PreviewWidth: 4, PreviewHeight: 5, CreatedAt: at}, {ID: "p2"}}},
		Session: &users.Session{ID: "s", UserID: 1, TokenHash: "t", IPAddress: "ip", CreatedAt: at, UpdatedAt: at,
			Device: users.DeviceInfo{ID: "d", Name: "n", Model: "m", Token: "t", Transport: "apns"}},
		Upload:        &users.Upload{Name: "n", Type: "png", OwnerID: 1, Size: 9, PreviewWidth: 1, PreviewHeight: 2, CreatedAt: at},
		Photo:         &users.Photo{ID: "p"},
		UserUpdate:    &userUpdate{Name: str("n"), About: str(""), PasswordHash: str("p"), AccountKeyHash: str("k"), IfPasswordHash: "i", EndSessions: true, KeepSession: "s"},
		SessionUpdate: &sessionUpdate{UpdatedAt: &at, DeviceName: str("d"), DeviceToken: str("")},
	}
	e := &entry{user: *full.User, sessions: []*users.Session{full.Session, full.Session}}
	want, _ := json.Marshal(snapOut{User: &e.user, Sessions: e.sessions})
	if got, _ := appendSnapUserLine(nil, e, new(jwriter)); string(got) != string(appendLine(nil, want)) {
		t.Errorf("user line:\ngot  %s\nwant %s", got, appendLine(nil, want))
	}
	want, _ = json.Marshal(snapOut{Upload: full.Upload})
	if got, _ := appendSnapUploadLine(nil, full.Upload, new(jwriter)); string(got) != string(appendLine(nil, want)) {
		t.Errorf("upload line:\ngot  %s\nwant %s", got, appendLine(nil, want))
	}
	// A time json.Marshal refuses is refused the same way.
	bad := &entry{user: users.User{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if _, err := appendSnapUserLine(nil, bad, new(jwriter)); err == nil {
		t.Errorf("a year past 9999 was encoded")
	}
}

func FuzzEncodeString(f *testing.F) {
	for _, s := range encodeStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := jwriter{ok: true}
		w.str(s)
		want, _ := json.Marshal(s)
		if string(w.b) != string(want) {
			t.Errorf("%q: got %s, want %s", s, w.b, want)
		}
	})
}
