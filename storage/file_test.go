package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/storage"
	"usersapi/storage/storagetest"
	"usersapi/users"
)

var ctx = context.Background()

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openFile(t testing.TB, dir string, opts *storage.FileOptions) *storage.File {
	t.Helper()
	if opts == nil {
		opts = &storage.FileOptions{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	f, err := storage.OpenFile(dir, opts)
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", dir, err)
	}
	return f
}

// TestFile runs the users.Store contract, persistence included, against the file store
// (R-STO-1, R-STO-2).
func TestFile(t *testing.T) {
	storagetest.RunPersistent(t, func(t *testing.T, dir string) users.Store {
		return openFile(t, dir, nil)
	})
}

// TestFileCompactingOften runs the contract with a journal compacted after nearly every
// write, so that compaction races with every kind of change (R-STO-3).
func TestFileCompactingOften(t *testing.T) {
	storagetest.RunPersistent(t, func(t *testing.T, dir string) users.Store {
		return openFile(t, dir, &storage.FileOptions{CompactBytes: 2048})
	})
}

var t0 = time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)

// fill adds n users, each with a session and an About, and returns their IDs.
func fill(t *testing.T, s users.Store, prefix string, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		name := fmt.Sprintf("%s%04d", prefix, i)
		u, err := s.CreateUser(ctx, users.User{Name: "Name " + name, Username: name, PasswordHash: "hash", CreatedAt: t0},
			users.Session{ID: "s-" + name, TokenHash: "t-" + name, CreatedAt: t0, UpdatedAt: t0, Device: users.DeviceInfo{ID: "d-" + name}})
		if err != nil {
			t.Fatalf("CreateUser(%s): %v", name, err)
		}
		about := "about " + name
		if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{About: &about}); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// dump lists what s holds for the IDs, to compare two stores.
func dump(t *testing.T, s users.Store, ids []int64) string {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		u, err := s.User(ctx, id)
		fmt.Fprintf(&b, "%+v %v\n", u, err)
		list, _ := s.Sessions(ctx, id)
		fmt.Fprintf(&b, "  %+v\n", list)
	}
	return b.String()
}

func journals(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "journal-*.jsonl"))
	return m
}

func onlyJournal(t *testing.T, dir string) string {
	t.Helper()
	j := journals(t, dir)
	if len(j) != 1 {
		t.Fatalf("want one journal in %s, got %v", dir, j)
	}
	return j[0]
}

