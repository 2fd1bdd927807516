package users_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// TestFileTypeOf covers the Content-Type rule of R-UPL-1.
func TestFileTypeOf(t *testing.T) {
	ok := []struct{ in, want string }{
		{"png", "png"},
		{"PNG", "png"},
		{"Mp4", "mp4"},
		{"abcdefghij123456", "abcdefghij123456"},
		{"image/png", "png"},
		{"IMAGE/PNG", "png"},
		{"image/jpeg", "jpg"},
		{"image/svg+xml", "svg"},
		{"video/quicktime", "mov"},
		{"text/plain; charset=utf-8", "txt"},
		{"application/octet-stream", "bin"},
		{"audio/mpeg", "mpeg"},
		{"image/webp", "webp"},
		{"application/pdf", "pdf"},
	}
	for _, tt := range ok {
		if got, err := users.FileTypeOf(tt.in); err != nil || got != tt.want {
			t.Errorf("FileTypeOf(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []string{
		"", "abcdefghij1234567", "p.ng", "p ng", "pn\x00g", "../png", "\u212Ang", // Kelvin sign
		"font/woff", "message/rfc822", "multipart/form-data", "image/", "image/x-icon",
		"application/vnd.ms-excel", "image/png/x", "image/ü", "/png",
	}
	for _, in := range bad {
		if got, err := users.FileTypeOf(in); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("FileTypeOf(%q): got %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

// TestNormalizeFileName covers the File-Name rule of R-UPL-1.
func TestNormalizeFileName(t *testing.T) {
	if got, err := users.NormalizeFileName(nil); err != nil || !users.IsUUID(got) || got != strings.ToLower(got) {
		t.Errorf(`NormalizeFileName(nil): got %q, %v; want a new lower-case UUID`, got, err)
	}
	ok := []struct{ in, want string }{
		{"avatar", "avatar"},
		{"My_Photo-2", "My_Photo-2"},
		{"6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"preview", "preview"},
		{"x-previewed", "x-previewed"},
	}
	for _, tt := range ok {
		if got, err := users.NormalizeFileName(&tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizeFileName(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []string{
		"", strings.Repeat("a", 65), "x-preview", "x-PREVIEW", "-preview", "a.png", "../x", "..",
		"/etc/passwd", "a/b", `a\b`, "a\x00", "%2e%2e%2f", "a b", "é", ".hidden",
	}
	for _, in := range bad {
		if got, err := users.NormalizeFileName(&in); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("NormalizeFileName(%q): got %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

// TestParseFileName covers the names GET /uploads/<name>.<type> accepts (R-UPL-2).
func TestParseFileName(t *testing.T) {
	ok := []struct {
		in, name, fileType string
		preview            bool
	}{
		{"a.png", "a", "png", false},
		{"a-preview.png", "a", "png", true},
		{"A_b-c.tar", "A_b-c", "tar", false},
	}
	for _, tt := range ok {
		name, fileType, preview, ok := users.ParseFileName(tt.in)
		if !ok || name != tt.name || fileType != tt.fileType || preview != tt.preview {
			t.Errorf("ParseFileName(%q): got %q %q %v %v; want %q %q %v true", tt.in, name, fileType, preview, ok, tt.name, tt.fileType, tt.preview)
		}
	}
	for _, in := range []string{"", "a", "a.", ".png", "a.PNG", "a.b.png", "../a.png", "a/b.png", "-preview.png", "a-preview-preview.png", "a.png\x00", ".stage-1"} {
		if _, _, _, ok := users.ParseFileName(in); ok {
			t.Errorf("ParseFileName(%q): got ok, want refused", in)
		}
	}
}

// fixture is a Service with a memory store and an uploads folder.
type fixture struct {
	t     *testing.T
	svc   *users.Service
	store users.Store
	dir   string // the uploads folder
}

func newFixture(t *testing.T, maxUpload int64) *fixture {
	t.Helper()
	return newQuotaFixture(t, maxUpload, 0)
}

// newQuotaFixture is newFixture with the upload quota given (0: the default).
func newQuotaFixture(t *testing.T, maxUpload, quota int64) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "uploads")
	dir, err := media.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	store := storage.NewMemory()
	svc := users.NewService(users.Config{
		Store:       store,
		Hasher:      auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens:      auth.Tokens{},
		Files:       dir,
		Previewer:   media.NewPreviewer(0),
		MaxUpload:   maxUpload,
		UploadQuota: quota,
		Now:         func() time.Time { return time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC) },
	})
	return &fixture{t: t, svc: svc, store: store, dir: path}
}

var userSeq struct {
	sync.Mutex
	n int
}

// register makes a user and returns its session and credentials.
func (f *fixture) register() (users.Session, users.Credentials) {
	f.t.Helper()
	userSeq.Lock()
	userSeq.n++
	c := users.Credentials{Username: fmt.Sprintf("uploader%d", userSeq.n), Password: "correct horse"}
	userSeq.Unlock()
	name := "Uploader"
	info, err := f.svc.Register(context.Background(), users.RegisterRequest{
		Name: &name, Username: &c.Username, Password: &c.Password,
		DeviceInfo: &users.DeviceInfo{ID: users.NewUUID()},
	}, "127.0.0.1")
	if err != nil {
		f.t.Fatalf("Register: %v", err)
	}
	sess, err := f.svc.Authenticate(context.Background(), info.DeviceSessions[0].AccessToken)
	if err != nil {
		f.t.Fatalf("Authenticate: %v", err)
	}
	return sess, c
}

func (f *fixture) upload(sess users.Session, fileName, contentType string, body []byte) (string, error) {
	f.t.Helper()
	return f.svc.Upload(context.Background(), sess, header(fileName), contentType, bytes.NewReader(body))
}

func (f *fixture) mustUpload(sess users.Session, fileName, contentType string, body []byte) string {
	f.t.Helper()
	name, err := f.upload(sess, fileName, contentType, body)
	if err != nil {
		f.t.Fatalf("Upload(%q, %q, %d bytes): %v", fileName, contentType, len(body), err)
	}
	return name
}

// files lists the uploads folder, hidden files included, sorted.
func (f *fixture) files() []string {
	f.t.Helper()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func (f *fixture) read(name string) string {
	f.t.Helper()
	r, _, err := f.svc.OpenUpload(context.Background(), name)
	if err != nil {
		f.t.Fatalf("OpenUpload(%q): %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) addPhoto(sess users.Session, id, fileType string, size int64) error {
	return f.svc.AddPhoto(context.Background(), sess, users.AddPhotoRequest{Photo: &users.NewPhoto{ID: &id, FileType: &fileType, FileSize: &size}})
}

func (f *fixture) photos(sess users.Session) []users.MediaInfo {
	f.t.Helper()
	info, err := f.svc.User(context.Background(), sess.UserID)
	if err != nil {
		f.t.Fatal(err)
	}
	return info.Photos
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unread is a body that fails the test if it is read at all.
type unread struct{ t *testing.T }

func (u unread) Read([]byte) (int, error) {
	u.t.Error("the body was read although the upload was refused before")
	return 0, io.EOF
}

// TestUpload covers R-UPL-1 and R-UPL-3 on the Service.
func TestUpload(t *testing.T) {
	t.Run("without File-Name the server makes a UUID", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		name := f.mustUpload(alice, "", "text/plain", []byte("hi"))
		if !users.IsUUID(name) || name != strings.ToLower(name) {
			t.Fatalf("got name %q, want a lower-case UUID", name)
		}
		if got := f.read(name + ".txt"); got != "hi" {
			t.Errorf("got %q, want %q", got, "hi")
		}
		if got, want := f.files(), []string{name + ".txt"}; !slices.Equal(got, want) {
			t.Errorf("folder: got %q, want %q", got, want)
		}
	})
	t.Run("a UUID File-Name is lower-cased", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		if name := f.mustUpload(alice, "6F9619FF-8B86-D011-B42D-00C04FC964FF", "bin", nil); name != "6f9619ff-8b86-d011-b42d-00c04fc964ff" {
			t.Errorf("got %q", name)
		}
	})
	t.Run("bad File-Name or Content-Type is 400 and reads no body", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		for _, h := range [][2]string{{"../x", "png"}, {"x-preview", "png"}, {"/etc/passwd", "png"}, {"a\x00", "png"}, {"x", ""}, {"x", "font/woff"}} {
			_, err := f.svc.Upload(context.Background(), alice, &h[0], h[1], unread{t})
			if !errors.Is(err, users.ErrInvalid) {
				t.Errorf("File-Name %q, Content-Type %q: got %v, want ErrInvalid", h[0], h[1], err)
			}
		}
		if got := f.files(); len(got) != 0 {
			t.Errorf("folder: got %q, want nothing", got)
		}
	})
	t.Run("too large is ErrTooLarge and leaves nothing behind", func(t *testing.T) {
		f := newFixture(t, 1000)
		alice, _ := f.register()
		if _, err := f.upload(alice, "big", "bin", make([]byte, 1001)); !errors.Is(err, users.ErrTooLarge) {
			t.Fatalf("1001 bytes, limit 1000: got %v, want ErrTooLarge", err)
		}
		if got := f.files(); len(got) != 0 {
			t.Errorf("folder: got %q, want nothing", got)
		}
		if _, err := f.store.Upload(context.Background(), "big"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("record: got %v, want ErrNotFound", err)
		}
		f.mustUpload(alice, "big", "bin", make([]byte, 1000))
	})
	t.Run("another user's name is 409, checked before the body is read", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		bob, _ := f.register()
		f.mustUpload(alice, "avatar", "txt", []byte("alice's"))
		for _, ct := range []string{"txt", "png", "jpg"} { // one namespace across types
			_, err := f.svc.Upload(context.Background(), bob, header("avatar"), ct, unread{t})
			if !errors.Is(err, users.ErrConflict) {
				t.Errorf("bob uploading avatar.%s: got %v, want ErrConflict", ct, err)
			}
		}
		if got := f.read("avatar.txt"); got != "alice's" {
			t.Errorf("avatar.txt: got %q, want alice's bytes untouched", got)
		}
	})
	t.Run("the caller's own file is replaced, across types", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		f.mustUpload(alice, "avatar", "png", pngOf(t, 400, 400))
		f.mustUpload(alice, "avatar", "png", []byte("not a png any more"))
		if got := f.files(); !slices.Equal(got, []string{"avatar.png"}) {
			t.Errorf("after replacing an image by a non-image, folder: got %q, want only avatar.png (no stale preview)", got)
		}
		f.mustUpload(alice, "avatar", "jpg", []byte("jpg bytes"))
		if got := f.files(); !slices.Equal(got, []string{"avatar.jpg"}) {
			t.Errorf("after replacing avatar.png by avatar.jpg, folder: got %q, want only avatar.jpg", got)
		}
		if _, _, err := f.svc.OpenUpload(context.Background(), "avatar.png"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("avatar.png: got %v, want ErrNotFound", err)
		}
		up, err := f.store.Upload(context.Background(), "avatar")
		if err != nil || up.Type != "jpg" || up.Size != 9 {
			t.Errorf("record: got %+v, %v; want type jpg, size 9", up, err)
		}
	})
	t.Run("the caller's file in use as a photo is 409", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		id := f.mustUpload(alice, "", "png", []byte("x"))
		if err := f.addPhoto(alice, id, "png", 1); err != nil {
			t.Fatal(err)
		}
		for _, ct := range []string{"png", "jpg"} {
			if _, err := f.svc.Upload(context.Background(), alice, header(id), ct, unread{t}); !errors.Is(err, users.ErrConflict) {
				t.Errorf("replacing a photo with a %s: got %v, want ErrConflict", ct, err)
			}
		}
	})
	t.Run("a 1200x800 png gets a 350x233 preview", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		data := pngOf(t, 1200, 800)
		id := f.mustUpload(alice, "", "image/png", data)
		up, err := f.store.Upload(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if up.Size != int64(len(data)) || up.PreviewWidth != 350 || up.PreviewHeight != 233 {
			t.Errorf("record: got size %d, preview %dx%d; want %d, 350x233", up.Size, up.PreviewWidth, up.PreviewHeight, len(data))
		}
		cfg, err := png.DecodeConfig(strings.NewReader(f.read(id + "-preview.png")))
		if err != nil || cfg.Width != 350 || cfg.Height != 233 {
			t.Errorf("preview file: got %dx%d, %v; want 350x233", cfg.Width, cfg.Height, err)
		}
		if got := f.read(id + ".png"); got != string(data) {
			t.Errorf("the original was changed")
		}
	})
	t.Run("a png that does not decode is stored without preview", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		id := f.mustUpload(alice, "", "png", []byte("\x89PNG but not really"))
		up, _ := f.store.Upload(context.Background(), id)
		if up.PreviewWidth != 0 || up.PreviewHeight != 0 {
			t.Errorf("preview: got %dx%d, want none", up.PreviewWidth, up.PreviewHeight)
		}
		if got := f.files(); !slices.Equal(got, []string{id + ".png"}) {
			t.Errorf("folder: got %q, want only the upload", got)
		}
		if _, _, err := f.svc.OpenUpload(context.Background(), id+"-preview.png"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("preview: got %v, want ErrNotFound", err)
		}
	})
	t.Run("concurrent uploads of one name by two users: one owner, whose bytes are on disk", func(t *testing.T) {
		f := newFixture(t, 0)
		alice, _ := f.register()
		bob, _ := f.register()
		var wg sync.WaitGroup
		for i := range 20 {
			who, tag := alice, "alice"
			if i%2 == 1 {
				who, tag = bob, "bob"
			}
			wg.Go(func() {
				_, err := f.svc.Upload(context.Background(), who, header("contested"), "txt", strings.NewReader(fmt.Sprintf("%s %d", tag, i)))
				if err != nil && !errors.Is(err, users.ErrConflict) {
					t.Errorf("upload %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		up, err := f.store.Upload(context.Background(), "contested")
		if err != nil {
			t.Fatal(err)
		}
		owner := map[int64]string{alice.UserID: "alice", bob.UserID: "bob"}[up.OwnerID]
		if got := f.read("contested.txt"); !strings.HasPrefix(got, owner+" ") || int64(len(got)) != up.Size {
			t.Errorf("the file holds %q, but the record says owner %s, size %d", got, owner, up.Size)
		}
	})
}

// TestOpenUpload covers R-UPL-2 on the Service.
func TestOpenUpload(t *testing.T) {
	f := newFixture(t, 0)
	alice, _ := f.register()
	f.mustUpload(alice, "doc", "txt", []byte("text"))
	if got := f.read("doc.txt"); got != "text" {
		t.Errorf("doc.txt: got %q", got)
	}
	outside := filepath.Join(filepath.Dir(f.dir), "secret.txt")
	os.WriteFile(outside, []byte("secret"), 0o600)
	for _, name := range []string{"doc.png", "doc-preview.txt", "doc", "nothing.txt", "../secret.txt", "..%2fsecret.txt", "%2e%2e%2fsecret.txt", outside, "doc.txt\x00", ".stage-1", ""} {
		if _, _, err := f.svc.OpenUpload(context.Background(), name); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("OpenUpload(%q): got %v, want ErrNotFound", name, err)
		}
	}
}

// TestAddPhoto covers R-PHO-1 and R-OBJ-6.
func TestAddPhoto(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	alice, _ := f.register()
	bob, _ := f.register()
	data := pngOf(t, 1200, 800)
	size := int64(len(data))
	id := f.mustUpload(alice, "", "png", data)

	t.Run("the file must be the caller's, of that type", func(t *testing.T) {
		if err := f.addPhoto(bob, id, "png", size); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("bob claiming alice's upload: got %v, want ErrNotFound", err)
		}
		if err := f.addPhoto(alice, id, "jpg", size); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("wrong type: got %v, want ErrNotFound", err)
		}
		if err := f.addPhoto(alice, users.NewUUID(), "png", size); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("no such upload: got %v, want ErrNotFound", err)
		}
	})
	t.Run("shape and size are 400", func(t *testing.T) {
		if err := f.addPhoto(alice, id, "png", size+1); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("wrong size: got %v, want ErrInvalid", err)
		}
		for _, bad := range []string{"avatar", "", "../x", id + "x"} {
			if err := f.addPhoto(alice, bad, "png", size); !errors.Is(err, users.ErrInvalid) {
				t.Errorf("id %q: got %v, want ErrInvalid", bad, err)
			}
		}
		if err := f.addPhoto(alice, id, "p/ng", size); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("fileType p/ng: got %v, want ErrInvalid", err)
		}
		if err := f.svc.AddPhoto(ctx, alice, users.AddPhotoRequest{}); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("no photo: got %v, want ErrInvalid", err)
		}
		if err := f.svc.AddPhoto(ctx, alice, users.AddPhotoRequest{Photo: &users.NewPhoto{ID: &id}}); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("no fileType and fileSize: got %v, want ErrInvalid", err)
		}
	})
	t.Run("OK, the id in any case; its MediaInfo carries the preview size", func(t *testing.T) {
		if err := f.addPhoto(alice, strings.ToUpper(id), "png", size); err != nil {
			t.Fatal(err)
		}
		got := f.photos(alice)
		want := []users.MediaInfo{{ID: id, FileType: "png", FileSize: size, PreviewWidth: 350, PreviewHeight: 233, CreatedAt: time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)}}
		if !slices.Equal(got, want) {
			t.Errorf("photos: got %+v, want %+v", got, want)
		}
	})
	t.Run("already a photo is 409", func(t *testing.T) {
		if err := f.addPhoto(alice, id, "png", size); !errors.Is(err, users.ErrConflict) {
			t.Errorf("got %v, want ErrConflict", err)
		}
	})
	t.Run("newest first, at most 10", func(t *testing.T) {
		ids := []string{id}
		for range users.MaxPhotos - 1 {
			next := f.mustUpload(alice, "", "txt", []byte("p"))
			if err := f.addPhoto(alice, next, "txt", 1); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, next)
		}
		var got []string
		for _, p := range f.photos(alice) {
			got = append(got, p.ID)
		}
		slices.Reverse(ids)
		if !slices.Equal(got, ids) {
			t.Errorf("photo ids: got %q, want newest first %q", got, ids)
		}
		extra := f.mustUpload(alice, "", "txt", []byte("p"))
		if err := f.addPhoto(alice, extra, "txt", 1); !errors.Is(err, users.ErrInvalid) {
			t.Errorf("11th photo: got %v, want ErrInvalid", err)
		}
	})
}

// TestDeletePhoto covers R-PHO-2.
func TestDeletePhoto(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	alice, _ := f.register()
	bob, _ := f.register()
	data := pngOf(t, 1200, 800)
	id := f.mustUpload(alice, "", "png", data)
	other := f.mustUpload(alice, "", "png", data) // an upload, not a photo
	if err := f.addPhoto(alice, id, "png", int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeletePhoto(ctx, alice, "not-a-uuid"); !errors.Is(err, users.ErrInvalid) {
		t.Errorf("not a UUID: got %v, want ErrInvalid", err)
	}
	if err := f.svc.DeletePhoto(ctx, bob, id); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("bob deleting alice's photo: got %v, want ErrNotFound", err)
	}
	if err := f.svc.DeletePhoto(ctx, alice, other); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("an upload that is not a photo: got %v, want ErrNotFound", err)
	}
	if got := len(f.files()); got != 4 {
		t.Fatalf("folder before: got %q, want 2 uploads with previews", f.files())
	}
	if err := f.svc.DeletePhoto(ctx, alice, strings.ToUpper(id)); err != nil {
		t.Fatal(err)
	}
	if got := f.photos(alice); len(got) != 0 {
		t.Errorf("photos: got %+v, want none", got)
	}
	if got, want := f.files(), []string{other + "-preview.png", other + ".png"}; !slices.Equal(got, want) {
		t.Errorf("folder after: got %q, want %q", got, want)
	}
	if err := f.svc.DeletePhoto(ctx, alice, id); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("deleting again: got %v, want ErrNotFound", err)
	}
}

