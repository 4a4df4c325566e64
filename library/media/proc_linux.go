//go:build linux

package media

import "syscall"

// childAttr makes ffmpeg die with Fourmi: a crashed app must not leave an
// encoder writing into the destination directory. (Linux sends the signal
// when the OS thread that started the child exits; Go only ends threads of
// goroutines that exit while locked to them, which this package never does.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
