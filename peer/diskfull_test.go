//go:build unix

package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A disk that fills during a download. A child process (this test binary
// again) downloads a 4 MiB file from a web seed into a data dir where it may
// not write past 3 MiB of any file (RLIMIT_FSIZE: the kernel answers EFBIG
// as a full disk answers ENOSPC). 3 MiB is in the middle of the second 2 MiB
// web seed request, so pieces before it are written whichever request the
// engine starts first. It must not crash, must say why in Stats,
// and must keep the pieces it verified. Then, with the space back (this
// process, no limit), the same data dir resumes: the verified pieces are not
// downloaded again and the file completes.
func TestDownloadDiskFull(t *testing.T) {
	if os.Getenv(diskFullChildEnv) != "" {
		t.Skip("child process")
	}
	dir := t.TempDir()
	path, data := randomFile(t, t.TempDir(), "video.mp4", 4<<20)
	srv := newSeedServer(t, "video.mp4", data)
	tb, ih := makeTorrent(t, path, 64<<10, srv.fileURL())
	torrentFile := filepath.Join(t.TempDir(), "video.torrent")
	if err := os.WriteFile(torrentFile, tb, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+dir, "FOURMI_DISKFULL_TORRENT="+torrentFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var rep diskFullReport
	i := bytes.Index(stdout.Bytes(), []byte(diskFullReportPrefix))
	if i < 0 {
		t.Fatalf("no report from the child\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	line, _, _ := bytes.Cut(stdout.Bytes()[i+len(diskFullReportPrefix):], []byte("\n"))
	if err := json.Unmarshal(line, &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("child: storage error %q, %d of %d pieces verified", rep.StorageErr, rep.Complete, len(rep.Pieces))
	if rep.StorageErr == "" || !bytes.Contains([]byte(rep.StorageErr), []byte("file too large")) {
		t.Errorf("Stats.StorageErr = %q, want the write error (file too large)", rep.StorageErr)
	}
	if rep.Complete == 0 || rep.Complete >= len(rep.Pieces) {
		t.Fatalf("child verified %d of %d pieces, want some but not all", rep.Complete, len(rep.Pieces))
	}
	if rep.CloseErr != "" {
		t.Logf("child Close: %s", rep.CloseErr)
	}

	// Paused: the web seed was not asked again and again for what could
	// not be written (requests in flight when the disk filled may finish).
	if _, _, _, served := srv.snapshot(); served > int64(len(data))+WebSeedHostConcurrency*WebSeedRequestSize {
		t.Errorf("the web seed served %d bytes of a %d-byte file to the child", served, len(data))
	}

	// Space is back: the same data dir, no limit.
	_, _, before, _ := srv.snapshot()
	rangesBefore := len(before)
	e := newEngine(t, dir)
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, data)
	if s := mustStats(t, e, ih); s.StorageErr != "" {
		t.Errorf("StorageErr %q after a successful download", s.StorageErr)
	}
	_, _, ranges, _ := srv.snapshot()
	pieceLen := int64(64 << 10)
	again := map[int64]bool{}
	for _, r := range ranges[rangesBefore:] {
		for p := r[0] / pieceLen; p*pieceLen < r[1]; p++ {
			if rep.Pieces[p] {
				again[p] = true
			}
		}
	}
	if len(again) > 0 {
		t.Errorf("after the restart, %d pieces the child had verified were downloaded again", len(again))
	}
}

const (
	diskFullChildEnv     = "FOURMI_DISKFULL_CHILD_DIR"
	diskFullReportPrefix = "DISKFULL-REPORT "
)

type diskFullReport struct {
	StorageErr string
	Pieces     []bool
	Complete   int
	CloseErr   string
}

// TestDiskFullChild is the child of TestDownloadDiskFull.
func TestDiskFullChild(t *testing.T) {
	dir := os.Getenv(diskFullChildEnv)
	if dir == "" {
		t.Skip("run by TestDownloadDiskFull")
	}
	tb, err := os.ReadFile(os.Getenv("FOURMI_DISKFULL_TORRENT"))
	if err != nil {
		t.Fatal(err)
	}
	ti, err := ParseTorrent(tb)
	if err != nil {
		t.Fatal(err)
	}
	// The download's file was allocated (sparse, full length, as anacrolix
	// does) before the disk filled: from now on no byte may be written
	// past 3 MiB, as on a full disk no new block may be.
	file := filepath.Join(dir, "data", ti.InfoHash.String(), "video.mp4")
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, ti.Length); err != nil {
		t.Fatal(err)
	}
	lim := syscall.Rlimit{Cur: 3 << 20, Max: 3 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	e, err := New(func() Config { c := TestConfig(dir); c.Logger = testLogger(); return c }())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ih, err := e.AddTorrent(tb)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout / 2)
	var s Stats
	for {
		s = mustStats(t, e, ih)
		if s.StorageErr != "" || s.Complete || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few ticks: verified pieces recorded
	s = mustStats(t, e, ih)
	rep := diskFullReport{StorageErr: s.StorageErr, Pieces: s.Pieces, Complete: s.PiecesComplete}
	if err := e.Close(); err != nil {
		rep.CloseErr = err.Error()
	}
	b, _ := json.Marshal(rep)
	fmt.Printf("%s%s\n", diskFullReportPrefix, b)
}
