package storage

import (
	"os"
	"syscall"
)

// syncData makes the journal's appended bytes durable. fdatasync also writes the file
// size that the appended bytes need, and skips metadata nobody reads back (the
// modification time), which makes it about twice as fast as fsync on ext4.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
