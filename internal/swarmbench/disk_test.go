//go:build linux

package swarmbench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiskProbesOnASparseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 8 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if n, _ := HeadData(path); n != 0 {
		t.Skipf("this file system does not report holes (head data %d of a file with no data)", n)
	}
	// Data in the middle: allocated, but the start is still a hole.
	if _, err := f.WriteAt(make([]byte, 2<<20), 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if n, err := Allocated(path); err != nil || n < 2<<20 || n >= size {
		t.Errorf("Allocated = %d, %v; want about 2 MiB", n, err)
	}
	if n, err := HeadData(path); err != nil || n != 0 {
		t.Errorf("HeadData = %d, %v; want 0 (the start is a hole)", n, err)
	}
	// The first 1.5 MiB written: the head has data up to the next hole.
	if _, err := f.WriteAt(make([]byte, 3<<19), 0); err != nil {
		t.Fatal(err)
	}
	if n, err := HeadData(path); err != nil || n < 3<<19 || n >= 4<<20 {
		t.Errorf("HeadData = %d, %v; want from 1.5 MiB up to the hole at 4 MiB", n, err)
	}
	if _, err := HeadData(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("HeadData of a missing file: no error")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	if n, err := HeadData(empty); err != nil || n != 0 {
		t.Errorf("HeadData of an empty file = %d, %v", n, err)
	}
}
