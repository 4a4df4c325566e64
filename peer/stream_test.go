package peer

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// (c) The stream server: whole file, a Range in the middle, the token and
// Host checks. The stream is read while the torrent downloads (the web seed
// is throttled by a download rate limit so the first GET really streams).
func TestStreamServer(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "video-720.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10, srv.fileURL())
	e := newEngine(t, t.TempDir(), func(c *Config) { c.DownloadRate = 256 << 10 })
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	streamURL, err := e.StreamURL(ih, 0, 8*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(streamURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" || !strings.HasSuffix(u.Path, "/video.mp4") {
		t.Errorf("stream URL %s: want 127.0.0.1 and the file name last", streamURL)
	}
	if again, _ := e.StreamURL(ih, 0, 0); again != streamURL {
		t.Errorf("second StreamURL %s differs from %s", again, streamURL)
	}

	// Range in the middle first, before the download is done.
	mid := len(video) / 2
	resp, body := httpGet(t, streamURL, "", fmt.Sprintf("bytes=%d-%d", mid, mid+9999))
	if resp.StatusCode != 206 || !bytes.Equal(body, video[mid:mid+10000]) {
		t.Fatalf("range: %s, %d bytes (equal: %v)", resp.Status, len(body), bytes.Equal(body, video[mid:mid+10000]))
	}
	if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", mid, mid+9999, len(video)) {
		t.Errorf("Content-Range %q", cr)
	}
	resp, body = httpGet(t, streamURL, "", "")
	if resp.StatusCode != 200 || !bytes.Equal(body, video) {
		t.Fatalf("full GET: %s, %d bytes of %d", resp.Status, len(body), len(video))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Error("no Accept-Ranges: bytes")
	}
	// The tail, as a player probing the end of the file does.
	resp, body = httpGet(t, streamURL, "", "bytes=-1000")
	if resp.StatusCode != 206 || !bytes.Equal(body, video[len(video)-1000:]) {
		t.Errorf("suffix range: %s", resp.Status)
	}

	// Also reachable as localhost (same port).
	if resp, _ := httpGet(t, streamURL, "localhost:"+u.Port(), "bytes=0-9"); resp.StatusCode != 206 {
		t.Errorf("Host localhost: %s", resp.Status)
	}
	// DNS rebinding: a page on evil.example resolving to 127.0.0.1.
	for _, host := range []string{"evil.example:" + u.Port(), "evil.example", "127.0.0.1:1", "127.0.0.1"} {
		if resp, _ := httpGet(t, streamURL, host, ""); resp.StatusCode != 403 {
			t.Errorf("Host %q: %s, want 403", host, resp.Status)
		}
	}
	tok := strings.Split(u.Path, "/")[2]
	for _, p := range []string{
		strings.Replace(u.Path, tok, strings.Repeat("A", len(tok)), 1), // wrong token
		"/stream/" + tok,                         // no name
		"/",                                      // root
		"/stream/" + tok[:len(tok)-1] + "/x.mp4", // truncated token
	} {
		if resp, _ := httpGet(t, "http://"+u.Host+p, "", ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
}

func TestStreamReadaheadFollowsBitrate(t *testing.T) {
	path, _ := testVideo(t)
	tb, ih := makeTorrent(t, path, 16<<10)
	e := newEngine(t, t.TempDir())
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	key := streamKey{ih, 0}
	readahead := func() int64 {
		e.stream.mu.Lock()
		defer e.stream.mu.Unlock()
		return e.stream.byFile[key].readahead
	}
	if _, err := e.StreamURL(ih, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := readahead(); got != 4<<20 {
		t.Errorf("unknown duration: readahead %d, want the 4 MiB default", got)
	}
	// 230 KB in 8 s is tiny: the 1 MiB floor applies.
	e.StreamURL(ih, 0, 8*time.Second)
	if got := readahead(); got != minReadahead {
		t.Errorf("8 s video: readahead %d, want %d", got, minReadahead)
	}
	// Pretend it lasts 10 ms: 10 s of that bitrate exceeds the 64 MiB cap.
	e.StreamURL(ih, 0, 10*time.Millisecond)
	if got := readahead(); got != maxReadahead {
		t.Errorf("very high bitrate: readahead %d, want %d", got, maxReadahead)
	}
}
