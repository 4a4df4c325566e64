package peer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func TestNewValidatesAndStartsNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no data dir", Config{}, "DataDir"},
		{"stream on all interfaces", func() Config { c := TestConfig(dir); c.StreamAddr = "0.0.0.0:0"; return c }(), "loopback"},
		{"stream on a name", func() Config { c := TestConfig(dir); c.StreamAddr = "localhost:0"; return c }(), "loopback"},
		{"negative rate", func() Config { c := TestConfig(dir); c.UploadRate = -1; return c }(), "negative"},
		{"bad listen addr", func() Config { c := TestConfig(dir); c.ListenAddr = "nope"; return c }(), "ListenAddr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want an error about %q", err, c.want)
			}
		})
	}
	e, err := New(TestConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New touched the data dir: %v", err)
	}
	if _, err := e.AddTorrent(nil); err == nil {
		t.Error("AddTorrent before Start succeeded")
	}
	if _, err := e.Stats(InfoHash{}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Stats before Start: %v, want ErrNotStarted", err)
	}
	if e.ListenAddr() != "" {
		t.Error("ListenAddr before Start is not empty")
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close of an engine never started: %v", err)
	}
	if err := e.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
}

func TestSecondEngineOnSameDataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	e1 := newEngine(t, dir)
	e2, err := New(TestConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	err = e2.Start(context.Background())
	if err == nil {
		e2.Close()
		t.Fatal("a second engine started on a data dir in use")
	}
	if !strings.Contains(err.Error(), "another Fourmi") {
		t.Errorf("unclear error: %v", err)
	}
	if e1.ListenAddr() == "" {
		t.Error("first engine disturbed")
	}
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e1.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e1.AddTorrent(nil); !errors.Is(err, ErrInvalidTorrent) && !errors.Is(err, ErrClosed) {
		t.Errorf("AddTorrent after Close: %v", err)
	}
	if _, err := e1.Stats(InfoHash{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v, want ErrClosed", err)
	}
}

// (a) A web seed alone (a PeerTube instance) delivers the whole file.
func TestDownloadFromWebSeedOnly(t *testing.T) {
	_, video := testVideo(t)
	srv := newSeedServer(t, "video-720.mp4", video)
	path, _ := testVideo(t)
	tb, ih := makeTorrent(t, path, 16<<10, srv.fileURL())
	srv.set(func(s *seedServer) { s.torrent = tb })

	dir := t.TempDir()
	e := newEngine(t, dir)
	got, err := e.AddTorrentURL(waitCtx(t), srv.torrentURL())
	if err != nil {
		t.Fatal(err)
	}
	if got != ih {
		t.Fatalf("info-hash %v, want %v", got, ih)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, video)

	s := mustStats(t, e, ih)
	if !s.HasInfo || !s.Complete || s.PiecesComplete != s.NumPieces || s.NumPieces != (len(video)+16<<10-1)/(16<<10) {
		t.Errorf("stats %+v", s)
	}
	for i, c := range s.Pieces {
		if !c {
			t.Errorf("piece %d not complete in the bitmap", i)
		}
	}
	if s.BytesFromWebSeeds < int64(len(video)) || s.BytesFromPeers != 0 {
		t.Errorf("bytes from web seeds %d, from peers %d; want all %d from the web seed", s.BytesFromWebSeeds, s.BytesFromPeers, len(video))
	}
	if len(s.WebSeeds) != 1 || s.WebSeeds[0].URL != srv.fileURL() || s.WebSeeds[0].PiecesBad != 0 ||
		s.WebSeeds[0].PiecesGood == 0 || s.WebSeeds[0].Dropped != "" {
		t.Errorf("web seed stats %+v", s.WebSeeds)
	}
	if s.Length != int64(len(video)) || s.BytesCompleted != s.Length {
		t.Errorf("length %d, completed %d, want %d", s.Length, s.BytesCompleted, len(video))
	}
	// The metainfo is cached with its web seed for the next start.
	cached, err := os.ReadFile(filepath.Join(dir, "torrents", ih.String()+".torrent"))
	if err != nil {
		t.Fatal(err)
	}
	ti, err := ParseTorrent(cached)
	if err != nil || ti.InfoHash != ih || len(ti.WebSeeds) != 1 || ti.WebSeeds[0] != srv.fileURL() {
		t.Errorf("cached metainfo %+v, %v", ti, err)
	}
	waitFor(t, "the download rate to be sampled", func() bool { return mustStats(t, e, ih).DownloadRate > 0 })
}

// seedVideo starts an engine seeding the test video from a torrent with no
// web seed.
func seedVideo(t *testing.T) (seeder *Engine, tb []byte, ih InfoHash, video []byte) {
	path, video := testVideo(t)
	tb, ih = makeTorrent(t, path, 16<<10)
	seeder = newEngine(t, t.TempDir())
	got, err := seeder.SeedFile(waitCtx(t), tb, path)
	if err != nil {
		t.Fatal(err)
	}
	if got != ih {
		t.Fatalf("SeedFile info-hash %v, want %v", got, ih)
	}
	if err := seeder.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	return seeder, tb, ih, video
}

// (b) Two engines on loopback: the leecher gets everything from the seeder.
func TestDownloadFromPeerOnly(t *testing.T) {
	seeder, tb, ih, video := seedVideo(t)
	if s := mustStats(t, seeder, ih); !s.Seeding || !s.Complete || s.BytesFromWebSeeds+s.BytesFromPeers != 0 {
		t.Errorf("seeder stats after verifying its own file: %+v", s)
	}
	leecher := newEngine(t, t.TempDir())
	if _, err := leecher.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := leecher.AddPeers(ih, seeder.ListenAddr()); err != nil {
		t.Fatal(err)
	}
	if err := leecher.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, leecher, ih, video)
	s := mustStats(t, leecher, ih)
	if s.BytesFromPeers < int64(len(video)) || s.BytesFromWebSeeds != 0 {
		t.Errorf("leecher got %d bytes from peers, %d from web seeds; want all %d from peers", s.BytesFromPeers, s.BytesFromWebSeeds, len(video))
	}
	waitFor(t, "the seeder to count its upload", func() bool {
		return mustStats(t, seeder, ih).BytesUploaded >= int64(len(video))
	})
	if r := mustStats(t, seeder, ih).Ratio(); r < 1 {
		t.Errorf("seeder ratio %.2f after a full upload", r)
	}
}

