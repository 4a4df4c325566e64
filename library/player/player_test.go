package player

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testVideo makes a 4-second H.264/AAC MP4 with ffmpeg.
func testVideo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	out := filepath.Join(t.TempDir(), "v.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
		"-c:a", "aac", "-movflags", "+faststart", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// serve serves the file with Range support and counts range requests.
func serve(t *testing.T, path string) (*httptest.Server, *atomic.Int64) {
	var ranges atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranges.Add(1)
		}
		http.ServeFile(w, r, path)
	}))
	t.Cleanup(s.Close)
	return s, &ranges
}

func needMPV(t *testing.T) {
	if _, err := exec.LookPath("mpv"); err != nil {
		t.Skip("mpv not installed (make deps)")
	}
}

func TestMPVPlaysStreamToTheEnd(t *testing.T) {
	needMPV(t)
	s, _ := serve(t, testVideo(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := Launch(ctx, s.URL+"/v.mp4", Options{Headless: true, Title: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	if sess.Kind() != MPV {
		t.Fatalf("kind = %s", sess.Kind())
	}
	res, err := sess.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.EOF {
		t.Errorf("not played to the end: %+v", res)
	}
	if res.Duration < 3900*time.Millisecond || res.Duration > 4200*time.Millisecond {
		t.Errorf("duration = %v, want ~4s", res.Duration)
	}
	if res.Position < 3*time.Second {
		t.Errorf("last position = %v, want near the end", res.Position)
	}
}

func TestMPVStartPauseSeek(t *testing.T) {
	needMPV(t)
	s, ranges := serve(t, testVideo(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := Launch(ctx, s.URL+"/v.mp4", Options{Headless: true, Start: 1500 * time.Millisecond, Extra: []string{"--pause"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	// Paused at the start position.
	waitFor(t, func() bool { return sess.Position() >= 1400*time.Millisecond })
	// mpv reports time-pos and pause as separate events, in no fixed order.
	deadline := time.Now().Add(5 * time.Second)
	for !sess.Paused() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !sess.Paused() {
		t.Error("--pause: not paused")
	}
	if err := sess.Seek(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		p, err := sess.CurrentPosition(ctx)
		return err == nil && p >= 2900*time.Millisecond && p < 3500*time.Millisecond
	})
	if ranges.Load() == 0 {
		t.Error("mpv made no Range request: the seek did not reach the server")
	}
	if err := sess.Pause(ctx, false); err != nil {
		t.Fatal(err)
	}
	res, err := sess.Wait(ctx)
	if err != nil || !res.EOF {
		t.Fatalf("after resume: %+v, %v", res, err)
	}
	// Commands after exit fail cleanly rather than hang.
	if err := sess.Pause(ctx, true); err == nil {
		t.Error("pause after exit succeeded")
	}
}

func TestMPVCloseStopsPlayback(t *testing.T) {
	needMPV(t)
	s, _ := serve(t, testVideo(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := Launch(ctx, s.URL+"/v.mp4", Options{Headless: true, Extra: []string{"--pause"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sess.Duration() > 0 })
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sess.Done():
	default:
		t.Fatal("Close returned before mpv exited")
	}
	res, _ := sess.Wait(ctx)
	if res.EOF {
		t.Error("closed early but reported EOF")
	}
}

func TestMPVUnplayableStream(t *testing.T) {
	needMPV(t)
	s := httptest.NewServer(http.NotFoundHandler())
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := Launch(ctx, s.URL+"/missing.mp4", Options{Headless: true})
	if err != nil {
		// mpv may exit before its socket is up: that is a clear error too.
		if !strings.Contains(err.Error(), "mpv") {
			t.Fatalf("unclear error: %v", err)
		}
		return
	}
	res, err := sess.Wait(ctx)
	if err == nil || res.EOF {
		t.Fatalf("404 stream: res %+v, err %v", res, err)
	}
}

func TestFallbackOrder(t *testing.T) {
	has := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, h := range names {
				if h == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	cases := []struct {
		have []string
		pref Kind
		want Kind
	}{
		{[]string{"mpv", "vlc", "xdg-open", "open", "rundll32"}, "", MPV},
		{[]string{"vlc", "xdg-open", "open", "rundll32"}, "", VLC},
		{[]string{"cvlc"}, "", VLC},
		{[]string{"xdg-open", "open", "rundll32"}, "", OSDefault},
		{[]string{"mpv", "vlc"}, VLC, VLC},
	}
	for _, c := range cases {
		k, _, err := Available(Options{Prefer: c.pref, lookPath: has(c.have...)})
		if err != nil || k != c.want {
			t.Errorf("have %v prefer %q: got %s, %v; want %s", c.have, c.pref, k, err, c.want)
		}
	}
	if _, _, err := Available(Options{lookPath: has()}); !errors.Is(err, ErrNoPlayer) {
		t.Errorf("nothing installed: %v", err)
	}
}

func TestSocketDirRemoved(t *testing.T) {
	needMPV(t)
	s, _ := serve(t, testVideo(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := Launch(ctx, s.URL+"/v.mp4", Options{Headless: true, Extra: []string{"--pause"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := sess.dir
	sess.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("IPC dir %s left behind: %v", dir, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
