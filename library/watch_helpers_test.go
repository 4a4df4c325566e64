package library

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
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
	mediaDir  string // generated media shared by the tests, removed by TestMain
	videoOnce sync.Once
	videoPath string
	videoErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fourmi-library-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mediaDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testVideo is a 6 s 320x240 H.264/AAC MP4 with faststart made by ffmpeg
// once per run.
func testVideo(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	videoOnce.Do(func() {
		videoPath = filepath.Join(mediaDir, "video.mp4")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
			"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
			"-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart",
			"-y", videoPath)
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

// toShortUUID is PeerTube's short form of a UUID (flickrBase58).
func toShortUUID(uuid string) string {
	n, _ := new(big.Int).SetString(strings.ReplaceAll(uuid, "-", ""), 16)
	var out []byte
	base, mod := big.NewInt(58), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append([]byte{shortUUIDAlphabet[mod.Int64()]}, out...)
	}
	return string(out)
}

// standIn is a PeerTube stand-in on loopback, closed at cleanup (also after
// a Restart).
func standIn(t testing.TB) *peertubetest.Server {
	s := peertubetest.NewSynthetic(0)
	t.Cleanup(func() { s.Close() })
	return s
}

// published is a video published on the stand-in with a real torrent whose
// web seed is the stand-in's file URL.
type published struct {
	uuid        string
	id          int // PeerTube's numeric id
	name        string
	filePath    string // URL path of the file on the stand-in
	fileURL     string
	torrentPath string
	torrentURL  string
	magnet      string
	torrent     []byte
	infoHash    string
	data        []byte
	local       string // the source file
}

// publish serves file on s as video name's only (HLS, 240p) file.
func publish(t testing.TB, s *peertubetest.Server, name, file string) published {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := published{uuid: newUUID(), name: name, data: data, local: file}
	p.filePath = "/static/streaming-playlists/hls/" + p.uuid + "/" + p.uuid + "-240-fragmented.mp4"
	p.fileURL = s.URL + p.filePath
	p.torrentPath = "/lazy-static/torrents/" + p.uuid + "-240-hls.torrent"
	p.torrentURL = s.URL + p.torrentPath
	p.torrent, err = peer.CreateTorrent(context.Background(), file, peer.CreateOptions{
		Name: p.uuid + "-240-fragmented.mp4", WebSeeds: []string{p.fileURL}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := peer.ParseTorrent(p.torrent)
	if err != nil {
		t.Fatal(err)
	}
	p.infoHash = info.InfoHash.String()
	p.magnet = "magnet:?xs=" + url.QueryEscape(p.torrentURL) + "&xt=urn:btih:" + p.infoHash +
		"&dn=" + url.QueryEscape(name) + "&ws=" + url.QueryEscape(p.fileURL)
	s.ServeFile(p.filePath, file)
	s.ServeBytes(p.torrentPath, "application/x-bittorrent", p.torrent)
	f := peertube.VideoFile{ID: 1, Resolution: peertube.IDLabel{ID: 240, Label: "240p"}, Width: 320, Height: 240,
		Size: int64(len(data)), FPS: 25, TorrentURL: p.torrentURL, MagnetURI: p.magnet, FileURL: p.fileURL}
	d := videoDetails(s, p.uuid, name, 6, f)
	p.id = d.ID
	s.AddVideo(d)
	return p
}

// videoDetails is a PeerTube 6 video whose files are in streamingPlaylists[0].
func videoDetails(s *peertubetest.Server, uuid, name string, seconds int, files ...peertube.VideoFile) peertube.VideoDetails {
	var d peertube.VideoDetails
	d.ID = int(videoIDs.Add(1))
	d.UUID, d.ShortUUID, d.Name = uuid, toShortUUID(uuid), name
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

var videoIDs atomic.Int64

// watchOptions are testOptions with BitTorrent on loopback only, headless
// mpv and quick ticks.
func watchOptions(dir string) Options {
	o := testOptions(dir)
	o.LoopbackOnly = true
	o.PlayerHeadless = true
	o.PlayerPrefer = "mpv"
	o.SeedCheckInterval = 150 * time.Millisecond
	o.PositionSaveInterval = 300 * time.Millisecond
	if os.Getenv("FOURMI_LIBRARY_DEBUG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// startLib opens and starts a library, closed at cleanup.
func startLib(t testing.TB, opt Options) *Library {
	t.Helper()
	l := openTest(t, opt)
	if err := l.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return l
}

const watchTimeout = 60 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), watchTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(watchTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// openVideo caches a published video through its watch URL.
func openVideo(t testing.TB, l *Library, s *peertubetest.Server, p published) Video {
	t.Helper()
	res, err := l.OpenURL(testCtx(t), s.URL+"/videos/watch/"+p.uuid)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	if res.Video == nil || res.Video.UUID != p.uuid || len(res.Video.Files) != 1 {
		t.Fatalf("OpenURL gave %+v", res)
	}
	return *res.Video
}

// transfer reads a transfer, failing the test on error.
func transfer(t testing.TB, l *Library, ih string) Transfer {
	t.Helper()
	tr, err := l.TransferByHash(context.Background(), ih)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// waitState waits for a transfer to reach a state.
func waitState(t testing.TB, l *Library, ih string, want TransferState) Transfer {
	t.Helper()
	var tr Transfer
	waitFor(t, fmt.Sprintf("transfer %s to be %s", ih, want), func() bool {
		var err error
		tr, err = l.TransferByHash(context.Background(), ih)
		return err == nil && tr.State == want
	})
	return tr
}

// storedState is a transfer's state as the database has it.
func storedState(t testing.TB, l *Library, ih string) TransferState {
	t.Helper()
	var s string
	if err := l.db.QueryRow("SELECT state FROM transfers WHERE infohash = ?", ih).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return TransferState(s)
}

// inEngine reports whether the library's engine has the torrent.
func inEngine(l *Library, ih string) bool {
	for _, h := range l.watch.engine.Torrents() {
		if h.String() == ih {
			return true
		}
	}
	return false
}

func countRows(t testing.TB, l *Library, table string) int {
	t.Helper()
	var n int
	if err := l.db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fileEquals asserts a file on disk has exactly want.
func fileEquals(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the source (%d vs %d bytes)", path, len(got), len(want))
	}
}

// randomFile writes n random bytes into a new file.
func randomFile(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "random.mp4")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// httpGet fetches a loopback URL (a stream) with a range and a timeout.
func httpGet(ctx context.Context, u, rng string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = errors.New(resp.Status)
	}
	return body, err
}
