package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	type want struct {
		container  string // substring of format_name
		video      string // codec; "" = no video
		w, h       int    // display size
		rotated    bool
		audio      string // codec; "" = none
		dur        time.Duration
		fastStart  bool
		fragmented bool
		playable   bool
	}
	cases := []struct {
		name string
		path string
		want want
	}{
		{"h264 mp4 faststart", genMP4(t, dir, "fast.mp4", 320, 240, 2, "-movflags", "+faststart"),
			want{"mp4", "h264", 320, 240, false, "aac", 2 * time.Second, true, false, true}},
		{"h264 mp4 moov at end", genMP4(t, dir, "slow.mp4", 320, 240, 2),
			want{"mp4", "h264", 320, 240, false, "aac", 2 * time.Second, false, false, false}},
		{"vp9 webm", genWebM(t, dir),
			want{"webm", "vp9", 320, 180, false, "opus", 2 * time.Second, false, false, false}},
		{"h264 mkv", genMKV(t, dir),
			want{"matroska", "h264", 320, 240, false, "aac", 2 * time.Second, false, false, false}},
		{"vertical", genMP4(t, dir, "vertical.mp4", 360, 640, 2, "-movflags", "+faststart"),
			want{"mp4", "h264", 360, 640, false, "aac", 2 * time.Second, true, false, true}},
		{"odd 853x479 yuv444p", genOdd(t, dir),
			want{"matroska", "h264", 853, 479, false, "vorbis", 2 * time.Second, false, false, false}},
		{"rotated 90", genRotated(t, dir),
			want{"mp4", "h264", 240, 320, true, "aac", 2 * time.Second, true, false, true}},
		{"audio m4a", genAudio(t, dir, "sine.m4a", "-c:a", "aac", "-movflags", "+faststart"),
			want{"mp4", "", 0, 0, false, "aac", 2 * time.Second, true, false, false}},
		{"audio mp3", genAudio(t, dir, "sine.mp3", "-c:a", "libmp3lame"),
			want{"mp3", "", 0, 0, false, "mp3", 2 * time.Second, false, false, false}},
		// PeerTube's fixtures. video_short.mp4 has non-square pixels (SAR 241:226)
		// and its moov after mdat: web codecs, but not playable before fully loaded.
		{"fixture video_short.mp4", fixture(t, "video_short.mp4"),
			want{"mp4", "h264", 1365, 720, false, "aac", 5 * time.Second, false, false, false}},
		{"fixture video_short.webm", fixture(t, "video_short.webm"),
			want{"webm", "vp8", 1365, 720, false, "vorbis", 5 * time.Second, false, false, false}},
		{"fixture video_short_720p.mp4 (fragmented)", fixture(t, "video_short_720p.mp4"),
			want{"mp4", "h264", 1365, 720, false, "aac", 5 * time.Second, true, true, true}},
		{"fixture video_short_0p.mp4 (audio only)", fixture(t, "video_short_0p.mp4"),
			want{"mp4", "", 0, 0, false, "aac", 5 * time.Second, false, false, false}},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := Probe(ctx, c.path)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			w := c.want
			if !strings.Contains(info.Container, w.container) {
				t.Errorf("container %q, want it to contain %q", info.Container, w.container)
			}
			if d := info.Duration - w.dur; d < -150*time.Millisecond || d > 150*time.Millisecond {
				t.Errorf("duration %v, want about %v", info.Duration, w.dur)
			}
			st, _ := os.Stat(c.path)
			if info.Size != st.Size() {
				t.Errorf("size %d, file has %d", info.Size, st.Size())
			}
			if want := float64(st.Size()*8) / info.Duration.Seconds(); math.Abs(float64(info.Bitrate)-want) > want*0.05 {
				t.Errorf("bitrate %d, want about %.0f", info.Bitrate, want)
			}
			if info.FastStart != w.fastStart || info.Fragmented != w.fragmented {
				t.Errorf("faststart %v fragmented %v, want %v %v", info.FastStart, info.Fragmented, w.fastStart, w.fragmented)
			}
			if got := WebPlayable(info); got != w.playable {
				t.Errorf("WebPlayable = %v, want %v (%+v %+v)", got, w.playable, info.Video, info.Audio)
			}
			if w.video == "" {
				if info.Video != nil {
					t.Errorf("video stream %+v, want none", info.Video)
				}
				if info.Resolution() != 0 {
					t.Errorf("resolution %d, want 0", info.Resolution())
				}
			} else {
				v := info.Video
				if v == nil {
					t.Fatal("no video stream")
				}
				if v.Codec != w.video {
					t.Errorf("video codec %q, want %q", v.Codec, w.video)
				}
				if dw, dh := v.DisplaySize(); dw != w.w || dh != w.h {
					t.Errorf("display %dx%d, want %dx%d (coded %dx%d, SAR %.3f, rotation %d)",
						dw, dh, w.w, w.h, v.Width, v.Height, v.SAR, v.Rotation)
				}
				if got := v.Rotation == 90 || v.Rotation == 270; got != w.rotated {
					t.Errorf("rotation %d, want quarter turn: %v", v.Rotation, w.rotated)
				}
				if v.FPS != 25 {
					t.Errorf("fps %v, want 25", v.FPS)
				}
				if v.PixFmt == "" {
					t.Error("no pixel format")
				}
				if info.Resolution() != min(w.w, w.h) {
					t.Errorf("resolution %d, want %d", info.Resolution(), min(w.w, w.h))
				}
			}
			if w.audio == "" && info.Audio != nil || w.audio != "" && (info.Audio == nil || info.Audio.Codec != w.audio) {
				t.Errorf("audio %+v, want %q", info.Audio, w.audio)
			}
		})
	}
}

