// Package quietlocale keeps Fyne from logging "Error parsing user locale C"
// on every start under LANG=C.UTF-8 (the usual locale of servers, containers
// and systemd services): Fyne's lang package parses the locale in its init.
//
// Go initializes packages in import-path order among those whose imports are
// ready; this package imports only os, so it runs before fyne.io/fyne/v2/lang
// (which waits for golang.org/x/text). Its init hides a "C.<charset>" or
// "POSIX.<charset>" locale as plain "C", which Fyne reads as English; main
// calls Restore so that child processes (mpv, ffmpeg) see the real one.
package quietlocale

import (
	"os"
	"strings"
)

var saved struct {
	name, value string
}

func init() {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "POSIX.") {
			saved.name, saved.value = name, v
			os.Setenv(name, "C")
		}
		return
	}
}

// Restore puts back the locale variable init changed, if any.
func Restore() {
	if saved.name != "" {
		os.Setenv(saved.name, saved.value)
		saved.name = ""
	}
}
