package media

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkOutput probes an encoded file and asserts what every output must be.
func checkOutput(t *testing.T, path string, src Info, wantW, wantH int, wantAudio bool) Info {
	t.Helper()
	info, err := Probe(testCtx(t), path)
	if err != nil {
		t.Fatalf("probe output: %v", err)
	}
	if !info.IsMP4() {
		t.Errorf("container %q brand %q, want MP4", info.Container, info.Brand)
	}
	if !moovBeforeMdat(t, path) {
		t.Error("moov after mdat: no faststart")
	}
	if d := info.Duration - src.Duration; d < -250*time.Millisecond || d > 250*time.Millisecond {
		t.Errorf("duration %v, source %v", info.Duration, src.Duration)
	}
	if wantAudio != (info.Audio != nil) || info.Audio != nil && info.Audio.Codec != "aac" {
		t.Errorf("audio %+v, want AAC: %v", info.Audio, wantAudio)
	}
	if wantW == 0 {
		if info.Video != nil {
			t.Errorf("video %+v in an audio-only output", info.Video)
		}
		return info
	}
	v := info.Video
	if v == nil {
		t.Fatal("no video in output")
	}
	if v.Codec != "h264" || v.PixFmt != "yuv420p" {
		t.Errorf("video %s %s, want h264 yuv420p", v.Codec, v.PixFmt)
	}
	w, h := v.DisplaySize()
	if w != wantW || h != wantH || v.Width%2 != 0 || v.Height%2 != 0 {
		t.Errorf("output %dx%d (coded %dx%d, rotation %d), want %dx%d", w, h, v.Width, v.Height, v.Rotation, wantW, wantH)
	}
	if !WebPlayable(info) {
		t.Errorf("output is not web playable: %+v %+v", info.Video, info.Audio)
	}
	return info
}

// progressLog records callbacks and checks their order.
type progressLog struct {
	mu    sync.Mutex
	calls []Progress
}

func (p *progressLog) add(pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, pr)
}

func (p *progressLog) check(t *testing.T) {
	t.Helper()
	if len(p.calls) < 2 {
		t.Fatalf("%d progress reports, want at least one from ffmpeg and the final one", len(p.calls))
	}
	last := p.calls[len(p.calls)-1]
	if !last.Done || last.Fraction != 1 || last.Size <= 0 {
		t.Errorf("last report %+v, want Done with fraction 1 and the size", last)
	}
	prev := 0.0
	for _, c := range p.calls {
		if c.Fraction < prev || c.Fraction > 1 {
			t.Errorf("fractions not monotonic in [0,1]: %+v", p.calls)
			break
		}
		prev = c.Fraction
	}
	// ffmpeg's own last block says how far it got.
	if ff := p.calls[len(p.calls)-2]; ff.Fraction < 0.9 || ff.OutTime <= 0 {
		t.Errorf("ffmpeg's last report %+v, want near the end", ff)
	}
}

