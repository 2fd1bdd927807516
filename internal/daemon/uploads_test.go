package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestMaxUploadFlag covers the configurable limit of R-UPL-1.
func TestMaxUploadFlag(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want int64
	}{
		{nil, "", 50 << 20},
		{nil, "1000", 1000},
		{[]string{"-max-upload", "2000"}, "1000", 2000},
	}
	for _, tt := range tests {
		getenv := func(k string) string {
			if k == "USERSD_MAX_UPLOAD" {
				return tt.env
			}
			return ""
		}
		c, err := parseFlags(append([]string{"usersd"}, tt.args...), getenv, io.Discard)
		if err != nil || c.maxUpload != tt.want {
			t.Errorf("args %q, env %q: got %d, %v; want %d", tt.args, tt.env, c.maxUpload, err, tt.want)
		}
	}
	for _, bad := range [][]string{{"-max-upload", "0"}, {"-max-upload", "-1"}, {"-max-upload", "lots"}} {
		if _, err := parseFlags(append([]string{"usersd"}, bad...), func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("args %q: got nil, want an error", bad)
		}
	}
	if _, err := parseFlags([]string{"usersd"}, func(k string) string {
		if k == "USERSD_MAX_UPLOAD" {
			return "50MiB"
		}
		return ""
	}, io.Discard); err == nil {
		t.Error("USERSD_MAX_UPLOAD=50MiB: got nil, want an error")
	}
}

// TestUploadQuotaFlag covers the configurable quota of R-LIM-2.
func TestUploadQuotaFlag(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want int64
	}{
		{nil, "", 200 << 20},
		{nil, "1000", 1000},
		{[]string{"-upload-quota", "2000"}, "1000", 2000},
	}
	for _, tt := range tests {
		getenv := func(k string) string {
			if k == "USERSD_UPLOAD_QUOTA" {
				return tt.env
			}
			return ""
		}
		c, err := parseFlags(append([]string{"usersd"}, tt.args...), getenv, io.Discard)
		if err != nil || c.uploadQuota != tt.want {
			t.Errorf("args %q, env %q: got %d, %v; want %d", tt.args, tt.env, c.uploadQuota, err, tt.want)
		}
	}
	for _, bad := range [][]string{{"-upload-quota", "0"}, {"-upload-quota", "-1"}, {"-upload-quota", "lots"}} {
		if _, err := parseFlags(append([]string{"usersd"}, bad...), func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("args %q: got nil, want an error", bad)
		}
	}
	if _, err := parseFlags([]string{"usersd"}, func(k string) string {
		if k == "USERSD_UPLOAD_QUOTA" {
			return "200MiB"
		}
		return ""
	}, io.Discard); err == nil {
		t.Error("USERSD_UPLOAD_QUOTA=200MiB: got nil, want an error")
	}
}

// TestRunUploads checks the wiring: uploads work, the limit and the quota apply, and with the
// memory store the uploads folder is temporary and gone after the server stops.
func TestRunUploads(t *testing.T) {
	url, stop := startRun(t, "-store", "memory", "-max-upload", "100", "-upload-quota", "250")
	res, err := http.Post(url+"/users", "application/json", strings.NewReader(`{"name": "Up Loader", "username": "uploader", "password": "correct horse", "deviceInfo": {"id": "6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		DeviceSessions []struct{ AccessToken string }
	}
	json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if res.StatusCode != 200 || len(info.DeviceSessions) == 0 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	upload := func(size int) int {
		req, _ := http.NewRequest("POST", url+"/uploads", strings.NewReader(strings.Repeat("x", size)))
		req.Header.Set("Authorization", "Bearer "+info.DeviceSessions[0].AccessToken)
		req.Header.Set("Content-Type", "txt")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := upload(100); got != 200 {
		t.Errorf("100 bytes with -max-upload 100: got %d, want 200", got)
	}
	if got := upload(101); got != 413 {
		t.Errorf("101 bytes with -max-upload 100: got %d, want 413", got)
	}
	if got := upload(100); got != 200 {
		t.Errorf("100 bytes more, 200 of -upload-quota 250: got %d, want 200", got)
	}
	if got := upload(100); got != 413 {
		t.Errorf("100 bytes more, 300 of -upload-quota 250: got %d, want 413", got)
	}
	err, logs := stop()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, logs)
	}
	m := regexp.MustCompile(`msg=uploads folder=(\S+) temporary=true`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no temporary uploads folder in the log:\n%s", logs)
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the temporary uploads folder %s is still there after the server stopped: %v", m[1], err)
	}
}
