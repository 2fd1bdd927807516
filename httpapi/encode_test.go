package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"usersapi/users"
)

// The tests of encode.go: its bytes must be json.Marshal's, whatever the values.

// sampleTime is a time with zero nanoseconds, written without a fraction.
var sampleTime = time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)

// sampleUser is a private UserInfo with every field set: 2 photos and 2 sessions, one
// of them with its access token.
func sampleUser() users.UserInfo {
	lastSeen := sampleTime.Add(90 * time.Second)
	return users.UserInfo{
		ID:        42,
		Name:      "Chloé Martin",
		Username:  "chloemartin42",
		About:     "hello",
		LastSeen:  &lastSeen,
		CreatedAt: sampleTime.Add(-time.Hour),
		Photos: []users.MediaInfo{
			{ID: "0b5e0c9e-7f0a-4f36-9a9b-3c1f0e7f3a11", FileType: "png", FileSize: 123456, PreviewWidth: 350, PreviewHeight: 263, CreatedAt: sampleTime},
			{ID: "1c6f1d0f-8a1b-4a47-8bac-4d2a1f8a4b22", FileType: "jpg", FileSize: 1, CreatedAt: sampleTime.Add(time.Nanosecond)},
		},
		DeviceSessions: []users.DeviceSession{
			{
				ID: "6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10", AccessToken: "tok", IPAddress: "192.0.2.7",
				CreatedAt: sampleTime, UpdatedAt: sampleTime.Add(time.Millisecond),
				DeviceInfo: users.DeviceInfo{ID: "d1", Name: "laptop", Model: "x1", Token: "push", Transport: "apns"},
			},
			{
				ID: "7d2c8d63-4a6f-4b54-8e2e-7c9a1b6c3a21", IPAddress: "2001:db8::1",
				CreatedAt: sampleTime, UpdatedAt: sampleTime,
				DeviceInfo: users.DeviceInfo{ID: "d2", Transport: "fcm"},
			},
		},
	}
}

// checkEncoding fails the test unless appendUserInfo and appendUserInfos write u, and
// a list holding it, as json.Marshal does, or both refuse it.
func checkEncoding(t *testing.T, u users.UserInfo) {
	t.Helper()
	want, wantErr := json.Marshal(u)
	got, ok := appendUserInfo(nil, &u)
	switch {
	case wantErr != nil && ok:
		t.Fatalf("json.Marshal fails (%v), appendUserInfo wrote %s", wantErr, got)
	case wantErr == nil && !ok:
		t.Fatalf("appendUserInfo refused what json.Marshal writes as %s", want)
	case wantErr == nil && !bytes.Equal(got, want):
		t.Fatalf("appendUserInfo:\n got %s\nwant %s", got, want)
	}
	list := []users.UserInfo{u, u}
	want, wantErr = json.Marshal(list)
	got, ok = appendUserInfos([]byte("prefix"), list) // appends, keeps what b holds
	if wantErr == nil && (!ok || string(got) != "prefix"+string(want)) {
		t.Fatalf("appendUserInfos (ok %v):\n got %s\nwant prefix%s", ok, got, want)
	}
	if wantErr != nil && ok {
		t.Fatalf("json.Marshal fails on the list (%v), appendUserInfos wrote %s", wantErr, got)
	}
}