func TestEncode(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	still := filepath.Join(dir, "still.jpg")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=850x480", "-frames:v", "1", still)
	fast := filepath.Join(dir, "120fps.mp4")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=160x120:r=120:d=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", fast)

	cases := []struct {
		name       string
		path       string
		resolution int
		remux      bool
		still      string
		w, h       int // expected display size (0: audio only)
		audio      bool
		maxFPS     float64 // expected output fps cap (0: not checked)
	}{
		{"h264 mp4 source size", genMP4(t, dir, "a.mp4", 320, 240, 2), 0, false, "", 320, 240, true, 0},
		{"h264 mp4 to 180p", genMP4(t, dir, "b.mp4", 320, 240, 2), 180, false, "", 240, 180, true, 0},
		{"no upscale", genMP4(t, dir, "c.mp4", 320, 240, 2), 720, false, "", 320, 240, true, 0},
		{"vp9 webm", genWebM(t, dir), 0, false, "", 320, 180, true, 0},
		{"mkv remux", genMKV(t, dir), 0, true, "", 320, 240, true, 0},
		{"vertical to 240p", genMP4(t, dir, "v.mp4", 360, 640, 2), 240, false, "", 240, 426, true, 0},
		{"odd 853x479 source size", genOdd(t, dir), 0, false, "", 852, 478, true, 0},
		{"odd 853x479 to 360p", genOdd(t, dir), 360, false, "", 642, 360, true, 0},
		{"rotated", genRotated(t, dir), 0, false, "", 240, 320, true, 0},
		{"rotated remux keeps rotation", genRotated(t, dir), 0, true, "", 240, 320, true, 0},
		{"120 fps capped", fast, 0, false, "", 160, 120, false, 60},
		{"audio m4a stays audio", genAudio(t, dir, "a.m4a", "-c:a", "aac"), 0, false, "", 0, 0, true, 0},
		{"audio mp3 stays audio", genAudio(t, dir, "a.mp3", "-c:a", "libmp3lame"), 0, false, "", 0, 0, true, 0},
		{"audio mp3 with still", genAudio(t, dir, "b.mp3", "-c:a", "libmp3lame"), 0, false, still, 850, 480, true, 0},
		{"audio with still at 360p", genAudio(t, dir, "c.m4a", "-c:a", "aac"), 360, false, still, 638, 360, true, 0},
		{"fixture webm to 360p", fixture(t, "video_short.webm"), 360, false, "", 682, 360, true, 0},
		{"fixture mp4 remux", fixture(t, "video_short.mp4"), 0, true, "", 1365, 720, true, 0},
		{"fixture fragmented to 240p", fixture(t, "video_short_720p.mp4"), 240, false, "", 454, 240, true, 0},
		{"fixture audio only", fixture(t, "video_short_0p.mp4"), 0, false, "", 0, 0, true, 0},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := Probe(ctx, c.path)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.mp4")
			var prog progressLog
			job := Job{Input: c.path, Info: src, Output: out, Resolution: c.resolution, Remux: c.remux,
				Still: c.still, Preset: "ultrafast"}
			if err := Encode(ctx, job, prog.add); err != nil {
				t.Fatal(err)
			}
			got := checkOutput(t, out, src, c.w, c.h, c.audio)
			prog.check(t)
			if c.w > 0 && c.still == "" && !c.remux {
				if w, h := OutputSize(src, c.resolution); w != c.w || h != c.h {
					t.Errorf("OutputSize = %dx%d, Encode made %dx%d", w, h, c.w, c.h)
				}
				if got.Video.Rotation != 0 {
					t.Errorf("output rotation %d: a transcode must be upright", got.Video.Rotation)
				}
			}
			if c.remux && src.Video != nil && got.Video.Rotation != src.Video.Rotation {
				t.Errorf("remux rotation %d, source %d", got.Video.Rotation, src.Video.Rotation)
			}
			if c.maxFPS > 0 && got.Video.FPS > c.maxFPS+0.01 {
				t.Errorf("fps %v, want ≤ %v", got.Video.FPS, c.maxFPS)
			}
			if names := dirEntries(t, filepath.Dir(out)); !slices.Equal(names, []string{"out.mp4"}) {
				t.Errorf("destination holds %v, want only out.mp4", names)
			}
		})
	}
}

// A longer clip, so that an encode is still running when we cancel it.
func genLong(t testing.TB, dir string, secs int) string {
	t.Helper()
	return genMP4(t, dir, "long.mp4", 320, 240, float64(secs))
}

