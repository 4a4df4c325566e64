//go:build !unix

package library

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates the lock file. Without flock on this platform the lock is
// advisory only: two processes are not kept apart.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "fourmi.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	return f, nil
}
