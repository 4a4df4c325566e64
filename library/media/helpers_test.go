package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testCtx bounds every test's ffmpeg work.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func requireFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
}

// ff runs ffmpeg with args to make a test input; it fails the test on error.
func ff(t testing.TB, args ...string) {
	t.Helper()
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	out, err := exec.Command("ffmpeg", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// Generated inputs. All tiny: a couple of seconds, at most 640 px.

func genMP4(t testing.TB, dir, name string, w, h int, secs float64, extra ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	args := []string{
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=%dx%d:r=25:d=%g", w, h, secs),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=f=440:d=%g", secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
	}
	args = append(args, extra...)
	ff(t, append(args, p)...)
	return p
}

func genWebM(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "vp9.webm")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2", "-f", "lavfi", "-i", "sine=f=330:d=2",
		"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k",
		"-c:a", "libopus", "-b:a", "48k", p)
	return p
}

// genMKV is H.264/AAC in Matroska: codecs the web plays, in a container it does not.
func genMKV(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "h264.mkv")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-f", "lavfi", "-i", "sine=f=550:d=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", p)
	return p
}

// genOdd is 853×479: H.264 4:4:4 in Matroska (4:2:0 cannot have odd sizes).
func genOdd(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "odd.mkv")
	ff(t, "-f", "lavfi", "-i", "testsrc2=s=854x480:r=25:d=2", "-f", "lavfi", "-i", "sine=d=2",
		"-vf", "scale=853:479,setsar=1,format=yuv444p", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libvorbis", p)
	return p
}

// genRotated is a 320×240 MP4 whose display matrix turns it a quarter.
func genRotated(t testing.TB, dir string) string {
	t.Helper()
	plain := genMP4(t, dir, "unrotated.mp4", 320, 240, 2)
	p := filepath.Join(dir, "rotated.mp4")
	// ffmpeg 5.1 writes the display matrix from the rotate tag on stream copy.
	ff(t, "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", "-movflags", "+faststart", p)
	return p
}

func genAudio(t testing.TB, dir, name string, codec ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	args := append([]string{"-f", "lavfi", "-i", "sine=f=440:d=2"}, codec...)
	ff(t, append(args, p)...)
	return p
}

// fixture returns a PeerTube test fixture, found from the repository root
// (the directory holding go.mod) as ../shared/fixtures/...
func fixture(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "fixtures", "peertube", "packages", "tests", "fixtures", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v (the shared/ checkout must sit beside the repository)", name, err)
	}
	return p
}

// moovBeforeMdat walks the top-level boxes of an MP4 file independently of
// the package's own reader and reports whether moov precedes mdat.
func moovBeforeMdat(t testing.TB, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	moov, mdat := -1, -1
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if size == 1 && off+16 <= len(b) {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if typ == "moov" && moov < 0 {
			moov = off
		}
		if typ == "mdat" && mdat < 0 {
			mdat = off
		}
		if size < 8 {
			break
		}
		off += size
	}
	if moov < 0 || mdat < 0 {
		t.Fatalf("%s: moov at %d, mdat at %d: not a complete MP4", path, moov, mdat)
	}
	return moov < mdat
}

// jpegStats decodes a JPEG and returns its size and mean luma (0–255).
func jpegStats(t testing.TB, path string) (w, h int, luma float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("%s is not a JPEG (starts % x)", path, b[:min(len(b), 4)])
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	r := img.Bounds()
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sum += (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
		}
	}
	return r.Dx(), r.Dy(), sum / float64(r.Dx()*r.Dy())
}

// dirEntries lists names in dir (to prove nothing was left behind).
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