// line builds a journal line around payload, with a good checksum.
func line(payload string) string {
	sum := crc32.Checksum([]byte(payload), crc32.MakeTable(crc32.Castagnoli))
	return fmt.Sprintf(`{"c":%d,"r":%s}`+"\n", sum, payload)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFileTouchNotJournaled: a conditional touch whose condition fails writes nothing;
// one that applies is journaled as a plain updateSession, without its condition, so the
// journal format stays as it was and replays the same.
func TestFileTouchNotJournaled(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, nil)
	fill(t, f, "touch", 1)
	path := onlyJournal(t, dir)
	before := readLines(t, path)
	later := t0.Add(time.Minute)
	if err := f.UpdateSession(ctx, "s-touch0000", users.SessionUpdate{UpdatedAt: &later, TouchBefore: t0}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	if got := readLines(t, path); len(got) != len(before) {
		t.Fatalf("a touch whose condition failed wrote %d lines", len(got)-len(before))
	}
	if err := f.UpdateSession(ctx, "s-touch0000", users.SessionUpdate{UpdatedAt: &later, TouchBefore: t0.Add(time.Second)}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	got := readLines(t, path)
	if len(got) != len(before)+1 {
		t.Fatalf("a touch that applied wrote %d lines, want 1", len(got)-len(before))
	}
	if last := got[len(got)-2]; !strings.Contains(last, `"sessionUpdate":{"updatedAt":"2026-11-25T16:12:45Z"}}`) {
		t.Errorf("the touch was journaled as %s", last)
	}
	f.Close()
	f = openFile(t, dir, nil)
	defer f.Close()
	sess, err := f.SessionByToken(ctx, "t-touch0000")
	if err != nil || !sess.UpdatedAt.Equal(later) {
		t.Errorf("after reopening: %+v, %v; want UpdatedAt %v", sess, err, later)
	}
}

// TestFileTornTail: a last line cut short (no newline) is an unacknowledged write; it is
// dropped with a log line, cut off the file, and the rest loads (R-STO-2).
func TestFileTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(good string) string
	}{
		{"no newline at the end", func(good string) string { return good[:len(good)/2] }},
		{"a whole line but its newline", func(good string) string { return good[:len(good)-1] }},
		{"NUL bytes a lost write left, no newline", func(good string) string { return "\x00\x00\x00\x00" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openFile(t, dir, nil)
			ids := fill(t, s, "kept", 3)
			want := dump(t, s, ids)
			s.Close()
			path := onlyJournal(t, dir)
			before, _ := os.ReadFile(path)
			good := line(`{"op":"deleteUser","id":1,"key":"torn"}`)
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.WriteString(tc.tear(good))
			f.Close()

			var logs bytes.Buffer
			s = openFile(t, dir, &storage.FileOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if got := dump(t, s, ids); got != want {
				t.Errorf("after dropping the torn tail:\n%s\nwant\n%s", got, want)
			}
			if !strings.Contains(logs.String(), "torn write") || !strings.Contains(logs.String(), "line=7") {
				t.Errorf("log does not report the torn line 7:\n%s", logs.String())
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, before) {
				t.Errorf("the torn tail was not cut off: file has %d bytes, want %d", len(after), len(before))
			}
			// Appends after the cut are clean and survive the next reopen.
			more := fill(t, s, "after", 2)
			want = dump(t, s, append(ids, more...))
			s.Close()
			s = openFile(t, dir, nil)
			defer s.Close()
			if got := dump(t, s, append(ids, more...)); got != want {
				t.Errorf("after writing past the cut and reopening:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestFileCorrupt: damage that is not a torn tail stops OpenFile with the file, the line
// and the reason, and the file is left as it was (R-STO-5).
func TestFileCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(lines []string) []string
		line   int
		reason string
	}{
		{"bad checksum in a middle line", func(l []string) []string {
			l[3] = strings.Replace(l[3], "about", "abOut", 1)
			return l
		}, 4, "checksum mismatch"},
		{"hand-edited bad JSON in a middle line", func(l []string) []string {
			l[1] = `{"c":1,"r":{"op":"createUser",}` + "\n"
			return l
		}, 2, "not valid JSON"},
		{"reformatted line with a stale checksum", func(l []string) []string {
			l[1] = strings.Replace(l[1], `"op":`, `"op": `, 1)
			return l
		}, 2, "checksum mismatch"},
		{"bad checksum on a complete last line (a hand edit, not a torn write)", func(l []string) []string {
			l[5] = strings.Replace(l[5], `"op"`, `"oP"`, 1)
			return l
		}, 6, "checksum mismatch"},
		{"NUL padding before a good last line", func(l []string) []string {
			l[5] = "\x00\x00\x00\x00" + l[5]
			return l
		}, 6, "not"},
		{"garbage complete last line", func(l []string) []string {
			return append(l[:len(l)-1], "\x00\x00\x00\x00\n", "")
		}, 7, "not valid JSON"},
		{"unknown operation, even on the last line", func(l []string) []string {
			return append(l[:len(l)-1], line(`{"op":"dance","id":1}`), "")
		}, 7, "Unknown operation"},
		{"unknown field from a newer version", func(l []string) []string {
			return append(l[:len(l)-1], line(`{"op":"deleteUser","id":1,"cascade":true}`), "")
		}, 7, "bad record"},
		{"record that does not apply", func(l []string) []string {
			return append(l[:len(l)-1], line(`{"op":"deleteUser","id":999}`), line(`{"op":"deleteUser","id":1}`), "")
		}, 7, "does not apply"},
		{"reused user ID", func(l []string) []string {
			created := l[0][strings.Index(l[0], `"r":`)+4 : len(l[0])-2]
			created = strings.ReplaceAll(created, "kept0000", "other000")
			return append(l[:len(l)-1], line(created), "")
		}, 7, "not above"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openFile(t, dir, nil)
			fill(t, s, "kept", 3) // 6 lines: createUser, updateUser, ...
			s.Close()
			path := onlyJournal(t, dir)
			edited := strings.Join(tc.edit(readLines(t, path)), "")
			writeFile(t, path, edited)

			_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
			var ce *storage.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("OpenFile: got %v, want a *CorruptError", err)
			}
			if ce.File != path || ce.Line != tc.line || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("OpenFile: got %s, %d, %q; want %s, %d, a reason with %q", ce.File, ce.Line, ce.Reason, path, tc.line, tc.reason)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("line %d", tc.line)) {
				t.Errorf("the message %q does not name the file and the line", msg)
			}
			if after, _ := os.ReadFile(path); string(after) != edited {
				t.Errorf("OpenFile changed the corrupt file")
			}
			// The refusal released the folder.
			if err := os.Rename(path, path+".bad"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFileCorruptSnapshot: a damaged snapshot line stops OpenFile too, naming the
// snapshot (R-STO-5); a snapshot missing lines is caught by the header's counts.
func TestFileCorruptSnapshot(t *testing.T) {
	setup := func(t *testing.T) (dir, path string) {
		dir = t.TempDir()
		s := openFile(t, dir, nil)
		fill(t, s, "snap", 4)
		if err := s.Compact(); err != nil {
			t.Fatalf("Compact: %v", err)
		}
		s.Close()
		return dir, filepath.Join(dir, "snapshot.jsonl")
	}
	t.Run("bad checksum", func(t *testing.T) {
		dir, path := setup(t)
		l := readLines(t, path)
		l[3] = strings.Replace(l[3], "snap0002", "snap0009", 1)
		writeFile(t, path, strings.Join(l, ""))
		_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
		var ce *storage.CorruptError
		if !errors.As(err, &ce) || ce.File != path || ce.Line != 4 {
			t.Errorf("OpenFile: got %v, want a *CorruptError for %s line 4", err, path)
		}
	})
	for _, tc := range []struct{ name, from, to string }{
		{"unknown field in a user", `"about":`, `"nickname":"x","about":`},
		{"unknown field in a session", `"ipAddress":`, `"country":"nl","ipAddress":`},
		{"unknown field beside the user", `{"user":`, `{"flags":1,"user":`},
	} {
		t.Run(tc.name+" from a newer version", func(t *testing.T) {
			dir, path := setup(t)
			l := readLines(t, path)
			payload := l[2][strings.Index(l[2], `"r":`)+4 : len(l[2])-2]
			if !strings.Contains(payload, tc.from) {
				t.Fatalf("line 3 of the snapshot has no %s: %s", tc.from, payload)
			}
			l[2] = line(strings.Replace(payload, tc.from, tc.to, 1))
			edited := strings.Join(l, "")
			writeFile(t, path, edited)
			_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
			var ce *storage.CorruptError
			if !errors.As(err, &ce) || ce.File != path || ce.Line != 3 || !strings.Contains(ce.Reason, "unknown field") {
				t.Fatalf("OpenFile: got %v, want a *CorruptError for %s line 3 naming the unknown field", err, path)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "line 3") {
				t.Errorf("the message %q does not name the file and the line", msg)
			}
			if after, _ := os.ReadFile(path); string(after) != edited {
				t.Errorf("OpenFile changed the snapshot")
			}
		})
	}
	t.Run("torn last line is not forgiven", func(t *testing.T) {
		dir, path := setup(t)
		l := readLines(t, path)
		writeFile(t, path, strings.Join(l[:len(l)-2], "")+l[len(l)-2][:10])
		_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
		var ce *storage.CorruptError
		if !errors.As(err, &ce) || ce.File != path || ce.Line != 5 {
			t.Errorf("OpenFile: got %v, want a *CorruptError for %s line 5", err, path)
		}
	})
	t.Run("missing lines", func(t *testing.T) {
		dir, path := setup(t)
		l := readLines(t, path)
		writeFile(t, path, strings.Join(l[:3], ""))
		_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
		var ce *storage.CorruptError
		if !errors.As(err, &ce) || ce.File != path || !strings.Contains(ce.Reason, "missing") {
			t.Errorf("OpenFile: got %v, want a *CorruptError saying lines are missing", err)
		}
	})
	t.Run("missing journal", func(t *testing.T) {
		dir, _ := setup(t)
		s := openFile(t, dir, nil)
		fill(t, s, "more", 1)
		s.Compact()
		fill(t, s, "most", 1)
		s.Close()
		// snapshot gen 3, journal-3: fake a journal-4 with journal-3 gone.
		j := onlyJournal(t, dir)
		os.Rename(j, filepath.Join(dir, "journal-9.jsonl"))
		_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
		var ce *storage.CorruptError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "missing") {
			t.Errorf("OpenFile: got %v, want a *CorruptError about a missing journal", err)
		}
	})
}

// TestFileLocked: a second server on the same folder is refused with a clear message
// (R-STO-4), and the folder is free again after Close.
func TestFileLocked(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir, nil)
	_, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
	if err == nil || !strings.Contains(err.Error(), "data folder "+dir+" is in use by another process") {
		t.Errorf("second OpenFile: got %v, want the folder in use", err)
	}
	if err := storage.WriteFolder(dir, storage.NewMemory()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("WriteFolder on an open store: got %v, want the folder in use", err)
	}
	s.Close()
	s = openFile(t, dir, nil)
	s.Close()
}

// TestFileLockedWhateverIsRemoved: the lock is on the folder itself, so a second server
// is refused even after every file in the folder was deleted by hand.
func TestFileLockedWhateverIsRemoved(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir, nil)
	defer s.Close()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	os.Remove(filepath.Join(dir, "lock")) // where an older version kept its lock
	if _, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("OpenFile after the folder's files were removed: got %v, want the folder in use", err)
	}
}

// TestFileFolderOpenToOthers: an existing data folder open to group or others is closed
// to them (0700) at open, with a warning (R-STO-4).
func TestFileFolderOpenToOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // whatever the umask
	var logs bytes.Buffer
	s := openFile(t, dir, &storage.FileOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("the data folder is %v after open, want 0700", got)
	}
	if !strings.Contains(logs.String(), "now 0700") {
		t.Errorf("no warning that the folder was closed to others:\n%s", logs.String())
	}
}

// TestFileModes: data files are 0600 in a 0700 folder (R-STO-4).
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openFile(t, dir, nil)
	fill(t, s, "mode", 2)
	if err := s.Compact(); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	fill(t, s, "more", 1)
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("folder mode %v, want 0700", got)
	}
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		files++
		fi, _ := d.Info()
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, got)
		}
		return nil
	})
	if files != 2 { // snapshot, journal
		t.Errorf("%d files in the folder, want 2", files)
	}
}