func TestProbeCoverArtIsNotVideo(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	mp3 := genAudio(t, dir, "plain.mp3", "-c:a", "libmp3lame")
	cover := filepath.Join(dir, "cover.png")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=300x300", "-frames:v", "1", cover)
	withCover := filepath.Join(dir, "cover.mp3")
	ff(t, "-i", mp3, "-i", cover, "-map", "0", "-map", "1", "-c", "copy", "-disposition:v", "attached_pic", withCover)
	info, err := Probe(testCtx(t), withCover)
	if err != nil {
		t.Fatal(err)
	}
	if info.Video != nil || info.Audio == nil || info.Cover < 0 {
		t.Fatalf("video %+v audio %+v cover %d: want audio with a cover, no video", info.Video, info.Audio, info.Cover)
	}
}

// Bad input: each gets a typed error, and the file is left as it was.
func TestProbeBadInput(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	half := func(src, name string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, b[:len(b)/2])
	}
	png := filepath.Join(dir, "still.png")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", png)
	jpg := filepath.Join(dir, "still.jpg")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", jpg)

	cases := []struct {
		name string
		path string
		want error
	}{
		{"text file", write("notes.mp4", []byte("hello, this is not a video\nat all\n")), ErrNotMedia},
		{"zero-length", write("empty.mp4", nil), ErrNotMedia},
		{"random bytes", write("noise.mkv", bytes.Repeat([]byte{0x13, 0x37, 0xC0, 0xDE}, 4096)), ErrNotMedia},
		{"png still", png, ErrNotMedia},
		{"jpeg still", jpg, ErrNotMedia},
		{"truncated mp4, moov at end", half(genMP4(t, dir, "tail.mp4", 320, 240, 2), "tail-half.mp4"), ErrTruncated},
		{"truncated mp4, faststart", half(genMP4(t, dir, "head.mp4", 320, 240, 2, "-movflags", "+faststart"), "head-half.mp4"), ErrTruncated},
		{"truncated mkv", half(genMKV(t, dir), "half.mkv"), ErrTruncated},
		{"truncated webm fixture", half(fixture(t, "video_short.webm"), "fixture-half.webm"), ErrTruncated},
		{"mkv lying about its duration", lyingMKV(t, dir), ErrDurationMismatch},
		{"mp4 lying about its duration", lyingMP4(t, dir), ErrDurationMismatch},
		{"missing file", filepath.Join(dir, "gone.mp4"), fs.ErrNotExist},
		{"directory", dir, ErrNotMedia},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadFile(c.path)
			_, err := Probe(ctx, c.path)
			if !errors.Is(err, c.want) {
				t.Fatalf("Probe = %v, want %v", err, c.want)
			}
			t.Logf("error: %v", err)
			if after, _ := os.ReadFile(c.path); !bytes.Equal(before, after) {
				t.Error("Probe changed the file")
			}
		})
	}
}

// lyingMKV writes a Matroska file whose Segment Info claims 60 s for 2 s of
// content (its Duration float rewritten in place).
func lyingMKV(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(genMKV(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte{0x44, 0x89, 0x88}) // Duration, 8-byte float
	if i < 0 {
		t.Fatal("no Duration element in the generated MKV")
	}
	binary.BigEndian.PutUint64(b[i+3:], math.Float64bits(60000)) // ms
	p := filepath.Join(dir, "lying.mkv")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lyingMP4 writes a faststart MP4 whose movie header (mvhd) claims 30 times
// its real duration.
func lyingMP4(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(genMP4(t, dir, "honest.mp4", 320, 240, 2, "-movflags", "+faststart"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("mvhd"))
	if i < 0 || b[i+4] != 0 {
		t.Fatal("no version-0 mvhd in the generated MP4")
	}
	// type(4) version+flags(4) creation(4) modification(4) timescale(4) duration(4)
	d := binary.BigEndian.Uint32(b[i+20:])
	binary.BigEndian.PutUint32(b[i+20:], d*30)
	p := filepath.Join(dir, "lying.mp4")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbeLyingDurationReportsInfo(t *testing.T) {
	requireFFmpeg(t)
	info, err := Probe(testCtx(t), lyingMKV(t, t.TempDir()))
	if !errors.Is(err, ErrDurationMismatch) {
		t.Fatalf("err = %v", err)
	}
	if info.Duration < 59*time.Second || info.Video == nil {
		t.Fatalf("Info should still hold what the container claims: %+v", info)
	}
}

func TestProbeNoTool(t *testing.T) {
	tool := Tool{FFprobe: filepath.Join(t.TempDir(), "no-ffprobe")}
	p := filepath.Join(t.TempDir(), "x.mp4")
	if err := os.WriteFile(p, []byte("something"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tool.Probe(t.Context(), p); !errors.Is(err, ErrNoTool) {
		t.Fatalf("err = %v, want ErrNoTool", err)
	}
}

func TestParseHelpers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"30000/1001", 29.97}, {"25/1", 25}, {"0/0", 0}, {"241:226", 1.0664}, {"N/A", 0}, {"", 0}} {
		if got := parseRatio(c.in); math.Abs(got-c.want) > 1e-3 {
			t.Errorf("parseRatio(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	for in, want := range map[float64]int{0: 0, 90: 90, -90: 270, 180: 180, -180: 180, 270: 270, 89.6: 90, 360: 0} {
		if got := normRotation(in); got != want {
			t.Errorf("normRotation(%v) = %d, want %d", in, got, want)
		}
	}
}
