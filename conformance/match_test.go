package conformance_test

import (
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The matchers below assert JSON by exact key on values decoded from the raw body
// (map[string]any with json.Number): the suite never decodes into the server's types.

var (
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// wantKeys fails unless obj has every required key, and no key that is neither
// required nor optional.
func wantKeys(t testing.TB, what string, obj map[string]any, required, optional []string) {
	t.Helper()
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: missing key %q in %s", what, k, compact(obj))
		}
	}
	for k := range obj {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			t.Errorf("%s: unexpected key %q in %s", what, k, compact(obj))
		}
	}
}

// str returns obj[key], failing the test now if it is not a string.
func str(t testing.TB, obj map[string]any, key string) string {
	t.Helper()
	s, ok := obj[key].(string)
	if !ok {
		t.Fatalf("got %q: %#v, want a string, in %s", key, obj[key], compact(obj))
	}
	return s
}

// integer returns obj[key], failing the test now if it is not a JSON integer.
func integer(t testing.TB, obj map[string]any, key string) int64 {
	t.Helper()
	n, ok := obj[key].(json.Number)
	if !ok {
		t.Fatalf("got %q: %#v, want an integer, in %s", key, obj[key], compact(obj))
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("got %q: %s, want an integer, in %s", key, n, compact(obj))
	}
	return i
}

// object returns obj[key], failing the test now if it is not a JSON object.
func object(t testing.TB, obj map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := obj[key].(map[string]any)
	if !ok {
		t.Fatalf("got %q: %#v, want an object, in %s", key, obj[key], compact(obj))
	}
	return o
}

// array returns obj[key], failing the test now if it is not a JSON array.
func array(t testing.TB, obj map[string]any, key string) []any {
	t.Helper()
	a, ok := obj[key].([]any)
	if !ok {
		t.Fatalf("got %q: %#v, want an array, in %s", key, obj[key], compact(obj))
	}
	return a
}

// objects returns the elements of a JSON array, failing unless each is an object.
func objects(t testing.TB, what string, a []any) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(a))
	for i, v := range a {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s[%d]: got %#v, want an object", what, i, v)
		}
		out[i] = o
	}
	return out
}

// date checks obj[key] is an R-WIRE-8 date and returns it.
func date(t testing.TB, obj map[string]any, key string) time.Time {
	t.Helper()
	s := str(t, obj, key)
	if !dateRE.MatchString(s) {
		t.Fatalf("got %q: %q, want an RFC 3339 UTC date to the second like 2026-11-25T16:11:45Z (R-WIRE-8)", key, s)
	}
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("got %q: %q: %v (R-WIRE-8)", key, s, err)
	}
	return d
}

