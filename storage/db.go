package storage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"usersapi/users"
)

// errClosed is returned by calls on a closed store.
var errClosed = errors.New("storage: the store is closed")

// errNotStored answers a write whose journal line could not be written or synced, and a
// read that would show such a write: 503 with Retry-After, not "something went wrong".
var errNotStored = &users.Error{Kind: users.ErrBusy, RetryAfter: 5 * time.Second,
	Reason: "The server cannot store data right now (its disk may be full); try again later."}

// db is the core shared by Memory and File: the state under a read-write lock, and the
// path every mutation takes. Reads take the read lock only and never wait for a disk,
// except to keep the promise below.
//
// Durable before visible: a change is applied to the state before its journal line is
// synced (so that the next writer decides against it, and group commit can gather many
// writes into one sync), but no answer shows it, to anyone, before the sync. Every
// write gets a sequence number; dirty remembers, per user, the last write that touched
// it, and durable how far the journal is synced. A read that shows a user waits until
// that user's last write is durable; a read whose answer depends on the whole state
// (something not found, a search, a refused write) waits until every write applied so
// far is. A read of a user no pending write touched waits for nothing.
type db struct {
	mu     sync.RWMutex
	st     *state
	closed bool

	// journal makes writes durable: the File's; nil in a Memory.
	journal durability

	applied uint64           // sequence number of the last write applied; under mu
	dirty   map[int64]uint64 // user ID -> last write that touched it, if maybe not durable; under mu
	durable atomic.Uint64    // every write up to this one is on disk, or lost

	epoch atomic.Uint64 // how many times the state went back to what is on disk

	nmu    sync.Mutex
	synced chan struct{} // closed when durable advances or the state goes back; nil if nobody waits
}

// durability is what a durable store adds to the db's writes. The db calls every method
// under its write lock, in the order of the writes.
type durability interface {
	// writable returns nil if a write may be tried, or the error that answers it.
	writable() error
	// encode turns a checked, not yet applied record into its journal line.
	encode(r *record) ([]byte, error)
	// queue queues the line of the record just applied as write seq, and returns a
	// function that waits, without the lock, until the line is on disk.
	queue(line []byte, seq uint64) (wait func() error)
}

// wholeState is the dependency of an answer that rests on the whole state rather than
// on one user: something not found, a search, a refused write.
const wholeState = -1

// write carries out one mutation: check it, journal it if durable, apply it, and wait for
// the journal to reach the disk before answering (R-STO-2).
func (d *db) write(ctx context.Context, r *record) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return result{}, errClosed
	}
	if r.Op == opCreateUser && r.User != nil && r.Session != nil {
		r.User.ID = d.st.lastID + 1
		r.Session.UserID = r.User.ID
	}
	if d.journal != nil {
		if err := d.journal.writable(); err != nil {
			d.mu.Unlock()
			return result{}, err
		}
	}
	commit, err := d.st.prepare(r)
	if err != nil || commit == nil {
		// The refusal may rest on a change not yet durable (a username taken by a
		// registration whose sync is still under way): answer once it is. So may a
		// write that changes nothing (a touch made meanwhile by another call).
		seen, epoch := d.applied, d.epoch.Load()
		d.mu.Unlock()
		if d.journal != nil {
			if werr := d.waitDurable(ctx, seen, epoch); werr != nil {
				return result{}, werr
			}
		}
		return result{}, err
	}
	var line []byte
	if d.journal != nil {
		if line, err = d.journal.encode(r); err != nil {
			d.mu.Unlock()
			return result{}, err
		}
	}
	user := d.st.userOf(r)
	res := commit()
	d.applied++
	seq := d.applied
	if d.journal == nil { // a memory store: every change is as durable as it gets
		d.mu.Unlock()
		return res, nil
	}
	d.markDirty(user, seq)
	wait := d.journal.queue(line, seq)
	d.mu.Unlock()
	if err := wait(); err != nil {
		return result{}, err
	}
	d.markDurable(seq)
	return res, nil
}

