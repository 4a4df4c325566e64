package tracker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/fourmi-app/fourmi/peer"
	"github.com/fourmi-app/fourmi/peer/tracker"
)

// Real BitTorrent clients on loopback finding each other only through this
// tracker: no web seed, no AddPeers, no DHT/PEX.

const swarmTimeout = 90 * time.Second

// knownSet is the instance's set of info-hashes, filled as torrents are made.
type knownSet struct {
	mu sync.Mutex
	m  map[[20]byte]bool
}

func (k *knownSet) add(ih [20]byte) { k.mu.Lock(); k.m[ih] = true; k.mu.Unlock() }
func (k *knownSet) has(ih [20]byte) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[ih]
}

// newSwarmTracker starts a tracker (janitor included) on an httptest server.
func newSwarmTracker(t *testing.T) (*tracker.Tracker, *httptest.Server, *knownSet) {
	t.Helper()
	known := &knownSet{m: map[[20]byte]bool{}}
	tr, err := tracker.New(tracker.Config{
		Known:              known.has,
		Logger:             quietLogger(),
		Interval:           2 * time.Second, // anacrolix honours it: quick re-announces
		AllowLoopbackPeers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tr.Handler())
	t.Cleanup(func() {
		srv.Close()
		tr.Close()
	})
	return tr, srv, known
}

// randomFile writes n random bytes to dir/name.
func randomFile(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// swarmTorrent makes a .torrent for path announcing only to announceURL
// (no web seed) and registers it with the tracker.
func swarmTorrent(t *testing.T, ctx context.Context, path, announceURL string, known *knownSet) ([]byte, peer.InfoHash) {
	t.Helper()
	tb, err := peer.CreateTorrent(ctx, path, peer.CreateOptions{
		PieceLength: 256 << 10,
		Trackers:    [][]string{{announceURL}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mi, err := metainfo.Load(bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	ih := peer.InfoHash(mi.HashInfoBytes())
	known.add(ih)
	return tb, ih
}

// newEngine starts a loopback engine that announces to trackers.
func newEngine(t *testing.T) *peer.Engine {
	t.Helper()
	cfg := peer.TestConfig(t.TempDir())
	cfg.Trackers = true
	cfg.Logger = quietLogger()
	e, err := peer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
	})
	return e
}

func TestTwoEnginesFindEachOtherThroughTheTracker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	tr, srv, known := newSwarmTracker(t)
	src, data := randomFile(t, t.TempDir(), "video.bin", 1<<20+300<<10)
	tb, ih := swarmTorrent(t, ctx, src, srv.URL+"/tracker/announce", known)

	seeder := newEngine(t)
	if _, err := seeder.SeedFile(ctx, tb, src); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(ctx, ih); err != nil {
		t.Fatal(err)
	}
	waitUntilCtx(t, ctx, "the seeder to announce itself as complete", func() bool { return tr.Stats(ih).Complete == 1 })

	leecher := newEngine(t) // only the .torrent: the tracker is its one source
	if _, err := leecher.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := leecher.WaitComplete(ctx, ih); err != nil {
		t.Fatalf("leecher never completed: %v (tracker stats %+v)", err, tr.Stats(ih))
	}
	p, err := leecher.FilePath(ih, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("leecher's file differs from the seeder's (%d vs %d bytes)", len(got), len(data))
	}
	st, err := leecher.Stats(ih)
	if err != nil {
		t.Fatal(err)
	}
	if st.BytesFromPeers < int64(len(data)) || st.BytesFromWebSeeds != 0 {
		t.Errorf("leecher got %d bytes from peers and %d from web seeds, want all %d from the peer",
			st.BytesFromPeers, st.BytesFromWebSeeds, len(data))
	}
	// The leecher reports its completion: two seeders, one download.
	waitUntilCtx(t, ctx, "the leecher's completed announce", func() bool {
		s := tr.Stats(ih)
		return s.Complete == 2 && s.Incomplete == 0 && s.Downloaded == 1
	})
}

func waitUntilCtx(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// quietLogger shows warnings and errors (FOURMI_TRACKER_DEBUG=1: all).
func quietLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("FOURMI_TRACKER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
