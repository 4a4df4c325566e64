package library

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/peer"
)

// The published torrent downloads and verifies through a second, separate
// anacrolix client from the web seed alone: the instance's file URL,
// served here by an httptest server from the library's published file.
func TestPublishWebSeedDownload(t *testing.T) {
	needFFmpeg(t)
	src := genVP9WebM(t, t.TempDir())
	opt := publishOpts(t.TempDir())
	var served atomic.Int64
	videos := filepath.Join(opt.Dir, "videos")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/static/web-videos/")
		if !ok || len(name) < 36 || name != path.Base(name) {
			http.NotFound(w, r)
			return
		}
		served.Add(1)
		http.ServeFile(w, r, filepath.Join(videos, name[:36], name))
	}))
	defer srv.Close()
	l := startPublishLib(t, opt)
	ctx := context.Background()
	if err := l.SetSetting(ctx, SettingPublicURL, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	extra := "http://127.0.0.1:9/announce" // refused: nothing leaves loopback
	if err := l.SetSetting(ctx, SettingTrackers, "\n"+extra+"\nnot a tracker\n"); err != nil {
		t.Fatal(err)
	}
	v, err := publishWait(t, l, PublishRequest{File: src, Meta: testMeta("Web seeded")})
	if err != nil {
		t.Fatal(err)
	}
	f := v.Files[0]
	name := filepath.Base(f.Path)
	host := strings.TrimPrefix(srv.URL, "http://")
	wantSeed := srv.URL + "/static/web-videos/" + name
	if f.WebSeedURL != wantSeed {
		t.Errorf("web seed %s, want %s", f.WebSeedURL, wantSeed)
	}
	data, err := os.ReadFile(f.TorrentPath)
	if err != nil {
		t.Fatal(err)
	}
	ti, err := peer.ParseTorrent(data)
	if err != nil {
		t.Fatal(err)
	}
	wantTiers := [][]string{{"ws://" + host + "/tracker/socket"}, {"http://" + host + "/tracker/announce"}, {extra}}
	if !slices.Equal(ti.WebSeeds, []string{wantSeed}) || !slices.EqualFunc(ti.Trackers, wantTiers, slices.Equal) {
		t.Errorf("torrent web seeds %v trackers %v", ti.WebSeeds, ti.Trackers)
	}
	torrentURL := srv.URL + "/lazy-static/torrents/" + strings.TrimSuffix(name, ".mp4") + ".torrent"
	for _, part := range []string{"xs=" + urlQ(torrentURL), "ws=" + urlQ(wantSeed), "tr=" + urlQ("ws://"+host+"/tracker/socket"),
		"tr=" + urlQ(extra)} {
		if !strings.Contains(f.Magnet, part) {
			t.Errorf("magnet %s lacks %s", f.Magnet, part)
		}
	}
	cv, err := l.Video(ctx, v.UUID)
	if err != nil || cv.Origin != strings.ToLower(host) || cv.Files[0].TorrentURL != torrentURL || cv.Files[0].FileURL != wantSeed {
		t.Errorf("catalog entry %+v %v", cv, err)
	}

	// A separate engine with only the .torrent: no trackers answer, no
	// DHT, no peers; only the web seed can serve it.
	cfg := peer.TestConfig(t.TempDir())
	cfg.Logger = opt.Logger
	e, err := peer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := e.Start(ectx); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	h, err := e.AddTorrent(data)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if err := e.WaitComplete(wctx, h); err != nil {
		t.Fatalf("download: %v", err)
	}
	st, err := e.Stats(h)
	if err != nil {
		t.Fatal(err)
	}
	if st.BytesFromPeers != 0 || st.BytesFromWebSeeds < f.Size || served.Load() == 0 {
		t.Errorf("from peers %d, from the web seed %d (%d requests), want all %d from the web seed",
			st.BytesFromPeers, st.BytesFromWebSeeds, served.Load(), f.Size)
	}
	p, err := e.FilePath(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want, _ := os.ReadFile(f.Path)
	if !bytes.Equal(got, want) {
		t.Fatal("the downloaded file differs from the published one")
	}
}

func urlQ(s string) string { return strings.NewReplacer(":", "%3A", "/", "%2F").Replace(s) }

// My videos: list, edit (catalog and search follow), delete (files,
// torrents and rows gone). A published file survives the disk budget.
func TestMyVideosEditDelete(t *testing.T) {
	needFFmpeg(t)
	in := t.TempDir()
	l := startPublishLib(t, Options{})
	ctx := context.Background()
	a, err := publishWait(t, l, PublishRequest{File: genH264MP4(t, in), Meta: testMeta("First upload")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := publishWait(t, l, PublishRequest{File: genMKV(t, in), Meta: testMeta("Second upload")})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := l.MyVideos(ctx)
	if err != nil || len(vs) != 2 || vs[0].UUID != b.UUID || vs[1].UUID != a.UUID {
		t.Fatalf("MyVideos = %d videos %v, want newest first", len(vs), err)
	}

	// The disk budget never evicts the creator's files.
	if err := l.SetSeedLimits(ctx, SeedLimits{DiskBudget: 1}); err != nil {
		t.Fatal(err)
	}
	l.watch.op.Lock()
	err = l.enforceBudget(ctx, 1, nil)
	l.watch.op.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if ts, _ := l.Transfers(ctx); len(ts) != 2 {
		t.Fatalf("the disk budget removed published files: %d transfers left", len(ts))
	}

	// Edit: validated, then the catalog and search follow.
	bad := testMeta("x")
	if _, err := l.UpdateMyVideo(ctx, a.UUID, bad); !errors.As(err, new(ValidationError)) {
		t.Fatalf("UpdateMyVideo(bad) = %v", err)
	}
	meta := a.Meta
	meta.Title, meta.Tags, meta.Category, meta.Privacy = "Renamed kangaroo", []string{"marsupial"}, 16, PrivacyUnlisted
	up, err := l.UpdateMyVideo(ctx, a.UUID, meta)
	if err != nil || up.Meta.Title != "Renamed kangaroo" || up.Meta.Privacy != PrivacyUnlisted {
		t.Fatalf("UpdateMyVideo = %+v %v", up.Meta, err)
	}
	cv, err := l.Video(ctx, a.UUID)
	if err != nil || cv.Name != "Renamed kangaroo" || cv.Category != "Animals" || !slices.Equal(cv.Tags, []string{"marsupial"}) ||
		len(cv.Files) != 1 {
		t.Fatalf("catalog after edit: %+v %v", cv, err)
	}
	for _, q := range []string{"kangaroo", "marsupial"} {
		found, err := l.SearchLocal(ctx, q, 10)
		if err != nil || !slices.Equal(uuids(found), []string{a.UUID}) {
			t.Errorf("SearchLocal(%q) = %v %v", q, uuids(found), err)
		}
	}
	if found, _ := l.SearchLocal(ctx, "First", 10); slices.Contains(uuids(found), a.UUID) {
		t.Error("the old title is still indexed")
	}

	// Delete: files, torrents, engine data and rows go; the other video stays.
	if err := l.touchHistory(ctx, a.UUID, a.Duration); err != nil {
		t.Fatal(err)
	}
	ih := a.Files[0].InfoHash
	if err := l.DeleteMyVideo(ctx, a.UUID); err != nil {
		t.Fatalf("DeleteMyVideo: %v", err)
	}
	if _, err := l.MyVideo(ctx, a.UUID); !errors.Is(err, ErrNotFound) {
		t.Errorf("MyVideo after delete = %v", err)
	}
	if _, err := os.Stat(l.videoDir(a.UUID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.watch.peerDir, "data", ih)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("engine data still there: %v", err)
	}
	if v, tr, f := publishedRows(t, l, a.UUID); v+tr+f != 0 {
		t.Errorf("rows left: %d %d %d", v, tr, f)
	}
	h, _ := peer.ParseInfoHash(ih)
	if _, err := l.watch.engine.Stats(h); err == nil {
		t.Error("the engine still has the torrent")
	}
	if vs, _ := l.MyVideos(ctx); len(vs) != 1 || vs[0].UUID != b.UUID {
		t.Errorf("MyVideos after delete: %v", vs)
	}
	if tr, err := l.TransferByHash(ctx, b.Files[0].InfoHash); err != nil || tr.State != StateSeeding {
		t.Errorf("the other video's transfer: %+v %v", tr, err)
	}
}
