package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Interoperability with a second, independent BitTorrent implementation:
// aria2c (Debian's aria2 1.36). Everything stays on 127.0.0.1: no DHT, LPD
// or PEX, and the only tracker is an httptest server inside the test.

const interopSize = 1<<20 + 300<<10 // not a multiple of the piece length

func needAria2c(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed (apt-get install aria2): interoperability with a second BitTorrent client not tested")
	}
	return p
}

// loopbackTracker is a minimal HTTP tracker (BEP 3, compact peers per
// BEP 23) answering every announce with a fixed peer list.
type loopbackTracker struct {
	*httptest.Server
	mu        sync.Mutex
	peers     []string // "127.0.0.1:port"
	announces int
}

func newLoopbackTracker(t *testing.T, peers ...string) *loopbackTracker {
	tr := &loopbackTracker{peers: peers}
	tr.Server = httptest.NewServer(http.HandlerFunc(tr.handle))
	t.Cleanup(tr.Close)
	return tr
}

func (tr *loopbackTracker) announceURL() string { return tr.URL + "/announce" }

// setPeers replaces the peer list given in later announces.
func (tr *loopbackTracker) setPeers(peers ...string) {
	tr.mu.Lock()
	tr.peers = peers
	tr.mu.Unlock()
}

func (tr *loopbackTracker) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/announce" {
		http.NotFound(w, r)
		return
	}
	tr.mu.Lock()
	tr.announces++
	var compact []byte
	for _, p := range tr.peers {
		ap, err := net.ResolveTCPAddr("tcp4", p)
		if err != nil || ap.IP.To4() == nil {
			continue
		}
		compact = append(compact, ap.IP.To4()...)
		compact = binary.BigEndian.AppendUint16(compact, uint16(ap.Port))
	}
	tr.mu.Unlock()
	body, err := bencode.Marshal(map[string]any{
		"interval":     1,
		"min interval": 1,
		"complete":     1,
		"incomplete":   1,
		"peers":        string(compact),
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(body)
}

func (tr *loopbackTracker) announceCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.announces
}

// makeTrackerTorrent builds a single-file .torrent for path announcing to
// announce, with no web seed: the bytes can only come from a peer.
func makeTrackerTorrent(t *testing.T, path string, pieceLength int64, announce string) ([]byte, InfoHash) {
	t.Helper()
	return buildTorrent(t, path, pieceLength, metainfo.MetaInfo{Announce: announce})
}

// freeTCPPort and freeUDPPort return a loopback port free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// aria2cArgs are the flags common to both directions: no config file, no
// DHT/LPD/PEX, sockets bound to 127.0.0.1, quiet.
func aria2cArgs(t *testing.T, home, dir string, listenPort int) []string {
	return []string{
		"--no-conf=true",
		"--dir=" + dir,
		"--interface=127.0.0.1",
		"--disable-ipv6=true",
		"--enable-dht=false",
		"--enable-dht6=false",
		"--dht-file-path=" + filepath.Join(home, "dht.dat"),
		"--bt-enable-lpd=false",
		"--enable-peer-exchange=false",
		"--bt-tracker-interval=1",
		"--listen-port=" + strconv.Itoa(listenPort),
		"--dht-listen-port=" + strconv.Itoa(freeUDPPort(t)),
		"--file-allocation=none",
		"--summary-interval=0",
		"--console-log-level=warn",
		"--auto-save-interval=0",
	}
}

func aria2cEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
}

