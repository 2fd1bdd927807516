package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"usersapi/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Sizes the conformance suite is told of, as conformance/against-usersd.sh runs it.
const (
	maxUpload   = 4 << 20
	uploadQuota = 16 << 20
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// build compiles usersd-pg once per test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "usersd-pg-test-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "usersd-pg")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// instance is one usersd-pg process.
type instance struct {
	name string
	url  string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// start runs n instances of usersd-pg on the database.
func start(t *testing.T, db string, n int) []*instance {
	t.Helper()
	bin := build(t)
	var list []*instance
	for i := range n {
		in := &instance{name: string(rune('A' + i)), log: new(bytes.Buffer)}
		in.cmd = exec.Command(bin, "-addr", "127.0.0.1:0", "-db", db, "-pbkdf2-iterations", "1000",
			"-max-upload", strconv.Itoa(maxUpload), "-upload-quota", strconv.Itoa(uploadQuota))
		in.cmd.Stderr = in.log
		out, err := in.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := in.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			in.cmd.Process.Kill()
			in.cmd.Wait()
			t.Fatalf("instance %s printed no URL: %v\n%s", in.name, err, in.log)
		}
		in.url = strings.TrimSpace(line)
		list = append(list, in)
		t.Cleanup(func() {
			in.cmd.Process.Signal(syscall.SIGTERM)
			in.cmd.Wait()
			if t.Failed() {
				t.Logf("log of instance %s:\n%s", in.name, in.log)
			}
		})
	}
	return list
}

// kill ends the instance at once, as a crash would.
func (in *instance) kill() {
	in.cmd.Process.Kill()
	in.cmd.Wait()
}

// roundRobin is a reverse proxy that sends each request to the next instance.
func roundRobin(t *testing.T, list []*instance) string {
	var next atomic.Uint64
	var proxies []*httputil.ReverseProxy
	for _, in := range list {
		u, _ := url.Parse(in.url)
		proxies = append(proxies, httputil.NewSingleHostReverseProxy(u))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[next.Add(1)%uint64(len(proxies))].ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestConformanceThroughThreeInstances runs the whole conformance suite against three
// usersd-pg on one database behind a proxy that sends each request to the next one:
// every rule holds across instances as on one server (R-STO-6).
func TestConformanceThroughThreeInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole conformance suite; skipped with -short")
	}
	list := start(t, pgtest.NewDB(t), 3)
	cmd := exec.Command("go", "test", "-count=1", "-short", "./conformance/")
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "USERS_BASE_URL="+roundRobin(t, list),
		"USERS_UPLOAD_LIMIT="+strconv.Itoa(maxUpload), "USERS_UPLOAD_QUOTA="+strconv.Itoa(uploadQuota),
		"CONFORMANCE_KNOWN_BUGS=skip")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the conformance suite through three instances failed: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// call sends one request to the instance and returns the status, headers and body.
func (in *instance) call(t *testing.T, method, path string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, in.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on instance %s: %v", method, path, in.name, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func (in *instance) must(t *testing.T, want int, method, path string, body []byte, header ...string) []byte {
	t.Helper()
	got, _, b := in.call(t, method, path, body, header...)
	if got != want {
		t.Fatalf("%s %s on instance %s: %d %s, want %d", method, path, in.name, got, b, want)
	}
	return b
}

const password = "correct horse battery"

func newName() string { return "u" + strings.ToLower(rand.Text()[:12]) }

func deviceJSON() string { return fmt.Sprintf(`{"id": %q}`, uuid()) }

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

type userInfo struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	Username       string `json:"username"`
	Photos         []any  `json:"photos"`
	DeviceSessions []struct {
		AccessToken string `json:"accessToken"`
	} `json:"deviceSessions"`
}

func decode(t *testing.T, b []byte) userInfo {
	t.Helper()
	var u userInfo
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return u
}

// register makes a user on the instance and returns it with its token.
func register(t *testing.T, in *instance, username string) (userInfo, string) {
	t.Helper()
	b := in.must(t, 200, "POST", "/users", fmt.Appendf(nil, `{"name": "Multi %s", "username": %q, "password": %q, "deviceInfo": %s}`, username, username, password, deviceJSON()))
	u := decode(t, b)
	return u, u.DeviceSessions[0].AccessToken
}

func basic(username, pw string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+pw))}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func login(t *testing.T, in *instance, username string) string {
	t.Helper()
	b := in.must(t, 200, "POST", "/users/login", fmt.Appendf(nil, `{"deviceInfo": %s}`, deviceJSON()), basic(username, password)...)
	return decode(t, b).DeviceSessions[0].AccessToken
}