// markDirty records that write seq touched user. d.mu is held for writing. Entries
// already durable are swept from time to time, so the map holds about as many users as
// writes are in flight.
func (d *db) markDirty(user int64, seq uint64) {
	if d.dirty == nil {
		d.dirty = make(map[int64]uint64)
	}
	if len(d.dirty) >= 1024 {
		durable := d.durable.Load()
		for id, s := range d.dirty {
			if s <= durable {
				delete(d.dirty, id)
			}
		}
	}
	d.dirty[user] = seq
}

// markDurable records that every write up to seq is on disk, and wakes the readers
// waiting for that.
func (d *db) markDurable(seq uint64) {
	for {
		cur := d.durable.Load()
		if seq <= cur {
			return
		}
		if d.durable.CompareAndSwap(cur, seq) {
			break
		}
	}
	d.nmu.Lock()
	if d.synced != nil {
		close(d.synced)
		d.synced = nil
	}
	d.nmu.Unlock()
}

// goBack records that the state was replaced by what is on disk, after the journal
// failed: the writes after the last durable one will never be stored. Readers that
// wait for one of them get errNotStored. d.mu is held for writing.
func (d *db) goBackState() {
	d.dirty = nil
	d.nmu.Lock()
	d.epoch.Add(1)
	d.durable.Store(d.applied) // every write so far is on disk, or lost
	if d.synced != nil {
		close(d.synced)
		d.synced = nil
	}
	d.nmu.Unlock()
}

