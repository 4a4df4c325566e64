//go:build !linux

package media

import "syscall"

// childAttr: no parent-death signal outside Linux; ctx cancellation still
// kills the child, and RemoveStale cleans up after a crash.
func childAttr() *syscall.SysProcAttr { return nil }
