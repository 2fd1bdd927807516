package media_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"usersapi/media"
	"usersapi/users"
)

func openDir(t *testing.T) (*media.Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "uploads")
	d, err := media.OpenDir(path)
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

// names lists the entries of a folder, hidden ones included.
func names(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func stage(t *testing.T, d *media.Dir, data string, limit int64) users.StagedFile {
	t.Helper()
	f, err := d.Stage(context.Background(), bytes.NewReader([]byte(data)), limit)
	if err != nil {
		t.Fatalf("Stage(%d bytes, limit %d): %v", len(data), limit, err)
	}
	return f
}

func readAll(t *testing.T, d *media.Dir, name string) string {
	t.Helper()
	f, _, err := d.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpenDir(t *testing.T) {
	t.Run("creates the folder with mode 0700", func(t *testing.T) {
		_, path := openDir(t)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("folder mode: got %o, want 700", got)
		}
	})
	t.Run("removes temporary files left by a crash, keeps the rest", func(t *testing.T) {
		d, path := openDir(t)
		stage(t, d, "kept", 10).Commit("kept.txt")
		stage(t, d, "left behind", 100) // never committed nor discarded: a crash
		if got := len(names(t, path)); got != 2 {
			t.Fatalf("before reopening: got %d entries, want 2", got)
		}
		d.Close()
		d2, err := media.OpenDir(path)
		if err != nil {
			t.Fatal(err)
		}
		defer d2.Close()
		if got, want := names(t, path), []string{"kept.txt"}; !slices.Equal(got, want) {
			t.Errorf("after reopening: got %q, want %q", got, want)
		}
	})
}

func TestStage(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		d, path := openDir(t)
		f := stage(t, d, "hello", 5)
		if f.Size() != 5 {
			t.Errorf("Size: got %d, want 5", f.Size())
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "hello" {
			t.Errorf("staged bytes: got %q, want %q", b, "hello")
		}
		if _, _, err := d.Open("a.txt"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("before Commit, Open: got %v, want ErrNotFound", err)
		}
		if err := f.Commit("a.txt"); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, d, "a.txt"); got != "hello" {
			t.Errorf("after Commit: got %q, want %q", got, "hello")
		}
		if err := f.Discard(); err != nil {
			t.Errorf("Discard after Commit: %v", err)
		}
		if got, want := names(t, path), []string{"a.txt"}; !slices.Equal(got, want) {
			t.Errorf("folder: got %q, want %q", got, want)
		}
		fi, err := os.Stat(filepath.Join(path, "a.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("file mode: got %o, want 600", got)
		}
	})
	t.Run("Commit replaces a file of the same name", func(t *testing.T) {
		d, _ := openDir(t)
		stage(t, d, "old", 10).Commit("a.txt")
		stage(t, d, "new", 10).Commit("a.txt")
		if got := readAll(t, d, "a.txt"); got != "new" {
			t.Errorf("got %q, want %q", got, "new")
		}
	})
	t.Run("ErrTooLarge leaves nothing behind", func(t *testing.T) {
		d, path := openDir(t)
		_, err := d.Stage(context.Background(), bytes.NewReader(make([]byte, 1001)), 1000)
		if !errors.Is(err, users.ErrTooLarge) {
			t.Fatalf("1001 bytes, limit 1000: got %v, want ErrTooLarge", err)
		}
		if got := names(t, path); len(got) != 0 {
			t.Errorf("folder after ErrTooLarge: got %q, want nothing", got)
		}
	})
	t.Run("a failing body leaves nothing behind", func(t *testing.T) {
		d, path := openDir(t)
		body := io.MultiReader(bytes.NewReader(make([]byte, 100_000)), iotest{errors.New("connection reset")})
		_, err := d.Stage(context.Background(), body, 1<<20)
		if !errors.Is(err, users.ErrInvalid) {
			t.Errorf("got %v, want ErrInvalid", err)
		}
		if got := names(t, path); len(got) != 0 {
			t.Errorf("folder: got %q, want nothing", got)
		}
	})
	t.Run("a cancelled request leaves nothing behind", func(t *testing.T) {
		d, path := openDir(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := d.Stage(ctx, bytes.NewReader(make([]byte, 100)), 1000)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if got := names(t, path); len(got) != 0 {
			t.Errorf("folder: got %q, want nothing", got)
		}
	})
	t.Run("Discard removes the temporary file", func(t *testing.T) {
		d, path := openDir(t)
		f := stage(t, d, "x", 10)
		if err := f.Discard(); err != nil {
			t.Fatal(err)
		}
		if got := names(t, path); len(got) != 0 {
			t.Errorf("folder: got %q, want nothing", got)
		}
		if err := f.Commit("a.txt"); err == nil {
			t.Error("Commit after Discard: got nil, want an error")
		}
	})
	t.Run("20 MiB are streamed, not held in memory", func(t *testing.T) {
		d, _ := openDir(t)
		const size = 20 << 20
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f, err := d.Stage(context.Background(), io.LimitReader(zeros{}, size), 50<<20)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Discard()
		if f.Size() != size {
			t.Errorf("Size: got %d, want %d", f.Size(), size)
		}
		// Everything allocated while staging, garbage or not: far below the upload.
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("staging %d bytes allocated %d bytes", size, alloc)
		if alloc > 1<<20 {
			t.Errorf("staging 20 MiB allocated %d bytes, want under 1 MiB", alloc)
		}
	})
}

type iotest struct{ err error }

func (r iotest) Read([]byte) (int, error) { return 0, r.err }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestNames checks that no name reaches outside the folder, in any encoding (R-UPL-2).
func TestNames(t *testing.T) {
	top := t.TempDir()
	path := filepath.Join(top, "uploads")
	d, err := media.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Files a traversal would reach: beside the folder and at the top.
	outside := filepath.Join(top, "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	stage(t, d, "inside", 10).Commit("ok.txt")
	hidden := stage(t, d, "staged", 10) // a temporary file: never reachable by name
	defer hidden.Discard()

	bad := []string{
		"", ".", "..", "../secret.txt", "..\\secret.txt", "/etc/passwd", outside,
		"a/../../secret.txt", "a/ok.txt", "a\\ok.txt", "ok.txt\x00", "ok\x00.txt",
		"%2e%2e%2fsecret.txt", "..%2fsecret.txt", "%2e%2e/secret.txt", ".stage-x",
		"ok.TXT", "ok", ".txt", "ok.", "ok..txt", "ok.t/xt", "x-preview-preview.png",
		"X-Preview.png", "ok.txt ", " ok.txt", "ok.txt/", "ok.txt/.", "ok.12345678901234567",
		string(make([]byte, 65)) + ".txt",
	}
	for _, name := range bad {
		if _, _, err := d.Open(name); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("Open(%q): got %v, want ErrNotFound", name, err)
		}
		if err := d.Remove(name); err == nil {
			t.Errorf("Remove(%q): got nil, want an error", name)
		}
		f := stage(t, d, "evil", 10)
		if err := f.Commit(name); err == nil {
			t.Errorf("Commit(%q): got nil, want an error", name)
		}
		f.Discard()
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "secret" {
		t.Errorf("the file outside: got %q, %v; want it untouched", b, err)
	}
	if got := readAll(t, d, "ok.txt"); got != "inside" {
		t.Errorf("ok.txt: got %q, want %q", got, "inside")
	}

	t.Run("a link to outside the folder is not followed", func(t *testing.T) {
		if err := os.Symlink(outside, filepath.Join(path, "link.txt")); err != nil {
			t.Skip("no symbolic links here:", err)
		}
		if f, _, err := d.Open("link.txt"); err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			t.Errorf("Open(link.txt): got %q, want an error", b)
		}
	})
	t.Run("good names work", func(t *testing.T) {
		for _, name := range []string{"a.png", "A_b-C.jpg", "x-preview.png", "0123456789abcdef.bin"} {
			if err := stage(t, d, name, 100).Commit(name); err != nil {
				t.Errorf("Commit(%q): %v", name, err)
			}
			if got := readAll(t, d, name); got != name {
				t.Errorf("Open(%q): got %q", name, got)
			}
			if err := d.Remove(name); err != nil {
				t.Errorf("Remove(%q): %v", name, err)
			}
		}
		if err := d.Remove("never-there.png"); err != nil {
			t.Errorf("Remove of a missing file: got %v, want nil", err)
		}
	})
}
