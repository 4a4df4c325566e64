// Package testkit holds what Fourmi's tests share: videos generated with
// ffmpeg once per test binary, and videos published on the PeerTube
// stand-in with a real torrent whose web seed is the stand-in's file URL.
// Only tests import it.
package testkit

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/peer"
)

var (
	mu      sync.Mutex
	tempDir string
	videos  = map[VideoSpec]string{}
)

// Main runs a package's tests and removes the generated media afterwards.
// Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if tempDir != "" {
		os.RemoveAll(tempDir)
	}
	mu.Unlock()
	os.Exit(code)
}

// VideoSpec describes a generated H.264/AAC MP4 (faststart).
type VideoSpec struct {
	Width, Height, FPS int
	Seconds            int
}

// SmallVideo is the default: 8 s of 160×120 at 15 fps, about 100 KB.
var SmallVideo = VideoSpec{Width: 160, Height: 120, FPS: 15, Seconds: 8}

// Video returns the path of a generated video, made once per test binary.
// It skips the test when ffmpeg is not installed.
func Video(t testing.TB, spec VideoSpec) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	mu.Lock()
	defer mu.Unlock()
	if p, ok := videos[spec]; ok {
		return p
	}
	if tempDir == "" {
		d, err := os.MkdirTemp("", "fourmi-testkit-")
		if err != nil {
			t.Fatal(err)
		}
		tempDir = d
	}
	p := filepath.Join(tempDir, fmt.Sprintf("video-%dx%d-%d-%ds.mp4", spec.Width, spec.Height, spec.FPS, spec.Seconds))
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=%d", spec.Width, spec.Height, spec.FPS),
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", fmt.Sprint(spec.Seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "32k",
		"-movflags", "+faststart", "-y", p)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	videos[spec] = p
	return p
}

// NeedMPV skips the test when mpv is not installed.
func NeedMPV(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("mpv"); err != nil {
		t.Skip("mpv not installed (make deps)")
	}
}

// NewUUID is a random UUID v4.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

const base58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// ShortUUID is PeerTube's short form of a UUID (flickrBase58), as in /w/… URLs.
func ShortUUID(uuid string) string {
	n, _ := new(big.Int).SetString(strings.ReplaceAll(uuid, "-", ""), 16)
	var out []byte
	b, mod := big.NewInt(58), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, b, mod)
		out = append([]byte{base58[mod.Int64()]}, out...)
	}
	return string(out)
}

// Published is a video served by the stand-in with a real torrent.
type Published struct {
	UUID        string
	ID          int // PeerTube's numeric id
	Name        string
	FilePath    string // URL path of the file on the stand-in
	FileURL     string
	TorrentPath string
	TorrentURL  string
	Magnet      string
	Torrent     []byte
	InfoHash    string
	Data        []byte // the file's bytes
	Local       string // the source file
}

// WatchURL is the video's page on the stand-in.
func (p Published) WatchURL(s *peertubetest.Server) string { return s.URL + "/videos/watch/" + p.UUID }

// Publish serves file on s as the only (HLS, 240p) file of a new video.
func Publish(t testing.TB, s *peertubetest.Server, name, file string, seconds int) Published {
	t.Helper()
	return PublishWith(t, s, name, file, seconds, nil)
}

// PublishWith is Publish with edit, when not nil, applied to the video's
// details before the stand-in serves them (a fuller page, other ids).
func PublishWith(t testing.TB, s *peertubetest.Server, name, file string, seconds int, edit func(*peertube.VideoDetails)) Published {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := Published{UUID: NewUUID(), Name: name, Data: data, Local: file}
	p.FilePath = "/static/streaming-playlists/hls/" + p.UUID + "/" + p.UUID + "-240-fragmented.mp4"
	p.FileURL = s.URL + p.FilePath
	p.TorrentPath = "/lazy-static/torrents/" + p.UUID + "-240-hls.torrent"
	p.TorrentURL = s.URL + p.TorrentPath
	p.Torrent, err = peer.CreateTorrent(context.Background(), file, peer.CreateOptions{
		Name: p.UUID + "-240-fragmented.mp4", WebSeeds: []string{p.FileURL}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := peer.ParseTorrent(p.Torrent)
	if err != nil {
		t.Fatal(err)
	}
	p.InfoHash = info.InfoHash.String()
	p.Magnet = "magnet:?xs=" + url.QueryEscape(p.TorrentURL) + "&xt=urn:btih:" + p.InfoHash +
		"&dn=" + url.QueryEscape(name) + "&ws=" + url.QueryEscape(p.FileURL)
	s.ServeFile(p.FilePath, file)
	s.ServeBytes(p.TorrentPath, "application/x-bittorrent", p.Torrent)
	f := peertube.VideoFile{ID: 1, Resolution: peertube.IDLabel{ID: 240, Label: "240p"}, Width: 320, Height: 240,
		Size: int64(len(data)), FPS: 25, TorrentURL: p.TorrentURL, MagnetURI: p.Magnet, FileURL: p.FileURL}
	d := VideoDetails(s, p.UUID, name, seconds, f)
	if edit != nil {
		edit(&d)
	}
	p.ID = d.ID
	s.AddVideo(d)
	return p
}

var videoIDs atomic.Int64

// VideoDetails is a PeerTube 6 video whose files are in streamingPlaylists[0].
func VideoDetails(s *peertubetest.Server, uuid, name string, seconds int, files ...peertube.VideoFile) peertube.VideoDetails {
	var d peertube.VideoDetails
	d.ID = int(videoIDs.Add(1))
	d.UUID, d.ShortUUID, d.Name = uuid, ShortUUID(uuid), name
	d.URL = s.URL + "/videos/watch/" + uuid
	d.Duration = seconds
	d.PublishedAt = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	d.CreatedAt, d.UpdatedAt = d.PublishedAt, d.PublishedAt
	d.ThumbnailPath = "/lazy-static/thumbnails/" + uuid + ".jpg"
	d.Account = peertube.Actor{ID: 1, Name: "root", DisplayName: "root", URL: s.URL + "/accounts/root", Host: s.Host()}
	d.Channel = peertube.Actor{ID: 2, Name: "root_channel", DisplayName: "Main root channel", URL: s.URL + "/video-channels/root_channel", Host: s.Host()}
	d.State = peertube.IDLabel{ID: 1, Label: "Published"}
	d.StreamingPlaylists = []peertube.StreamingPlaylist{{ID: 1, Type: 1, Files: files}}
	return d
}