func TestEncodeCancel(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	src := genLong(t, dir, 30)
	info, err := Probe(testCtx(t), src)
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.mp4")
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var reports int
	job := Job{Input: src, Info: info, Output: out, Preset: "slow", CRF: 18}
	err = Encode(ctx, job, func(p Progress) {
		reports++
		if p.OutTime > 0 {
			// ffmpeg is mid-way and its temporary file exists.
			if len(dirEntries(t, outDir)) != 1 {
				t.Errorf("no temporary file while encoding: %v", dirEntries(t, outDir))
			}
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Encode = %v, want context.Canceled", err)
	}
	t.Logf("error after %d reports: %v", reports, err)
	if names := dirEntries(t, outDir); len(names) != 0 {
		t.Fatalf("cancel left %v behind", names)
	}
}

// A deadline is honoured too, and an older output survives the failure.
func TestEncodeDeadlineKeepsOldOutput(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	src := genLong(t, dir, 30)
	info, err := Probe(testCtx(t), src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.mp4")
	if err := os.WriteFile(out, []byte("previous version"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	err = Encode(ctx, Job{Input: src, Info: info, Output: out, Preset: "veryslow", CRF: 10}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Encode = %v, want DeadlineExceeded", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous version" {
		t.Fatalf("the existing output was changed: %q", b)
	}
	if names := dirEntries(t, filepath.Dir(out)); !slices.Equal(names, []string{"out.mp4"}) {
		t.Fatalf("destination holds %v", names)
	}
}

// A disk that fills during the encode: ErrDiskFull, the temporary file
// removed, the destination as it was.
func TestEncodeDiskFull(t *testing.T) {
	requireFFmpeg(t)
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a 200 KiB tmpfs here (needs root/CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", small).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", small, err, out)
		}
	})
	// Noise does not compress: at CRF 10 two seconds weigh megabytes.
	src := filepath.Join(t.TempDir(), "noise.mp4")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-vf", "noise=alls=60:allf=t",
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", src)
	info, err := Probe(testCtx(t), src)
	if err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(small, "other.txt")
	if err := os.WriteFile(keep, []byte("the user's file"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(small, "out.mp4")
	err = Encode(testCtx(t), Job{Input: src, Info: info, Output: out, Preset: "ultrafast", CRF: 10}, nil)
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Encode = %v, want ErrDiskFull", err)
	}
	t.Logf("error: %v", err)
	if names := dirEntries(t, small); !slices.Equal(names, []string{"other.txt"}) {
		t.Fatalf("full disk holds %v, want only the user's file", names)
	}
	if free, ok := freeSpace(small); !ok || free < 150<<10 {
		t.Fatalf("space not given back: %d bytes free", free)
	}

	// Thumbnails on the full disk (filled by a ballast file) fail the same way.
	ballast, _ := os.Create(filepath.Join(small, "ballast"))
	buf := make([]byte, 4096)
	for {
		if _, err := ballast.Write(buf); err != nil {
			break
		}
	}
	ballast.Close()
	_, _, err = Thumbnails(testCtx(t), src, info, small)
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Thumbnails on a full disk = %v, want ErrDiskFull", err)
	}
	if names := dirEntries(t, small); !slices.Equal(names, []string{"ballast", "other.txt"}) {
		t.Fatalf("full disk holds %v", names)
	}
}

func TestEncodeBadJobs(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	webm := genWebM(t, dir)
	ctx := testCtx(t)
	info, err := Probe(ctx, webm)
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.mp4")
	// The input is replaced by text between probe and encode.
	text := filepath.Join(dir, "swapped.webm")
	if err := os.WriteFile(text, []byte("no longer a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, job := range map[string]Job{
		"no probe":          {Input: webm, Output: out},
		"no output":         {Input: webm, Info: info},
		"remux of vp9":      {Input: webm, Info: info, Output: out, Remux: true},
		"input removed":     {Input: filepath.Join(dir, "gone.webm"), Info: info, Output: out},
		"input now text":    {Input: text, Info: info, Output: out},
		"missing directory": {Input: webm, Info: info, Output: filepath.Join(outDir, "nope", "out.mp4")},
	} {
		t.Run(name, func(t *testing.T) {
			err := Encode(ctx, job, nil)
			if err == nil {
				t.Fatal("Encode succeeded")
			}
			if !strings.HasPrefix(err.Error(), "media: encode") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if errors.Is(err, ErrDiskFull) {
				t.Errorf("error %v claims a full disk", err)
			}
			t.Logf("error: %v", err)
			if names := dirEntries(t, outDir); len(names) != 0 {
				t.Fatalf("left %v behind", names)
			}
		})
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	tmp1, err := createTemp(dir, "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	tmp2, err := createTemp(dir, ThumbnailName)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"a.mp4", ".hidden", "x.fourmi-part"} {
		if err := os.WriteFile(filepath.Join(dir, keep), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := RemoveStale(dir)
	if err != nil || n != 2 {
		t.Fatalf("RemoveStale = %d, %v; want 2 removed", n, err)
	}
	for _, p := range []string{tmp1, tmp2} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there", p)
		}
	}
	if got := dirEntries(t, dir); !slices.Equal(got, []string{".hidden", "a.mp4", "x.fourmi-part"}) {
		t.Errorf("left %v", got)
	}
}

func TestReadProgress(t *testing.T) {
	stream := "frame=10\nfps=0.00\nout_time_us=N/A\nspeed=N/A\nprogress=continue\n" +
		"frame=50\nfps=49.5\ntotal_size=1048\nout_time_us=2000000\nspeed=2.5x\nprogress=continue\n" +
		"frame=100\nfps=50\ntotal_size=4096\nout_time_us=4000000\nspeed= 2.4x\nprogress=end\n"
	var got []Progress
	readProgress(strings.NewReader(stream), 4*time.Second, func(p Progress) { got = append(got, p) })
	if len(got) != 3 {
		t.Fatalf("%d reports: %+v", len(got), got)
	}
	if got[0].Fraction != 0 || got[0].Speed != 0 {
		t.Errorf("first %+v", got[0])
	}
	if got[1].Fraction != 0.5 || got[1].Speed != 2.5 || got[1].Size != 1048 || got[1].FPS != 49.5 {
		t.Errorf("second %+v", got[1])
	}
	if got[2].Fraction != 1 || got[2].OutTime != 4*time.Second || got[2].Speed != 2.4 {
		t.Errorf("third %+v", got[2])
	}
}