func TestEncodeUserInfo(t *testing.T) {
	withUser := func(change func(u *users.UserInfo)) users.UserInfo {
		u := sampleUser()
		change(&u)
		return u
	}
	withName := func(s string) users.UserInfo {
		return withUser(func(u *users.UserInfo) { u.Name = s; u.DeviceSessions[0].DeviceInfo.Token = s })
	}
	withTime := func(tm time.Time) users.UserInfo {
		return withUser(func(u *users.UserInfo) { u.CreatedAt = tm; u.Photos[0].CreatedAt = tm })
	}
	tests := []struct {
		name string
		u    users.UserInfo
	}{
		{"zero value", users.UserInfo{}},
		{"every field", sampleUser()},
		{"public: no sessions, no lastSeen", withUser(func(u *users.UserInfo) { u.DeviceSessions, u.LastSeen = nil, nil })},
		{"empty sessions are left out", withUser(func(u *users.UserInfo) { u.DeviceSessions = []users.DeviceSession{} })},
		{"nil photos are null", withUser(func(u *users.UserInfo) { u.Photos = nil })},
		{"empty photos are []", withUser(func(u *users.UserInfo) { u.Photos = []users.MediaInfo{} })},
		{"empty strings", withUser(func(u *users.UserInfo) {
			u.Name, u.Username, u.About = "", "", ""
			u.DeviceSessions[0].DeviceInfo = users.DeviceInfo{}
		})},
		{"unicode", withName("Zoë Łukasz 山田太郎 🙂 ﬃ Ǆ")},
		{"quote and backslash", withName(`a "quoted" \ back\\slash /`)},
		{"short escapes", withName("\b\f\n\r\t")},
		{"other control characters", withName("\x00\x01\x07\x0b\x0e\x1f\x7f end")},
		{"HTML characters", withName("<script>alert('x & y')</script>")},
		{"line and paragraph separators", withName("a\u2028b\u2029c\u2027\u202a")},
		{"invalid UTF-8", withName("a\xffb\xc3(\xe2\x82\xed\xa0\x80\xf0\x9f\x98\xc0\xaf")},
		{"truncated rune at the end", withName("abc\xe2\x82")},
		{"a real U+FFFD", withName("\ufffd\xef\xbf\xbd")},
		{"every byte", withName(func() string {
			var b []byte
			for c := range 256 {
				b = append(b, byte(c))
			}
			return string(b)
		}())},
		{"nanoseconds", withTime(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC))},
		{"trailing zeros of the fraction", withTime(time.Date(2026, 1, 2, 3, 4, 5, 500000000, time.UTC))},
		{"one nanosecond", withTime(time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC))},
		{"zero time", withTime(time.Time{})},
		{"year 9999", withTime(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC))},
		{"east of UTC", withTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 5*3600+30*60)))},
		{"west of UTC", withTime(time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("PST", -8*3600)))},
		{"offset with seconds", withTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3661)))},
		{"offset 23:59", withTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(23*3600+59*60))))},
		{"local time with a monotonic reading", withTime(time.Now())},
		{"large ints", withUser(func(u *users.UserInfo) {
			u.ID = math.MaxInt64
			u.Photos[0].FileSize = math.MinInt64
			u.Photos[0].PreviewWidth, u.Photos[0].PreviewHeight = math.MaxInt, math.MinInt
		})},
		{"negative preview sizes", withUser(func(u *users.UserInfo) {
			u.ID = -1
			u.Photos[0].PreviewWidth, u.Photos[0].PreviewHeight = -350, -1
		})},
		{"only a preview height", withUser(func(u *users.UserInfo) { u.Photos[0].PreviewWidth = 0 })},
		{"access token on the second session", withUser(func(u *users.UserInfo) {
			u.DeviceSessions[0].AccessToken, u.DeviceSessions[1].AccessToken = "", "<tok&en>"
		})},
		// json.Marshal fails on these; the encoder must refuse them too.
		{"year 10000", withTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"year -1", withTime(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"offset of 24 hours", withTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)))},
		{"offset of 100 hours", withTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -100*3600)))},
		{"bad lastSeen only", withUser(func(u *users.UserInfo) { *u.LastSeen = time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"bad session time only", withUser(func(u *users.UserInfo) {
			u.DeviceSessions[1].UpdatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 30*3600))
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkEncoding(t, tt.u) })
	}
}

func TestEncodeUserInfoLists(t *testing.T) {
	for _, list := range [][]users.UserInfo{nil, {}, {{}}, {sampleUser(), {ID: 2, Photos: []users.MediaInfo{}}}} {
		want, _ := json.Marshal(list)
		got, ok := appendUserInfos(nil, list)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("appendUserInfos (ok %v):\n got %s\nwant %s", ok, got, want)
		}
	}
}

