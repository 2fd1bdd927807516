package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"usersapi/users"
)

// File is the durable users.Store (R-STO-1..5): everything lives in memory as in Memory,
// and every change is first appended to a journal of JSON lines and synced to disk before
// it is acknowledged. From time to time the journal is compacted into a snapshot. Opening
// loads the snapshot and replays the journal. docs/storage.md describes the format.
type File struct {
	db
	dir          string
	logger       *slog.Logger
	lock         *os.File
	j            *journal
	gen          int64 // generation of the journal being appended to; guarded by db.mu
	compactBytes int64
	snapBytes    atomic.Int64

	// Guarded by db.mu: the refusal of writes after a journal failure (see goBack).
	refusing   bool
	lastProbe  time.Time
	probeEvery time.Duration

	compactMu  sync.Mutex // one compaction at a time
	compacting atomic.Bool
	bg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

var _ users.Store = (*File)(nil)

// FileOptions tunes OpenFile. The zero value is fine.
type FileOptions struct {
	// Logger receives what the store has to say: a torn write dropped at open, each
	// compaction and its timing, a failed compaction. Nil means slog.Default().
	Logger *slog.Logger

	// CompactBytes is the journal size from which the store compacts: once the journal
	// is larger than both CompactBytes and a quarter of the snapshot, a new snapshot is
	// written in the background and a new journal begins. Zero means DefaultCompactBytes.
	CompactBytes int64
}

// DefaultCompactBytes is the CompactBytes used when none is given.
const DefaultCompactBytes = 16 << 20

const (
	journalPrefix  = "journal-"
	journalSuffix  = ".jsonl"
	dirPerm        = 0o700
	filePerm       = 0o600
	tmpSuffix      = ".tmp"
	maxTornPreview = 120
)

func journalName(gen int64) string {
	return journalPrefix + strconv.FormatInt(gen, 10) + journalSuffix
}

// parseJournalName returns the generation of a journal file name.
func parseJournalName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, journalPrefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, journalSuffix)
	if !ok {
		return 0, false
	}
	gen, err := strconv.ParseInt(s, 10, 64)
	if err != nil || gen < 1 || journalName(gen) != name {
		return 0, false
	}
	return gen, true
}

// OpenFile opens the store kept in the folder dir, creating it (mode 0700) if needed.
// It locks the folder so that a second server on it fails with a clear error (R-STO-4),
// loads the snapshot, replays the journal, drops a torn last line with a log line
// (R-STO-2), and refuses any other damage with a *CorruptError naming the file, the line
// and the reason, leaving the files as they are (R-STO-5).
func OpenFile(dir string, opts *FileOptions) (*File, error) {
	var o FileOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CompactBytes <= 0 {
		o.CompactBytes = DefaultCompactBytes
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("storage: creating the data folder: %w", err)
	}
	// The folder is the data's only guard on a shared machine (R-STO-4): one that group
	// or others may enter is closed to them, and said so.
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("storage: the data folder %s is open to other users (mode %v) and could not be closed to them: %w", dir, fi.Mode().Perm(), err)
		}
		o.Logger.Warn("storage: the data folder was open to other users; it is now 0700 (R-STO-4)",
			"dir", dir, "was", fi.Mode().Perm().String())
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	f := &File{dir: dir, logger: o.Logger, lock: lock, compactBytes: o.CompactBytes, probeEvery: time.Second}
	if err := f.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return f, nil
}

