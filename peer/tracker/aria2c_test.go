package tracker_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// freePort returns a loopback port (TCP or UDP) free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp4" {
		c, err := net.ListenPacket(network, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen(network, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// aria2c (an independent BitTorrent client) finds a Fourmi seeder through
// the tracker and downloads from it. Everything stays on 127.0.0.1.
func TestAria2cFindsFourmiSeederThroughTheTracker(t *testing.T) {
	aria2c, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed (apt-get install aria2): second-client check skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	tr, srv, known := newSwarmTracker(t)
	src, data := randomFile(t, t.TempDir(), "clip.bin", 1<<20+300<<10)
	tb, ih := swarmTorrent(t, ctx, src, srv.URL+"/tracker/announce", known)

	seeder := newEngine(t)
	if _, err := seeder.SeedFile(ctx, tb, src); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(ctx, ih); err != nil {
		t.Fatal(err)
	}
	waitUntilCtx(t, ctx, "the seeder's announce", func() bool { return tr.Stats(ih).Complete == 1 })

	work := t.TempDir()
	torrentPath := filepath.Join(work, "clip.torrent")
	if err := os.WriteFile(torrentPath, tb, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out")
	cmd := exec.CommandContext(ctx, aria2c,
		"--no-conf=true", "--dir="+out, "--interface=127.0.0.1", "--disable-ipv6=true",
		"--enable-dht=false", "--enable-dht6=false", "--dht-file-path="+filepath.Join(work, "dht.dat"),
		"--dht-listen-port="+strconv.Itoa(freePort(t, "udp4")),
		"--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--listen-port="+strconv.Itoa(freePort(t, "tcp4")),
		"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
		"--auto-save-interval=0", "--seed-time=0", "--bt-stop-timeout=60", torrentPath)
	cmd.Env = append(os.Environ(), "HOME="+work, "XDG_CONFIG_HOME="+work, "XDG_CACHE_HOME="+work)
	cmd.WaitDelay = 5 * time.Second
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c: %v (tracker stats %+v)\n%s", err, tr.Stats(ih), output)
	}
	got, err := os.ReadFile(filepath.Join(out, "clip.bin"))
	if err != nil {
		t.Fatalf("aria2c left no file: %v\n%s", err, output)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("aria2c's copy differs (%d vs %d bytes)", len(got), len(data))
	}
	// aria2c had no other source than the tracker's answer. With
	// --seed-time=0 it announces stopped (left=0, no completed event) as it
	// exits: only the Fourmi seeder stays listed.
	if st := tr.Stats(ih); st.Complete != 1 || st.Incomplete != 0 {
		t.Errorf("tracker stats after aria2c stopped = %+v, want only the seeder", st)
	}
}