// recent checks that d is within a few minutes of now (clocks of the suite and the
// server may differ a little).
func recent(t testing.TB, what string, d time.Time) {
	t.Helper()
	if diff := time.Since(d); diff < -5*time.Minute || diff > 30*time.Minute {
		t.Errorf("%s: got %s, want about now (%s)", what, d.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	}
}

// uuid checks obj[key] is a lower-case canonical UUID (R-WIRE-9) and returns it.
func uuid(t testing.TB, obj map[string]any, key string) string {
	t.Helper()
	s := str(t, obj, key)
	if !uuidRE.MatchString(s) {
		t.Errorf("got %q: %q, want a lower-case canonical UUID (R-WIRE-9)", key, s)
	}
	return s
}

// The keys of the API objects (R-OBJ-1, R-OBJ-4, R-OBJ-5, R-OBJ-6).
var (
	userKeys          = []string{"id", "name", "username", "about", "createdAt", "photos"}
	userOptional      = []string{"lastSeen"}
	sessionKeys       = []string{"id", "ipAddress", "createdAt", "updatedAt", "deviceInfo"}
	deviceInfoKeys    = []string{"id", "name", "model", "token", "transport"}
	mediaKeys         = []string{"id", "fileType", "fileSize", "createdAt"}
	mediaOptional     = []string{"previewWidth", "previewHeight"}
	privateOnlyKeys   = []string{"deviceSessions"}
	secretishKeywords = []string{"accessToken", "ipAddress", "password", "Hash", "hash", "accountKey", "token"}
)

// checkUserInfo checks the shape of a UserInfo (R-OBJ-1, R-OBJ-2, R-OBJ-3, R-WIRE-8):
// a private one must have deviceSessions with the accessToken on its first element
// only; a public one must have none of them.
func checkUserInfo(t testing.TB, what string, u map[string]any, private bool) {
	t.Helper()
	if private {
		wantKeys(t, what, u, append(slices.Clone(userKeys), privateOnlyKeys...), userOptional)
	} else {
		wantKeys(t, what+" (public, R-OBJ-2)", u, userKeys, userOptional)
		for k := range u {
			for _, bad := range secretishKeywords {
				if strings.Contains(k, bad) {
					t.Errorf("%s: public UserInfo has key %q (R-OBJ-2)", what, k)
				}
			}
		}
	}
	if id := integer(t, u, "id"); id < 1 {
		t.Errorf("%s: got id %d, want a positive integer (R-OBJ-1)", what, id)
	}
	str(t, u, "name")
	str(t, u, "username")
	str(t, u, "about")
	date(t, u, "createdAt")
	if _, ok := u["lastSeen"]; ok {
		date(t, u, "lastSeen")
	}
	for i, m := range objects(t, what+".photos", array(t, u, "photos")) {
		checkMediaInfo(t, what+".photos["+itoa(i)+"]", m)
	}
	if !private {
		return
	}
	sessions := objects(t, what+".deviceSessions", array(t, u, "deviceSessions"))
	if len(sessions) == 0 {
		t.Fatalf("%s: got no deviceSessions, want at least the caller's (R-OBJ-3)", what)
	}
	for i, s := range sessions {
		checkDeviceSession(t, what+".deviceSessions["+itoa(i)+"]", s, i == 0)
	}
	for i := 2; i < len(sessions); i++ {
		if date(t, sessions[i-1], "updatedAt").Before(date(t, sessions[i], "updatedAt")) {
			t.Errorf("%s: deviceSessions[%d] was used before deviceSessions[%d], want most recently used first after the caller's (R-OBJ-3)", what, i-1, i)
		}
	}
}

// checkDeviceSession checks a DeviceSession (R-OBJ-3, R-OBJ-4, R-SEC-2).
func checkDeviceSession(t testing.TB, what string, s map[string]any, own bool) {
	t.Helper()
	if own {
		wantKeys(t, what+" (the caller's session, R-OBJ-3)", s, append(slices.Clone(sessionKeys), "accessToken"), nil)
		if tok, _ := s["accessToken"].(string); !tokenRE.MatchString(tok) {
			t.Errorf("%s: got accessToken %q, want 43 characters of unpadded base64url (R-SEC-2)", what, tok)
		}
	} else {
		wantKeys(t, what+" (another session: no accessToken, R-OBJ-3)", s, sessionKeys, nil)
	}
	uuid(t, s, "id")
	if ip := str(t, s, "ipAddress"); net.ParseIP(ip) == nil {
		t.Errorf("%s: got ipAddress %q, want an IP address (R-OBJ-4)", what, ip)
	}
	created, updated := date(t, s, "createdAt"), date(t, s, "updatedAt")
	if updated.Before(created) {
		t.Errorf("%s: updatedAt %s is before createdAt %s (R-SES-1)", what, updated, created)
	}
	checkDeviceInfo(t, what+".deviceInfo", object(t, s, "deviceInfo"))
}

// checkDeviceInfo checks a DeviceInfo as the server writes it (R-OBJ-5).
func checkDeviceInfo(t testing.TB, what string, d map[string]any) {
	t.Helper()
	wantKeys(t, what, d, deviceInfoKeys, nil)
	uuid(t, d, "id")
	str(t, d, "name")
	str(t, d, "model")
	str(t, d, "token")
	if tr := str(t, d, "transport"); !slices.Contains([]string{"none", "apns", "fcm", "web"}, tr) {
		t.Errorf("%s: got transport %q, want one of none, apns, fcm, web (R-OBJ-5)", what, tr)
	}
}

// checkMediaInfo checks a MediaInfo (R-OBJ-6).
func checkMediaInfo(t testing.TB, what string, m map[string]any) {
	t.Helper()
	wantKeys(t, what, m, mediaKeys, mediaOptional)
	uuid(t, m, "id")
	str(t, m, "fileType")
	if n := integer(t, m, "fileSize"); n < 0 {
		t.Errorf("%s: got fileSize %d, want bytes (R-OBJ-6)", what, n)
	}
	_, w := m["previewWidth"]
	_, h := m["previewHeight"]
	if w != h {
		t.Errorf("%s: previewWidth and previewHeight must come together (R-OBJ-6)", what)
	}
	if w {
		if integer(t, m, "previewWidth") < 1 || integer(t, m, "previewHeight") < 1 {
			t.Errorf("%s: preview size must be positive (R-OBJ-6)", what)
		}
	}
	date(t, m, "createdAt")
}

// sessionByDevice returns the session of the private UserInfo whose deviceInfo.id is
// the device's, or nil.
func sessionByDevice(t testing.TB, u map[string]any, deviceID string) map[string]any {
	t.Helper()
	for _, s := range objects(t, "deviceSessions", array(t, u, "deviceSessions")) {
		if object(t, s, "deviceInfo")["id"] == strings.ToLower(deviceID) {
			return s
		}
	}
	return nil
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }
