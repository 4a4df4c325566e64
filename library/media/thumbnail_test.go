package media

import (
	"bytes"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestThumbnails(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	blackStart := filepath.Join(dir, "black-start.mp4")
	ff(t, "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=1.2",
		"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1.8",
		"-filter_complex", "[0][1]concat=n=2:v=1:a=0", "-c:v", "libx264", "-preset", "ultrafast", blackStart)
	cases := []struct {
		name       string
		path       string
		candidates int // frames tried; 0: not checked
	}{
		{"h264 mp4", genMP4(t, dir, "a.mp4", 320, 240, 2), 1},
		// 10% falls in the black second: the frame there is rejected.
		{"black first second", blackStart, 2},
		{"vp9 webm", genWebM(t, dir), 1},
		{"vertical", genMP4(t, dir, "v.mp4", 360, 640, 2), 1},
		{"odd size", genOdd(t, dir), 1},
		{"rotated", genRotated(t, dir), 1},
		{"audio only", genAudio(t, dir, "a.m4a", "-c:a", "aac"), 0},
		{"fixture video_short.mp4", fixture(t, "video_short.mp4"), 0},
		{"fixture video_short.webm", fixture(t, "video_short.webm"), 0},
		{"fixture video_short_0p.mp4", fixture(t, "video_short_0p.mp4"), 0},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := Probe(ctx, c.path)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			var logs bytes.Buffer
			tool := Tool{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			thumb, preview, err := tool.Thumbnails(ctx, c.path, info, out)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(logs.String(), "thumbnail candidate"); c.candidates > 0 && n != c.candidates {
				t.Errorf("%d candidate frames tried, want %d:\n%s", n, c.candidates, logs.String())
			}
			if thumb != filepath.Join(out, ThumbnailName) || preview != filepath.Join(out, PreviewName) {
				t.Errorf("paths %s %s", thumb, preview)
			}
			for _, img := range []struct {
				path string
				w, h int
			}{{thumb, 280, 157}, {preview, 850, 480}} {
				w, h, luma := jpegStats(t, img.path)
				if w != img.w || h != img.h {
					t.Errorf("%s is %dx%d, want %dx%d", filepath.Base(img.path), w, h, img.w, img.h)
				}
				if luma < minLuma {
					t.Errorf("%s is black: mean luma %.1f", filepath.Base(img.path), luma)
				}
				t.Logf("%s: mean luma %.1f", filepath.Base(img.path), luma)
			}
			if got := dirEntries(t, out); !slices.Equal(got, []string{PreviewName, ThumbnailName}) {
				t.Errorf("output dir holds %v, want only the two images", got)
			}
		})
	}
}

// Cover art of an audio file becomes its images (a red cover stays red).
func TestThumbnailsCoverArt(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	mp3 := genAudio(t, dir, "plain.mp3", "-c:a", "libmp3lame")
	cover := filepath.Join(dir, "cover.png")
	ff(t, "-f", "lavfi", "-i", "color=c=red:s=300x300", "-frames:v", "1", cover)
	withCover := filepath.Join(dir, "cover.mp3")
	ff(t, "-i", mp3, "-i", cover, "-map", "0", "-map", "1", "-c", "copy", "-disposition:v", "attached_pic", withCover)
	ctx := testCtx(t)
	info, err := Probe(ctx, withCover)
	if err != nil {
		t.Fatal(err)
	}
	_, preview, err := Thumbnails(ctx, withCover, info, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(preview)
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != PreviewWidth || img.Bounds().Dy() != PreviewHeight {
		t.Fatalf("preview %v", img.Bounds())
	}
	r, g, bl, _ := img.At(PreviewWidth/2, PreviewHeight/2).RGBA()
	if r>>8 < 200 || g>>8 > 60 || bl>>8 > 60 {
		t.Fatalf("preview centre is rgb(%d,%d,%d), want the red cover", r>>8, g>>8, bl>>8)
	}
}

// A video track far shorter than the audio (a slideshow that stops) is
// neither a lie about the duration nor a reason to have no thumbnail: every
// seek position lands after the last frame, so the first frames are used.
func TestShortVideoTrackLongAudio(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "short-video.mp4")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=0.4", "-f", "lavfi", "-i", "sine=d=6",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", p)
	ctx := testCtx(t)
	info, err := Probe(ctx, p)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if info.Duration < 5*time.Second {
		t.Fatalf("duration %v, want the audio's 6 s", info.Duration)
	}
	var logs bytes.Buffer
	tool := Tool{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	thumb, _, err := tool.Thumbnails(ctx, p, info, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "thumbnail candidate failed"); n != 4 {
		t.Errorf("%d failed candidates, want 4 (all past the video's end):\n%s", n, logs.String())
	}
	if w, h, luma := jpegStats(t, thumb); w != ThumbnailWidth || h != ThumbnailHeight || luma < minLuma {
		t.Fatalf("thumbnail %dx%d luma %.1f", w, h, luma)
	}
}

// A video black from end to end still gets images (the brightest
// candidate); nothing fails.
func TestThumbnailsAllBlack(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "black.mp4")
	ff(t, "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=2", "-c:v", "libx264", "-preset", "ultrafast", p)
	ctx := testCtx(t)
	info, err := Probe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	thumb, _, err := Thumbnails(ctx, p, info, dir)
	if err != nil {
		t.Fatal(err)
	}
	if w, h, _ := jpegStats(t, thumb); w != ThumbnailWidth || h != ThumbnailHeight {
		t.Fatalf("thumbnail %dx%d", w, h)
	}
}

// Failures leave nothing behind and keep older images.
func TestThumbnailsFailureLeavesNothing(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	src := genMP4(t, dir, "a.mp4", 320, 240, 1)
	ctx := testCtx(t)
	info, err := Probe(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, _, err := Thumbnails(ctx, src, info, out); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(out, ThumbnailName))
	// The source vanishes between probe and thumbnails.
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Thumbnails(ctx, src, info, out); err == nil {
		t.Fatal("Thumbnails of a removed file succeeded")
	} else {
		t.Logf("error: %v", err)
	}
	if got := dirEntries(t, out); !slices.Equal(got, []string{PreviewName, ThumbnailName}) {
		t.Errorf("output dir holds %v", got)
	}
	if now, _ := os.ReadFile(filepath.Join(out, ThumbnailName)); !bytes.Equal(old, now) {
		t.Error("the previous thumbnail was changed")
	}
	if _, _, err := Thumbnails(ctx, src, info, filepath.Join(out, "missing")); err == nil {
		t.Error("Thumbnails into a missing directory succeeded")
	}
}

func TestCoverSize(t *testing.T) {
	for _, c := range []struct {
		aspect       float64
		w, h, sw, sh int
	}{
		{16.0 / 9, 850, 480, 854, 480},
		{4.0 / 3, 280, 157, 280, 210},
		{9.0 / 16, 850, 480, 850, 1512},
		{853.0 / 479, 280, 157, 280, 158},
	} {
		if sw, sh := coverSize(c.aspect, c.w, c.h); sw != c.sw || sh != c.sh || sw < c.w || sh < c.h {
			t.Errorf("coverSize(%.3f, %d, %d) = %d×%d, want %d×%d", c.aspect, c.w, c.h, sw, sh, c.sw, c.sh)
		}
	}
}
