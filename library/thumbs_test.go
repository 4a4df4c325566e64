package library

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func TestThumbnailCached(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(0)
	defer s.Close()
	l := openTest(t, Options{})
	u := s.URL + "/lazy-static/thumbnails/abc.jpg"
	before := s.Requests.Load()
	p, err := l.Thumbnail(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(u))
	if want := filepath.Join(l.Dir(), "cache", "thumbnails", hex.EncodeToString(sum[:])); p != want {
		t.Errorf("path %s, want %s", p, want)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(b, peertubetest.Thumbnail("/lazy-static/thumbnails/abc.jpg", 280, 157)) {
		t.Fatalf("cached bytes differ (%d bytes, %v)", len(b), err)
	}
	p2, err := l.Thumbnail(ctx, u)
	if err != nil || p2 != p {
		t.Fatalf("second call: %s %v", p2, err)
	}
	if n := s.Requests.Load() - before; n != 1 {
		t.Errorf("%d requests for two calls, want 1", n)
	}
	// Survives a restart without a request.
	dir := l.Dir()
	l.Close()
	opt := testOptions(dir)
	l2 := openTest(t, opt)
	if p3, err := l2.Thumbnail(ctx, u); err != nil || p3 != p {
		t.Errorf("after restart: %s %v", p3, err)
	}
	if n := s.Requests.Load() - before; n != 1 {
		t.Errorf("%d requests after restart, want 1", n)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestThumbnailSingleflight(t *testing.T) {
	ctx := context.Background()
	var hits atomic.Int64
	release := make(chan struct{})
	img := peertubetest.Thumbnail("x", 32, 32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img)
	}))
	defer srv.Close()
	l := openTest(t, Options{})
	const n = 8
	var wg sync.WaitGroup
	paths := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = l.Thumbnail(ctx, srv.URL+"/t.jpg")
		}()
	}
	// Wait until the one download is in flight and the others wait on it.
	for hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Errorf("caller %d: %s %v", i, paths[i], errs[i])
		}
	}
	if h := hits.Load(); h != 1 {
		t.Errorf("%d downloads for %d concurrent calls, want 1", h, n)
	}
}

func TestThumbnailCallerCancelDoesNotBreakOthers(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write(peertubetest.Thumbnail("y", 16, 16))
	}))
	defer srv.Close()
	l := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := l.Thumbnail(ctx, srv.URL+"/y.jpg")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	// The download goes on for the next caller, who gets the image.
	got := make(chan error)
	go func() {
		p, err := l.Thumbnail(context.Background(), srv.URL+"/y.jpg")
		if err == nil {
			_, err = os.Stat(p)
		}
		got <- err
	}()
	release <- struct{}{}
	if err := <-got; err != nil {
		t.Errorf("caller after a cancelled one: %v", err)
	}
}

func TestThumbnailRejectsNonImages(t *testing.T) {
	ctx := context.Background()
	big := append(peertubetest.Thumbnail("big", 16, 16), make([]byte, MaxThumbnailBytes)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/html.jpg":
			w.Header().Set("Content-Type", "image/jpeg") // lies
			w.Write([]byte("<!DOCTYPE html><html><body>404</body></html>"))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"error":"nope"}`))
		case "/missing.jpg":
			http.NotFound(w, r)
		case "/big.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(big)
		case "/big-chunked.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.(http.Flusher).Flush() // no Content-Length
			w.Write(big)
		case "/empty.png":
			w.Header().Set("Content-Type", "image/png")
		}
	}))
	defer srv.Close()
	l := openTest(t, Options{})
	for _, p := range []string{"/html.jpg", "/json", "/missing.jpg", "/big.jpg", "/big-chunked.jpg", "/empty.png"} {
		if got, err := l.Thumbnail(ctx, srv.URL+p); err == nil {
			t.Errorf("%s accepted as %s", p, got)
		}
	}
	for _, u := range []string{"", "file:///etc/passwd", "/relative.jpg", "ftp://x/y.jpg"} {
		if _, err := l.Thumbnail(ctx, u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(l.Dir(), "cache", "thumbnails"))
	if len(ents) != 0 {
		t.Errorf("rejected answers left %d files", len(ents))
	}
}

func TestThumbnailEviction(t *testing.T) {
	ctx := context.Background()
	img := func(i int) []byte {
		// ~10 kB each: a JPEG header then padding.
		b := peertubetest.Thumbnail(fmt.Sprint(i), 8, 8)
		return append(b, make([]byte, 10_000-len(b))...)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var i int
		fmt.Sscanf(r.URL.Path, "/%d.jpg", &i)
		w.Write(img(i))
	}))
	defer srv.Close()
	clock := newClock()
	const bound = 50_000 // five images
	l := openTest(t, Options{Now: clock.Now, ThumbCacheBytes: bound})
	dir := filepath.Join(l.Dir(), "cache", "thumbnails")
	total := func() (n int64, files int) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			info, _ := e.Info()
			n += info.Size()
			files++
		}
		return n, files
	}
	url := func(i int) string { return fmt.Sprintf("%s/%d.jpg", srv.URL, i) }
	for i := range 20 {
		clock.Add(time.Second)
		if _, err := l.Thumbnail(ctx, url(i)); err != nil {
			t.Fatal(err)
		}
		// Keep image 0 in use: it must survive as the most recently used.
		clock.Add(time.Second)
		if _, err := l.Thumbnail(ctx, url(0)); err != nil {
			t.Fatal(err)
		}
		if n, _ := total(); n > bound {
			t.Fatalf("after %d images the cache holds %d bytes, bound %d", i+1, n, bound)
		}
	}
	n, files := total()
	if files < 3 || n > bound {
		t.Errorf("cache holds %d files, %d bytes", files, n)
	}
	// Image 0 was never evicted (one request), image 19 is there, image 1 is gone.
	before := requests.Load()
	for _, i := range []int{0, 19} {
		if _, err := l.Thumbnail(ctx, url(i)); err != nil {
			t.Fatal(err)
		}
	}
	if requests.Load() != before {
		t.Error("recently used images were evicted")
	}
	if _, err := l.Thumbnail(ctx, url(1)); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != before+1 {
		t.Error("the least recently used image was not evicted")
	}
	// A smaller bound at the next Open shrinks the cache.
	d := l.Dir()
	l.Close()
	opt := testOptions(d)
	opt.ThumbCacheBytes = 20_000
	l2 := openTest(t, opt)
	l2.Thumbnail(ctx, url(0))
	if n, _ := total(); n > 20_000 {
		t.Errorf("after reopening with a smaller bound: %d bytes", n)
	}
}