// A magnet with only an info-hash and a peer address: the metadata comes
// from the peer (BEP 9), is validated, cached, and the file follows.
func TestMagnetMetadataFromPeer(t *testing.T) {
	seeder, _, ih, video := seedVideo(t)
	dir := t.TempDir()
	leecher := newEngine(t, dir)
	magnet := fmt.Sprintf("magnet:?xt=urn:btih:%s&dn=Test+video&x.pe=%s", ih, seeder.ListenAddr())
	got, err := leecher.AddMagnet(waitCtx(t), magnet)
	if err != nil {
		t.Fatal(err)
	}
	if got != ih {
		t.Fatalf("info-hash %v, want %v", got, ih)
	}
	if err := leecher.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, leecher, ih, video)
	waitFor(t, "the metadata to be cached", func() bool {
		_, err := os.Stat(filepath.Join(dir, "torrents", ih.String()+".torrent"))
		return err == nil
	})
}

// Metadata from a peer that Fourmi would refuse (8 KiB pieces) drops the
// torrent with a clear error and writes nothing.
func TestMagnetRefusesHostileMetadataFromPeer(t *testing.T) {
	// A bare anacrolix client plays the hostile peer.
	dir := t.TempDir()
	path, _ := randomFile(t, dir, "evil.mp4", 40<<10)
	info := metainfo.Info{PieceLength: 8 << 10}
	if err := info.BuildFromFilePath(path); err != nil {
		t.Fatal(err)
	}
	ib, _ := bencode.Marshal(info)
	mi := &metainfo.MetaInfo{InfoBytes: ib}
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dir // it has the data, so it seeds and accepts connections
	cfg.SetListenAddr("127.0.0.1:0")
	cfg.NoDHT, cfg.DisablePEX, cfg.NoDefaultPortForwarding, cfg.DisableUTP = true, true, true, true
	cfg.DisableWebtorrent, cfg.DisableTrackers, cfg.DisableIPv6, cfg.Seed = true, true, true, true
	cfg.Slogger = testLogger()
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.AddTorrent(mi); err != nil {
		t.Fatal(err)
	}
	ih := InfoHash(mi.HashInfoBytes())

	leecherDir := t.TempDir()
	leecher := newEngine(t, leecherDir)
	magnet := fmt.Sprintf("magnet:?xt=urn:btih:%s&x.pe=127.0.0.1:%d", ih, cl.LocalPort())
	if _, err := leecher.AddMagnet(waitCtx(t), magnet); err != nil {
		t.Fatal(err)
	}
	err = leecher.WaitInfo(waitCtx(t), ih)
	if !errors.Is(err, ErrInvalidTorrent) || !strings.Contains(err.Error(), "piece length") {
		t.Fatalf("WaitInfo: %v, want the invalid piece length", err)
	}
	s := mustStats(t, leecher, ih)
	if !strings.Contains(s.Err, "piece length") {
		t.Errorf("Stats.Err %q", s.Err)
	}
	if _, err := os.Stat(filepath.Join(leecherDir, "torrents", ih.String()+".torrent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused metadata was cached: %v", err)
	}
	if _, err := leecher.StreamURL(ih, 0, 0); err == nil {
		t.Error("a refused torrent got a stream URL")
	}
}

