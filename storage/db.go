// Package storage implements users.Store twice: Memory keeps everything in RAM, File
// keeps it durably in a data folder as a JSON-lines journal and snapshot (R-STO-1..5,
// docs/storage.md). Both share one in-memory core, so they behave the same; package
// storagetest holds the contract both pass.
//
// It imports users and the standard library only, never httpapi, auth or cmd.
package storage

import (
	"context"
	"errors"
	"sync"

	"usersapi/users"
)

// errClosed is returned by calls on a closed store.
var errClosed = errors.New("storage: the store is closed")

// db is the core shared by Memory and File: the state under a read-write lock, and the
// path every mutation takes. Reads take the read lock only and never wait for a disk.
type db struct {
	mu     sync.RWMutex
	st     *state
	closed bool

	// encode and log, when set, make mutations durable: encode turns a checked record into
	// its journal line, and log, called under the write lock right after the record was
	// applied, queues the line and returns a function that waits until it is on disk.
	encode func(r *record) ([]byte, error)
	log    func(line []byte) (wait func() error)
}

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
	commit, err := d.st.prepare(r)
	if err != nil {
		d.mu.Unlock()
		return result{}, err
	}
	var line []byte
	if d.encode != nil {
		if line, err = d.encode(r); err != nil {
			d.mu.Unlock()
			return result{}, err
		}
	}
	res := commit()
	var wait func() error
	if d.log != nil {
		wait = d.log(line)
	}
	d.mu.Unlock()
	if wait != nil {
		if err := wait(); err != nil {
			return result{}, err
		}
	}
	return res, nil
}

func (d *db) read(ctx context.Context, f func(*state) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return errClosed
	}
	return f(d.st)
}

// CreateUser implements users.Store.
func (d *db) CreateUser(ctx context.Context, u users.User, first users.Session) (users.User, error) {
	res, err := d.write(ctx, &record{Op: opCreateUser, User: &u, Session: &first})
	return res.user, err
}

// User implements users.Store.
func (d *db) User(ctx context.Context, id int64) (u users.User, err error) {
	err = d.read(ctx, func(s *state) error {
		u, err = s.user(id)
		return err
	})
	return u, err
}

// UserByUsername implements users.Store.
func (d *db) UserByUsername(ctx context.Context, username string) (u users.User, err error) {
	err = d.read(ctx, func(s *state) error {
		u, err = s.userByUsername(username)
		return err
	})
	return u, err
}

// SearchUsers implements users.Store (R-SRCH-1).
func (d *db) SearchUsers(ctx context.Context, q string, limit int) ([]users.User, error) {
	out := []users.User{}
	err := d.read(ctx, func(s *state) error {
		for _, e := range s.search(q, limit) {
			out = append(out, copyUser(e.user))
		}
		return nil
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
func (d *db) CreateSession(ctx context.Context, s users.Session, max int) error {
	_, err := d.write(ctx, &record{Op: opCreateSession, Session: &s, Max: max})
	return err
}

// SessionByToken implements users.Store.
func (d *db) SessionByToken(ctx context.Context, tokenHash string) (sess users.Session, err error) {
	err = d.read(ctx, func(s *state) error {
		sess, err = s.sessionByToken(tokenHash)
		return err
	})
	return sess, err
}

// Sessions implements users.Store.
func (d *db) Sessions(ctx context.Context, userID int64) (out []users.Session, err error) {
	err = d.read(ctx, func(s *state) error {
		out = s.sessions(userID)
		return nil
	})
	return out, err
}

// UpdateSession implements users.Store.
func (d *db) UpdateSession(ctx context.Context, id string, ch users.SessionUpdate) error {
	_, err := d.write(ctx, &record{Op: opUpdateSession, Key: id, SessionUpdate: &sessionUpdate{
		UpdatedAt:   ch.UpdatedAt,
		DeviceName:  ch.DeviceName,
		DeviceToken: ch.DeviceToken,
	}})
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
	err = d.read(ctx, func(s *state) error {
		up, err = s.upload(name)
		return err
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
	err = d.read(ctx, func(s *state) error {
		n = s.uploadBytes(userID)
		return nil
	})
	return n, err
}

// DeletePhoto implements users.Store.
func (d *db) DeletePhoto(ctx context.Context, userID int64, photoID string) (users.Upload, error) {
	res, err := d.write(ctx, &record{Op: opDeletePhoto, ID: userID, Key: photoID})
	return res.upload, err
}
