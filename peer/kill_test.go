package peer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The app killed (SIGKILL) mid-download: a child process downloads from a
// web seed that stops sending half-way and is killed once it reports
// verified pieces; a new engine on the same data dir resumes from the cache,
// does not fetch those pieces again, and the final file matches.
func TestKilledMidDownload(t *testing.T) {
	path, video := testVideo(t)
	const pl = 16 << 10
	srv := newSeedServer(t, "video-720.mp4", video)
	cut := int64(len(video) / 2)
	srv.set(func(s *seedServer) { s.cutAt = cut })
	tb, ih := makeTorrent(t, path, pl, srv.fileURL())
	dir := t.TempDir()
	tfile := dir + "/add.torrent"
	if err := os.WriteFile(tfile, tb, 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := dir + "/fourmi"

	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMidDownloadChild$")
	cmd.Env = append(os.Environ(), "FOURMI_PEER_CHILD="+dataDir+"|"+tfile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var verified []bool
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(testTimeout, func() { cmd.Process.Kill() })
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "PIECES ")
		if !ok {
			continue
		}
		verified = verified[:0]
		for _, c := range line {
			verified = append(verified, c == '1')
		}
		n := strings.Count(line, "1")
		if n >= int(cut/pl) {
			break
		}
	}
	deadline.Stop()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(verified) == 0 || !verified[0] {
		t.Fatalf("the child reported no verified pieces (scan error %v)", sc.Err())
	}

	srv.set(func(s *seedServer) { s.cutAt = -1; s.ranges = nil })
	e := newEngine(t, dataDir)
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, video)
	_, _, ranges, served := srv.snapshot()
	done := 0
	for p, ok := range verified {
		if !ok {
			continue
		}
		done++
		for _, r := range ranges {
			if r[0] < int64(p+1)*pl && r[1] > int64(p)*pl {
				t.Errorf("piece %d, verified before the kill, fetched again (bytes %d-%d)", p, r[0], r[1])
			}
		}
	}
	t.Logf("killed with %d of %d pieces verified; %d bytes fetched after the restart", done, len(verified), served)
}

// TestKilledMidDownloadChild is the process TestKilledMidDownload kills.
func TestKilledMidDownloadChild(t *testing.T) {
	arg := os.Getenv("FOURMI_PEER_CHILD")
	if arg == "" {
		t.Skip("helper process for TestKilledMidDownload")
	}
	dataDir, tfile, _ := strings.Cut(arg, "|")
	cfg := TestConfig(dataDir)
	cfg.Logger = testLogger()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ih, err := e.AddTorrentFile(tfile)
	if err != nil {
		t.Fatal(err)
	}
	for { // until killed
		s, err := e.Stats(ih)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, c := range s.Pieces {
			if c {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		fmt.Printf("PIECES %s\n", b.String())
		time.Sleep(20 * time.Millisecond)
	}
}
