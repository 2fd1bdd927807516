package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// uploadEnv is a server that keeps files, with its uploads folder at hand.
type uploadEnv struct {
	*env
	dir    string // the uploads folder
	secret string // a file beside the folder that no request may reach
}

func newUploadEnv(t *testing.T, maxUpload int64) *uploadEnv {
	t.Helper()
	return newUploadEnvWith(t, maxUpload, func(*clock) httpapi.Options { return httpapi.Options{} })
}

// newUploadEnvWith is newUploadEnv with the server's options, made with the test clock.
func newUploadEnvWith(t *testing.T, maxUpload int64, options func(*clock) httpapi.Options) *uploadEnv {
	t.Helper()
	top := t.TempDir()
	path := filepath.Join(top, "uploads")
	dir, err := media.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	secret := filepath.Join(top, "secret.txt")
	if err := os.WriteFile(secret, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := storage.NewMemory()
	clk := &clock{t: time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)}
	svc := users.NewService(users.Config{
		Store:     store,
		Hasher:    auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens:    auth.Tokens{},
		Files:     dir,
		Previewer: media.NewPreviewer(0),
		MaxUpload: maxUpload,
		Now:       clk.Now,
	})
	srv := httptest.NewServer(httpapi.NewServer(svc, options(clk)))
	t.Cleanup(srv.Close)
	return &uploadEnv{env: &env{t: t, srv: srv, store: store, clock: clk}, dir: path, secret: secret}
}