// A magnet as PeerTube writes it: xs = the .torrent URL, ws = the file URL.
func TestMagnetPeerTubeStyle(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "video-480.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10) // no url-list: the web seed comes from ws
	srv.set(func(s *seedServer) { s.torrent = tb })
	magnet := "magnet:?xs=" + url.QueryEscape(srv.torrentURL()) + "&xt=urn:btih:" + ih.String() +
		"&dn=Test+video&tr=" + url.QueryEscape(srv.URL+"/tracker/announce") + "&ws=" + url.QueryEscape(srv.fileURL())

	e := newEngine(t, t.TempDir())
	if _, err := e.AddMagnet(waitCtx(t), magnet); err != nil {
		t.Fatal(err)
	}
	if s := mustStats(t, e, ih); !s.HasInfo || len(s.WebSeeds) != 1 || s.WebSeeds[0].URL != srv.fileURL() {
		t.Fatalf("after AddMagnet: has info %v, web seeds %+v; want the metadata from xs and the ws web seed", s.HasInfo, s.WebSeeds)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, video)
}

// The real PeerTube 6.3 magnet and .torrent (hosts rewritten to a test
// server): the engine fetches xs, checks it matches xt, and keeps ws.
func TestMagnetFromCapturedPeerTube(t *testing.T) {
	tb, err := os.ReadFile(filepath.Join(fixtures, "captured-6.3/torrents/2e66724f-fade-4928-abda-512ab3cc2bb1-360.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newSeedServer(t, "2f704993-adfd-4a83-a3a4-b07f1e680cf6-360.mp4", nil)
	srv.set(func(s *seedServer) { s.torrent = tb })
	const captured = "magnet:?xs=http%3A%2F%2F127.0.0.1%3A9000%2Flazy-static%2Ftorrents%2F2e66724f-fade-4928-abda-512ab3cc2bb1-360.torrent&xt=urn:btih:cab7a3977c4d43f7167a5132ebe498a21253172d&dn=Interop+test+video&tr=http%3A%2F%2F127.0.0.1%3A9000%2Ftracker%2Fannounce&tr=ws%3A%2F%2F127.0.0.1%3A9000%2Ftracker%2Fsocket&ws=http%3A%2F%2F127.0.0.1%3A9000%2Fstatic%2Fweb-videos%2F2f704993-adfd-4a83-a3a4-b07f1e680cf6-360.mp4"
	host := strings.TrimPrefix(srv.URL, "http://")
	magnet := strings.ReplaceAll(captured, "127.0.0.1%3A9000%2Flazy-static%2Ftorrents%2F2e66724f-fade-4928-abda-512ab3cc2bb1-360.torrent",
		url.QueryEscape(host)+"%2Ftorrent")
	magnet = strings.ReplaceAll(magnet, "127.0.0.1%3A9000", url.QueryEscape(host))

	e := newEngine(t, t.TempDir())
	ih, err := e.AddMagnet(waitCtx(t), magnet)
	if err != nil {
		t.Fatal(err)
	}
	if ih.String() != "cab7a3977c4d43f7167a5132ebe498a21253172d" {
		t.Fatalf("info-hash %v", ih)
	}
	s := mustStats(t, e, ih)
	if !s.HasInfo || s.Name != "Interop test video 360p.mp4" || s.Length != 178603 || s.NumPieces != 11 {
		t.Errorf("stats %+v", s)
	}
	// ws (rewritten) plus the torrent's own url-list (port 9000 on loopback).
	var urls []string
	for _, w := range s.WebSeeds {
		urls = append(urls, w.URL)
	}
	if len(urls) != 2 || urls[0] != "http://127.0.0.1:9000/static/web-videos/2f704993-adfd-4a83-a3a4-b07f1e680cf6-360.mp4" ||
		urls[1] != srv.fileURL() {
		t.Errorf("web seeds %q", urls)
	}
	files, err := e.Files(ih)
	if err != nil || len(files) != 1 || files[0].Path != "Interop test video 360p.mp4" {
		t.Errorf("files %+v, %v", files, err)
	}
	if err := e.Remove(ih, true); err != nil {
		t.Fatal(err)
	}
}

func TestMagnetFallsBackWhenXsDoesNotMatch(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "v.mp4", video)
	otherPath, _ := randomFile(t, t.TempDir(), "other.mp4", 20<<10)
	otherTorrent, _ := makeTorrent(t, otherPath, 16<<10)
	srv.set(func(s *seedServer) { s.torrent = otherTorrent })
	_, ih := makeTorrent(t, path, 16<<10)

	e := newEngine(t, t.TempDir())
	magnet := "magnet:?xt=urn:btih:" + ih.String() + "&xs=" + url.QueryEscape(srv.torrentURL())
	got, err := e.AddMagnet(waitCtx(t), magnet)
	if err != nil || got != ih {
		t.Fatalf("AddMagnet: %v, %v", got, err)
	}
	if s := mustStats(t, e, ih); s.HasInfo {
		t.Error("a .torrent with another info-hash was used")
	}
	if _, err := e.StreamURL(ih, 0, 0); !errors.Is(err, ErrNoInfo) {
		t.Errorf("StreamURL without metadata: %v, want ErrNoInfo", err)
	}
	for _, bad := range []string{"magnet:?dn=nothing", "http://x/y", "magnet:?xt=urn:btih:zz"} {
		if _, err := e.AddMagnet(waitCtx(t), bad); err == nil {
			t.Errorf("AddMagnet(%q) accepted", bad)
		}
	}
}

func TestBadInputLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, dir)
	srv := newSeedServer(t, "v.mp4", []byte("x"))
	srv.set(func(s *seedServer) { s.torrent = make([]byte, MaxMetainfoSize+10) })

	hostile := goodInfo()
	hostile.Name = "../../../../tmp/pwned"
	for name, add := range map[string]func() error{
		"hostile bytes": func() error { _, err := e.AddTorrent(encodeTorrent(t, hostile)); return err },
		"html":          func() error { _, err := e.AddTorrent([]byte("<html>")); return err },
		"oversized url": func() error { _, err := e.AddTorrentURL(waitCtx(t), srv.torrentURL()); return err },
		"404 url":       func() error { _, err := e.AddTorrentURL(waitCtx(t), srv.URL+"/nope.torrent"); return err },
		"file url":      func() error { _, err := e.AddTorrentURL(waitCtx(t), "file:///etc/passwd"); return err },
		"missing file":  func() error { _, err := e.AddTorrentFile(filepath.Join(dir, "nope.torrent")); return err },
	} {
		if err := add(); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if n := len(e.Torrents()); n != 0 {
		t.Errorf("%d torrents after bad input", n)
	}
	for _, sub := range []string{"torrents", "data"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, de := range entries {
			if !strings.HasPrefix(de.Name(), ".torrent.bolt") {
				t.Errorf("bad input left %s/%s", sub, de.Name())
			}
		}
	}

	path, _ := testVideo(t)
	tb, ih := makeTorrent(t, path, 16<<10)
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.AddWebSeed(ih, "ftp://example/x"); err == nil {
		t.Error("ftp web seed accepted")
	}
	if err := e.AddPeers(ih, "no-port"); err == nil {
		t.Error("peer without port accepted")
	}
	if _, err := e.StreamURL(ih, 1, 0); err == nil {
		t.Error("stream of file 1 of a single-file torrent accepted")
	}
	if err := e.AddWebSeed(InfoHash{1}, srv.fileURL()); !errors.Is(err, ErrUnknownTorrent) {
		t.Errorf("AddWebSeed on an unknown torrent: %v", err)
	}
	if _, err := e.SeedFile(waitCtx(t), tb, filepath.Join(dir, "missing.mp4")); err == nil {
		t.Error("SeedFile of a missing file accepted")
	}
}

