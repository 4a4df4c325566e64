package library

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needFFmpeg skips a test without ffmpeg/ffprobe.
func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps)", tool)
		}
	}
}

// ffgen runs ffmpeg to make a test input at dir/name.
func ffgen(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	full = append(full, out)
	if b, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, b)
	}
	return out
}

// Tiny generated inputs (1–2 s).
func genH264MP4(t testing.TB, dir string) string {
	return ffgen(t, dir, "h264.mp4", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=15:d=2", "-f", "lavfi", "-i",
		"sine=frequency=440:d=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
		"-b:a", "32k", "-movflags", "+faststart", "-shortest")
}

func genVP9WebM(t testing.TB, dir string) string {
	return ffgen(t, dir, "vp9.webm", "-f", "lavfi", "-i", "testsrc2=s=192x144:r=10:d=1", "-f", "lavfi", "-i",
		"sine=frequency=330:d=1", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k",
		"-c:a", "libopus", "-shortest")
}

func genMKV(t testing.TB, dir string) string {
	return ffgen(t, dir, "h264.mkv", "-f", "lavfi", "-i", "testsrc2=s=256x144:r=15:d=1", "-f", "lavfi", "-i",
		"sine=frequency=550:d=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
		"-shortest")
}

func genAudio(t testing.TB, dir string) string {
	return ffgen(t, dir, "audio.ogg", "-f", "lavfi", "-i", "sine=frequency=440:d=2", "-c:a", "libvorbis")
}

func genVertical(t testing.TB, dir string) string {
	return ffgen(t, dir, "vertical.mov", "-f", "lavfi", "-i", "testsrc2=s=144x256:r=15:d=1",
		"-c:v", "mpeg4", "-q:v", "5")
}

func genOdd(t testing.TB, dir string) string {
	return ffgen(t, dir, "odd.mkv", "-f", "lavfi", "-i", "testsrc2=s=853x479:r=10:d=1",
		"-c:v", "mpeg4", "-q:v", "8")
}

// publishOpts are test options with BitTorrent on loopback.
func publishOpts(dir string) Options {
	o := testOptions(dir)
	o.LoopbackOnly = true
	o.Now = time.Now
	return o
}

// startPublishLib opens and starts a library for publishing tests.
func startPublishLib(t testing.TB, opt Options) *Library {
	t.Helper()
	if opt.Dir == "" {
		opt = publishOpts(t.TempDir())
	}
	l := openTest(t, opt)
	if err := l.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return l
}

func testMeta(title string) Metadata {
	return Metadata{Title: title, Description: "A **test** video.", Tags: []string{"test", "fourmi"},
		Category: 15, Licence: 1, Language: "en"}
}

// publishWait publishes file and waits for the job to end.
func publishWait(t testing.TB, l *Library, req PublishRequest) (LocalVideo, error) {
	t.Helper()
	v, err := l.Publish(context.Background(), req)
	if err != nil {
		t.Fatalf("Publish(%s): %v", req.File, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return l.WaitPublished(ctx, v.UUID)
}

// dirNames lists a directory ("" entries when it does not exist).
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// strays are temporary files left anywhere under dir.
func strays(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".fourmi-part") || err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// ffmpegChildren are the ffmpeg processes this test binary started that
// still run (Linux only; nil elsewhere).
func ffmpegChildren() []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	me := os.Getpid()
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		comm := s[open+1 : close]
		f := strings.Fields(s[close+1:])
		if len(f) > 2 && comm == "ffmpeg" && f[1] == strconv.Itoa(me) && f[0] != "Z" {
			out = append(out, e.Name())
		}
	}
	return out
}

// publishedRows counts a video's catalog, transfer and local file rows.
func publishedRows(t testing.TB, l *Library, uuid string) (videos, transfers, files int) {
	t.Helper()
	ctx := context.Background()
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM videos WHERE uuid = ?", uuid).Scan(&videos); err != nil {
		t.Fatal(err)
	}
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM transfers WHERE video_uuid = ?", uuid).Scan(&transfers); err != nil {
		t.Fatal(err)
	}
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM local_files WHERE video_uuid = ?", uuid).Scan(&files); err != nil {
		t.Fatal(err)
	}
	return
}
