//go:build unix

package media

import (
	"os/exec"
	"syscall"
)

// freeSpace is the space available to us in dir.
func freeSpace(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}

// killedByFileSizeLimit: ffmpeg died of SIGXFSZ (RLIMIT_FSIZE reached).
func killedByFileSizeLimit(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGXFSZ
}
