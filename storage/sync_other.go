//go:build !linux

package storage

import "os"

// syncData makes the journal's appended bytes durable.
func syncData(f *os.File) error { return f.Sync() }