// TestAcrossInstances covers the rules that several servers could break between them
// (R-STO-6), naming the instance of each step.
func TestAcrossInstances(t *testing.T) {
	list := start(t, pgtest.NewDB(t), 3)
	a, b, c := list[0], list[1], list[2]

	t.Run("Logout on A ends the token on B and C at once", func(t *testing.T) {
		u, _ := register(t, a, newName())
		token := login(t, a, u.Username)
		b.must(t, 200, "GET", "/users/me", nil, bearer(token)...)
		a.must(t, 200, "POST", "/users/me/logout", nil, bearer(token)...)
		b.must(t, 401, "GET", "/users/me", nil, bearer(token)...)
		c.must(t, 401, "GET", "/users/me", nil, bearer(token)...)
	})

	t.Run("Thirty wrong passwords over A, B and C at once reach at most ten checks, then 429 on each", func(t *testing.T) {
		u, _ := register(t, a, newName())
		var wrong, throttled, busy atomic.Int32
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				got, h, body := list[i%3].call(t, "POST", "/users/login", fmt.Appendf(nil, `{"deviceInfo": %s}`, deviceJSON()), basic(u.Username, "wrong password")...)
				switch got {
				case 401:
					wrong.Add(1)
				case 429:
					if h.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After on instance %s", list[i%3].name)
					}
					throttled.Add(1)
				case 503:
					busy.Add(1)
				default:
					t.Errorf("wrong password on instance %s: %d %s", list[i%3].name, got, body)
				}
			})
		}
		wg.Wait()
		if wrong.Load() > 10 || wrong.Load() == 0 {
			t.Errorf("%d wrong passwords were checked (401), want 1 to 10; %d got 429, %d got 503", wrong.Load(), throttled.Load(), busy.Load())
		}
		for _, in := range list {
			got, h, _ := in.call(t, "POST", "/users/login", fmt.Appendf(nil, `{"deviceInfo": %s}`, deviceJSON()), basic(u.Username, password)...)
			if got != 429 || h.Get("Retry-After") == "" {
				t.Errorf("right password on instance %s after the flood: %d (Retry-After %q), want 429 with Retry-After", in.name, got, h.Get("Retry-After"))
			}
		}
	})

	t.Run("One username registered on A, B and C at once has one owner", func(t *testing.T) {
		name := newName()
		var ok, taken atomic.Int32
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Go(func() {
				got, _, body := list[i%3].call(t, "POST", "/users", fmt.Appendf(nil, `{"name": "Race", "username": %q, "password": %q, "deviceInfo": %s}`, name, password, deviceJSON()))
				switch got {
				case 200:
					ok.Add(1)
				case 409:
					taken.Add(1)
				default:
					t.Errorf("register on instance %s: %d %s", list[i%3].name, got, body)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || taken.Load() != 8 {
			t.Errorf("nine registrations of one username: %d got 200 and %d got 409, want 1 and 8", ok.Load(), taken.Load())
		}
	})

	t.Run("Sixty logins over A, B and C at once leave exactly fifty sessions", func(t *testing.T) {
		u, _ := register(t, a, newName())
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() { login(t, list[i%3], u.Username) })
		}
		wg.Wait()
		token := login(t, c, u.Username)
		if n := len(decode(t, b.must(t, 200, "GET", "/users/me", nil, bearer(token)...)).DeviceSessions); n != 50 {
			t.Errorf("sessions after 61 logins and a registration, read on B: %d, want 50", n)
		}
	})

	t.Run("A password change on A ends the other sessions on B and C", func(t *testing.T) {
		u, first := register(t, a, newName())
		onB, onC := login(t, b, u.Username), login(t, c, u.Username)
		a.must(t, 200, "PUT", "/users/me/changePassword", fmt.Appendf(nil, `{"oldPassword": %q, "newPassword": "another horse battery"}`, password), bearer(first)...)
		b.must(t, 401, "GET", "/users/me", nil, bearer(onB)...)
		c.must(t, 401, "GET", "/users/me", nil, bearer(onC)...)
		c.must(t, 200, "GET", "/users/me", nil, bearer(first)...)
	})

	t.Run("A file uploaded on A is served with ranges by B and becomes a photo on C", func(t *testing.T) {
		u, token := register(t, a, newName())
		img := image.NewRGBA(image.Rect(0, 0, 800, 600))
		for x := range 800 {
			img.Set(x, x%600, color.RGBA{R: uint8(x), A: 255})
		}
		var pic bytes.Buffer
		png.Encode(&pic, img)
		name := string(a.must(t, 200, "POST", "/uploads", pic.Bytes(), append(bearer(token), "Content-Type", "image/png")...))
		got, h, part := b.call(t, "GET", "/uploads/"+name+".png", nil, "Range", "bytes=10-19")
		if got != 206 || !bytes.Equal(part, pic.Bytes()[10:20]) || h.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", pic.Len()) {
			t.Fatalf("range of A's upload on B: %d %q (Content-Range %q)", got, part, h.Get("Content-Range"))
		}
		if got, _, prev := c.call(t, "GET", "/uploads/"+name+"-preview.png", nil); got != 200 || len(prev) == 0 {
			t.Errorf("preview on C: %d, %d bytes", got, len(prev))
		}
		c.must(t, 200, "POST", "/users/me/photos", fmt.Appendf(nil, `{"photo": {"id": %q, "fileType": "png", "fileSize": %d}}`, name, pic.Len()), bearer(token)...)
		if p := decode(t, b.must(t, 200, "GET", fmt.Sprintf("/users/%d", u.ID), nil)).Photos; len(p) != 1 {
			t.Errorf("photos read on B: %v, want the one added on C", p)
		}
	})

	t.Run("A rename on A is found by search on B at once", func(t *testing.T) {
		_, token := register(t, a, newName())
		fresh := "Zq" + strings.ToLower(rand.Text()[:10])
		a.must(t, 200, "PUT", "/users/me", fmt.Appendf(nil, `{"name": %q}`, fresh), bearer(token)...)
		var found []userInfo
		json.Unmarshal(b.must(t, 200, "GET", "/users/?s="+url.QueryEscape(strings.ToLower(fresh)), nil), &found)
		if len(found) != 1 || found[0].Name != fresh {
			t.Errorf("search on B for the name set on A: %+v", found)
		}
	})

	t.Run("With A killed, B and C go on", func(t *testing.T) {
		a.kill()
		u, _ := register(t, b, newName())
		token := login(t, c, u.Username)
		b.must(t, 200, "GET", "/users/me", nil, bearer(token)...)
	})
}

