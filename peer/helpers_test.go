package peer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

var (
	mediaDir string // shared generated media, removed by TestMain

	videoOnce sync.Once
	videoPath string
	videoErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fourmi-peer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mediaDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testVideo is an 8 s 320x240 H.264/AAC MP4 with faststart (about 230 KB)
// made by ffmpeg once per test run.
func testVideo(t testing.TB) (string, []byte) {
	t.Helper()
	videoOnce.Do(func() {
		videoPath = filepath.Join(mediaDir, "video.mp4")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
			"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
			"-f", "lavfi", "-i", "sine=frequency=440",
			"-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
			"-movflags", "+faststart", "-y", videoPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			videoErr = fmt.Errorf("ffmpeg: %v: %s", err, out)
		}
	})
	if videoErr != nil {
		t.Fatal(videoErr)
	}
	data, err := os.ReadFile(videoPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 100<<10 {
		t.Fatalf("generated video is only %d bytes", len(data))
	}
	return videoPath, data
}

// randomFile writes n random bytes to a new file in dir.
func randomFile(t testing.TB, dir, name string, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// makeTorrent builds a single-file .torrent for path with anacrolix's
// metainfo package (independent of CreateTorrent).
func makeTorrent(t testing.TB, path string, pieceLength int64, webSeeds ...string) ([]byte, InfoHash) {
	t.Helper()
	return buildTorrent(t, path, pieceLength, metainfo.MetaInfo{UrlList: webSeeds})
}

// buildTorrent hashes path into mi's info and returns the .torrent bytes.
func buildTorrent(t testing.TB, path string, pieceLength int64, mi metainfo.MetaInfo) ([]byte, InfoHash) {
	t.Helper()
	info := metainfo.Info{PieceLength: pieceLength}
	if err := info.BuildFromFilePath(path); err != nil {
		t.Fatal(err)
	}
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi.InfoBytes, mi.CreatedBy = ib, "test"
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), InfoHash(mi.HashInfoBytes())
}

// seedServer is a web seed (a PeerTube instance's static file server) that
// records every byte range it serves and can misbehave.
type seedServer struct {
	*httptest.Server
	path string // URL path of the file
	data []byte

	mu       sync.Mutex
	cutAt    int64 // bytes at or past this offset are never sent (the connection drops); -1: none
	corrupt  bool  // serve every byte inverted
	requests int
	inflight int
	ranges   [][2]int64 // [start, end) of bytes served
	reqSizes []int64    // requested lengths
	torrent  []byte     // served at /torrent when set
}

func newSeedServer(t testing.TB, name string, data []byte) *seedServer {
	s := &seedServer{path: "/static/web-videos/" + name, data: data, cutAt: -1}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *seedServer) fileURL() string    { return s.URL + s.path }
func (s *seedServer) torrentURL() string { return s.URL + "/torrent" }

func (s *seedServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if r.URL.Path == "/torrent" && s.torrent != nil {
		tb := s.torrent
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-bittorrent")
		w.Write(tb)
		return
	}
	if r.URL.Path != s.path {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	s.requests++
	s.inflight++
	size := int64(len(s.data))
	var a, b int64
	if n, _ := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); n == 2 {
		size = b - a + 1
	}
	s.reqSizes = append(s.reqSizes, size)
	content := s.data
	if s.corrupt {
		content = make([]byte, len(s.data))
		for i, b := range s.data {
			content[i] = ^b
		}
	}
	rr := &recordingReader{s: s, r: bytes.NewReader(content), cutAt: s.cutAt}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "video/mp4") // no sniffing reads
	http.ServeContent(w, r, "video.mp4", time.Time{}, rr)
}

func (s *seedServer) set(f func(s *seedServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *seedServer) snapshot() (requests, inflight int, ranges [][2]int64, served int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.ranges {
		served += r[1] - r[0]
	}
	return s.requests, s.inflight, append([][2]int64(nil), s.ranges...), served
}

type recordingReader struct {
	s     *seedServer
	r     *bytes.Reader
	cutAt int64
	start int64 // where the current read run started
	pos   int64
}

var errCut = errors.New("web seed cut the connection")

func (rr *recordingReader) Read(p []byte) (int, error) {
	if rr.cutAt >= 0 {
		if rr.pos >= rr.cutAt {
			return 0, errCut
		}
		p = p[:min(int64(len(p)), rr.cutAt-rr.pos)]
	}
	n, err := rr.r.Read(p)
	if n > 0 {
		rr.s.mu.Lock()
		rr.s.ranges = append(rr.s.ranges, [2]int64{rr.pos, rr.pos + int64(n)})
		rr.s.mu.Unlock()
	}
	rr.pos += int64(n)
	return n, err
}

func (rr *recordingReader) Seek(off int64, whence int) (int64, error) {
	p, err := rr.r.Seek(off, whence)
	rr.pos = p
	return p, err
}

// newEngine starts an engine with TestConfig on dir, closed at cleanup.
func newEngine(t testing.TB, dir string, mod ...func(*Config)) *Engine {
	t.Helper()
	cfg := TestConfig(dir)
	cfg.Logger = testLogger()
	for _, m := range mod {
		m(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// testLogger shows warnings and errors (set FOURMI_PEER_DEBUG=1 for all).
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("FOURMI_PEER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

const testTimeout = 60 * time.Second

func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustStats(t testing.TB, e *Engine, ih InfoHash) Stats {
	t.Helper()
	s, err := e.Stats(ih)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkFile asserts the engine's copy of file 0 equals want.
func checkFile(t testing.TB, e *Engine, ih InfoHash, want []byte) {
	t.Helper()
	p, err := e.FilePath(ih, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("downloaded file differs from the original (%d vs %d bytes)", len(got), len(want))
	}
}

func httpGet(t testing.TB, url, host, rangeHdr string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