// waitDurable returns once every write up to seq is on disk, or errNotStored if the
// state the caller read in epoch was replaced meanwhile (what it saw may be lost), or
// ctx's error.
func (d *db) waitDurable(ctx context.Context, seq, epoch uint64) error {
	for {
		d.nmu.Lock()
		if d.epoch.Load() != epoch {
			d.nmu.Unlock()
			return errNotStored
		}
		if d.durable.Load() >= seq {
			d.nmu.Unlock()
			return nil
		}
		if d.synced == nil {
			d.synced = make(chan struct{})
		}
		ch := d.synced
		d.nmu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// read runs f on the state under the read lock. f returns the user its answer shows,
// or wholeState; the answer is given once what it shows is durable.
func (d *db) read(ctx context.Context, f func(*state) (shows int64, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return errClosed
	}
	shows, err := f(d.st)
	if d.journal == nil { // a memory store: nothing to wait for
		d.mu.RUnlock()
		return err
	}
	var need uint64
	if shows == wholeState {
		need = d.applied
	} else {
		need = d.dirty[shows]
	}
	// Checked under the lock: what was durable when it was read stays so, whatever
	// happens next; the rest waits, and fails if the state goes back meanwhile.
	clean, epoch := need <= d.durable.Load(), d.epoch.Load()
	d.mu.RUnlock()
	if !clean {
		if werr := d.waitDurable(ctx, need, epoch); werr != nil {
			return werr
		}
	}
	return err
}

// CreateUser implements users.Store.
func (d *db) CreateUser(ctx context.Context, u users.User, first users.Session) (users.User, error) {
	res, err := d.write(ctx, &record{Op: opCreateUser, User: &u, Session: &first})
	return res.user, err
}

// User implements users.Store.
func (d *db) User(ctx context.Context, id int64) (u users.User, err error) {
	err = d.read(ctx, func(s *state) (int64, error) {
		u, err = s.user(id)
		return id, err // a pending deletion of id marks id too
	})
	return u, err
}

// UserByUsername implements users.Store.
func (d *db) UserByUsername(ctx context.Context, username string) (u users.User, err error) {
	err = d.read(ctx, func(s *state) (int64, error) {
		u, err = s.userByUsername(username)
		if err != nil {
			return wholeState, err
		}
		return u.ID, nil
	})
	return u, err
}

// SearchUsers implements users.Store (R-SRCH-1).
func (d *db) SearchUsers(ctx context.Context, q string, limit int) ([]users.User, error) {
	out := []users.User{}
	err := d.read(ctx, func(s *state) (int64, error) {
		for _, e := range s.search(q, limit) {
			out = append(out, copyUser(e.user))
		}
		return wholeState, nil // who is not found matters as much as who is
	})
	return out, err
}

// UpdateUser implements users.Store.
func (d *db) UpdateUser(ctx context.Context, id int64, ch users.UserUpdate) error {
	_, err := d.write(ctx, &record{Op: opUpdateUser, ID: id, UserUpdate: &userUpdate{
		Name:           ch.Name,
		About:          ch.About,
		PasswordHash:   ch.PasswordHash,
		AccountKeyHash: ch.AccountKeyHash,
		IfPasswordHash: ch.IfPasswordHash,
		EndSessions:    ch.EndSessions,
		KeepSession:    ch.KeepSession,
	}})
	return err
}

// DeleteUser implements users.Store.
func (d *db) DeleteUser(ctx context.Context, id int64) ([]users.Upload, error) {
	res, err := d.write(ctx, &record{Op: opDeleteUser, ID: id})
	return res.uploads, err
}

// CreateSession implements users.Store. A max below 1 counts as 1: s itself is never
// removed.
func (d *db) CreateSession(ctx context.Context, s users.Session, max int) ([]users.Session, error) {
	res, err := d.write(ctx, &record{Op: opCreateSession, Session: &s, Max: max})
	return res.sessions, err
}

// SessionByToken implements users.Store.
func (d *db) SessionByToken(ctx context.Context, tokenHash string) (sess users.Session, err error) {
	err = d.read(ctx, func(s *state) (int64, error) {
		sess, err = s.sessionByToken(tokenHash)
		if err != nil {
			return wholeState, err // a logout may still be syncing
		}
		return sess.UserID, nil
	})
	return sess, err
}

// Sessions implements users.Store.
func (d *db) Sessions(ctx context.Context, userID int64) (out []users.Session, err error) {
	err = d.read(ctx, func(s *state) (int64, error) {
		out = s.sessions(userID)
		return userID, nil
	})
	return out, err
}

// UpdateSession implements users.Store.
func (d *db) UpdateSession(ctx context.Context, id string, ch users.SessionUpdate) error {
	_, err := d.write(ctx, &record{Op: opUpdateSession, Key: id, SessionUpdate: &sessionUpdate{
		UpdatedAt:   ch.UpdatedAt,
		DeviceName:  ch.DeviceName,
		DeviceToken: ch.DeviceToken,
	}, touchBefore: ch.TouchBefore})
	return err
}

// DeleteSession implements users.Store.
func (d *db) DeleteSession(ctx context.Context, id string) error {
	_, err := d.write(ctx, &record{Op: opDeleteSession, Key: id})
	return err
}

// PutUpload implements users.Store.
func (d *db) PutUpload(ctx context.Context, up users.Upload) (*users.Upload, error) {
	res, err := d.write(ctx, &record{Op: opPutUpload, Upload: &up})
	return res.replaced, err
}

// Upload implements users.Store.
func (d *db) Upload(ctx context.Context, name string) (up users.Upload, err error) {
	err = d.read(ctx, func(s *state) (int64, error) {
		up, err = s.upload(name)
		if err != nil {
			return wholeState, err
		}
		return up.OwnerID, nil
	})
	return up, err
}

// AddPhoto implements users.Store.
func (d *db) AddPhoto(ctx context.Context, userID int64, p users.Photo, max int) error {
	_, err := d.write(ctx, &record{Op: opAddPhoto, ID: userID, Photo: &p, Max: max})
	return err
}

// DeleteUpload implements users.Store.
func (d *db) DeleteUpload(ctx context.Context, userID int64, name string) (users.Upload, error) {
	res, err := d.write(ctx, &record{Op: opDeleteUpload, ID: userID, Key: name})
	return res.upload, err
}

// UploadBytes implements users.Store.
func (d *db) UploadBytes(ctx context.Context, userID int64) (n int64, err error) {
	err = d.read(ctx, func(s *state) (int64, error) {
		n = s.uploadBytes(userID)
		return userID, nil
	})
	return n, err
}

// DeletePhoto implements users.Store.
func (d *db) DeletePhoto(ctx context.Context, userID int64, photoID string) (users.Upload, error) {
	res, err := d.write(ctx, &record{Op: opDeletePhoto, ID: userID, Key: photoID})
	return res.upload, err
}
