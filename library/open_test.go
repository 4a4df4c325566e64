package library

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
)

func TestShortUUID(t *testing.T) {
	// From the captured PeerTube 6.3 video.
	got, ok := shortToUUID("ftFgRR7ufsFSaUwygyy2xU")
	if !ok || got != peertubetest.CapturedUUID {
		t.Errorf("shortToUUID = %q, %v; want %s", got, ok, peertubetest.CapturedUUID)
	}
	for range 20 {
		u := testkit.NewUUID()
		if got, ok := shortToUUID(testkit.ShortUUID(u)); !ok || got != u {
			t.Errorf("round trip of %s gave %q", u, got)
		}
	}
	for _, bad := range []string{"", "short", "0OIl0OIl0OIl0OIl0OIl0O", "zzzzzzzzzzzzzzzzzzzzzzzz", "ftFgRR7ufsFSaUwygyy2x-"} {
		if got, ok := shortToUUID(bad); ok {
			t.Errorf("shortToUUID(%q) = %q, want refusal", bad, got)
		}
	}
}

func TestMagnetInfoHash(t *testing.T) {
	hex := "3b9adf06f30b41f3e05caf1a0aa01b651cfa36b5"
	for in, want := range map[string]string{
		"magnet:?xt=urn:btih:" + hex:                                hex,
		"magnet:?xt=urn:btih:" + strings.ToUpper(hex) + "&dn=x":     hex,
		"magnet:?dn=x&xt=urn:btih:HONN6BXTBNA7HYC4V4NAVIA3MUOPUNVV": hex,
		"magnet:?xt=urn:sha1:abc":                                   "",
		"magnet:?xt=urn:btih:1234":                                  "",
		"http://x/y":                                                "",
	} {
		if got := magnetInfoHash(in); got != want {
			t.Errorf("magnetInfoHash(%q) = %q, want %q", in, got, want)
		}
	}
}