// TestDatabaseCrash stops PostgreSQL at once (pg_ctl stop -m immediate) under three
// running servers that take writes, and starts it again: no acknowledged write is
// lost, and the servers serve again by themselves.
func TestDatabaseCrash(t *testing.T) {
	cluster := pgtest.Default()
	if cluster == nil {
		t.Skip("needs the throwaway cluster to kill it; unset " + pgtest.EnvURL)
	}
	list := start(t, pgtest.NewDB(t), 3)

	type acked struct {
		id       int64
		username string
	}
	var mu sync.Mutex
	var done []acked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			in := list[i%3]
			for {
				select {
				case <-stop:
					return
				default:
				}
				name := newName()
				got, _, body := in.call(t, "POST", "/users", fmt.Appendf(nil, `{"name": "Crash", "username": %q, "password": %q, "deviceInfo": %s}`, name, password, deviceJSON()))
				if got == 200 {
					mu.Lock()
					done = append(done, acked{decode(t, body).ID, name})
					mu.Unlock()
				} else if got != 503 {
					t.Errorf("register on instance %s during the crash: %d %s", in.name, got, body)
				}
				if got != 200 {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(time.Second)
	if err := cluster.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	for _, in := range list {
		if got, _, body := in.call(t, "GET", "/healthz", nil); got != 503 {
			t.Errorf("/healthz on instance %s with the database down: %d %s, want 503", in.name, got, body)
		}
		// A login goes through the shared throttle first: it too is 503, not 500.
		if got, h, body := in.call(t, "POST", "/users/login", fmt.Appendf(nil, `{"deviceInfo": %s}`, deviceJSON()), basic("nobody", password)...); got != 503 || h.Get("Retry-After") == "" {
			t.Errorf("login on instance %s with the database down: %d %s (Retry-After %q), want 503 with Retry-After", in.name, got, body, h.Get("Retry-After"))
		}
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, in := range list {
		for {
			got, _, _ := in.call(t, "GET", "/healthz", nil)
			if got == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %s not healthy 30 s after the database came back", in.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(done) == 0 {
		t.Fatal("no write was acknowledged")
	}
	for i, ack := range done {
		in := list[i%3]
		var u userInfo
		got, _, body := in.call(t, "GET", fmt.Sprintf("/users/%d", ack.id), nil)
		if got == 200 {
			u = decode(t, body)
		}
		if got != 200 || u.Username != ack.username {
			t.Errorf("acknowledged user %d (%s) read on instance %s after the crash: %d %s", ack.id, ack.username, in.name, got, body)
		}
	}
	t.Logf("%d registrations acknowledged around the crash, all found after it", len(done))
}