// TestUploadQuota covers R-LIM-2: a user's uploads together hold at most the quota; an
// upload past it is ErrTooLarge with a reason naming it, and leaves nothing.
func TestUploadQuota(t *testing.T) {
	ctx := context.Background()
	f := newQuotaFixture(t, 100, 250)
	alice, _ := f.register()
	bob, _ := f.register()
	f.mustUpload(alice, "a", "bin", bytes.Repeat([]byte("a"), 100))
	f.mustUpload(alice, "b", "bin", bytes.Repeat([]byte("b"), 100))
	before := f.files()

	_, err := f.upload(alice, "c", "bin", bytes.Repeat([]byte("c"), 51))
	if !errors.Is(err, users.ErrTooLarge) || !strings.Contains(err.Error(), "quota of 250 bytes") {
		t.Errorf("51 bytes over 200 of 250: got %v, want ErrTooLarge naming the quota", err)
	}
	if got := f.files(); !slices.Equal(got, before) {
		t.Errorf("a refused upload changed the folder: got %q, want %q", got, before)
	}
	if _, err := f.store.Upload(ctx, "c"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("a refused upload left a record: %v", err)
	}
	// A body over the cap is still the cap's 413, not the quota's.
	if _, err := f.upload(alice, "c", "bin", bytes.Repeat([]byte("c"), 101)); !errors.Is(err, users.ErrTooLarge) {
		t.Errorf("101 bytes over the cap of 100: got %v, want ErrTooLarge", err)
	}
	f.mustUpload(alice, "c", "bin", bytes.Repeat([]byte("c"), 50)) // exactly the quota
	// Replacing a file gives its bytes back first.
	f.mustUpload(alice, "a", "txt", bytes.Repeat([]byte("A"), 100))
	if _, err := f.upload(alice, "a", "txt", bytes.Repeat([]byte("A"), 101)); !errors.Is(err, users.ErrTooLarge) {
		t.Errorf("replacing 100 bytes by 101 at the quota: got %v, want ErrTooLarge", err)
	}
	if got := f.read("a.txt"); got != strings.Repeat("A", 100) {
		t.Errorf("a refused replacement changed the file: got %q", got)
	}
	// The quota is per user.
	f.mustUpload(bob, "", "bin", bytes.Repeat([]byte("z"), 100))
	// Deleting a file frees its bytes.
	if err := f.svc.DeleteUpload(ctx, alice, "b.bin"); err != nil {
		t.Fatal(err)
	}
	f.mustUpload(alice, "d", "bin", bytes.Repeat([]byte("d"), 100))
}