// aria2c downloads a torrent whose only source is a seeding Fourmi engine,
// found through the tracker.
func TestInteropAria2cDownloadsFromFourmi(t *testing.T) {
	aria2c := needAria2c(t)
	src, data := randomFile(t, t.TempDir(), "interop.bin", interopSize)

	seeder := newEngine(t, t.TempDir())
	tracker := newLoopbackTracker(t, seeder.ListenAddr())
	tb, ih := makeTrackerTorrent(t, src, 256<<10, tracker.announceURL())
	if _, err := seeder.SeedFile(waitCtx(t), tb, src); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	torrentPath := filepath.Join(work, "interop.torrent")
	if err := os.WriteFile(torrentPath, tb, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out")
	args := append(aria2cArgs(t, work, out, freeTCPPort(t)),
		"--seed-time=0", "--bt-stop-timeout=60", torrentPath)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, aria2c, args...)
	cmd.Env = aria2cEnv(work)
	cmd.WaitDelay = 5 * time.Second
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c: %v (tracker saw %d announces)\n%s", err, tracker.announceCount(), output)
	}

	got, err := os.ReadFile(filepath.Join(out, "interop.bin"))
	if err != nil {
		t.Fatalf("aria2c left no file: %v\n%s", err, output)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("aria2c's copy differs from the original (%d vs %d bytes)", len(got), len(data))
	}
	if tracker.announceCount() == 0 {
		t.Error("aria2c found the seeder without announcing to the test tracker")
	}
	waitFor(t, "Fourmi to count its upload to aria2c", func() bool {
		return mustStats(t, seeder, ih).BytesUploaded >= int64(len(data))
	})
	if s := mustStats(t, seeder, ih); s.BytesFromPeers+s.BytesFromWebSeeds != 0 {
		t.Errorf("the seeder downloaded %d+%d bytes", s.BytesFromPeers, s.BytesFromWebSeeds)
	}
}

// A Fourmi engine downloads a torrent whose only source is aria2c seeding.
func TestInteropFourmiDownloadsFromAria2c(t *testing.T) {
	aria2c := needAria2c(t)
	src, data := randomFile(t, t.TempDir(), "interop.bin", interopSize)
	tracker := newLoopbackTracker(t) // the leecher is added once it listens
	tb, ih := makeTrackerTorrent(t, src, 256<<10, tracker.announceURL())

	work := t.TempDir()
	seedDir := filepath.Join(work, "seed")
	if err := os.MkdirAll(seedDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seedDir, "interop.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(work, "interop.torrent")
	if err := os.WriteFile(torrentPath, tb, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	// The leecher listens first so that the tracker can hand its address
	// to aria2c: the two can then meet from either side.
	leecher := newEngine(t, t.TempDir())
	tracker.setPeers(leecher.ListenAddr())
	logPath := filepath.Join(work, "aria2c.log")
	args := append(aria2cArgs(t, work, seedDir, port),
		"--check-integrity=true", "--seed-ratio=0.0", "--seed-time=5",
		"--log="+logPath, "--log-level=info", torrentPath)
	cmd := exec.Command(aria2c, args...)
	cmd.Env = aria2cEnv(work)
	var output bytes.Buffer // read only after Wait
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			if len(log) > 16<<10 {
				log = log[len(log)-16<<10:]
			}
			t.Logf("aria2c output:\n%s\naria2c log (tail):\n%s", output.String(), log)
			if s, err := leecher.Stats(ih); err == nil {
				t.Logf("leecher stats: %+v", s)
			}
			t.Logf("tracker announces: %d", tracker.announceCount())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitFor(t, "aria2c to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})

	if _, err := leecher.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	// aria2c may accept connections before it has checked its file; a peer
	// that dropped us is introduced again until the download completes.
	ctx := waitCtx(t)
	done := make(chan error, 1)
	go func() { done <- leecher.WaitComplete(ctx, ih) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if err := leecher.AddPeers(ih, addr); err != nil {
		t.Fatal(err)
	}
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			break wait
		case <-tick.C:
			if err := leecher.AddPeers(ih, addr); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkFile(t, leecher, ih, data)
	s := mustStats(t, leecher, ih)
	if s.BytesFromPeers < int64(len(data)) || s.BytesFromWebSeeds != 0 {
		t.Errorf("got %d bytes from peers, %d from web seeds; want all %d from aria2c", s.BytesFromPeers, s.BytesFromWebSeeds, len(data))
	}
}
