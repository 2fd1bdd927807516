package users

import (
	"context"
	"io"
	"time"
)

// Files keeps the bytes of uploaded files and their previews (R-UPL-*), by file name
// ("<name>.<type>", "<name>-preview.<type>"). The records saying who owns what are
// the Store's; Files only holds bytes.
type Files interface {
	// Stage streams r into a new temporary file. If r holds more than limit bytes it
	// returns ErrTooLarge and nothing remains on disk.
	Stage(ctx context.Context, r io.Reader, limit int64) (StagedFile, error)
	// Open opens the named file for reading, or returns ErrNotFound.
	Open(name string) (f io.ReadSeekCloser, modTime time.Time, err error)
	// Remove deletes the named files; a file that does not exist is not an error.
	Remove(names ...string) error
}

// StagedFile is an upload on disk that is not yet visible under its final name.
type StagedFile interface {
	// Size is the number of bytes staged.
	Size() int64
	// Open reads the staged bytes, e.g. to make a preview.
	Open() (io.ReadCloser, error)
	// Commit gives the file its final name, replacing any file of that name.
	Commit(name string) error
	// Discard removes the staged file; after Commit it does nothing.
	Discard() error
}

// Previewer makes the preview image of an upload (R-UPL-3).
type Previewer interface {
	// Preview decodes the image in r, of type fileType ("png", "jpg", "gif"), and
	// writes to w the same image scaled to fit 350x350 (never enlarged), encoded in the
	// same type. It returns the preview's size, or an error if r is not such an image.
	Preview(r io.Reader, fileType string, w io.Writer) (width, height int, err error)
}

// removeUploadFiles deletes the files of the upload records, best effort. Its callers
// drop the error, which is never shown to the client: the records are gone already, so
// leftover bytes are unreachable.
func (s *Service) removeUploadFiles(ups []Upload) error {
	if s.files == nil {
		return nil
	}
	var names []string
	for _, up := range ups {
		names = append(names, up.Name+"."+up.Type, up.Name+"-preview."+up.Type)
	}
	return s.files.Remove(names...)
}
