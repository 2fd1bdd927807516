package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"usersapi/users"
)

// The snapshot holds the whole data set as of the start of one journal: a header line,
// then one line per user (with its sessions) by ascending ID, then one line per upload
// record by name. See docs/storage.md.

const (
	snapshotName    = "snapshot.jsonl"
	snapshotFormat  = "usersapi-snapshot"
	snapshotVersion = 1
)

// snapHeader is the first line of a snapshot.
type snapHeader struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Gen      int64  `json:"gen"`    // the journal whose records follow this snapshot
	LastID   int64  `json:"lastId"` // greatest user ID ever given out
	Users    int    `json:"users"`
	Sessions int    `json:"sessions"`
	Uploads  int    `json:"uploads"`
}

// snapOut is one line of a snapshot as written: exactly one field is set.
type snapOut struct {
	Snapshot *snapHeader      `json:"snapshot,omitempty"`
	User     *users.User      `json:"user,omitempty"`
	Sessions []*users.Session `json:"sessions,omitempty"`
	Upload   *users.Upload    `json:"upload,omitempty"`
}

// snapIn is one line of a snapshot as read. The worker that decodes it also builds its
// entry and search key, so that the one goroutine filling the maps has little to do.
type snapIn struct {
	Snapshot *snapHeader     `json:"snapshot"`
	User     *users.User     `json:"user"`
	Sessions []users.Session `json:"sessions"`
	Upload   *users.Upload   `json:"upload"`

	e   *entry
	key []byte
}

// newSnapDecoder returns a decoder of snapshot lines for one batch. Like the journal's,
// it refuses a field it does not know: a snapshot written by a newer version must stop
// the open, not lose that field at the next compaction.
func newSnapDecoder() func(payload []byte, v *snapIn) error {
	var r jreader
	keys := make([]byte, 0, 64<<10) // a batch of 1 MiB has about 1,500 users
	return func(payload []byte, v *snapIn) error {
		if !r.snapLine(payload, v) {
			*v = snapIn{}
			if err := unmarshalStrict(payload, v); err != nil {
				return fmt.Errorf("bad snapshot line: %v", err)
			}
		}
		if v.User != nil {
			v.e = &entry{user: *v.User}
			v.User = nil
		}
		n := 0
		for _, set := range []bool{v.Snapshot != nil, v.e != nil, v.Upload != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return errors.New(`bad snapshot line: want exactly one of "snapshot", "user" and "upload"`)
		}
		if v.e != nil {
			if len(v.Sessions) > 0 {
				v.e.sessions = make([]*users.Session, len(v.Sessions))
				for i := range v.Sessions {
					v.e.sessions[i] = &v.Sessions[i]
				}
			}
			v.Sessions = nil
			start := len(keys)
			keys = appendSearchKey(keys, v.e.user.Username, v.e.user.Name)
			v.key = keys[start:len(keys):len(keys)]
		} else if v.Sessions != nil {
			return errors.New(`bad snapshot line: "sessions" without "user"`)
		}
		return nil
	}
}

