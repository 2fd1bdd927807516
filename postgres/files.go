package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"usersapi/users"
)

// Files is a users.Files whose bytes are in the database, so that every server on it
// serves every upload (R-UPL-1, R-UPL-2). A file is a row of files and its bytes rows
// of file_chunks, chunkSize bytes each but the last; a staged file is a row without a
// name, and Commit names it and drops the file it replaces in one transaction, so a
// file appears under its name complete or not at all. Bytes are never held in memory
// beyond one chunk.
type Files struct {
	pool *pgxpool.Pool
}

// chunkSize is the size of one row of file bytes: big enough that a 50 MiB upload is
// 200 rows, small enough that a range read fetches little it does not need.
const chunkSize = 256 << 10

// staleStage is how old a staged file must be before Stage removes it as the leftover
// of a server that died mid-upload. Uploads have 5 minutes to arrive (httpapi).
const staleStage = time.Hour

var _ users.Files = (*Files)(nil)

// NewFiles returns the Files kept in the database of pool.
func NewFiles(pool *pgxpool.Pool) *Files { return &Files{pool: pool} }

// Stage implements users.Files.
func (f *Files) Stage(ctx context.Context, r io.Reader, limit int64) (users.StagedFile, error) {
	_, _ = f.pool.Exec(ctx, `DELETE FROM files WHERE id IN
		(SELECT id FROM files WHERE name IS NULL AND mod_time < now() - $1::interval LIMIT 100 FOR UPDATE SKIP LOCKED)`,
		staleStage.String())
	var id int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO files (mod_time) VALUES (now()) RETURNING id`).Scan(&id); err != nil {
		return nil, dbError("files", err)
	}
	s := &staged{files: f, id: id}
	buf := make([]byte, chunkSize)
	lr := io.LimitReader(r, limit+1)
	for n := 0; ; n++ {
		m, err := io.ReadFull(lr, buf)
		if m > 0 {
			if s.size+int64(m) > limit {
				s.Discard()
				return nil, users.ErrTooLarge
			}
			if _, err := f.pool.Exec(ctx, `INSERT INTO file_chunks (file_id, n, data) VALUES ($1, $2, $3)`, id, n, buf[:m]); err != nil {
				s.Discard()
				return nil, dbError("files", err)
			}
			s.size += int64(m)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			s.Discard()
			return nil, err
		}
	}
	if _, err := f.pool.Exec(ctx, `UPDATE files SET size = $2 WHERE id = $1`, id, s.size); err != nil {
		s.Discard()
		return nil, dbError("files", err)
	}
	return s, nil
}

// Open implements users.Files.
func (f *Files) Open(name string) (io.ReadSeekCloser, time.Time, error) {
	ctx := context.Background()
	var id, size int64
	var mod time.Time
	err := f.pool.QueryRow(ctx, `SELECT id, size, mod_time FROM files WHERE name = $1`, name).Scan(&id, &size, &mod)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, users.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, dbError("files", err)
	}
	return &reader{pool: f.pool, id: id, size: size}, mod.UTC(), nil
}

// Remove implements users.Files.
func (f *Files) Remove(names ...string) error {
	_, err := f.pool.Exec(context.Background(), `DELETE FROM files WHERE name = ANY($1)`, names)
	return dbError("files", err)
}

// staged is a file row without a name.
type staged struct {
	files     *Files
	id        int64
	size      int64
	committed bool
}

func (s *staged) Size() int64 { return s.size }

func (s *staged) Open() (io.ReadCloser, error) {
	return &reader{pool: s.files.pool, id: s.id, size: s.size}, nil
}

// Commit names the staged file, replacing the file of that name, in one transaction.
func (s *staged) Commit(name string) error {
	err := pgx.BeginFunc(context.Background(), s.files.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `DELETE FROM files WHERE name = $1`, name); err != nil {
			return err
		}
		tag, err := tx.Exec(context.Background(), `UPDATE files SET name = $2, mod_time = now() WHERE id = $1 AND name IS NULL`, s.id, name)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("staged file %d is gone", s.id)
		}
		return err
	})
	if err != nil {
		return dbError("files", err)
	}
	s.committed = true
	return nil
}

func (s *staged) Discard() error {
	if s.committed {
		return nil
	}
	_, err := s.files.pool.Exec(context.Background(), `DELETE FROM files WHERE id = $1 AND name IS NULL`, s.id)
	return dbError("files", err)
}

// reader reads a file's chunks as they are needed, one at a time.
type reader struct {
	pool  *pgxpool.Pool
	id    int64
	size  int64
	pos   int64
	n     int64 // number of the chunk in buf, or -1
	buf   []byte
	ready bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n := r.pos / chunkSize
	if !r.ready || r.n != n {
		r.buf = r.buf[:0]
		err := r.pool.QueryRow(context.Background(), `SELECT data FROM file_chunks WHERE file_id = $1 AND n = $2`, r.id, n).Scan(&r.buf)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, io.ErrUnexpectedEOF // replaced or removed meanwhile
		}
		if err != nil {
			return 0, dbError("files", err)
		}
		r.n, r.ready = n, true
	}
	off := r.pos - n*chunkSize
	if off >= int64(len(r.buf)) {
		return 0, io.ErrUnexpectedEOF
	}
	m := copy(p, r.buf[off:])
	r.pos += int64(m)
	return m, nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	r.pos = offset
	return offset, nil
}

func (r *reader) Close() error { return nil }