// load reads the snapshot and the journals, and opens the last journal for appending.
func (f *File) load() error {
	start := time.Now()
	st, jf, size, active, nGens, err := f.readFolder()
	if err != nil {
		return err
	}
	f.st, f.journal = st, f
	f.j = newJournal(jf, size)
	f.gen = active
	f.logger.Info("storage: opened", "dir", f.dir, "users", len(st.byID), "sessions", len(st.sessByID),
		"uploads", len(st.uploads), "journals", nGens, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// readFolder loads the snapshot and replays the journals into a new state, cuts a torn
// tail, and opens the last journal for appending: it returns the state, that journal
// with its size and generation, and how many journals it read.
func (f *File) readFolder() (st *state, jf *os.File, size, active int64, nGens int, err error) {
	names, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, nil, 0, 0, 0, fmt.Errorf("storage: reading the data folder: %w", err)
	}
	var gens []int64
	hasSnapshot := false
	for _, de := range names {
		if gen, ok := parseJournalName(de.Name()); ok && de.Type().IsRegular() {
			gens = append(gens, gen)
		}
		if de.Name() == snapshotName {
			hasSnapshot = true
		}
	}
	slices.Sort(gens)

	st, snapGen := newState(), int64(1)
	fail := func(err error) (*state, *os.File, int64, int64, int, error) { return nil, nil, 0, 0, 0, err }
	snapPath := filepath.Join(f.dir, snapshotName)
	if hasSnapshot {
		var hdr *snapHeader
		if st, hdr, err = loadSnapshot(snapPath); err != nil {
			return fail(err)
		}
		snapGen = hdr.Gen
		if fi, err := os.Stat(snapPath); err == nil {
			f.snapBytes.Store(fi.Size())
		}
	}
	// Journals older than the snapshot are already in it (a compaction stopped before it
	// could remove them). The rest must follow each other without a gap.
	var stale []int64
	for len(gens) > 0 && gens[0] < snapGen {
		stale, gens = append(stale, gens[0]), gens[1:]
	}
	for i, gen := range gens {
		want := snapGen + int64(i)
		if gen != want {
			return fail(&CorruptError{File: filepath.Join(f.dir, journalName(want)), Reason: fmt.Sprintf(
				"this journal is missing, yet %s exists (the snapshot continues with journal %d)", journalName(gen), snapGen)})
		}
	}

	var torn *tornTail
	for i, gen := range gens {
		last := i == len(gens)-1
		t, err := replayJournal(filepath.Join(f.dir, journalName(gen)), st, last)
		if err != nil {
			return fail(err)
		}
		if last {
			torn = t
		}
	}

	// Everything is loaded and checked: only now touch the files.
	active = snapGen
	if len(gens) > 0 {
		active = gens[len(gens)-1]
	}
	path := filepath.Join(f.dir, journalName(active))
	if len(gens) == 0 {
		if jf, err = createFile(path); err != nil {
			return fail(fmt.Errorf("storage: creating the journal: %w", err))
		}
	} else if jf, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, filePerm); err != nil {
		return fail(fmt.Errorf("storage: opening the journal: %w", err))
	}
	if torn != nil {
		if err := f.dropTorn(jf, path, torn); err != nil {
			jf.Close()
			return fail(err)
		}
	}
	fi, err := jf.Stat()
	if err != nil {
		jf.Close()
		return fail(err)
	}
	for _, gen := range stale {
		os.Remove(filepath.Join(f.dir, journalName(gen)))
	}
	os.Remove(snapPath + tmpSuffix)

	return st, jf, fi.Size(), active, len(gens), nil
}

// dropTorn cuts the torn last line off the journal so that later appends start clean,
// and says so in the log (R-STO-2).
func (f *File) dropTorn(jf *os.File, path string, t *tornTail) error {
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	preview := make([]byte, min(t.size, maxTornPreview))
	n, _ := r.ReadAt(preview, t.offset)
	r.Close()
	f.logger.Warn("storage: dropped a torn write at the end of the journal; it was never acknowledged",
		"file", path, "line", t.line, "bytes", t.size, "reason", t.reason, "start", string(preview[:n]))
	if err := jf.Truncate(t.offset); err != nil {
		return fmt.Errorf("storage: cutting the torn write off %s: %w", path, err)
	}
	return jf.Sync()
}

// replayJournal applies the records of one journal file to st.
func replayJournal(path string, st *state, last bool) (*tornTail, error) {
	jf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer jf.Close()
	newDecode := func() func(payload []byte, rec *record) error {
		var r jreader
		return func(payload []byte, rec *record) error {
			if r.record(payload, rec) {
				return nil
			}
			*rec = record{}
			if err := unmarshalStrict(payload, rec); err != nil {
				return fmt.Errorf("bad record: %v", err)
			}
			return nil
		}
	}
	return scanLines(path, jf, last, newDecode, func(line int, r *record) error {
		commit, err := st.prepare(r)
		if err != nil {
			return fmt.Errorf("the %s record does not apply: %s", r.Op, users.Reason(err))
		}
		if commit != nil { // always: a journaled record carries no condition
			commit()
		}
		return nil
	})
}

// createFile creates a new data file and makes its name durable.
func createFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, filePerm)
	if err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// The File's side of durability (db.journal): the path of a write from db.write to the
// disk is writable, encode, queue, and the flusher of journal.go.

// writable refuses writes while the disk refuses them: after a journal failure, until a
// probe (a small file written and synced, at most once a second) goes through.
func (f *File) writable() error {
	if !f.refusing {
		return nil
	}
	if time.Since(f.lastProbe) < f.probeEvery {
		return errNotStored
	}
	f.lastProbe = time.Now()
	if err := probeWrite(f.dir); err != nil {
		return errNotStored
	}
	f.refusing = false
	f.logger.Info("storage: the data folder takes writes again; writes resume")
	return nil
}

// encode returns the journal line of r, written by encoding/json. A faster hand-written
// encoder made no difference a client could see: a write waits for its fsync, which
// costs a hundred times the encoding (docs/performance.md).
func (f *File) encode(r *record) ([]byte, error) { return encodeLine(r) }

// queue queues the line and returns the wait for its fsync. When the journal fails,
// the first writer to see it takes the store back to what is on disk.
func (f *File) queue(line []byte, seq uint64) func() error {
	j := f.j
	b := j.append(line)
	return func() error {
		if err := b.wait(); err != nil {
			f.goBack(j, err)
			return errNotStored
		}
		f.maybeCompact()
		return nil
	}
}