// OpenURL on every kind of input: PeerTube video links are fetched and
// cached (also before Start); magnets, .torrent URLs and files become
// transfers that download from the web seed.
func TestOpenURLKinds(t *testing.T) {
	s := standIn(t)
	video := testkit.Video(t, videoSpec)
	var ps []testkit.Published
	for _, name := range []string{"One", "Two", "Three", "Four", "Five"} {
		ps = append(ps, testkit.Publish(t, s, name, video, videoSpec.Seconds))
	}
	l := openTest(t, watchOptions(t.TempDir()))
	ctx := testCtx(t)

	// Video links, before Start: short UUID, watch page, numeric API id.
	for i, in := range []string{
		s.URL + "/w/" + testkit.ShortUUID(ps[0].UUID),
		s.URL + "/videos/watch/" + ps[1].UUID + "/",
		s.URL + "/api/v1/videos/" + strconv.Itoa(ps[4].ID),
	} {
		if i == 2 {
			i = 4
		}
		res, err := l.OpenURL(ctx, in)
		if err != nil {
			t.Fatalf("OpenURL(%s): %v", in, err)
		}
		if res.Transfer != nil || res.Video == nil || res.Video.UUID != ps[i].UUID || len(res.Video.Files) != 1 ||
			res.Video.Files[0].TorrentURL != ps[i].TorrentURL || !res.Video.Files[0].HLS {
			t.Fatalf("OpenURL(%s) = %+v", in, res)
		}
		if v, err := l.Video(ctx, ps[i].UUID); err != nil || v.DetailsAt.IsZero() {
			t.Errorf("%s not cached: %v", in, err)
		}
	}
	if _, err := l.OpenURL(ctx, ps[0].Magnet); !errors.Is(err, ErrNotStarted) {
		t.Errorf("magnet before Start: %v, want ErrNotStarted", err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}

	torrentFile := filepath.Join(t.TempDir(), "four.torrent")
	if err := os.WriteFile(torrentFile, ps[3].Torrent, 0o600); err != nil {
		t.Fatal(err)
	}
	s.ServeBytes("/download/"+ps[2].UUID, "application/x-bittorrent", ps[2].Torrent)
	for i, in := range []string{
		ps[0].Magnet,                      // linked to its video, cached above
		ps[1].TorrentURL,                  // ends in .torrent
		s.URL + "/download/" + ps[2].UUID, // typed application/x-bittorrent
		torrentFile,                       // a local file
	} {
		res, err := l.OpenURL(ctx, in)
		if err != nil {
			t.Fatalf("OpenURL(%s): %v", in, err)
		}
		if res.Video != nil || res.Transfer == nil || res.Transfer.InfoHash != ps[i].InfoHash {
			t.Fatalf("OpenURL(%s) = %+v", in, res)
		}
		tr := waitState(t, l, ps[i].InfoHash, StateSeeding)
		if tr.Stats.FromWebSeed == 0 {
			t.Errorf("%s: nothing from the web seed", in)
		}
		path, err := l.TransferPath(ctx, ps[i].InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		fileEquals(t, path, ps[i].Data)
	}
	if tr := transfer(t, l, ps[0].InfoHash); tr.VideoUUID != ps[0].UUID || tr.Name != "One" {
		t.Errorf("the magnet of a known video is not linked to it: %+v", tr)
	}
	var tu, ws string
	l.db.QueryRow("SELECT torrent_url, web_seed_url FROM transfers WHERE infohash = ?", ps[0].InfoHash).Scan(&tu, &ws)
	if tu != ps[0].TorrentURL || ws != ps[0].FileURL {
		t.Errorf("magnet recorded with torrent %q and web seed %q", tu, ws)
	}
	if tr := transfer(t, l, ps[3].InfoHash); tr.Name != ps[3].UUID+"-240-fragmented.mp4" || tr.VideoUUID != "" {
		t.Errorf("a bare .torrent: %+v", tr)
	}

	// A magnet nobody serves waits for its metadata, listed first; it can
	// be paused and removed.
	lonely := "1111111111222222222233333333334444444444"
	res, err := l.OpenURL(ctx, "magnet:?xt=urn:btih:"+strings.ToUpper(lonely)+"&dn=Nobody+has+it")
	if err != nil || res.Transfer == nil || res.Transfer.InfoHash != lonely || res.Transfer.State != StateFetchingInfo ||
		res.Transfer.Name != "Nobody has it" {
		t.Fatalf("OpenURL(lonely magnet) = %+v, %v", res.Transfer, err)
	}
	list, err := l.Transfers(ctx)
	if err != nil || len(list) != 5 || list[0].InfoHash != lonely {
		t.Fatalf("Transfers: %d, first %+v, %v", len(list), list[0], err)
	}
	if err := l.PauseTransfer(ctx, lonely); err != nil {
		t.Fatal(err)
	}
	if err := l.RemoveTransfer(ctx, lonely, true); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TransferByHash(ctx, lonely); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed magnet: %v", err)
	}
	if _, err := l.TransferByHash(ctx, "not-a-hash"); err == nil {
		t.Error("TransferByHash accepted a bad info-hash")
	}
}

// Garbage, unknown or unreachable inputs give clear errors and store nothing.
func TestOpenURLBadInput(t *testing.T) {
	s := standIn(t)
	p := testkit.Publish(t, s, "Five", testkit.Video(t, videoSpec), videoSpec.Seconds)
	s.ServeBytes("/fake.torrent", "text/html; charset=utf-8", []byte("<!DOCTYPE html><html>Not found</html>"))
	s.ServeBytes("/page", "text/html", []byte("<html></html>"))
	notTorrent := filepath.Join(t.TempDir(), "notes.torrent")
	os.WriteFile(notTorrent, []byte("this is not bencode"), 0o600)
	l := startLib(t, watchOptions(t.TempDir()))
	ctx := testCtx(t)
	videos, transfers := countRows(t, l, "videos"), countRows(t, l, "transfers")
	for in, want := range map[string]string{
		"":                                      "nothing to open",
		"   ":                                   "nothing to open",
		"hello there":                           "not a PeerTube video link",
		"ftp://example.org/video.mp4":           "only PeerTube video links",
		"magnet:?xt=urn:sha1:abcdef":            "no BitTorrent info-hash",
		"magnet:?dn=nothing":                    "no BitTorrent info-hash",
		s.URL + "/w/" + testkit.NewUUID():       "404",
		s.URL + "/w/p/" + p.UUID:                "playlist",
		s.URL + "/fake.torrent":                 "web page",
		s.URL + "/page":                         "serves text/html",
		s.URL + "/nowhere":                      "404",
		"http://127.0.0.1:9/w/" + p.UUID:        "127.0.0.1:9",
		"http://127.0.0.1:9/video.torrent":      "127.0.0.1:9",
		filepath.Join(t.TempDir(), "x.torrent"): "no such file",
		notTorrent:                              "not a usable .torrent",
	} {
		res, err := l.OpenURL(ctx, in)
		if err == nil {
			t.Errorf("OpenURL(%q) = %+v, want an error", in, res)
			continue
		}
		t.Logf("%q → %v", in, err)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("OpenURL(%q): %v; want it to say %q", in, err, want)
		}
	}
	if v, tr := countRows(t, l, "videos"), countRows(t, l, "transfers"); v != videos || tr != transfers {
		t.Errorf("bad input stored something: videos %d→%d, transfers %d→%d", videos, v, transfers, tr)
	}
}