// TestUploadQuotaConcurrent: uploads that each fit the quota but not together are
// checked again when they are stored, so at most the quota is ever held.
func TestUploadQuotaConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newQuotaFixture(t, 100, 250)
	alice, _ := f.register()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = f.upload(alice, "", "bin", bytes.Repeat([]byte("x"), 100))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, users.ErrTooLarge):
			t.Errorf("got %v, want nil or ErrTooLarge", err)
		}
	}
	if n, _ := f.store.UploadBytes(ctx, alice.UserID); ok != 2 || n != 200 {
		t.Errorf("6 uploads of 100 bytes against a quota of 250: %d stored, %d bytes; want 2, 200", ok, n)
	}
	if got := len(f.files()); got != 2 {
		t.Errorf("folder: got %q, want the 2 stored files", f.files())
	}
}

// TestDeleteUpload covers R-LIM-3.
func TestDeleteUpload(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	alice, _ := f.register()
	bob, _ := f.register()
	data := pngOf(t, 1200, 800)
	photo := f.mustUpload(alice, "", "png", data)
	if err := f.addPhoto(alice, photo, "png", int64(len(data))); err != nil {
		t.Fatal(err)
	}
	pic := f.mustUpload(alice, "", "png", data)
	f.mustUpload(alice, "notes", "txt", []byte("notes"))
	if got := len(f.files()); got != 5 {
		t.Fatalf("folder before: got %q, want 2 pictures with previews and notes.txt", f.files())
	}
	for _, tt := range []struct {
		who  users.Session
		file string
		want error
	}{
		{bob, pic + ".png", users.ErrNotFound},               // another user's
		{bob, "notes.txt", users.ErrNotFound},                // another user's
		{alice, pic + ".jpg", users.ErrNotFound},             // another type
		{alice, pic + "-preview.png", users.ErrNotFound},     // a preview
		{alice, "../notes.txt", users.ErrNotFound},           // not a file name
		{alice, users.NewUUID() + ".png", users.ErrNotFound}, // unknown
		{alice, photo + ".png", users.ErrConflict},           // a photo's file
	} {
		if err := f.svc.DeleteUpload(ctx, tt.who, tt.file); !errors.Is(err, tt.want) {
			t.Errorf("DeleteUpload(%q): got %v, want %v", tt.file, err, tt.want)
		}
	}
	if got := len(f.files()); got != 5 {
		t.Fatalf("refused deletions changed the folder: %q", f.files())
	}
	if err := f.svc.DeleteUpload(ctx, alice, strings.ToUpper(pic)+".png"); err != nil {
		t.Fatalf("DeleteUpload of the caller's picture, its UUID in upper case: %v", err)
	}
	if err := f.svc.DeleteUpload(ctx, alice, "notes.txt"); err != nil {
		t.Fatalf("DeleteUpload(notes.txt): %v", err)
	}
	if got, want := f.files(), []string{photo + "-preview.png", photo + ".png"}; !slices.Equal(got, want) {
		t.Errorf("folder after: got %q, want %q", got, want)
	}
	if _, _, err := f.svc.OpenUpload(ctx, pic+".png"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("OpenUpload after DeleteUpload: got %v, want ErrNotFound", err)
	}
	if err := f.svc.DeleteUpload(ctx, alice, "notes.txt"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("deleting again: got %v, want ErrNotFound", err)
	}
	// The name is free again, for anyone.
	if _, err := f.upload(bob, "notes", "txt", []byte("bob's")); err != nil {
		t.Errorf("bob taking the deleted name: %v", err)
	}
	if got := f.photos(alice); len(got) != 1 {
		t.Errorf("photos: got %+v, want the one photo", got)
	}
}

// TestDeregisterRemovesFiles covers the files part of R-DEL-1.
func TestDeregisterRemovesFiles(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	alice, aliceC := f.register()
	bob, _ := f.register()
	data := pngOf(t, 600, 600)
	photo := f.mustUpload(alice, "", "png", data)
	if err := f.addPhoto(alice, photo, "png", int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f.mustUpload(alice, "notes", "txt", []byte("x"))
	f.mustUpload(alice, "", "gif", []byte("not a gif"))
	kept := f.mustUpload(bob, "", "png", data)
	if err := f.svc.Deregister(ctx, aliceC); err != nil {
		t.Fatal(err)
	}
	if got, want := f.files(), []string{kept + "-preview.png", kept + ".png"}; !slices.Equal(got, want) {
		t.Errorf("folder: got %q, want only bob's %q", got, want)
	}
	// The name is free again.
	f.mustUpload(bob, "notes", "txt", []byte("bob's"))
}

// header returns the File-Name header of a test upload: "" stands for no header.
func header(fileName string) *string {
	if fileName == "" {
		return nil
	}
	return &fileName
}
