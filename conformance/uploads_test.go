package conformance_test

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"strings"
	"testing"
)

// TestUpload covers R-UPL-1: who may upload, the File-Name and Content-Type headers, one
// namespace of names, 409 for another user's name, and the bare name as the answer.
func TestUpload(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-UPL-1", "R-WIRE-6", "R-WIRE-9")
	alice, bob := register(t), register(t)

	run(t, "Without File-Name the server names the file with a UUID", func(t *testing.T) {
		res := upload(t, alice.token, "", "text/plain", []byte("hello"))
		res.wantStatus(t, 200)
		name := string(res.body)
		if !uuidRE.MatchString(name) {
			t.Errorf("got body %q, want a bare lower-case UUID", name)
		}
		if get := do(t, "GET", "/uploads/"+name+".txt"); get.status != 200 || string(get.body) != "hello" {
			t.Errorf("%s, want 200 hello", get)
		}
	})
	run(t, "The answer is the bare name as text/plain", func(t *testing.T) {
		name := "note_" + randomString(8) + "-A"
		res := upload(t, alice.token, name, "txt", []byte("hello"))
		res.wantStatus(t, 200)
		if mt, _, _ := mime.ParseMediaType(res.header.Get("Content-Type")); mt != "text/plain" {
			t.Errorf("got Content-Type %q, want text/plain", res.header.Get("Content-Type"))
		}
		if string(res.body) != name {
			t.Errorf("got body %q, want %q, the name without extension", res.body, name)
		}
	})
	run(t, "A UUID file name is lower-cased", func(t *testing.T) {
		cites(t, "R-WIRE-9")
		id := newUUID()
		if got := uploadOK(t, alice.token, strings.ToUpper(id), "txt", []byte("x")); got != id {
			t.Errorf("got name %q, want %q", got, id)
		}
		do(t, "GET", "/uploads/"+id+".txt").wantStatus(t, 200)
	})
	run(t, "An invalid File-Name is 400", func(t *testing.T) {
		for _, name := range []string{"a.b", "../up", "a/b", "a b", "namé", "x%2fy", strings.Repeat("n", 65),
			"photo-preview", "photo-Preview", newUUID() + "-preview", "ends-PREVIEW-preview"} {
			res := do(t, "POST", "/uploads", bearer(alice.token), rawBody("text/plain", []byte("x")), fileName(name))
			if res.status != 400 {
				t.Errorf("File-Name %q: %s, want 400", name, res)
				continue
			}
			res.errorBody(t)
		}
		uploadOK(t, alice.token, strings.Repeat("n", 52)+randomString(12), "txt", []byte("64 characters are fine"))
	})
	run(t, "An empty File-Name is 400, not a request for a UUID", func(t *testing.T) {
		// File-Name is 1..64 characters when present; only its absence asks for a UUID.
		res := do(t, "POST", "/uploads", bearer(alice.token), rawBody("text/plain", []byte("x")), fileName(""))
		res.wantError(t, 400)
	})
	run(t, "Content-Type gives the extension", func(t *testing.T) {
		for _, tc := range []struct{ contentType, ext string }{
			{"png", "png"}, {"PNG", "png"}, {"mp3", "mp3"}, {"abcdefghij123456", "abcdefghij123456"},
			{"image/png", "png"}, {"IMAGE/PNG", "png"}, {"image/jpeg", "jpg"}, {"image/gif", "gif"},
			{"image/webp", "webp"}, {"image/svg+xml", "svg"}, {"video/quicktime", "mov"}, {"video/mp4", "mp4"},
			{"text/plain; charset=utf-8", "txt"}, {"text/html", "html"}, {"audio/mpeg", "mpeg"},
			{"application/octet-stream", "bin"}, {"application/pdf", "pdf"},
		} {
			name := "ct" + randomString(10)
			res := upload(t, alice.token, name, tc.contentType, []byte("some bytes"))
			if res.status != 200 {
				t.Errorf("Content-Type %q: %s, want 200", tc.contentType, res)
				continue
			}
			if get := do(t, "GET", "/uploads/"+name+"."+tc.ext); get.status != 200 || string(get.body) != "some bytes" {
				t.Errorf("Content-Type %q: %s, want the file as %s.%s", tc.contentType, get, name, tc.ext)
			}
		}
	})
	run(t, "A Content-Type that gives no extension is 400", func(t *testing.T) {
		for _, ct := range []string{"", "font/woff2", "multipart/form-data; boundary=x", "application/vnd.ms-excel",
			"image/x-icon", "image/", "/png", "abcdefghij1234567", "p_g", "p.g", "image/abcdefghij1234567", "message/rfc822"} {
			res := do(t, "POST", "/uploads", bearer(alice.token), rawBody(ct, []byte("x")), fileName("ct"+randomString(10)))
			if res.status != 400 {
				t.Errorf("Content-Type %q: %s, want 400", ct, res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "A name is one namespace across types, and the owner may replace the file", func(t *testing.T) {
		name := "shared" + randomString(8)
		uploadOK(t, alice.token, name, "png", []byte("first"))
		uploadOK(t, alice.token, name, "jpg", []byte("second"))
		do(t, "GET", "/uploads/"+name+".png").wantError(t, 404)
		if get := do(t, "GET", "/uploads/"+name+".jpg"); string(get.body) != "second" {
			t.Errorf("%s, want the replacing file", get)
		}
	})
	run(t, "Another user's name is 409", func(t *testing.T) {
		name := "mine" + randomString(8)
		uploadOK(t, alice.token, name, "txt", []byte("alice's"))
		upload(t, bob.token, name, "txt", []byte("bob's")).wantError(t, 409)
		upload(t, bob.token, name, "png", []byte("bob's")).wantError(t, 409)
		if get := do(t, "GET", "/uploads/"+name+".txt"); string(get.body) != "alice's" {
			t.Errorf("%s, want alice's file unchanged", get)
		}
	})
	run(t, "Uploading needs a token", func(t *testing.T) {
		cites(t, "R-WIRE-6")
		do(t, "POST", "/uploads", rawBody("txt", []byte("x"))).wantChallenge(t, "Bearer")
		do(t, "POST", "/uploads", bearer(strings.Repeat("A", 43)), rawBody("txt", []byte("x"))).wantChallenge(t, "Bearer")
	})
}

// TestUploadLimit covers R-UPL-1: an upload over the cap is 413 and leaves nothing,
// whether its size is announced or not. Set USERS_UPLOAD_LIMIT when the server's cap is
// not the default 50 MiB.
func TestUploadLimit(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-UPL-1", "R-WIRE-5")
	alice := register(t)
	zeros := func(n int64) func() io.Reader {
		return func() io.Reader { return io.LimitReader(zeroReader{}, n) }
	}

	run(t, "An upload of exactly the cap is fine", func(t *testing.T) {
		name := "max" + randomString(8)
		res := do(t, "POST", "/uploads", bearer(alice.token), rawBody("bin", nil), fileName(name),
			streamBody(uploadLimit, zeros(uploadLimit)))
		res.wantStatus(t, 200)
		head := do(t, "HEAD", "/uploads/"+name+".bin")
		head.wantStatus(t, 200)
		if head.length != uploadLimit {
			t.Errorf("got Content-Length %d, want %d", head.length, uploadLimit)
		}
	})
	for _, announced := range []bool{true, false} {
		what := "with Content-Length"
		if !announced {
			what = "chunked"
		}
		run(t, "One byte over the cap is 413 and leaves nothing, "+what, func(t *testing.T) {
			name := "over" + randomString(8)
			n := uploadLimit + 1
			length := n
			if !announced {
				length = -1
			}
			res := do(t, "POST", "/uploads", bearer(alice.token), rawBody("bin", nil), fileName(name),
				streamBody(length, zeros(n)))
			res.wantError(t, 413)
			do(t, "GET", "/uploads/"+name+".bin").wantError(t, 404)
		})
	}
	run(t, "A refused upload keeps the file it would have replaced", func(t *testing.T) {
		name := "keep" + randomString(8)
		uploadOK(t, alice.token, name, "bin", []byte("small"))
		do(t, "POST", "/uploads", bearer(alice.token), rawBody("bin", nil), fileName(name),
			streamBody(uploadLimit+1, zeros(uploadLimit+1))).wantError(t, 413)
		if get := do(t, "GET", "/uploads/"+name+".bin"); string(get.body) != "small" {
			t.Errorf("%s, want the earlier file", get)
		}
	})
}

// TestDownload covers R-UPL-2: files are served without authentication, with nosniff,
// inline only for png, jpg, gif and webp, with ranges and conditional requests.
func TestDownload(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-UPL-2")
	alice := register(t)

	run(t, "Images are served inline with their type", func(t *testing.T) {
		for ext, ct := range map[string]string{"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"} {
			name := uploadOK(t, alice.token, "", ext, []byte("not really an image"))
			res := do(t, "GET", "/uploads/"+name+"."+ext)
			res.wantStatus(t, 200)
			if got := res.header.Get("Content-Type"); got != ct {
				t.Errorf("%s: got Content-Type %q, want %q", res.req, got, ct)
			}
			if d, _, _ := mime.ParseMediaType(res.header.Get("Content-Disposition")); d != "" && d != "inline" {
				t.Errorf("%s: got Content-Disposition %q, want inline", res.req, res.header.Get("Content-Disposition"))
			}
			wantNosniff(t, res)
		}
	})
	run(t, "Everything else is an attachment of type application/octet-stream", func(t *testing.T) {
		for _, ext := range []string{"txt", "html", "svg", "pdf", "bin", "mov"} {
			name := uploadOK(t, alice.token, "", ext, []byte("<script>alert(1)</script>"))
			res := do(t, "GET", "/uploads/"+name+"."+ext)
			res.wantStatus(t, 200)
			if got := res.header.Get("Content-Type"); got != "application/octet-stream" {
				t.Errorf("%s: got Content-Type %q, want application/octet-stream", res.req, got)
			}
			if d, _, _ := mime.ParseMediaType(res.header.Get("Content-Disposition")); d != "attachment" {
				t.Errorf("%s: got Content-Disposition %q, want attachment", res.req, res.header.Get("Content-Disposition"))
			}
			wantNosniff(t, res)
		}
	})
	name := uploadOK(t, alice.token, "", "txt", []byte("0123456789"))
	path := "/uploads/" + name + ".txt"
	run(t, "HEAD gives the size and no body", func(t *testing.T) {
		res := do(t, "HEAD", path)
		res.wantStatus(t, 200)
		if res.length != 10 || len(res.body) != 0 {
			t.Errorf("%s: got Content-Length %d and %d bytes of body, want 10 and none", res.req, res.length, len(res.body))
		}
		wantNosniff(t, res)
	})
	run(t, "Ranges are served", func(t *testing.T) {
		res := do(t, "GET", path, header("Range", "bytes=2-4"))
		res.wantStatus(t, 206)
		if string(res.body) != "234" || res.header.Get("Content-Range") != "bytes 2-4/10" {
			t.Errorf("%s: Content-Range %q, want bytes 2-4/10 and body 234", res, res.header.Get("Content-Range"))
		}
	})
	run(t, "Conditional requests are answered 304", func(t *testing.T) {
		res := do(t, "GET", path)
		etag, modified := res.header.Get("ETag"), res.header.Get("Last-Modified")
		switch {
		case etag != "":
			do(t, "GET", path, header("If-None-Match", etag)).wantStatus(t, 304)
		case modified != "":
			do(t, "GET", path, header("If-Modified-Since", modified)).wantStatus(t, 304)
		default:
			t.Errorf("%s: neither ETag nor Last-Modified, want a validator for conditional requests", res.req)
		}
	})
	run(t, "Unknown files are 404", func(t *testing.T) {
		for _, p := range []string{
			"/uploads/" + newUUID() + ".png",
			"/uploads/" + name,          // no extension
			"/uploads/" + name + ".png", // another type
			"/uploads/" + name + "-preview.txt",
		} {
			res := do(t, "GET", p)
			if res.status != 404 {
				t.Errorf("%s, want 404", res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "A UUID name is found in any case", func(t *testing.T) {
		cites(t, "R-WIRE-9")
		res := do(t, "GET", "/uploads/"+strings.ToUpper(name)+".txt")
		if res.status != 200 || string(res.body) != "0123456789" {
			t.Errorf("%s, want the file: UUIDs are accepted in any case", res)
		}
	})
	run(t, "No path reaches outside the uploads folder", func(t *testing.T) {
		for _, p := range []string{
			"/uploads/../conformance-secret.txt",
			"/uploads/..%2fconformance-secret.txt",
			"/uploads/%2e%2e%2fconformance-secret.txt",
			"/uploads/%2e%2e/conformance-secret.txt",
			"/uploads/..%5cconformance-secret.txt",
			"/uploads/%252e%252e%252fconformance-secret.txt",
			"/uploads/..%c0%afconformance-secret.txt",
			"/uploads/.%2e/conformance-secret.txt",
			"/uploads/....//conformance-secret.txt",
			"/uploads/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
			"/uploads/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
			"/uploads/%2fetc%2fpasswd",
			"/uploads//etc/passwd",
			"/uploads/" + name + ".txt%00.png",
			"/uploads/..",
		} {
			res := do(t, "GET", p)
			if res.status != 404 && res.status != 400 {
				t.Errorf("%s, want 404 or 400", res)
			}
			if strings.Contains(string(res.body), "CONFORMANCE-SECRET") || strings.Contains(string(res.body), "root:") {
				t.Errorf("%s: a file outside the uploads folder was served", res.req)
			}
		}
	})
}

// TestPreviews covers R-UPL-3: png, jpg and gif uploads get a preview whose long side
// is 350, never enlarged; anything else, or an undecodable image, gets none.
func TestPreviews(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-UPL-3", "R-UPL-2")
	alice := register(t)
	for _, tc := range []struct {
		name          string
		ext           string
		data          []byte
		width, height int
	}{
		{"a 1200x800 png", "png", pngOf(t, 1200, 800), 350, 233},
		{"an 800x1200 png", "png", pngOf(t, 800, 1200), 233, 350},
		{"a 350x350 png", "png", pngOf(t, 350, 350), 350, 350},
		{"a 100x50 png", "png", pngOf(t, 100, 50), 100, 50},
		{"a 2000x1 png", "png", pngOf(t, 2000, 1), 350, 1},
		{"a 1200x800 jpg", "jpg", jpegOf(t, 1200, 800), 350, 233},
		{"a 700x350 gif", "gif", gifOf(t, 700, 350), 350, 175},
	} {
		run(t, "The preview of "+tc.name+" is "+itoa(tc.width)+"x"+itoa(tc.height), func(t *testing.T) {
			name := uploadOK(t, alice.token, "", tc.ext, tc.data)
			res := do(t, "GET", "/uploads/"+name+"-preview."+tc.ext)
			res.wantStatus(t, 200)
			cfg, format, err := image.DecodeConfig(bytes.NewReader(res.body))
			if err != nil {
				t.Fatalf("%s: the preview does not decode: %v", res.req, err)
			}
			if want := map[string]string{"png": "png", "jpg": "jpeg", "gif": "gif"}[tc.ext]; format != want {
				t.Errorf("got a %s preview, want %s", format, want)
			}
			if cfg.Width != tc.width || cfg.Height != tc.height {
				t.Errorf("got a %dx%d preview, want %dx%d", cfg.Width, cfg.Height, tc.width, tc.height)
			}
			wantNosniff(t, res)
		})
	}
	run(t, "An upload that is not a decodable image gets no preview", func(t *testing.T) {
		for _, ext := range []string{"png", "jpg", "gif"} {
			name := uploadOK(t, alice.token, "", ext, []byte("not an image at all"))
			do(t, "GET", "/uploads/"+name+"-preview."+ext).wantError(t, 404)
		}
	})
	run(t, "Other types get no preview", func(t *testing.T) {
		name := uploadOK(t, alice.token, "", "webp", pngOf(t, 1200, 800))
		do(t, "GET", "/uploads/"+name+"-preview.webp").wantError(t, 404)
	})
}

// upload sends POST /uploads; an empty name sends no File-Name.
func upload(t testing.TB, token, name, contentType string, body []byte) *response {
	t.Helper()
	opts := []option{bearer(token), rawBody(contentType, body)}
	if name != "" {
		opts = append(opts, fileName(name))
	}
	return do(t, "POST", "/uploads", opts...)
}

// uploadOK uploads and returns the name the server answers.
func uploadOK(t testing.TB, token, name, contentType string, body []byte) string {
	t.Helper()
	res := upload(t, token, name, contentType, body)
	res.wantStatus(t, 200)
	return string(res.body)
}

// fileName sets the File-Name header, even to an empty value.
func fileName(name string) option {
	return func(r *request) { r.header["File-Name"] = []string{name} }
}

func wantNosniff(t testing.TB, res *response) {
	t.Helper()
	if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: got X-Content-Type-Options %q, want nosniff", res.req, got)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// testImage is a w x h picture with some detail, so that encoders do real work.
func testImage(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: uint8(x ^ y), A: 255})
		}
	}
	return img
}

func pngOf(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifOf(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