// (d) Stop mid-download (the instance cut the connection half-way); a new
// engine on the same data dir re-adds the torrent from the cache and does
// not fetch verified pieces again.
func TestRestartKeepsVerifiedPieces(t *testing.T) {
	path, video := testVideo(t)
	const pl = 16 << 10
	srv := newSeedServer(t, "video-720.mp4", video)
	cut := int64(len(video) / 2)
	srv.set(func(s *seedServer) { s.cutAt = cut })
	tb, ih := makeTorrent(t, path, pl, srv.fileURL())
	wantDone := int(cut / pl) // pieces wholly before the cut

	dir := t.TempDir()
	e1 := newEngine(t, dir)
	if _, err := e1.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pieces before the cut", func() bool { return mustStats(t, e1, ih).PiecesComplete >= wantDone })
	before := mustStats(t, e1, ih)
	if before.Complete {
		t.Fatal("complete despite the cut")
	}
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	var doneBefore []int
	for i, c := range before.Pieces {
		if c {
			doneBefore = append(doneBefore, i)
		}
	}

	srv.set(func(s *seedServer) { s.cutAt = -1; s.ranges = nil })
	e2 := newEngine(t, dir)
	if got := e2.Torrents(); len(got) != 1 || got[0] != ih {
		t.Fatalf("after restart the engine has %v, want %v from the cache", got, ih)
	}
	s := mustStats(t, e2, ih)
	if len(s.WebSeeds) != 1 || s.WebSeeds[0].URL != srv.fileURL() {
		t.Errorf("web seeds after restart: %+v", s.WebSeeds)
	}
	if err := e2.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e2, ih, video)
	_, _, ranges, served := srv.snapshot()
	for _, r := range ranges {
		for _, p := range doneBefore {
			if r[0] < int64(p+1)*pl && r[1] > int64(p)*pl {
				t.Errorf("verified piece %d fetched again (bytes %d-%d)", p, r[0], r[1])
			}
		}
	}
	missing := int64(len(video)) - int64(len(doneBefore))*pl
	if served > missing {
		t.Errorf("served %d bytes after restart, only %d were missing", served, missing)
	}
	t.Logf("%d of %d pieces verified before the restart; %d bytes fetched after", len(doneBefore), before.NumPieces, served)
}

