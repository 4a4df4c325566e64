package swarmbench

import (
	"errors"
	"os"
	"syscall"
)

const seekHole = 4 // SEEK_HOLE (Linux)

// Allocated is how many bytes of the file at path are stored on disk
// (its allocated blocks): for a sparse file being downloaded, about the
// bytes written so far, wherever they are.
func Allocated(path string) (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Blocks * 512, nil
}

// HeadData is the length of the data at the start of the file at path,
// before its first hole: how much of the file's beginning has been
// written. A file without holes gives its size.
func HeadData(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	off, err := f.Seek(0, seekHole)
	if errors.Is(err, syscall.ENXIO) { // empty file
		return 0, nil
	}
	return off, err
}
