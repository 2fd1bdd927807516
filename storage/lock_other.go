//go:build !unix

package storage

import (
	"fmt"
	"os"
)

// lockDir opens the data folder. Off Unix there is no flock(2): nothing keeps a second
// server off the same folder, so run one per folder (README, Platforms).
func lockDir(dir string) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: opening the data folder: %w", err)
	}
	return d, nil
}