// (e) A web seed serving different bytes: its pieces fail their hash, the
// engine drops it (no more requests, not cached), and a good web seed
// finishes the file.
func TestCorruptWebSeedIsDropped(t *testing.T) {
	path, video := testVideo(t)
	bad := newSeedServer(t, "video-720.mp4", video)
	bad.set(func(s *seedServer) { s.corrupt = true })
	good := newSeedServer(t, "video-720.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10, bad.fileURL())

	dir := t.TempDir()
	e := newEngine(t, dir)
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the corrupt web seed to be dropped", func() bool {
		s := mustStats(t, e, ih)
		return len(s.WebSeeds) == 1 && s.WebSeeds[0].Dropped != ""
	})
	s := mustStats(t, e, ih)
	if s.PiecesComplete != 0 || s.WebSeeds[0].PiecesBad < 1 || !strings.Contains(s.WebSeeds[0].Dropped, "differs from the torrent") {
		t.Errorf("after the drop: %d pieces complete, web seed %+v", s.PiecesComplete, s.WebSeeds[0])
	}
	t.Logf("dropped: %s", s.WebSeeds[0].Dropped)
	waitFor(t, "requests to the corrupt seed to finish", func() bool { _, inflight, _, _ := bad.snapshot(); return inflight == 0 })
	badRequests, _, _, _ := bad.snapshot()

	if err := e.AddWebSeed(ih, good.fileURL()); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, video)
	if n, _, _, _ := bad.snapshot(); n != badRequests {
		t.Errorf("the dropped web seed got %d more requests", n-badRequests)
	}
	cached, err := os.ReadFile(filepath.Join(dir, "torrents", ih.String()+".torrent"))
	if err != nil {
		t.Fatal(err)
	}
	ti, err := ParseTorrent(cached)
	if err != nil || len(ti.WebSeeds) != 1 || ti.WebSeeds[0] != good.fileURL() {
		t.Errorf("cached web seeds %q (%v), want only the good one", ti.WebSeeds, err)
	}
}

