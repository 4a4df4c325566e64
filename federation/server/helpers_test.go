package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// instance is a Server on a real loopback httptest server over a MemStore.
type instance struct {
	t     *testing.T
	srv   *Server
	store *MemStore
	http  *httptest.Server
	base  string
	cfg   Config
	swap  func(http.Handler)

	mu   sync.Mutex
	seen []*federation.Activity // activities applied by the inbox
}

type instanceOpt func(*Config)

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("FOURMI_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newInstance starts a server named name ("a" → account a, channel a_channel).
func newInstance(t *testing.T, name string, opts ...instanceOpt) *instance {
	t.Helper()
	return newInstanceOver(t, name, NewMemStore(), opts...)
}

func newInstanceOver(t *testing.T, name string, store *MemStore, opts ...instanceOpt) *instance {
	t.Helper()
	in := &instance{t: t, store: store}
	var h http.Handler = http.NotFoundHandler()
	var hmu sync.RWMutex
	in.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.RLock()
		hh := h
		hmu.RUnlock()
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(in.http.Close)
	in.base = in.http.URL
	ctx := context.Background()
	if _, err := store.Instance(ctx); err != nil {
		if err := store.SaveInstance(ctx, Instance{
			BaseURL: in.base, Name: "Fourmi " + name, AccountName: name, AccountDisplayName: "User " + name,
			ChannelName: name + "_channel", ChannelDisplayName: "Channel of " + name, ChannelDescription: "Videos made by " + name,
			Trackers: []string{in.base + "/tracker/announce"}, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{
		Store: store, Logger: testLogger(t).With("component", "server", "instance", name), AllowLoopback: true,
		PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, RetryMax: 2 * time.Second,
		BreakerCooldown: 300 * time.Millisecond,
		OnActivity: func(a *federation.Activity) {
			in.mu.Lock()
			in.seen = append(in.seen, a)
			in.mu.Unlock()
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in.srv, in.cfg = s, cfg
	in.swap = func(nh http.Handler) {
		hmu.Lock()
		h = nh
		hmu.Unlock()
	}
	in.swap(s.Handler())
	return in
}

func (in *instance) start() {
	in.t.Helper()
	if err := in.srv.Start(context.Background()); err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() { in.srv.Close() })
}

func (in *instance) site() *site {
	in.t.Helper()
	st, err := in.srv.currentSite(context.Background())
	if err != nil {
		in.t.Fatal(err)
	}
	return st
}

func (in *instance) activities(t federation.Type) []*federation.Activity {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []*federation.Activity
	for _, a := range in.seen {
		if a.Type == t {
			out = append(out, a)
		}
	}
	return out
}

// testVideo writes a small fake MP4, torrent and JPEG thumbnail and stores
// a public local video.
func (in *instance) addVideo(name string, published time.Time) LocalVideo {
	in.t.Helper()
	dir := in.t.TempDir()
	uuid := newUUID()
	mp4 := make([]byte, 64<<10)
	_, _ = rand.Read(mp4)
	p := filepath.Join(dir, uuid+".mp4")
	writeFile(in.t, p, mp4)
	tor := filepath.Join(dir, uuid+".torrent")
	writeFile(in.t, tor, []byte("d8:announce0:e"))
	thumb := filepath.Join(dir, uuid+".jpg")
	writeFile(in.t, thumb, tinyJPEG(in.t))
	ih := sha1.Sum(mp4)
	v, err := in.store.PutLocalVideo(context.Background(), LocalVideo{
		UUID: uuid, Name: name, Description: "A test video called " + name, Duration: 5,
		Published: published, Updated: published, Views: 3, Tags: []string{"test", "fourmi"}, Category: 15, Licence: 1,
		Language: "en", Privacy: PrivacyPublic,
		Files:     []VideoFile{{Resolution: 360, Width: 640, Height: 360, FPS: 25, Size: int64(len(mp4)), Path: p, InfoHash: hex.EncodeToString(ih[:]), TorrentPath: tor}},
		Thumbnail: ImageFile{Path: thumb, Width: 280, Height: 157},
	})
	if err != nil {
		in.t.Fatal(err)
	}
	return v
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tinyJPEG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for x := range 16 {
		img.Set(x, 4, color.RGBA{255, 128, 0, 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// get performs a GET with an Accept header.
func get(t *testing.T, url, accept string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client is a signed AP client acting as role of in.
func (in *instance) client(role string) *federation.Client {
	in.t.Helper()
	sg, err := in.srv.signerFor(context.Background(), role)
	if err != nil {
		in.t.Fatal(err)
	}
	return federation.NewClient(federation.ClientOptions{AllowPrivate: true, Signer: sg, Validate: federation.ValidateOptions{AllowLocalhost: true, Strict: true}})
}

func strictOpts() federation.ValidateOptions {
	return federation.ValidateOptions{AllowLocalhost: true, Strict: true, Exact: true}
}
