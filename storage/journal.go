package storage

import (
	"fmt"
	"os"
	"sync"
)

// journal appends lines to the journal file with group commit (R-STO-3): writers queue
// their line under the store's write lock, then wait; whichever waiter finds no flush
// running becomes the flusher, writes every queued line with one write and one fsync, and
// wakes everybody whose line is now durable. Writers that queue while a flush runs are
// carried by the next one, so N concurrent writers share about two fsyncs.
type journal struct {
	dir string

	mu       sync.Mutex
	cond     sync.Cond
	f        *os.File // used by the flusher only (flushing == true), or under mu when idle
	buf      []byte   // queued lines for f, or for the next file once a rotation is queued
	spare    []byte
	queued   uint64 // sequence number of the last queued line (or rotation)
	durable  uint64 // everything up to here is on disk
	flushing bool
	err      error // once set, nothing more is written or acknowledged
	size     int64 // bytes written to f

	// A rotation moves the journal to a new file: the lines queued before it go to the
	// old file, the rest to the new one.
	rotateTo  string
	rotateBuf []byte
}

func newJournal(dir string, f *os.File, size int64) *journal {
	j := &journal{dir: dir, f: f, size: size}
	j.cond.L = &j.mu
	return j
}

// append queues line and returns its sequence number. The caller holds the store's write
// lock, so lines are queued in the order their records were applied.
func (j *journal) append(line []byte) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(j.buf, line...)
	j.queued++
	return j.queued
}

// rotate queues the switch to a new journal file at path and returns its sequence number:
// once wait of it returns nil, the old file holds every line queued before it, both are
// on disk and the new file exists durably. Only one rotation may be queued at a time:
// the caller waits for it before queueing another.
func (j *journal) rotate(path string) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateTo = path
	j.rotateBuf, j.buf = j.buf, j.spare[:0]
	j.spare = nil
	j.queued++
	return j.queued
}

// wait returns once the line with sequence number seq is on disk, or the error that
// keeps it from getting there.
func (j *journal) wait(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		if j.durable >= seq {
			return nil
		}
		if j.err != nil {
			return j.err
		}
		if !j.flushing {
			j.flushLocked()
			continue
		}
		j.cond.Wait()
	}
}

// flushLocked writes and syncs everything queued. It is called with mu held and releases
// it while the disk works.
func (j *journal) flushLocked() {
	j.flushing = true
	buf, upto := j.buf, j.queued
	rotateTo, rotateBuf := j.rotateTo, j.rotateBuf
	j.buf, j.spare = j.spare[:0], nil
	j.rotateTo, j.rotateBuf = "", nil
	f := j.f
	j.mu.Unlock()

	var err error
	written := int64(0)
	if rotateTo != "" {
		if err = writeSync(f, rotateBuf); err == nil {
			var nf *os.File
			if nf, err = createFile(rotateTo); err == nil {
				f.Close()
				f = nf
			}
		}
	}
	if err == nil && len(buf) > 0 {
		err = writeSync(f, buf)
		written = int64(len(buf))
	}

	j.mu.Lock()
	j.flushing = false
	j.f = f
	if rotateTo != "" {
		j.size = 0
	}
	if err != nil {
		j.err = fmt.Errorf("storage: writing the journal: %w", err)
	} else {
		j.durable = upto
		j.size += written
	}
	if j.spare == nil {
		j.spare = buf[:0]
	}
	j.cond.Broadcast()
}

// bytes returns the size of the current journal file.
func (j *journal) bytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// close flushes what is queued and closes the file.
func (j *journal) close() error {
	j.mu.Lock()
	seq := j.queued
	j.mu.Unlock()
	err := j.wait(seq)
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.flushing {
		j.cond.Wait()
	}
	if j.f != nil {
		if cerr := j.f.Close(); err == nil {
			err = cerr
		}
		j.f = nil
	}
	if j.err == nil {
		j.err = errClosed
	}
	return err
}

func writeSync(f *os.File, b []byte) error {
	if len(b) > 0 {
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	return syncData(f)
}