// TestEncoderKnowsEveryField pins the fields and JSON tags of the types encode.go
// writes by hand. A field added, renamed or re-tagged in package users fails here: it
// must then be written by encode.go too, and this list updated.
func TestEncoderKnowsEveryField(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeFor[users.UserInfo]():      "ID:id Name:name Username:username About:about LastSeen:lastSeen,omitempty CreatedAt:createdAt Photos:photos DeviceSessions:deviceSessions,omitempty",
		reflect.TypeFor[users.DeviceSession](): "ID:id AccessToken:accessToken,omitempty IPAddress:ipAddress CreatedAt:createdAt UpdatedAt:updatedAt DeviceInfo:deviceInfo",
		reflect.TypeFor[users.DeviceInfo]():    "ID:id Name:name Model:model Token:token Transport:transport",
		reflect.TypeFor[users.MediaInfo]():     "ID:id FileType:fileType FileSize:fileSize PreviewWidth:previewWidth,omitempty PreviewHeight:previewHeight,omitempty CreatedAt:createdAt",
	}
	for typ, fields := range want {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Name+":"+f.Tag.Get("json"))
		}
		if strings.Join(got, " ") != fields {
			t.Errorf("the fields of %v changed; update encode.go and this test:\n got %s\nwant %s", typ, strings.Join(got, " "), fields)
		}
	}
}

// TestWriteJSON checks that writeJSON answers every kind of value with json.Marshal's
// bytes and their length, whichever way it encodes them.
func TestWriteJSON(t *testing.T) {
	u := sampleUser()
	bad := sampleUser()
	bad.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []any{
		u, &u, (*users.UserInfo)(nil), []users.UserInfo{u, u}, []users.UserInfo(nil), []users.UserInfo{},
		errorBody{Error: true, Reason: "<no>"}, map[string]string{"status": "ok"},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second time with a buffer from the pool
			w := httptest.NewRecorder()
			writeJSON(w, 200, v)
			if got := w.Body.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("writeJSON(%T):\n got %s\nwant %s", v, got, want)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(want)) {
				t.Errorf("writeJSON(%T): Content-Length %s for %d bytes", v, got, len(want))
			}
		}
	}

	// A time without an RFC 3339 form is a programming error, reported with
	// json.Marshal's own words.
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "year outside of range") {
			t.Errorf("writeJSON of a time in year 10000: panic %q", msg)
		}
	}()
	writeJSON(httptest.NewRecorder(), 200, bad)
}

// FuzzEncodeUserInfo builds a UserInfo from random strings, numbers and times and
// checks that appendUserInfo writes json.Marshal's bytes, or refuses exactly what
// json.Marshal refuses.
func FuzzEncodeUserInfo(f *testing.F) {
	f.Add("Chloé Martin", "chloemartin42", "<about> & \u2028", "tok", "push\x00\xff", int64(42), int64(123456), 350, 263,
		sampleTime.Unix(), int64(0), 0, true, true)
	f.Add("", "", "", "", "", int64(0), int64(0), 0, 0, int64(0), int64(0), 0, false, false)
	f.Add("\"\\\b\f\n\r\t\x1f", "\xed\xa0\x80", "\u2029", "", "😀", int64(-1), int64(math.MaxInt64), -1, math.MinInt,
		int64(253402300800), int64(999999999), 24*3600, true, false) // year 10000
	f.Add("a", "b", "c", "d", "e", int64(1), int64(2), 3, 4, int64(-62135596801), int64(1), -3661, false, true) // year 0
	f.Fuzz(func(t *testing.T, name, username, about, token, device string, id, size int64, width, height int,
		sec, nsec int64, offset int, private, photos bool) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("", offset))
		u := users.UserInfo{ID: id, Name: name, Username: username, About: about, CreatedAt: tm}
		if photos {
			u.Photos = []users.MediaInfo{
				{ID: about, FileType: name, FileSize: size, PreviewWidth: width, PreviewHeight: height, CreatedAt: tm},
				{ID: username, FileSize: -size, PreviewHeight: width, CreatedAt: tm.Add(time.Duration(nsec))},
			}
		} else if width%2 == 0 {
			u.Photos = []users.MediaInfo{}
		}
		if private {
			seen := tm.Add(time.Duration(size))
			u.LastSeen = &seen
			u.DeviceSessions = []users.DeviceSession{
				{ID: device, AccessToken: token, IPAddress: username, CreatedAt: tm, UpdatedAt: seen,
					DeviceInfo: users.DeviceInfo{ID: name, Name: device, Model: about, Token: token, Transport: device}},
				{ID: token, IPAddress: device, CreatedAt: seen, UpdatedAt: tm},
			}
		}
		checkEncoding(t, u)
	})
}
