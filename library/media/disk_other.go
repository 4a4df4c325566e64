//go:build !unix

package media

import "os/exec"

// freeSpace is unknown here: disk-full is recognised from the errors alone.
func freeSpace(dir string) (uint64, bool) { return 0, false }

// killedByFileSizeLimit: no SIGXFSZ outside Unix.
func killedByFileSizeLimit(ee *exec.ExitError) bool { return false }