// loadSnapshot reads the snapshot at path into a new state.
func loadSnapshot(path string) (*state, *snapHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	// Nearly everything allocated while loading stays live (read buffers are reused), so
	// collecting would only rescan a growing heap, over and over. The collector is off
	// until the load is done, with a memory limit as the safety net: what the process
	// holds now plus about twice the snapshot, more than the live data it turns into
	// (unless a lower limit is set).
	if fi, err := f.Stat(); err == nil {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		defer pauseGC(int64(ms.Sys-ms.HeapReleased) + 2*fi.Size() + 1<<30)()
	}
	var (
		st       *state
		hdr      *snapHeader
		sessions int
		uploads  int
	)
	_, err = scanLines(path, f, false, newSnapDecoder, func(line int, v *snapIn) error {
		if line == 1 {
			if v.Snapshot == nil {
				return errors.New("the first line is not the snapshot header")
			}
			hdr = v.Snapshot
			if hdr.Format != snapshotFormat || hdr.Version != snapshotVersion {
				return fmt.Errorf("unknown snapshot format %q version %d (want %q version %d)", hdr.Format, hdr.Version, snapshotFormat, snapshotVersion)
			}
			if hdr.Gen < 1 || hdr.LastID < 0 || hdr.Users < 0 || hdr.Sessions < 0 || hdr.Uploads < 0 {
				return errors.New("the header holds a negative count or a generation below 1")
			}
			st = newStateSized(hdr.Users, hdr.Sessions, hdr.Uploads)
			return nil
		}
		switch {
		case v.Snapshot != nil:
			return errors.New("a second snapshot header")
		case v.e != nil:
			if uploads > 0 {
				return errors.New("a user after the upload records")
			}
			if err := st.loadEntry(v.e, v.key, hdr.LastID); err != nil {
				return err
			}
			sessions += len(v.e.sessions)
		case v.Upload != nil:
			if err := st.loadUpload(v.Upload); err != nil {
				return err
			}
			uploads++
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if hdr == nil {
		return nil, nil, &CorruptError{File: path, Reason: "the snapshot is empty"}
	}
	if len(st.byID) != hdr.Users || sessions != hdr.Sessions || uploads != hdr.Uploads {
		return nil, nil, &CorruptError{File: path, Reason: fmt.Sprintf(
			"the snapshot holds %d users, %d sessions and %d uploads, its header says %d, %d and %d (lines are missing)",
			len(st.byID), sessions, uploads, hdr.Users, hdr.Sessions, hdr.Uploads)}
	}
	st.lastID = hdr.LastID
	return st, hdr, nil
}

// gcPause counts the loads running at once: the settings are process-wide, so the first
// load saves and changes them and the last one puts them back.
var gcPause struct {
	sync.Mutex
	n       int
	percent int
	limit   int64
}

// pauseGC turns the garbage collector off, with a memory limit of at most limit bytes
// (a lower limit already set stays), and returns the function that undoes it.
func pauseGC(limit int64) (resume func()) {
	gcPause.Lock()
	defer gcPause.Unlock()
	if gcPause.n == 0 {
		gcPause.limit = debug.SetMemoryLimit(-1)
		debug.SetMemoryLimit(min(gcPause.limit, limit))
		gcPause.percent = debug.SetGCPercent(-1)
	}
	gcPause.n++
	return func() {
		gcPause.Lock()
		defer gcPause.Unlock()
		if gcPause.n--; gcPause.n == 0 {
			debug.SetGCPercent(gcPause.percent)
			debug.SetMemoryLimit(gcPause.limit)
		}
	}
}

// loadEntry adds a user read from a snapshot, checking what the snapshot promises.
func (s *state) loadEntry(e *entry, key []byte, lastID int64) error {
	u := &e.user
	if u.ID <= s.lastID {
		return fmt.Errorf("user %d is not above the previous user %d", u.ID, s.lastID)
	}
	if u.ID > lastID {
		return fmt.Errorf("user %d is above the header's lastId %d", u.ID, lastID)
	}
	// Insert, then check that the map grew: one hash lookup instead of two. On a
	// duplicate the state is wrong, but the load fails anyway.
	n := len(s.byUsername)
	if s.byUsername[u.Username] = u.ID; len(s.byUsername) == n {
		return fmt.Errorf("user %d: the username %q appears twice", u.ID, u.Username)
	}
	for _, sess := range e.sessions {
		if sess.UserID != u.ID {
			return fmt.Errorf("user %d: session %s belongs to user %d", u.ID, sess.ID, sess.UserID)
		}
		n := len(s.sessByID)
		if s.sessByID[sess.ID] = sess; len(s.sessByID) == n {
			return fmt.Errorf("user %d: the session ID %s appears twice", u.ID, sess.ID)
		}
		n = len(s.sessByToken)
		if s.sessByToken[sess.TokenHash] = sess; len(s.sessByToken) == n {
			return fmt.Errorf("user %d: session %s: its token hash appears twice", u.ID, sess.ID)
		}
	}
	s.lastID = u.ID
	s.byID[u.ID] = e
	s.index.addKey(e, key)
	return nil
}

// loadUpload adds an upload record read from a snapshot.
func (s *state) loadUpload(up *users.Upload) error {
	if _, ok := s.byID[up.OwnerID]; !ok {
		return fmt.Errorf("upload %q: its owner %d does not exist", up.Name, up.OwnerID)
	}
	if _, ok := s.uploads[up.Name]; ok {
		return fmt.Errorf("upload %q appears twice", up.Name)
	}
	s.uploads[up.Name] = up
	names := s.uploadsByOwner[up.OwnerID]
	if names == nil {
		names = make(map[string]struct{})
		s.uploadsByOwner[up.OwnerID] = names
	}
	names[up.Name] = struct{}{}
	return nil
}

// frozen is a consistent picture of a state, taken under its lock in a few milliseconds
// and written out afterwards while writers go on (entries are copy on write).
type frozen struct {
	lastID  int64
	ents    []*entry
	uploads []*users.Upload
}

func (s *state) freeze(fz *frozen) {
	fz.lastID = s.lastID
	fz.ents = fz.ents[:0]
	for _, b := range s.index.blocks {
		fz.ents = append(fz.ents, b.ents...)
	}
	fz.uploads = fz.uploads[:0]
	for _, up := range s.uploads {
		fz.uploads = append(fz.uploads, up)
	}
}

// newFrozen returns a frozen with room for the current state, allocated before the write
// lock is taken: a large allocation under the lock could make it wait for the collector.
func newFrozen(d *db) *frozen {
	d.mu.RLock()
	nUsers, nUploads := len(d.st.byID), len(d.st.uploads)
	d.mu.RUnlock()
	return &frozen{
		ents:    make([]*entry, 0, nUsers+nUsers/16+64),
		uploads: make([]*users.Upload, 0, nUploads+nUploads/16+64),
	}
}

// writeSnapshot writes fz as the snapshot of dir whose journal generation is gen: to a
// temporary file first, synced, then renamed over the old one and the folder synced, so
// that a crash leaves either the old snapshot or the new one, whole. It returns the size.
func writeSnapshot(dir string, gen int64, fz *frozen) (int64, error) {
	slices.SortFunc(fz.uploads, func(a, b *users.Upload) int { return strings.Compare(a.Name, b.Name) })
	hdr := &snapHeader{Format: snapshotFormat, Version: snapshotVersion, Gen: gen, LastID: fz.lastID,
		Users: len(fz.ents), Uploads: len(fz.uploads)}
	for _, e := range fz.ents {
		hdr.Sessions += len(e.sessions)
	}
	path := filepath.Join(dir, snapshotName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(&syncingWriter{f: f}, 1<<20)
	first, err := encodeLine(snapOut{Snapshot: hdr})
	if err != nil {
		return 0, err
	}
	w.Write(first)
	n := len(fz.ents) + len(fz.uploads)
	err = encodeParallel(n, 2048, w, func(i int, dst []byte, scratch *jwriter) ([]byte, error) {
		if i < len(fz.ents) {
			return appendSnapUserLine(dst, fz.ents[i], scratch)
		}
		return appendSnapUploadLine(dst, fz.uploads[i-len(fz.ents)], scratch)
	})
	if err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	ok = true
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return st.Size(), syncDir(dir)
}

// syncingWriter syncs the file every 32 MiB. Without it, hundreds of megabytes of dirty
// snapshot pages pile up, and the journal's next sync, which the file system orders
// after them, waits for them all: writers would stall for a long moment mid-compaction.
type syncingWriter struct {
	f *os.File
	n int
}

func (w *syncingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if w.n += n; err == nil && w.n >= 32<<20 {
		w.n = 0
		err = syncData(w.f)
	}
	return n, err
}

// encodeParallel encodes items 0..n-1 with enc on every CPU, in runs of per items, and
// writes the results to w in order. Each worker has its own scratch space, and output
// buffers go around, so that a snapshot of a million users leaves little garbage.
func encodeParallel(n, per int, w io.Writer, enc func(i int, dst []byte, scratch *jwriter) ([]byte, error)) error {
	type job struct {
		lo, hi int
		out    []byte
		err    error
		done   chan struct{}
	}
	workers := max(runtime.GOMAXPROCS(0)-1, 1)
	todo := make(chan *job)
	ordered := make(chan *job, 2*workers)
	free := make(chan []byte, 3*workers+1)
	for range workers {
		go func() {
			var scratch jwriter
			for j := range todo {
				for i := j.lo; i < j.hi && j.err == nil; i++ {
					j.out, j.err = enc(i, j.out, &scratch)
				}
				close(j.done)
			}
		}()
	}
	go func() {
		for lo := 0; lo < n; lo += per {
			var out []byte
			select {
			case out = <-free:
			default:
			}
			j := &job{lo: lo, hi: min(lo+per, n), out: out, done: make(chan struct{})}
			ordered <- j
			todo <- j
		}
		close(todo)
		close(ordered)
	}()
	var err error
	for j := range ordered {
		<-j.done
		if err == nil {
			err = j.err
		}
		if err == nil {
			_, err = w.Write(j.out)
		}
		select {
		case free <- j.out[:0]:
		default:
		}
	}
	return err
}
