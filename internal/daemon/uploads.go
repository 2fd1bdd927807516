package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"usersapi/media"
)

// openUploads opens the folder of uploaded files (R-UPL-1): <data>/uploads beside the
// file store's data, or, with the memory store, whose records die with the process, a
// temporary folder that close removes.
func openUploads(c config, log *slog.Logger) (dir *media.Dir, close func(), err error) {
	path, temporary := filepath.Join(c.data, "uploads"), false
	if c.store == "memory" {
		if path, err = os.MkdirTemp("", "usersd-uploads-"); err != nil {
			return nil, nil, fmt.Errorf("uploads folder: %w", err)
		}
		temporary = true
	}
	dir, err = media.OpenDir(path)
	if err != nil {
		if temporary {
			os.RemoveAll(path)
		}
		return nil, nil, err
	}
	log.Info("uploads", "folder", path, "temporary", temporary, "maxUpload", c.maxUpload, "uploadQuota", c.uploadQuota)
	return dir, func() {
		dir.Close()
		if temporary {
			if err := os.RemoveAll(path); err != nil {
				log.Warn("removing the temporary uploads folder", "folder", path, "err", err)
			}
		}
	}, nil
}
