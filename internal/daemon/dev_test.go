package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/internal/seed"
)

// callH sends a request to the server at url and returns the status, header and body.
func callH(t *testing.T, method, url, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

const registerBody = `{"name":"Dev User","username":"devuser","password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`

// register registers devuser at url and returns its access token.
func register(t *testing.T, url string) string {
	t.Helper()
	status, _, body := callH(t, "POST", url+"/users", registerBody)
	if status != 200 {
		t.Fatalf("register: %d %s", status, body)
	}
	var info struct {
		DeviceSessions []struct {
			AccessToken string `json:"accessToken"`
		} `json:"deviceSessions"`
	}
	if err := json.Unmarshal(body, &info); err != nil || len(info.DeviceSessions) == 0 {
		t.Fatalf("register: %s", body)
	}
	return info.DeviceSessions[0].AccessToken
}

// TestDevModeSaysSo checks the three places that say the test mode is on, and that
// without it none of them does and Prefer and the /dev/ routes are not there.
//
// R-TEST-1.
func TestDevModeSaysSo(t *testing.T) {
	url, stop := startRun(t, "-store", "memory", "-dev", "-log-level", "error")
	status, header, body := callH(t, "GET", url+"/healthz", "")
	if status != 200 || string(body) != `{"mode":"dev","status":"ok"}` || header.Get("Usersd-Mode") != "dev" {
		t.Errorf("dev GET /healthz: %d %s %v", status, body, header)
	}
	if status, header, _ := callH(t, "GET", url+"/users/me", "", "Prefer", "code=500"); status != 500 || header.Get("Preference-Applied") != "code=500" {
		t.Errorf("dev Prefer: code=500: %d %v", status, header)
	}
	err, logs := stop()
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(logs, "\n")
	if !strings.Contains(first, "dev mode") || !strings.Contains(first, "level=WARN") {
		t.Errorf("first log line %q does not say dev mode (with -log-level error too)", first)
	}

	url, stop = startRun(t, "-store", "memory")
	defer stop()
	status, header, body = callH(t, "GET", url+"/healthz", "", "Prefer", "code=503")
	if status != 200 || string(body) != `{"status":"ok"}` || header.Get("Usersd-Mode") != "" || header.Get("Preference-Applied") != "" {
		t.Errorf("GET /healthz without -dev: %d %s %v", status, body, header)
	}
	for _, path := range []string{"/dev/reset", "/dev/clock"} {
		if status, _, _ := callH(t, "POST", url+path, `{"advance":"1m"}`); status != 404 {
			t.Errorf("POST %s without -dev: %d, want 404", path, status)
		}
	}
}

func TestDevFlags(t *testing.T) {
	env := map[string]string{"USERSD_DEV": "true", "USERSD_DEMO": "20"}
	c, err := parseFlags([]string{"usersd"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || !c.dev || c.demo != 20 {
		t.Errorf("USERSD_DEV, USERSD_DEMO: %+v, %v", c, err)
	}
	for _, args := range [][]string{
		{"usersd", "-demo", "10"},                // needs -dev
		{"usersd", "-dev", "-demo", "10001"},     // too many
		{"usersd", "-dev", "-demo", "-1"},        // negative
		{"usersd", "-dev=maybe", "-demo", "100"}, // not a bool
	} {
		if _, err := parseFlags(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error", args)
		}
	}
	if _, err := parseFlags([]string{"usersd"}, func(k string) string { return map[string]string{"USERSD_DEV": "yes"}[k] }, io.Discard); err == nil {
		t.Error("USERSD_DEV=yes: no error")
	}
}

// TestDevDemo checks that -demo 200 gives search something to show: results for two
// common letters, with photos whose files and previews are served, and that the demo
// password logs in.
//
// R-TEST-3.
func TestDevDemo(t *testing.T) {
	url, stop := startRun(t, "-store", "memory", "-dev", "-demo", "200")
	defer stop()
	status, _, body := callH(t, "GET", url+"/users?s=an", "")
	var found []struct {
		Username string `json:"username"`
		Photos   []struct {
			ID            string `json:"id"`
			FileType      string `json:"fileType"`
			PreviewWidth  int    `json:"previewWidth"`
			PreviewHeight int    `json:"previewHeight"`
		} `json:"photos"`
	}
	if err := json.Unmarshal(body, &found); status != 200 || err != nil {
		t.Fatalf("search: %d %s", status, body)
	}
	withPhotos := 0
	for _, u := range found {
		if len(u.Photos) == 0 {
			continue
		}
		withPhotos++
		p := u.Photos[0]
		if p.FileType != "png" || p.PreviewWidth != 350 || p.PreviewHeight != 350 {
			t.Errorf("%s: photo %+v, want a png with a 350x350 preview", u.Username, p)
		}
		for _, file := range []string{p.ID + ".png", p.ID + "-preview.png"} {
			if status, header, _ := callH(t, "GET", url+"/uploads/"+file, ""); status != 200 || header.Get("Content-Type") != "image/png" {
				t.Errorf("GET /uploads/%s: %d %q", file, status, header.Get("Content-Type"))
			}
		}
	}
	if len(found) < 10 || withPhotos < len(found)/2 {
		t.Errorf("search for \"an\": %d users, %d with photos", len(found), withPhotos)
	}
	status, _, body = callH(t, "POST", url+"/users/login", `{"deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, basicAuth(seed.Username(1), seed.Password)...)
	if status != 200 || strings.Count(string(body), `"accessToken"`) != 1 {
		t.Errorf("login as demo user 1: %d %s (want one session, the new one)", status, body)
	}
}

// TestDevReset checks that POST /dev/reset takes everything away (users, sessions,
// uploads on disk, throttles, the clock's offset) and brings the demo users back.
//
// R-TEST-3.
func TestDevReset(t *testing.T) {
	data := t.TempDir()
	url, stop := startRun(t, "-data", data, "-dev", "-demo", "5")
	defer stop()
	token := register(t, url)
	bearer := []string{"Authorization", "Bearer " + token, "Content-Type", "text/plain"}
	status, _, name := callH(t, "POST", url+"/uploads", "some text", bearer...)
	if status != 200 {
		t.Fatalf("upload: %d %s", status, name)
	}
	if _, err := os.Stat(filepath.Join(data, "uploads", string(name)+".txt")); err != nil {
		t.Fatalf("the upload is not on disk: %v", err)
	}
	for range 10 {
		callH(t, "POST", url+"/users/login", `{"deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, basicAuth(seed.Username(2), "wrong password")...)
	}
	callH(t, "POST", url+"/dev/clock", `{"advance":"1h"}`)

	if status, header, body := callH(t, "POST", url+"/dev/reset", ""); status != 204 || len(body) != 0 || header.Get("Usersd-Mode") != "dev" {
		t.Fatalf("POST /dev/reset: %d %s", status, body)
	}
	if status, _, _ := callH(t, "GET", url+"/users/me", "", "Authorization", "Bearer "+token); status != 401 {
		t.Errorf("the old token after a reset: %d, want 401", status)
	}
	if status, _, body := callH(t, "GET", url+"/users?s=devuser", ""); status != 200 || string(body) != "[]" {
		t.Errorf("search for the registered user after a reset: %d %s", status, body)
	}
	if status, _, _ := callH(t, "GET", url+"/uploads/"+string(name)+".txt", ""); status != 404 {
		t.Errorf("the upload after a reset: %d, want 404", status)
	}
	entries, err := os.ReadDir(filepath.Join(data, "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), string(name)) {
			t.Errorf("%s is still in the uploads folder after a reset", e.Name())
		}
	}
	if status, _, body := callH(t, "GET", url+"/dev/clock", ""); !strings.Contains(string(body), `"offset":"0s"`) {
		t.Errorf("the clock after a reset: %d %s", status, body)
	}
	// The demo users are back, with IDs from 1, and the lockout of user 2 is gone.
	if status, _, body := callH(t, "GET", url+"/users/1", ""); status != 200 || !strings.Contains(string(body), seed.Username(1)) {
		t.Errorf("demo user 1 after a reset: %d %s", status, body)
	}
	if status, _, body := callH(t, "POST", url+"/users/login", `{"deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, basicAuth(seed.Username(2), seed.Password)...); status != 200 {
		t.Errorf("login of a demo user locked out before the reset: %d %s", status, body)
	}
	// The username is free again, and the store takes writes.
	register(t, url)
}

// TestDevResetMemory checks a reset of the memory store: its temporary uploads folder
// goes, and a new one takes uploads.
func TestDevResetMemory(t *testing.T) {
	url, stop := startRun(t, "-store", "memory", "-dev")
	token := register(t, url)
	if status, _, _ := callH(t, "POST", url+"/dev/reset", ""); status != 204 {
		t.Fatalf("POST /dev/reset: %d", status)
	}
	if status, _, _ := callH(t, "GET", url+"/users/1", ""); status != 404 {
		t.Errorf("user 1 after a reset: %d, want 404", status)
	}
	if status, _, _ := callH(t, "GET", url+"/users/me", "", "Authorization", "Bearer "+token); status != 401 {
		t.Errorf("the old token after a reset: %d, want 401", status)
	}
	token = register(t, url)
	if status, _, body := callH(t, "POST", url+"/uploads", "x", "Authorization", "Bearer "+token, "Content-Type", "text/plain"); status != 200 {
		t.Errorf("upload after a reset: %d %s", status, body)
	}
	err, logs := stop()
	if err != nil {
		t.Fatal(err)
	}
	// Both temporary folders are gone: the first at the reset, the second at exit.
	for _, l := range strings.Split(logs, "\n") {
		if _, folder, ok := strings.Cut(l, "folder="); ok && strings.Contains(l, "temporary=true") {
			folder, _, _ = strings.Cut(folder, " ")
			if _, err := os.Stat(folder); !os.IsNotExist(err) {
				t.Errorf("the temporary uploads folder %s is still there: %v", folder, err)
			}
		}
	}
}

// TestDevClockLiftsLockout checks that moving the clock 15 minutes forward ends a
// lockout of ten failed logins (R-SEC-4) without waiting.
//
// R-TEST-3.
func TestDevClockLiftsLockout(t *testing.T) {
	url, stop := startRun(t, "-store", "memory", "-dev")
	defer stop()
	register(t, url)
	login := func(password string) int {
		status, _, _ := callH(t, "POST", url+"/users/login", `{"deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, basicAuth("devuser", password)...)
		return status
	}
	for range 10 {
		login("wrong password")
	}
	if status := login("correct horse"); status != 429 {
		t.Fatalf("after ten failures: %d, want 429", status)
	}
	status, _, body := callH(t, "POST", url+"/dev/clock", `{"advance":"15m"}`)
	if status != 200 || !strings.Contains(string(body), `"offset":"15m0s"`) {
		t.Fatalf("POST /dev/clock: %d %s", status, body)
	}
	if status := login("correct horse"); status != 200 {
		t.Errorf("15 minutes later: %d, want 200", status)
	}
	if _, _, body := callH(t, "GET", url+"/dev/clock", ""); !strings.Contains(string(body), `"offset":"15m0s"`) {
		t.Errorf("GET /dev/clock: %s", body)
	}
}

// TestDevResetUnderLoad resets a file store while clients register and upload: no
// request meets a closed store (no 500), and the server serves on after the resets.
func TestDevResetUnderLoad(t *testing.T) {
	data := t.TempDir()
	url, stop := startRun(t, "-data", data, "-dev")
	defer stop()
	done := make(chan struct{})
	errs := make(chan string, 100)
	// post is callH for the clients' goroutines, where t.Fatal may not be called.
	post := func(path, contentType, body string, header ...string) (int, []byte) {
		req, _ := http.NewRequest("POST", url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				body := fmt.Sprintf(`{"name":"Load","username":"load%dx%d","password":"correct horse","deviceInfo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`, w, i)
				status, b := post("/users", "application/json", body)
				if status != 200 {
					if status >= 500 || status == 0 {
						errs <- fmt.Sprintf("register: %d %s", status, b)
					}
					continue
				}
				var info struct {
					DeviceSessions []struct{ AccessToken string }
				}
				json.Unmarshal(b, &info)
				status, b = post("/uploads", "text/plain", "some bytes", "Authorization", "Bearer "+info.DeviceSessions[0].AccessToken)
				if status >= 500 || status == 0 {
					errs <- fmt.Sprintf("upload: %d %s", status, b)
				}
			}
		})
	}
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		if status, _, body := callH(t, "POST", url+"/dev/reset", ""); status != 204 {
			t.Errorf("POST /dev/reset: %d %s", status, body)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	register(t, url)
}