// TestFileCompaction: once the journal outgrows the snapshot the store writes a new
// snapshot and a new journal, removes the old journal, and reopens identically (R-STO-3).
func TestFileCompaction(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	s := openFile(t, dir, &storage.FileOptions{CompactBytes: 4096, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ids := fill(t, s, "compact", 60)
	if _, err := s.DeleteUser(ctx, ids[len(ids)-1]); err != nil {
		t.Fatal(err)
	}
	want := dump(t, s, ids)
	wantSearch, _ := s.SearchUsers(ctx, "compact00", 50)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(logs.String(), "compacted") {
		t.Errorf("no compaction logged:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot.jsonl")); err != nil {
		t.Errorf("no snapshot after compaction: %v", err)
	}
	j := onlyJournal(t, dir)
	if strings.HasSuffix(j, "journal-1.jsonl") {
		t.Errorf("the journal is still the first one: %s", j)
	}
	s = openFile(t, dir, nil)
	defer s.Close()
	if got := dump(t, s, ids); got != want {
		t.Errorf("after compaction and reopening:\n%s\nwant\n%s", got, want)
	}
	if got, _ := s.SearchUsers(ctx, "compact00", 50); fmt.Sprint(got) != fmt.Sprint(wantSearch) {
		t.Errorf("SearchUsers after reopening differs")
	}
	u, err := s.CreateUser(ctx, users.User{Username: "newcomer", Name: "New"}, users.Session{ID: "s-new", TokenHash: "t-new"})
	if err != nil || u.ID <= ids[len(ids)-1] {
		t.Errorf("CreateUser after reopening: ID %d, %v; want above the deleted %d", u.ID, err, ids[len(ids)-1])
	}
}

// TestFileCompactionLeftovers: a compaction cut short at any step leaves a store that
// opens with everything: a stale journal older than the snapshot, a temporary snapshot.
func TestFileCompactionLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir, nil)
	ids := fill(t, s, "left", 5)
	old, _ := os.ReadFile(onlyJournal(t, dir))
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, fill(t, s, "right", 2)...)
	want := dump(t, s, ids)
	s.Close()
	// As if the crash came after the rename but before the old journal was removed, with
	// a half-written next snapshot lying around.
	writeFile(t, filepath.Join(dir, "journal-1.jsonl"), string(old))
	writeFile(t, filepath.Join(dir, "snapshot.jsonl.tmp"), "{half")
	s = openFile(t, dir, nil)
	defer s.Close()
	if got := dump(t, s, ids); got != want {
		t.Errorf("after reopening:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal-1.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale journal was not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot.jsonl.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temporary snapshot was not removed: %v", err)
	}
}

// TestWriteFolder: a Memory written as a folder opens as a File with the same data.
func TestWriteFolder(t *testing.T) {
	m := storage.NewMemory()
	ids := fill(t, m, "seed", 20)
	m.DeleteUser(ctx, ids[3])
	want := dump(t, m, ids)
	dir := t.TempDir()
	if err := storage.WriteFolder(dir, m); err != nil {
		t.Fatalf("WriteFolder: %v", err)
	}
	if err := storage.WriteFolder(dir, m); err == nil || !strings.Contains(err.Error(), "already holds a store") {
		t.Errorf("WriteFolder twice: got %v, want a refusal", err)
	}
	s := openFile(t, dir, nil)
	defer s.Close()
	if got := dump(t, s, ids); got != want {
		t.Errorf("after WriteFolder and OpenFile:\n%s\nwant\n%s", got, want)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