// A video whose torrent URL answers a web page, and one whose only file has
// neither torrent nor magnet: clear errors, nothing added.
func TestPlayBadFiles(t *testing.T) {
	s := standIn(t)
	l := startLib(t, watchOptions(t.TempDir()))
	ctx := testCtx(t)
	s.ServeBytes("/lazy-static/torrents/html.torrent", "text/html", []byte("<html><body>PeerTube</body></html>"))
	htmlVideo := testkit.VideoDetails(s, testkit.NewUUID(), "HTML torrent", 6, fileWith(s.URL+"/lazy-static/torrents/html.torrent", ""))
	bareVideo := testkit.VideoDetails(s, testkit.NewUUID(), "No torrent", 6, fileWith("", ""))
	noFiles := testkit.VideoDetails(s, testkit.NewUUID(), "No files", 6)
	cases := []struct {
		uuid, want string
	}{
		{htmlVideo.UUID, "web page"},
		{bareVideo.UUID, "no torrent URL and no magnet link"},
		{noFiles.UUID, "no playable file"},
	}
	s.AddVideo(htmlVideo)
	s.AddVideo(bareVideo)
	s.AddVideo(noFiles)
	for _, c := range cases {
		if _, err := l.OpenURL(ctx, s.URL+"/videos/watch/"+c.uuid); err != nil {
			t.Fatal(err)
		}
		_, err := l.Play(ctx, PlayRequest{UUID: c.uuid})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Play(%s): %v; want it to say %q", c.uuid, err, c.want)
		}
		if _, err := l.Download(ctx, c.uuid, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Download(%s): %v; want it to say %q", c.uuid, err, c.want)
		}
	}
	if n := countRows(t, l, "transfers"); n != 0 {
		t.Errorf("%d transfers stored", n)
	}
	if n := countRows(t, l, "history"); n != 0 {
		t.Errorf("%d history entries stored", n)
	}
	if _, err := l.Play(ctx, PlayRequest{UUID: testkit.NewUUID()}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Play of an unknown video: %v, want ErrNotFound", err)
	}
	if _, err := l.Play(ctx, PlayRequest{UUID: htmlVideo.UUID, Player: "winamp"}); err == nil || !strings.Contains(err.Error(), "unknown player") {
		t.Errorf("unknown player: %v", err)
	}
}

// fileWith is a 240p file with the given torrent URL and magnet.
func fileWith(torrentURL, magnet string) peertube.VideoFile {
	return peertube.VideoFile{ID: 1, Resolution: peertube.IDLabel{ID: 240, Label: "240p"}, Width: 320, Height: 240,
		Size: 1000, FPS: 25, TorrentURL: torrentURL, MagnetURI: magnet, FileURL: "http://127.0.0.1:9/file.mp4"}
}