// goBack handles a failed journal j (a full disk, an I/O error): the writes applied since
// the last sync may never reach the disk, so the state is read again from the files,
// which hold exactly what was acknowledged (the flusher cut off what it could not
// sync), and writes are refused until the disk takes them again. Readers of a lost
// change get errNotStored, never the change.
func (f *File) goBack(j *journal, cause error) {
	f.compactMu.Lock() // no snapshot is written meanwhile
	defer f.compactMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.j != j {
		return // closing, or another writer of the failed batch did it
	}
	f.logger.Error("storage: the journal could not be written; the store goes back to what is on disk and refuses writes until the disk takes them", "err", cause)
	j.close()
	st, jf, size, active, _, err := f.readFolder()
	if err != nil {
		// The files cannot be read either: every write stays refused, and reads of
		// what was lost fail; a restart reads the folder again.
		f.logger.Error("storage: reading the data folder again failed; restart the server once the disk is healthy", "err", err)
		f.j = newFailedJournal(err)
	} else {
		f.st, f.j, f.gen = st, newJournal(jf, size), active
	}
	f.goBackState()
	f.refusing, f.lastProbe = true, time.Now()
}

// Writable implements users.WriteChecker: errNotStored while the store refuses writes
// after a journal failure (it does not probe the disk; the next write does).
func (f *File) Writable() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.refusing {
		return errNotStored
	}
	return nil
}

// probeWrite writes and syncs a small file in dir and removes it: whether the disk
// takes writes again.
func probeWrite(dir string) error {
	path := filepath.Join(dir, "probe"+tmpSuffix)
	p, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	_, err = p.Write(make([]byte, 64<<10))
	if err == nil {
		err = p.Sync()
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *File) maybeCompact() {
	// A quarter of the snapshot bounds what open must replay (a journal loads more slowly
	// per byte than a snapshot, docs/storage.md), and the cost of compacting stays a
	// constant share of each write (R-STO-3).
	size := f.j.bytes()
	if size < f.compactBytes || size < f.snapBytes.Load()/4 {
		return
	}
	if !f.compacting.CompareAndSwap(false, true) {
		return
	}
	// Add under the lock that Close takes before it waits, so that no compaction starts
	// once Close is waiting.
	f.mu.RLock()
	closed := f.closed
	if !closed {
		f.bg.Add(1)
	}
	f.mu.RUnlock()
	if closed {
		f.compacting.Store(false)
		return
	}
	go func() {
		defer f.bg.Done()
		defer f.compacting.Store(false)
		if err := f.Compact(); err != nil && !errors.Is(err, errClosed) {
			f.logger.Error("storage: compaction failed; the journal keeps growing and will be compacted later", "err", err)
		}
	}()
}

// Compact writes a snapshot of everything acknowledged so far and starts a new journal,
// then removes the old journal. The store compacts on its own (see
// FileOptions.CompactBytes); Compact is for tools and tests. Writers wait only while the
// data set is frozen (a copy of one pointer per user) and the journal switched.
func (f *File) Compact() error {
	f.compactMu.Lock()
	defer f.compactMu.Unlock()
	fz := newFrozen(&f.db)
	start := time.Now()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return errClosed
	}
	f.st.freeze(fz)
	oldGen := f.gen
	f.gen++
	gen := f.gen
	rotated := f.j.rotate(filepath.Join(f.dir, journalName(gen)))
	f.mu.Unlock()
	paused := time.Since(start)

	// From here on the snapshot is written from the frozen entries while writers go on.
	// The new journal must exist on disk before a snapshot that points to it.
	if err := rotated.wait(); err != nil {
		return err
	}
	size, err := writeSnapshot(f.dir, gen, fz)
	if err != nil {
		return fmt.Errorf("storage: writing the snapshot: %w", err)
	}
	f.snapBytes.Store(size)
	for g := oldGen; g >= 1; g-- {
		if err := os.Remove(filepath.Join(f.dir, journalName(g))); errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	f.logger.Info("storage: compacted", "users", len(fz.ents), "snapshotBytes", size, "journal", gen,
		"writersPaused", paused.Round(time.Microsecond), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Close waits for a running compaction, syncs what is queued, closes the files and
// releases the folder's lock. Calls after Close fail.
func (f *File) Close() error {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.bg.Wait()
		f.compactMu.Lock() // a Compact called directly
		f.compactMu.Unlock()
		err := f.j.close()
		if lerr := f.lock.Close(); err == nil {
			err = lerr
		}
		f.closeErr = err
	})
	return f.closeErr
}

// WriteFolder creates the data folder dir holding everything m holds, as one snapshot
// that OpenFile then loads. It is the fast way for tools (a seeder, benchmarks) to build
// a large store: fill a Memory, then write it once, instead of journaling and syncing
// every change. dir may exist but must not hold a store yet.
func WriteFolder(dir string, m *Memory) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("storage: creating the data folder: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	names, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range names {
		if _, ok := parseJournalName(de.Name()); ok || de.Name() == snapshotName {
			return fmt.Errorf("storage: data folder %s already holds a store", dir)
		}
	}
	fz := newFrozen(&m.db)
	m.mu.RLock()
	m.st.freeze(fz)
	m.mu.RUnlock()
	if _, err := writeSnapshot(dir, 1, fz); err != nil {
		return fmt.Errorf("storage: writing the snapshot: %w", err)
	}
	return nil
}
