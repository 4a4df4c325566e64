package peer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func TestPieceLengthFor(t *testing.T) {
	for _, c := range []struct{ size, want int64 }{
		{0, 16 << 10},
		{178603, 16 << 10}, // the captured PeerTube 360p torrent
		{16 << 20, 16 << 10},
		{46 << 20, 64 << 10},  // 46 MiB/1024 = 47104 ≥ 2^15.5 = 46341: rounds up
		{45 << 20, 32 << 10},  // 46080 < 2^15.5: rounds down
		{1 << 30, 1 << 20},    // 1 GiB → 1 MiB
		{3 << 30, 4 << 20},    // 3 GiB → 3 MiB → rounds to 4 MiB
		{2867 << 20, 2 << 20}, // 2.8 GiB → 2.8 MiB → 2 MiB
		{500 << 30, MaxPieceLength},
	} {
		if got := PieceLengthFor(c.size); got != c.want {
			t.Errorf("PieceLengthFor(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

// CreateTorrent makes what anacrolix makes for the same file, adds PeerTube's
// url-list and trackers, and a second (bare anacrolix) client downloads the
// file from the web seed alone.
func TestCreateTorrentDownloadsFromWebSeed(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "video-720.mp4", video)
	trackers := [][]string{{"ws://127.0.0.1:1/tracker/socket"}, {"http://127.0.0.1:1/tracker/announce"}}
	tb, err := CreateTorrent(context.Background(), path, CreateOptions{
		Name:         "Test video 720p.mp4",
		WebSeeds:     []string{srv.fileURL()},
		Trackers:     trackers,
		CreationDate: time.Unix(1795400755, 0),
		Workers:      3,
	})
	if err != nil {
		t.Fatal(err)
	}
	ti, err := ParseTorrent(tb)
	if err != nil {
		t.Fatal(err)
	}
	if ti.Name != "Test video 720p.mp4" || ti.Length != int64(len(video)) || ti.PieceLength != 16<<10 ||
		len(ti.WebSeeds) != 1 || len(ti.Trackers) != 2 {
		t.Errorf("created %+v", ti)
	}
	mi, err := metainfo.Load(bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	if mi.CreatedBy != "Fourmi" || mi.Announce != trackers[0][0] || mi.CreationDate != 1795400755 {
		t.Errorf("created by %q, announce %q, date %d", mi.CreatedBy, mi.Announce, mi.CreationDate)
	}
	// Same pieces as anacrolix computes.
	ref := metainfo.Info{PieceLength: 16 << 10}
	if err := ref.BuildFromFilePath(path); err != nil {
		t.Fatal(err)
	}
	ref.Name = "Test video 720p.mp4"
	refBytes, _ := bencode.Marshal(ref)
	if ti.InfoHash != InfoHash(metainfo.HashBytes(refBytes)) {
		t.Error("info-hash differs from anacrolix's for the same file")
	}

	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = t.TempDir()
	cfg.SetListenAddr("127.0.0.1:0")
	cfg.NoDHT, cfg.DisablePEX, cfg.NoDefaultPortForwarding, cfg.DisableUTP = true, true, true, true
	cfg.DisableWebtorrent, cfg.DisableTrackers, cfg.DisableIPv6 = true, true, true
	cfg.Slogger = testLogger()
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tor, err := cl.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	<-tor.GotInfo()
	r := tor.NewReader()
	defer r.Close()
	ctx := waitCtx(t)
	r.SetContext(ctx)
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, video) {
		t.Fatal("second client read different bytes")
	}
	if st := tor.Stats(); st.WebSeeds.BytesReadUsefulData.Int64() < int64(len(video)) {
		t.Errorf("second client got %d bytes from the web seed", st.WebSeeds.BytesReadUsefulData.Int64())
	}
}

func TestCreateTorrentRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := CreateTorrent(ctx, dir, CreateOptions{}); err == nil {
		t.Error("a directory was accepted")
	}
	if _, err := CreateTorrent(ctx, filepath.Join(dir, "missing"), CreateOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o600)
	if _, err := CreateTorrent(ctx, empty, CreateOptions{}); !errors.Is(err, ErrInvalidTorrent) {
		t.Errorf("empty file: %v", err)
	}
	path, _ := randomFile(t, dir, "x.mp4", 100<<10)
	if _, err := CreateTorrent(ctx, path, CreateOptions{WebSeeds: []string{"file:///x"}}); err == nil {
		t.Error("file:// web seed accepted")
	}
	if _, err := CreateTorrent(ctx, path, CreateOptions{PieceLength: 1000}); !errors.Is(err, ErrInvalidTorrent) {
		t.Errorf("piece length 1000: %v", err)
	}
	if _, err := CreateTorrent(ctx, path, CreateOptions{Name: "../x"}); !errors.Is(err, ErrInvalidTorrent) {
		t.Errorf("hostile name: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := CreateTorrent(canceled, path, CreateOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// Torrent creation throughput against plain SHA-1 of the same file.
func BenchmarkCreateTorrent(b *testing.B) {
	path, _ := randomFile(b, b.TempDir(), "bench.mp4", 64<<20)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := CreateTorrent(context.Background(), path, CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
