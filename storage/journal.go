package storage

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// journal appends lines to the journal file with group commit (R-STO-3): writers queue
// their line under the store's write lock and then wait for the batch it joined; one
// flusher goroutine writes each batch with one write and one fdatasync and then wakes
// exactly the writers of that batch. Lines queued while a flush runs form the next
// batch, so N concurrent writers share a few syncs between them.
type journal struct {
	kick chan struct{} // a batch is waiting for the flusher
	quit chan struct{} // closed by close: the flusher drains and stops
	gone chan struct{} // closed by the flusher when it stopped

	mu   sync.Mutex
	buf  []byte // lines of the current batch
	cur  *batch // the batch now filling, nil when none
	err  error  // once set, nothing more is written or acknowledged
	size int64  // bytes written to the current file

	// A rotation moves the journal to a new file: the lines queued before it go to the
	// old file, the rest to the new one.
	rotateTo    string
	rotateBuf   []byte
	rotateBatch *batch

	f     *os.File // used by the flusher only
	spare []byte

	syncs atomic.Int64  // batches written, for tests and benchmarks
	pause chan struct{} // tests only: when set, each flush waits for it first
}

// batch is a group of lines written and synced together.
type batch struct {
	done chan struct{} // closed once the batch is on disk or failed
	err  error         // set before done is closed
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// wait returns once the batch is on disk, or the error that kept it from it.
func (b *batch) wait() error {
	<-b.done
	return b.err
}

func newJournal(f *os.File, size int64) *journal {
	j := &journal{
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
		gone: make(chan struct{}),
		f:    f,
		size: size,
	}
	go j.flusher()
	return j
}

// newFailedJournal returns a journal that refuses every line with err: the stand-in for
// one that could not be opened again after a failure.
func newFailedJournal(err error) *journal {
	j := &journal{kick: make(chan struct{}, 1), quit: make(chan struct{}), gone: make(chan struct{}), err: err}
	close(j.gone)
	return j
}

// failedBatch returns a batch that is done with err.
func failedBatch(err error) *batch {
	b := newBatch()
	b.err = err
	close(b.done)
	return b
}

// append queues line and returns the batch it is written with. The caller holds the
// store's write lock, so lines are queued in the order their records were applied.
func (j *journal) append(line []byte) *batch {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return failedBatch(j.err)
	}
	j.buf = append(j.buf, line...)
	return j.batchLocked()
}

// batchLocked returns the batch now filling, starting one (and waking the flusher) if
// there is none.
func (j *journal) batchLocked() *batch {
	if j.cur == nil {
		j.cur = newBatch()
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return j.cur
}

// rotate queues the switch to a new journal file at path. Once the returned batch is
// done without error, the old file holds every line queued before the switch, synced,
// and the new file exists durably. The caller waits for it before rotating again.
func (j *journal) rotate(path string) *batch {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return failedBatch(j.err)
	}
	b := j.batchLocked()
	j.rotateTo, j.rotateBuf, j.rotateBatch = path, j.buf, b
	j.buf, j.cur = j.spare[:0], nil
	j.spare = nil
	return b
}

// flusher writes and syncs batches until close.
func (j *journal) flusher() {
	defer close(j.gone)
	for {
		select {
		case <-j.kick:
			j.gather()
		case <-j.quit:
			j.flush() // whatever was queued before close
			j.f.Close()
			return
		}
		j.flush()
	}
}

// gather lets the writers that are ready to run queue their lines before the flusher
// takes the batch, as long as the batch keeps growing (a few rounds at most): a sync
// costs about the same for one line as for a hundred. A lone writer loses microseconds.
func (j *journal) gather() {
	for range 4 {
		j.mu.Lock()
		n := len(j.buf)
		j.mu.Unlock()
		runtime.Gosched()
		j.mu.Lock()
		grew := len(j.buf) > n
		j.mu.Unlock()
		if !grew {
			return
		}
	}
}

// flush writes and syncs everything queued, and wakes the writers of what it wrote.
func (j *journal) flush() {
	j.mu.Lock()
	buf, cur := j.buf, j.cur
	rotateTo, rotateBuf, rotateBatch := j.rotateTo, j.rotateBuf, j.rotateBatch
	j.buf, j.cur, j.spare = j.spare[:0], nil, nil
	j.rotateTo, j.rotateBuf, j.rotateBatch = "", nil, nil
	failed, pause := j.err, j.pause
	j.mu.Unlock()
	if pause != nil {
		<-pause
	}

	err := failed
	written, rotated := int64(0), false
	if rotateBatch != nil {
		if err == nil {
			if err = j.writeSync(rotateBuf); err == nil {
				var nf *os.File
				if nf, err = createFile(rotateTo); err == nil {
					j.f.Close()
					j.f, rotated = nf, true
				}
			}
			if err != nil {
				err = fmt.Errorf("storage: switching to a new journal: %w", err)
			}
		}
		j.finish(rotateBatch, err)
	}
	if cur != nil && err == nil && len(buf) > 0 {
		j.syncs.Add(1)
		if err = j.writeSync(buf); err != nil {
			err = fmt.Errorf("storage: writing the journal: %w", err)
		}
		written = int64(len(buf))
	}

	j.mu.Lock()
	if rotated {
		j.size = 0
	}
	if err != nil && j.err == nil {
		j.err = err
	}
	if err == nil {
		j.size += written
	}
	if j.spare == nil {
		j.spare = buf[:0]
	}
	j.mu.Unlock()
	if cur != nil {
		j.finish(cur, err)
	}
}

func (j *journal) finish(b *batch, err error) {
	b.err = err
	close(b.done)
}

// bytes returns the size of the current journal file.
func (j *journal) bytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// close writes what is queued, closes the file and stops the flusher. The caller makes
// sure nothing is appended any more.
func (j *journal) close() error {
	close(j.quit)
	<-j.gone
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.err
	if j.err == nil {
		j.err = errClosed
	}
	return err
}

// writeSync appends b to the journal file and syncs it. If that fails, it cuts the file
// back to what was synced before (best effort), so that the file holds exactly the
// acknowledged lines when the store reads it again (File.goBack). Called by the
// flusher only, which alone changes j.size.
func (j *journal) writeSync(b []byte) error {
	var err error
	if len(b) > 0 {
		_, err = j.f.Write(b)
	}
	if err == nil {
		err = syncData(j.f)
	}
	if err != nil {
		if terr := j.f.Truncate(j.size); terr == nil {
			syncData(j.f)
		}
	}
	return err
}
