package gui

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/peer"
)

var (
	mediaDir  string // media generated once per run, removed by TestMain
	videoOnce sync.Once
	videoPath string
	videoErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fourmi-gui-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mediaDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testVideo is an 8 s 160×120 H.264 MP4 (faststart, ~100 KB) made by
// ffmpeg once per run.
func testVideo(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	videoOnce.Do(func() {
		videoPath = filepath.Join(mediaDir, "video.mp4")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
			"-f", "lavfi", "-i", "testsrc=size=160x120:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
			"-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "32k",
			"-movflags", "+faststart", "-y", videoPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			videoErr = fmt.Errorf("ffmpeg: %v: %s", err, out)
		}
	})
	if videoErr != nil {
		t.Fatal(videoErr)
	}
	return videoPath
}

func needMPV(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("mpv"); err != nil {
		t.Skip("mpv not installed (make deps)")
	}
}

// newUUID is a random UUID v4.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var videoIDs atomic.Int64

// published is a video on the stand-in with a real torrent whose web seed
// is the stand-in's copy of the file.
type published struct {
	uuid     string
	name     string
	infoHash string
	torrent  []byte
	magnet   string
	data     []byte
}

// publish serves file on srv as the only (240p, HLS) file of a new video
// called name, the newest of the catalog.
func publish(t testing.TB, srv *peertubetest.Server, name, file string, seconds int) published {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := published{uuid: newUUID(), name: name, data: data}
	filePath := "/static/streaming-playlists/hls/" + p.uuid + "/" + p.uuid + "-240-fragmented.mp4"
	torrentPath := "/lazy-static/torrents/" + p.uuid + "-240-hls.torrent"
	fileURL, torrentURL := srv.URL+filePath, srv.URL+torrentPath
	p.torrent, err = peer.CreateTorrent(context.Background(), file, peer.CreateOptions{
		Name: p.uuid + "-240-fragmented.mp4", WebSeeds: []string{fileURL}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := peer.ParseTorrent(p.torrent)
	if err != nil {
		t.Fatal(err)
	}
	p.infoHash = info.InfoHash.String()
	p.magnet = "magnet:?xs=" + url.QueryEscape(torrentURL) + "&xt=urn:btih:" + p.infoHash +
		"&dn=" + url.QueryEscape(name) + "&ws=" + url.QueryEscape(fileURL)
	srv.ServeFile(filePath, file)
	srv.ServeBytes(torrentPath, "application/x-bittorrent", p.torrent)
	f := peertube.VideoFile{ID: 1, Resolution: peertube.IDLabel{ID: 240, Label: "240p"}, Width: 320, Height: 240,
		Size: int64(len(data)), FPS: 15, TorrentURL: torrentURL, MagnetURI: p.magnet, FileURL: fileURL}
	srv.AddVideo(videoDetails(srv, p.uuid, name, seconds, f))
	return p
}

// videoDetails is a PeerTube 6 video whose files are in streamingPlaylists[0].
func videoDetails(srv *peertubetest.Server, uuid, name string, seconds int, files ...peertube.VideoFile) peertube.VideoDetails {
	var d peertube.VideoDetails
	d.ID = int(videoIDs.Add(1)) + 5000
	d.UUID, d.Name = uuid, name
	d.URL = srv.URL + "/videos/watch/" + uuid
	d.Duration = seconds
	d.Views = 42
	d.Description = "Filmed in the colony behind the lab. **" + name + "**, shared over BitTorrent by the people who watch it."
	d.TruncatedDescription = d.Description
	d.Category = peertube.IDLabel{ID: 15, Label: "Science & Technology"}
	d.Licence = peertube.IDLabel{ID: 1, Label: "Attribution"}
	d.Language = peertube.StringLabel{ID: "en", Label: "English"}
	d.Tags = []string{"ants", "nature"}
	d.PublishedAt = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	d.CreatedAt, d.UpdatedAt = d.PublishedAt, d.PublishedAt
	d.ThumbnailPath = "/lazy-static/thumbnails/" + uuid + ".jpg"
	d.PreviewPath = "/lazy-static/previews/" + uuid + ".jpg"
	d.Account = peertube.Actor{ID: 1, Name: "root", DisplayName: "root", URL: srv.URL + "/accounts/root", Host: srv.Host()}
	d.Channel = peertube.Actor{ID: 2, Name: "ants_channel", DisplayName: "Ant colony films", URL: srv.URL + "/video-channels/ants_channel", Host: srv.Host()}
	d.State = peertube.IDLabel{ID: 1, Label: "Published"}
	d.Privacy = peertube.IDLabel{ID: 1, Label: "Public"}
	if len(files) > 0 {
		d.StreamingPlaylists = []peertube.StreamingPlaylist{{ID: 1, Type: 1, Files: files}}
	}
	return d
}

// writeTorrent writes a .torrent into a temporary file.
func writeTorrent(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dropped.torrent")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
