// Package media keeps the bytes of uploaded files on disk and makes the preview images
// of uploaded pictures (R-UPL-* of docs/rules.md).
//
// Dir is the disk implementation of users.Files and Previewer that of
// users.Previewer. Who owns which file is not this package's business: that is kept by
// the users.Store and decided by the users.Service. What this package guarantees is
// that no name it is given reaches outside its folder, that an upload is never held in
// memory, and that a file appears under its name complete or not at all.
//
// It may import package users and the standard library, nothing else.
package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"usersapi/users"
)

// stagePrefix starts the name of every temporary file. No stored file name can start
// with a dot (users.ParseFileName), so temporary files are never served, and what
// starts with it at open is a leftover of a crash.
const stagePrefix = ".stage-"

// Dir keeps files in one folder. It is safe for concurrent use.
type Dir struct {
	root *os.Root // every access goes through it, so nothing outside can be reached
	path string
}

var _ users.Files = (*Dir)(nil)

// OpenDir opens the folder at path as a Dir, creating it with mode 0700 if needed, and
// removes the temporary files a crash may have left in it. It refuses a folder on a
// file system that ignores case, where "A.png" and "a.png", two names of two owners,
// would be one file.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	d := &Dir{root: root, path: path}
	if err := d.removeStale(); err != nil {
		root.Close()
		return nil, err
	}
	if err := d.checkCase(); err != nil {
		root.Close()
		return nil, err
	}
	return d, nil
}

// Path returns the folder's path as given to OpenDir.
func (d *Dir) Path() string { return d.path }

// Close releases the folder. Calls after Close fail.
func (d *Dir) Close() error { return d.root.Close() }

// removeStale deletes the temporary files of uploads that never finished.
func (d *Dir) removeStale() error {
	entries, err := fs.ReadDir(d.root.FS(), ".")
	if err != nil {
		return fmt.Errorf("media: reading %s: %w", d.path, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagePrefix) && e.Type().IsRegular() {
			if err := d.root.Remove(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("media: removing a stale temporary file: %w", err)
			}
		}
	}
	return nil
}

// checkCase fails if the folder's file system takes two names that differ in case for
// one file.
func (d *Dir) checkCase() error {
	name := stagePrefix + "case-" + randomHex()
	f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("media: writing in %s: %w", d.path, err)
	}
	f.Close()
	defer d.root.Remove(name)
	if _, err := d.root.Lstat(strings.ToUpper(name)); err == nil {
		return fmt.Errorf("media: %s is on a file system that ignores the case of names; uploads need one that does not", d.path)
	}
	return nil
}

// randomHex returns 128 random bits in hex: temporary names nobody can guess.
func randomHex() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkName refuses every name that is not that of a stored file or its preview.
func checkName(name string) error {
	if _, _, _, ok := users.ParseFileName(name); !ok {
		return fmt.Errorf("media: %q is not a file name: %w", name, users.ErrInvalid)
	}
	return nil
}

// Stage copies r into a new temporary file of the folder, 32 KiB at a time, and syncs
// it to disk. If r holds more than limit bytes, it returns users.ErrTooLarge; on every
// failure the temporary file is removed.
func (d *Dir) Stage(ctx context.Context, r io.Reader, limit int64) (users.StagedFile, error) {
	name := stagePrefix + randomHex()
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	src := &readerOf{ctx: ctx, r: io.LimitReader(r, limit+1)}
	n, err := io.Copy(struct{ io.Writer }{f}, src) // plain Write: no ReadFrom tricks
	switch {
	case err == nil && n > limit:
		err = users.ErrTooLarge
	case err != nil && src.err != nil:
		// The client's fault (it hung up, or sent less than it announced): not a 500.
		err = users.Errorf(users.ErrInvalid, "The upload could not be read to its end.")
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
	case err == nil:
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.root.Remove(name)
		return nil, err
	}
	return &staged{dir: d, name: name, size: n}, nil
}

// readerOf reads from r until ctx ends, and remembers r's own error, to tell it from
// an error of the disk.
type readerOf struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (r *readerOf) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return 0, err
	}
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// staged is a file of the folder under a temporary name.
type staged struct {
	dir  *Dir
	name string
	size int64

	mu   sync.Mutex
	done bool // committed or discarded
}

func (s *staged) Size() int64 { return s.size }

func (s *staged) Open() (io.ReadCloser, error) {
	return s.dir.root.Open(s.name)
}

// Commit renames the file to name, replacing any file of that name at once, and syncs
// the folder so the new name survives a crash.
func (s *staged) Commit(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return errors.New("media: the staged file was committed or discarded already")
	}
	if err := s.dir.root.Rename(s.name, name); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	s.done = true
	return s.dir.syncDir()
}

func (s *staged) Discard() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.done = true
	if err := s.dir.root.Remove(s.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// syncDir makes the folder's entries (renames, removals) durable.
func (d *Dir) syncDir() error {
	f, err := d.root.Open(".")
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("media: syncing %s: %w", d.path, err)
	}
	return nil
}

// Open opens the named file for reading. A name that is not that of a stored file, or
// of a file that does not exist, is users.ErrNotFound: to a client, a name that could
// reach outside the folder is just a file that is not there.
func (d *Dir) Open(name string) (io.ReadSeekCloser, time.Time, error) {
	if checkName(name) != nil {
		return nil, time.Time{}, users.ErrNotFound
	}
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, users.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("media: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, time.Time{}, fmt.Errorf("media: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, time.Time{}, users.ErrNotFound
	}
	return f, fi.ModTime(), nil
}

// Remove deletes the named files, and syncs the folder. A file that does not exist is
// not an error; a name that is not that of a stored file is, and nothing is done
// about it.
func (d *Dir) Remove(names ...string) error {
	var errs []error
	removed := false
	for _, name := range names {
		if err := checkName(name); err != nil {
			errs = append(errs, err)
			continue
		}
		err := d.root.Remove(name)
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("media: %w", err))
		}
	}
	if removed {
		if err := d.syncDir(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
