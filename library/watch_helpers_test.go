package library

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// videoSpec is the video the tests publish: 6 s of 320×240 at 25 fps, as
// the watch tests' timings assume.
var videoSpec = testkit.VideoSpec{Width: 320, Height: 240, FPS: 25, Seconds: 6}

// standIn is a PeerTube stand-in on loopback, closed at cleanup (also after
// a Restart).
func standIn(t testing.TB) *peertubetest.Server {
	s := peertubetest.NewSynthetic(0)
	t.Cleanup(func() { s.Close() })
	return s
}

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
func openVideo(t testing.TB, l *Library, s *peertubetest.Server, p testkit.Published) Video {
	t.Helper()
	res, err := l.OpenURL(testCtx(t), s.URL+"/videos/watch/"+p.UUID)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	if res.Video == nil || res.Video.UUID != p.UUID || len(res.Video.Files) != 1 {
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
