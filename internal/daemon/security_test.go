package daemon

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// call sends a request to the server at url and returns the status and body.
func call(t *testing.T, method, url, body string, header ...string) (int, []byte) {
	t.Helper()
	status, _, b := callH(t, method, url, body, header...)
	return status, b
}

func mustCall(t *testing.T, want int, method, url, body string, header ...string) []byte {
	t.Helper()
	status, b := call(t, method, url, body, header...)
	if status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, status, b, want)
	}
	return b
}

// firstSession reads the first device session of a private UserInfo.
func firstSession(t *testing.T, body []byte) (token, ip string) {
	t.Helper()
	var info struct {
		DeviceSessions []struct {
			AccessToken string
			IPAddress   string
		}
	}
	if err := json.Unmarshal(body, &info); err != nil || len(info.DeviceSessions) == 0 {
		t.Fatalf("no session in %s: %v", body, err)
	}
	return info.DeviceSessions[0].AccessToken, info.DeviceSessions[0].IPAddress
}

func basicAuth(username, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))}
}

func bearerAuth(token string) []string { return []string{"Authorization", "Bearer " + token} }

// randomSecret returns a fresh secret of letters and digits, so that no encoding of it
// in the data files (JSON escaping) could hide it from a plain search.
func randomSecret(prefix string) string {
	b := make([]byte, 24)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// forms returns the ways a secret could be written down in files: as is, in base64
// (standard and URL alphabets, padded or not) and in hex.
func forms(secret string) map[string]string {
	b := []byte(secret)
	return map[string]string{
		"plain":           secret,
		"base64":          base64.StdEncoding.EncodeToString(b),
		"base64 unpadded": base64.RawStdEncoding.EncodeToString(b),
		"base64url":       base64.URLEncoding.EncodeToString(b),
		"base64url raw":   base64.RawURLEncoding.EncodeToString(b),
		"hex":             hex.EncodeToString(b),
		"HEX":             strings.ToUpper(hex.EncodeToString(b)),
	}
}

// TestNoSecretAtRest covers R-SEC-1 and R-SEC-2 end to end: after a user registers,
// sets an account key, logs in, uploads a photo, changes the password and resets it
// with the key, no byte under the data folder (file store and uploads) and no line of
// the debug log holds any password, the key or any access token, in any common
// encoding; and the token issued last still works after a restart, from its digest.
func TestNoSecretAtRest(t *testing.T) {
	data := t.TempDir()
	url, stop := startRun(t, "-store", "file", "-data", data, "-log-level", "debug")
	username := "atrestuser"
	p1, p2, p3 := randomSecret("pw1"), randomSecret("pw2"), randomSecret("pw3")
	key := randomSecret("key")
	dev := `{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10","name":"laptop"}`

	t0, _ := firstSession(t, mustCall(t, 200, "POST", url+"/users", fmt.Sprintf(`{"name":"At Rest","username":%q,"password":%q,"deviceInfo":%s}`, username, p1, dev)))
	mustCall(t, 200, "PUT", url+"/users/me/setAccountKey", fmt.Sprintf(`{"password":%q,"accountKey":%q}`, p1, key), bearerAuth(t0)...)
	t1, _ := firstSession(t, mustCall(t, 200, "POST", url+"/users/login", `{"deviceInfo":{"id":"0b7e6d0e-8d1f-4a3e-9c55-2f1d1f6b7a10"}}`, basicAuth(username, p1)...))

	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 3)))
	name := string(mustCall(t, 200, "POST", url+"/uploads", string(img.Bytes()), append(bearerAuth(t1), "Content-Type", "image/png")...))
	mustCall(t, 200, "POST", url+"/users/me/photos", fmt.Sprintf(`{"photo":{"id":%q,"fileType":"png","fileSize":%d}}`, name, img.Len()), bearerAuth(t1)...)

	mustCall(t, 200, "PUT", url+"/users/me/changePassword", fmt.Sprintf(`{"oldPassword":%q,"newPassword":%q}`, p1, p2), bearerAuth(t1)...)
	mustCall(t, 200, "PUT", url+"/users/resetPassword", fmt.Sprintf(`{"userId":1,"accountKey":%q,"newPassword":%q}`, key, p3))
	t2, _ := firstSession(t, mustCall(t, 200, "POST", url+"/users/login", `{"deviceInfo":`+dev+`}`, basicAuth(username, p3)...))
	mustCall(t, 200, "GET", url+"/users/me", "", bearerAuth(t2)...)
	mustCall(t, 401, "GET", url+"/users/me", "", bearerAuth(t1)...) // ended by the reset

	err, logs := stop()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, logs)
	}
	url, stop = startRun(t, "-store", "file", "-data", data, "-log-level", "debug")
	mustCall(t, 200, "GET", url+"/users/me", "", bearerAuth(t2)...)
	err, logs2 := stop()
	if err != nil {
		t.Fatalf("run after a restart: %v\n%s", err, logs2)
	}

	secrets := map[string]string{
		"first password": p1, "changed password": p2, "reset password": p3, "account key": key,
		"registration token": t0, "login token": t1, "last token": t2,
		"Basic credentials": username + ":" + p3,
	}
	scan := func(where string, content []byte) {
		for what, secret := range secrets {
			for form, s := range forms(secret) {
				if bytes.Contains(content, []byte(s)) {
					t.Errorf("%s holds the %s (%s)", where, what, form)
				}
			}
		}
	}
	var files, sawUser, sawDigest, sawPhoto int
	digest := sha256.Sum256([]byte(t2))
	err = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		scan(path, content)
		sawUser += bytes.Count(content, []byte(username))
		sawDigest += bytes.Count(content, []byte(hex.EncodeToString(digest[:])))
		sawPhoto += bytes.Count([]byte(path), []byte(name))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scan("the log", []byte(logs+logs2))
	// The scan must have read the real thing: the user, the token's digest, the photo.
	if files < 3 || sawUser == 0 || sawDigest == 0 || sawPhoto == 0 {
		t.Errorf("read %d files under %s: the username %d times, the last token's digest %d times, the photo's files %d; want each at least once", files, data, sawUser, sawDigest, sawPhoto)
	}
}