// upload posts body with the headers and returns the answer.
func (e *uploadEnv) upload(token, fileName, contentType string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+"/uploads", body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if fileName != "" {
		req.Header.Set("File-Name", fileName)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// mustUpload uploads and returns the file name the server answered.
func (e *uploadEnv) mustUpload(token, fileName, contentType string, body []byte) string {
	e.t.Helper()
	res := e.upload(token, fileName, contentType, bytes.NewReader(body))
	if res.status != 200 {
		e.t.Fatalf("upload %q as %q: %d %s", fileName, contentType, res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		e.t.Errorf("upload answer Content-Type: got %q, want text/plain (R-UPL-1)", ct)
	}
	return string(res.body)
}

// files lists the uploads folder, hidden files included.
func (e *uploadEnv) files() []string {
	e.t.Helper()
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range entries {
		out = append(out, d.Name())
	}
	return out
}

// rawGet sends exactly the request target given, bypassing every client-side
// cleaning or escaping of the path.
func (e *uploadEnv) rawGet(target string) response {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("GET %q: %v", target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), 7, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUploadFile covers R-UPL-1 and R-UPL-2 over HTTP.
func TestUploadFile(t *testing.T) {
	e := newUploadEnv(t, 0)
	alice := e.register()

	t.Run("Bearer is required, before the body", func(t *testing.T) {
		res := e.upload("", "x", "png", strings.NewReader("x"))
		wantStatus(t, "no token", res, 401)
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="users"` {
			t.Errorf("WWW-Authenticate: got %q", got)
		}
		wantStatus(t, "bad token", e.upload("nope", "x", "png", strings.NewReader("x")), 401)
	})
	t.Run("OK: the answer is the bare name as text", func(t *testing.T) {
		name := e.mustUpload(alice.token, "", "image/png", []byte("bytes"))
		if !users.IsUUID(name) {
			t.Errorf("got %q, want a UUID", name)
		}
		if got := e.mustUpload(alice.token, "notes", "text/plain; charset=utf-8", []byte("hello")); got != "notes" {
			t.Errorf("got %q, want notes", got)
		}
	})
	t.Run("bad headers are 400", func(t *testing.T) {
		for _, h := range [][2]string{{"x", ""}, {"x", "font/woff"}, {"x-preview", "png"}, {"../x", "png"}, {"%2e%2e%2fx", "png"}, {"/etc/passwd", "png"}, {`..\x`, "png"}} {
			wantStatus(t, fmt.Sprintf("File-Name %q, Content-Type %q", h[0], h[1]), e.upload(alice.token, h[0], h[1], strings.NewReader("x")), 400)
		}
	})
	t.Run("inline images and attachments", func(t *testing.T) {
		tests := []struct{ ct, ext, wantType, wantDisposition string }{
			{"image/png", "png", "image/png", ""},
			{"image/jpeg", "jpg", "image/jpeg", ""},
			{"gif", "gif", "image/gif", ""},
			{"image/webp", "webp", "image/webp", ""},
			{"image/svg+xml", "svg", "application/octet-stream", "attachment"},
			{"text/html", "html", "application/octet-stream", "attachment"},
			{"application/octet-stream", "bin", "application/octet-stream", "attachment"},
		}
		for _, tt := range tests {
			body := "<script>alert(1)</script>"
			name := e.mustUpload(alice.token, "", tt.ct, []byte(body))
			res := e.do("GET", "/uploads/"+name+"."+tt.ext, nil)
			wantStatus(t, tt.ext, res, 200)
			if string(res.body) != body {
				t.Errorf("%s: body %q", tt.ext, res.body)
			}
			if got := res.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("%s: Content-Type %q, want %q", tt.ext, got, tt.wantType)
			}
			if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tt.ext, got)
			}
			if got, _, _ := strings.Cut(res.header.Get("Content-Disposition"), ";"); got != tt.wantDisposition {
				t.Errorf("%s: Content-Disposition %q, want %q", tt.ext, res.header.Get("Content-Disposition"), tt.wantDisposition)
			}
		}
	})
	t.Run("range, conditional and HEAD requests", func(t *testing.T) {
		name := e.mustUpload(alice.token, "", "bin", []byte("0123456789"))
		path := "/uploads/" + name + ".bin"
		res := e.do("GET", path, nil, "Range", "bytes=2-4")
		if res.status != 206 || string(res.body) != "234" {
			t.Errorf("Range bytes=2-4: got %d %q, want 206 \"234\"", res.status, res.body)
		}
		res = e.do("GET", path, nil)
		etag, lastMod := res.header.Get("ETag"), res.header.Get("Last-Modified")
		if etag == "" || lastMod == "" {
			t.Fatalf("ETag %q, Last-Modified %q: want both", etag, lastMod)
		}
		if res := e.do("GET", path, nil, "If-None-Match", etag); res.status != 304 {
			t.Errorf("If-None-Match: got %d, want 304", res.status)
		}
		if res := e.do("GET", path, nil, "If-Modified-Since", lastMod); res.status != 304 {
			t.Errorf("If-Modified-Since: got %d, want 304", res.status)
		}
		res = e.do("HEAD", path, nil)
		if res.status != 200 || len(res.body) != 0 || res.header.Get("Content-Length") != "10" {
			t.Errorf("HEAD: got %d, %d bytes, Content-Length %q; want 200, none, 10", res.status, len(res.body), res.header.Get("Content-Length"))
		}
	})
	t.Run("412 and 416 are the error object", func(t *testing.T) {
		name := e.mustUpload(alice.token, "", "bin", []byte("0123456789"))
		path := "/uploads/" + name + ".bin"
		tests := []struct {
			method, header, value string
			status                int
			reason                string
		}{
			{"GET", "If-Match", `"other"`, 412, "The file does not meet the preconditions of the request."},
			{"GET", "If-Unmodified-Since", "Mon, 02 Jan 2006 15:04:05 GMT", 412, "The file does not meet the preconditions of the request."},
			{"GET", "Range", "bytes=20-30", 416, "The range asked for is not within the file."},
			{"HEAD", "If-Match", `"other"`, 412, "The file does not meet the preconditions of the request."},
			{"HEAD", "Range", "bytes=20-30", 416, "The range asked for is not within the file."},
		}
		for _, tt := range tests {
			what := tt.method + " " + tt.header + ": " + tt.value
			res := e.do(tt.method, path, nil, tt.header, tt.value)
			if tt.method == "GET" {
				wantStatus(t, what, res, tt.status)
			} else if res.status != tt.status {
				t.Errorf("%s: status %d, want %d", what, res.status, tt.status)
			}
			if got := res.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("%s: Content-Type %q, want application/json; charset=utf-8", what, got)
			}
			if got := res.header.Get("Content-Disposition"); got != "" {
				t.Errorf("%s: Content-Disposition %q, want none", what, got)
			}
			if tt.status == 416 && res.header.Get("Content-Range") != "bytes */10" {
				t.Errorf("%s: Content-Range %q, want bytes */10", what, res.header.Get("Content-Range"))
			}
			want := fmt.Sprintf(`{"error":true,"reason":%q}`, tt.reason)
			if tt.method == "HEAD" && len(res.body) != 0 {
				t.Errorf("%s: body %q, want none", what, res.body)
			}
			if tt.method == "GET" && string(res.body) != want {
				t.Errorf("%s: body %s, want %s", what, res.body, want)
			}
			// HEAD gives the Content-Length of the GET.
			if got := res.header.Get("Content-Length"); got != fmt.Sprint(len(want)) {
				t.Errorf("%s: Content-Length %q, want %d", what, got, len(want))
			}
		}
	})
	t.Run("unknown files are 404", func(t *testing.T) {
		name := e.mustUpload(alice.token, "", "txt", []byte("x"))
		for _, path := range []string{"/uploads/" + users.NewUUID() + ".txt", "/uploads/" + name + ".png", "/uploads/" + name, "/uploads/" + name + "-preview.txt", "/uploads/" + strings.ToUpper(name) + ".TXT"} {
			wantStatus(t, "GET "+path, e.do("GET", path, nil), 404)
		}
	})
}

// TestUploadTraversal checks that no File-Name and no GET path, in any encoding,
// touches a file outside the uploads folder (R-UPL-1, R-UPL-2).
func TestUploadTraversal(t *testing.T) {
	e := newUploadEnv(t, 0)
	alice := e.register()
	e.mustUpload(alice.token, "inside", "txt", []byte("inside"))

	for _, target := range []string{
		"/uploads/..%2fsecret.txt",
		"/uploads/%2e%2e%2fsecret.txt",
		"/uploads/%2E%2E%2Fsecret.txt",
		"/uploads/..%5csecret.txt",
		"/uploads/%2e%2e%5csecret.txt",
		"/uploads/inside.txt%00",
		"/uploads/inside%00.txt",
		"/uploads/%00",
		"/uploads/%2fetc%2fpasswd",
		"/uploads/" + url.PathEscape(e.secret),
		"/uploads/..%252fsecret.txt",
		"/uploads/%252e%252e%252fsecret.txt",
		"/uploads/.stage-x",
		"/uploads/%2e%2e",
	} {
		res := e.rawGet(target)
		if bytes.Contains(res.body, []byte("top secret")) {
			t.Errorf("GET %s: the secret file was served", target)
		}
		if res.status != 404 {
			t.Errorf("GET %s: got %d %q, want 404", target, res.status, res.body)
		}
	}
	// Plain ../ is cleaned by the mux into a redirect to another route, never a file.
	for _, target := range []string{"/uploads/..", "/uploads/../secret.txt", "/uploads/../../secret.txt", "/uploads/./../secret.txt"} {
		res := e.rawGet(target)
		if bytes.Contains(res.body, []byte("top secret")) || res.status == 200 {
			t.Errorf("GET %s: got %d %q, want no file", target, res.status, res.body)
		}
	}

	// A NUL in a header never reaches a handler: net/http refuses the request.
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /uploads HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\nFile-Name: x\x00y\r\nContent-Type: txt\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx", alice.token)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	conn.Close()
	if err != nil || res.StatusCode != 400 {
		t.Errorf("NUL in File-Name: got %v, %v; want 400", res, err)
	}

	if got, want := e.files(), []string{"inside.txt"}; !slices.Equal(got, want) {
		t.Errorf("uploads folder: got %q, want %q", got, want)
	}
	if b, err := os.ReadFile(e.secret); err != nil || string(b) != "top secret" {
		t.Errorf("the file outside: got %q, %v; want it untouched", b, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(e.dir)); len(entries) != 2 {
		t.Errorf("beside the uploads folder: got %d entries, want the folder and the secret only", len(entries))
	}
}

// TestUploadLimits covers the size limit of R-UPL-1: 413 and nothing left behind, and
// a large upload streamed to disk rather than held in memory.
func TestUploadLimits(t *testing.T) {
	t.Run("over the limit is 413 and leaves no file", func(t *testing.T) {
		e := newUploadEnv(t, 1<<20)
		alice := e.register()
		res := e.upload(alice.token, "big", "bin", bytes.NewReader(make([]byte, 1<<20+1)))
		wantStatus(t, "1 MiB + 1 byte", res, 413)
		if got := e.files(); len(got) != 0 {
			t.Errorf("uploads folder: got %q, want nothing", got)
		}
		wantStatus(t, "GET", e.do("GET", "/uploads/big.bin", nil), 404)
		// Exactly at the limit is fine, and the name was never taken.
		if got := e.mustUpload(alice.token, "big", "bin", make([]byte, 1<<20)); got != "big" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("20 MiB are streamed with the heap far below that", func(t *testing.T) {
		e := newUploadEnv(t, 0)
		alice := e.register()
		const size = 20 << 20
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		// zeros has no Len, so the client streams it chunked: neither side knows the
		// size in advance.
		res := e.upload(alice.token, "big", "bin", io.LimitReader(zeros{}, size))
		runtime.ReadMemStats(&after)
		wantStatus(t, "20 MiB upload", res, 200)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("a %d-byte upload allocated %d bytes in all (client and server); heap in use %d -> %d", size, alloc, before.HeapInuse, after.HeapInuse)
		// Everything allocated during the request, garbage included, client side too.
		if alloc > 4<<20 {
			t.Errorf("allocated %d bytes for a %d-byte upload, want under 4 MiB", alloc, size)
		}
		fi, err := os.Stat(filepath.Join(e.dir, "big.bin"))
		if err != nil || fi.Size() != size {
			t.Errorf("big.bin: got %v, %v; want %d bytes", fi, err, size)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestUploadOwnership covers who may take a name (R-UPL-1) and make a photo of a
// file (R-PHO-1).
func TestUploadOwnership(t *testing.T) {
	e := newUploadEnv(t, 0)
	alice, bob := e.register(), e.register()
	data := pngImage(t, 40, 40)
	id := e.mustUpload(alice.token, "", "png", data)

	for _, ct := range []string{"png", "jpg", "txt"} {
		wantStatus(t, "bob overwriting alice's file as "+ct, e.upload(bob.token, id, ct, strings.NewReader("bob's")), 409)
	}
	wantStatus(t, "bob, name in upper case", e.upload(bob.token, strings.ToUpper(id), "png", strings.NewReader("bob's")), 409)
	res := e.do("GET", "/uploads/"+id+".png", nil)
	if !bytes.Equal(res.body, data) {
		t.Errorf("alice's file changed")
	}
	photo := map[string]any{"photo": map[string]any{"id": id, "fileType": "png", "fileSize": len(data)}}
	wantStatus(t, "bob claiming alice's file as a photo", e.do("POST", "/users/me/photos", photo, bearerH(bob.token)...), 404)
	wantStatus(t, "alice", e.do("POST", "/users/me/photos", photo, bearerH(alice.token)...), 200)
	wantStatus(t, "bob deleting alice's photo", e.do("DELETE", "/users/me/photos/"+id, nil, bearerH(bob.token)...), 404)
	wantStatus(t, "alice replacing her photo", e.upload(alice.token, id, "png", strings.NewReader("new")), 409)
}

// TestPhotos covers R-PHO-1, R-PHO-2, R-OBJ-6 and R-UPL-3 over HTTP.
func TestPhotos(t *testing.T) {
	e := newUploadEnv(t, 0)
	alice := e.register()
	data := pngImage(t, 1200, 800)
	id := e.mustUpload(alice.token, "", "image/png", data)
	var second string // the id of a second photo, added later
	photo := func(id any, fileType any, size any) map[string]any {
		return map[string]any{"photo": map[string]any{"id": id, "fileType": fileType, "fileSize": size}}
	}

	t.Run("bad requests are 400", func(t *testing.T) {
		for what, body := range map[string]any{
			"no photo":      map[string]any{},
			"id not a UUID": photo("avatar", "png", len(data)),
			"wrong size":    photo(id, "png", len(data)-1),
			"size a string": photo(id, "png", "12"),
			"no size":       map[string]any{"photo": map[string]any{"id": id, "fileType": "png"}},
		} {
			wantStatus(t, what, e.do("POST", "/users/me/photos", body, bearerH(alice.token)...), 400)
		}
		wantStatus(t, "no token", e.do("POST", "/users/me/photos", photo(id, "png", len(data))), 401)
		wantStatus(t, "wrong type", e.do("POST", "/users/me/photos", photo(id, "jpg", len(data)), bearerH(alice.token)...), 404)
	})
	t.Run("a 1200x800 png becomes a photo with a 350x233 preview", func(t *testing.T) {
		wantStatus(t, "add", e.do("POST", "/users/me/photos", photo(strings.ToUpper(id), "png", len(data)), bearerH(alice.token)...), 200)
		wantStatus(t, "again", e.do("POST", "/users/me/photos", photo(id, "png", len(data)), bearerH(alice.token)...), 409)
		res := e.do("GET", fmt.Sprintf("/users/%d", alice.id), nil)
		wantStatus(t, "GET /users/<id>", res, 200)
		photos := res.json(t)["photos"].([]any)
		if len(photos) != 1 {
			t.Fatalf("photos: got %v, want one", photos)
		}
		got := photos[0].(map[string]any)
		want := map[string]any{"id": id, "fileType": "png", "fileSize": float64(len(data)), "previewWidth": float64(350), "previewHeight": float64(233), "createdAt": "2026-11-25T16:11:45Z"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("photo: got %v, want %v (R-OBJ-6)", got, want)
		}
		res = e.do("GET", "/uploads/"+id+"-preview.png", nil)
		wantStatus(t, "preview", res, 200)
		cfg, err := png.DecodeConfig(bytes.NewReader(res.body))
		if err != nil || cfg.Width != 350 || cfg.Height != 233 {
			t.Errorf("preview: got %dx%d, %v; want a 350x233 png", cfg.Width, cfg.Height, err)
		}
	})
	t.Run("the newest photo heads the list, in /users/me too", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		second = e.mustUpload(alice.token, "", "txt", []byte("second"))
		wantStatus(t, "add", e.do("POST", "/users/me/photos", photo(second, "txt", 6), bearerH(alice.token)...), 200)
		for _, path := range []string{fmt.Sprintf("/users/%d", alice.id), "/users/me"} {
			res := e.do("GET", path, nil, bearerH(alice.token)...)
			var ids []string
			for _, p := range res.json(t)["photos"].([]any) {
				ids = append(ids, p.(map[string]any)["id"].(string))
			}
			if !slices.Equal(ids, []string{second, id}) {
				t.Errorf("%s photos: got %q, want [%s %s]", path, ids, second, id)
			}
			if p := res.json(t)["photos"].([]any)[0].(map[string]any); p["previewWidth"] != nil {
				t.Errorf("a photo without preview: previewWidth %v, want it omitted", p["previewWidth"])
			}
		}
	})
	t.Run("DELETE removes the photo and its files", func(t *testing.T) {
		wantStatus(t, "not a UUID", e.do("DELETE", "/users/me/photos/avatar", nil, bearerH(alice.token)...), 400)
		wantStatus(t, "unknown", e.do("DELETE", "/users/me/photos/"+users.NewUUID(), nil, bearerH(alice.token)...), 404)
		wantStatus(t, "no token", e.do("DELETE", "/users/me/photos/"+id, nil), 401)
		wantStatus(t, "delete", e.do("DELETE", "/users/me/photos/"+strings.ToUpper(id), nil, bearerH(alice.token)...), 200)
		res := e.do("GET", fmt.Sprintf("/users/%d", alice.id), nil)
		if photos := res.json(t)["photos"].([]any); len(photos) != 1 || photos[0].(map[string]any)["id"] != second {
			t.Errorf("photos after DELETE: got %v, want only the txt one", photos)
		}
		wantStatus(t, "file", e.do("GET", "/uploads/"+id+".png", nil), 404)
		wantStatus(t, "preview", e.do("GET", "/uploads/"+id+"-preview.png", nil), 404)
		for _, f := range e.files() {
			if strings.HasPrefix(f, id) {
				t.Errorf("%s is still in the uploads folder", f)
			}
		}
		wantStatus(t, "again", e.do("DELETE", "/users/me/photos/"+id, nil, bearerH(alice.token)...), 404)
	})
}

// TestDeregisterRemovesUploads covers the files part of R-DEL-1 over HTTP.
func TestDeregisterRemovesUploads(t *testing.T) {
	e := newUploadEnv(t, 0)
	alice, bob := e.register(), e.register()
	data := pngImage(t, 500, 500)
	id := e.mustUpload(alice.token, "", "png", data)
	wantStatus(t, "photo", e.do("POST", "/users/me/photos", map[string]any{"photo": map[string]any{"id": id, "fileType": "png", "fileSize": len(data)}}, bearerH(alice.token)...), 200)
	e.mustUpload(alice.token, "alices-notes", "txt", []byte("notes"))
	kept := e.mustUpload(bob.token, "", "png", data)

	wantStatus(t, "DELETE /users/me", e.do("DELETE", "/users/me", nil, basicH(alice.username, alice.password)...), 200)
	if got, want := e.files(), []string{kept + "-preview.png", kept + ".png"}; !slices.Equal(got, want) {
		t.Errorf("uploads folder: got %q, want only bob's %q", got, want)
	}
	wantStatus(t, "alice's file", e.do("GET", "/uploads/alices-notes.txt", nil), 404)
	// The names are free again.
	e.mustUpload(bob.token, "alices-notes", "txt", []byte("bob's now"))
}