// The tuned web seed request size: no Range request is larger than
// WebSeedRequestSize (anacrolix's default is 64 MiB).
func TestWebSeedRequestsAreSmall(t *testing.T) {
	dir := t.TempDir()
	path, data := randomFile(t, dir, "big.mp4", 5<<20+1234)
	srv := newSeedServer(t, "big.mp4", data)
	tb, ih := makeTorrent(t, path, 64<<10, srv.fileURL())
	e := newEngine(t, t.TempDir())
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, data)
	srv.mu.Lock()
	sizes := append([]int64(nil), srv.reqSizes...)
	srv.mu.Unlock()
	if len(sizes) < 3 {
		t.Errorf("%d requests for 5 MiB, want requests of at most %d bytes", len(sizes), WebSeedRequestSize)
	}
	for _, n := range sizes {
		if n > WebSeedRequestSize {
			t.Errorf("a web seed request of %d bytes, more than %d", n, WebSeedRequestSize)
		}
	}
}

// Download rate limit: 3 MiB at 1 MiB/s (1 MiB burst) takes at least ~2 s.
func TestDownloadRateLimit(t *testing.T) {
	dir := t.TempDir()
	path, data := randomFile(t, dir, "limited.mp4", 3<<20)
	srv := newSeedServer(t, "limited.mp4", data)
	tb, ih := makeTorrent(t, path, 64<<10, srv.fileURL())
	e := newEngine(t, t.TempDir(), func(c *Config) { c.DownloadRate = 1 << 20 })
	start := time.Now()
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("3 MiB at 1 MiB/s took only %v", d)
	}
	checkFile(t, e, ih, data)
	if err := e.SetRateLimits(-1, 0); err == nil {
		t.Error("negative limit accepted")
	}
}

func TestRemove(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "v.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10, srv.fileURL())
	dir := t.TempDir()
	e := newEngine(t, dir)
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	streamURL, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(ih, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stats(ih); !errors.Is(err, ErrUnknownTorrent) {
		t.Errorf("Stats after Remove: %v", err)
	}
	if resp, _ := httpGet(t, streamURL, "", ""); resp.StatusCode != 404 {
		t.Errorf("stream of a removed torrent: %s", resp.Status)
	}
	for _, p := range []string{filepath.Join("torrents", ih.String()+".torrent"), filepath.Join("data", ih.String())} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Remove with data: %v", p, err)
		}
	}
	// Added again, it downloads again (its piece completion was cleared).
	_, _, _, servedBefore := srv.snapshot()
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, e, ih, video)
	if _, _, _, served := srv.snapshot(); served-servedBefore < int64(len(video)) {
		t.Errorf("re-added torrent fetched %d bytes, want the whole %d", served-servedBefore, len(video))
	}
}

func TestRateSampler(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := newRateSampler(t0)
	for i := 1; i <= 20; i++ {
		r.sample(t0.Add(time.Duration(i)*time.Second), int64(i)*1000, int64(i)*500)
	}
	if r.down < 990 || r.down > 1010 || r.up < 495 || r.up > 505 {
		t.Errorf("steady 1000 B/s down, 500 B/s up: got %.1f, %.1f", r.down, r.up)
	}
	r.sample(t0.Add(21*time.Second), 20*1000, 20*500) // stalled for a second
	if r.down >= 990 || r.down <= 0 {
		t.Errorf("after a stall the rate should fall smoothly, got %.1f", r.down)
	}
	r.sample(t0.Add(21*time.Second), 99999, 99999) // no time passed: ignored
	if r.down >= 990 {
		t.Errorf("a sample with no elapsed time changed the rate to %.1f", r.down)
	}
}