// TestOversizedRequests covers R-SEC-6 and R-WIRE-12 on the real server: headers over
// the cap get net/http's 431 before any handler runs, and a JSON body over 64 KiB 413.
func TestOversizedRequests(t *testing.T) {
	url, stop := startRun(t, "-store", "memory")
	defer stop()
	if status, _ := call(t, "GET", url+"/healthz", "", "X-Padding", strings.Repeat("a", 32<<10)); status != 200 {
		t.Errorf("32 KiB of headers: %d, want 200", status)
	}
	for _, h := range [][]string{
		{"X-Padding", strings.Repeat("a", 128<<10)},
		basicAuth(strings.Repeat("u", 128<<10), "correct horse"),
		{"Authorization", "Bearer " + strings.Repeat("A", 128<<10)},
	} {
		if status, b := call(t, "POST", url+"/users/login", `{}`, h...); status != 431 {
			t.Errorf("128 KiB in %s: %d %s, want 431", h[0], status, b)
		}
	}
	big := `{"name":"Big","username":"biguser","password":"correct horse","about":"` + strings.Repeat("a", 70<<10) + `","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`
	if status, b := call(t, "POST", url+"/users", big); status != 413 {
		t.Errorf("a 70 KiB body: %d %s, want 413", status, b)
	}
	if status, _ := call(t, "GET", url+"/users/?s=biguser", ""); status != 200 {
		t.Errorf("search after: %d", status)
	} else if _, b := call(t, "GET", url+"/users/?s=biguser", ""); string(b) != "[]" {
		t.Errorf("the refused registration left a user: %s", b)
	}
}

// TestTrustedProxyFlag covers R-OBJ-4 on the real server: X-Forwarded-For is ignored
// unless -trusted-proxy (or USERSD_TRUSTED_PROXY) says a proxy is in front.
func TestTrustedProxyFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "127.0.0.1"},
		{[]string{"-trusted-proxy=false"}, "127.0.0.1"},
		{[]string{"-trusted-proxy"}, "203.0.113.9"},
	} {
		url, stop := startRun(t, append([]string{"-store", "memory"}, tt.args...)...)
		body := `{"name":"Proxied","username":"proxied","password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`
		_, ip := firstSession(t, mustCall(t, 200, "POST", url+"/users", body, "X-Forwarded-For", "198.51.100.1, 203.0.113.9"))
		if ip != tt.want {
			t.Errorf("args %q: ipAddress %q, want %q", tt.args, ip, tt.want)
		}
		stop()
	}
	for _, tt := range []struct {
		env  string
		args []string
		want bool
	}{
		{"", nil, false},
		{"true", nil, true},
		{"1", nil, true},
		{"true", []string{"-trusted-proxy=false"}, false},
		{"false", []string{"-trusted-proxy"}, true},
	} {
		getenv := func(k string) string {
			if k == "USERSD_TRUSTED_PROXY" {
				return tt.env
			}
			return ""
		}
		c, err := parseFlags(append([]string{"usersd"}, tt.args...), getenv, io.Discard)
		if err != nil || c.trustedProxy != tt.want {
			t.Errorf("USERSD_TRUSTED_PROXY=%q, args %q: trustedProxy %v, %v; want %v", tt.env, tt.args, c.trustedProxy, err, tt.want)
		}
	}
	if _, err := parseFlags([]string{"usersd"}, func(k string) string {
		if k == "USERSD_TRUSTED_PROXY" {
			return "yes please"
		}
		return ""
	}, io.Discard); err == nil {
		t.Error("USERSD_TRUSTED_PROXY=yes please: got nil, want an error")
	}
}
