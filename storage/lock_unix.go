//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on the data folder itself, held until the returned
// file is closed (or the process ends, even by kill -9). The folder is locked, not a
// file in it, so that no file removed by hand lets a second server in while the first
// runs (R-STO-4).
func lockDir(dir string) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: opening the data folder to lock it: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("storage: data folder %s is in use by another process (it holds a lock on the folder); stop that server first", dir)
		}
		return nil, fmt.Errorf("storage: locking %s: %w", dir, err)
	}
	return d, nil
}
