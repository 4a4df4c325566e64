//go:build unix

package library

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/peer"
)

// TestPublishBenchReport prints the publishing figures as BENCH lines:
//
//   - torrent-hash-1GiB-vs-sha1sum: sha1sum's time over peer.CreateTorrent's
//     on the same 1 GiB file, page cache warm, medians of 3 (goal ≥ 0.9).
//   - publish-overhead: Publish → done (probe, thumbnails, encode, output
//     check, hashing, seeding) over the bare ffmpeg command for the same
//     encode, on a 20 s 720p input that must be transcoded, medians of 3
//     runs alternating (goal ≤ 1.1). The machine may be shared: the CPU
//     time (this process and its children: ffmpeg, ffprobe) is reported as
//     well, publish-overhead-cpu, which other load does not skew.
//
// Run with FOURMI_BENCH=1.
func TestPublishBenchReport(t *testing.T) {
	if os.Getenv("FOURMI_BENCH") != "1" {
		t.Skip("set FOURMI_BENCH=1 to run the benchmark report")
	}
	t.Run("hash", benchHash)
	t.Run("publish", benchPublishOverhead)
}

func benchHash(t *testing.T) {
	if _, err := exec.LookPath("sha1sum"); err != nil {
		t.Skip("sha1sum not installed")
	}
	const size = 1 << 30
	file := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Warm the page cache.
	if f, err = os.Open(file); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, f)
	f.Close()
	ctx := context.Background()
	const reps = 3
	var sums, creates []time.Duration
	for range reps {
		start := time.Now()
		if out, err := exec.Command("sha1sum", file).CombinedOutput(); err != nil {
			t.Fatalf("sha1sum: %v %s", err, out)
		}
		sums = append(sums, time.Since(start))
		start = time.Now()
		if _, err := peer.CreateTorrent(ctx, file, peer.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		creates = append(creates, time.Since(start))
	}
	s, c := medianDur(sums), medianDur(creates)
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	fmt.Printf("BENCH torrent-hash-1GiB-vs-sha1sum %.2f x\n", s.Seconds()/c.Seconds())
	fmt.Printf("BENCH torrent-hash-1GiB %.0f MB/s\n", mbps(c))
	fmt.Printf("BENCH sha1sum-1GiB %.0f MB/s\n", mbps(s))
}

func benchPublishOverhead(t *testing.T) {
	needFFmpeg(t)
	in := t.TempDir()
	// MPEG-4 part 2 + MP3 in Matroska: not web playable, so transcoded.
	src := ffgen(t, in, "bench720.mkv", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=20", "-f", "lavfi", "-i",
		"sine=frequency=440:d=20", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "libmp3lame", "-shortest")
	// What media.Encode runs for this job (libx264 veryfast CRF 23, AAC
	// 128 kb/s, faststart), without Fourmi around it.
	bareArgs := func(out string) []string {
		return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-nostats", "-progress", "pipe:1",
			"-i", "file:" + src, "-map", "0:0", "-vf", "scale=1280:720,setsar=1,format=yuv420p",
			"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-map", "0:1", "-c:a", "aac", "-b:a", "128000",
			"-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1", "-max_muxing_queue_size", "1024",
			"-movflags", "+faststart", "-f", "mp4", "file:" + out}
	}
	l := startPublishLib(t, Options{})
	ctx := context.Background()
	const reps = 3
	var bare, ours, bareCPU, oursCPU []time.Duration
	for i := range reps {
		out := filepath.Join(in, fmt.Sprintf("bare%d.mp4", i))
		cpu0 := cpuTime()
		start := time.Now()
		if b, err := exec.Command("ffmpeg", bareArgs(out)...).CombinedOutput(); err != nil {
			t.Fatalf("bare ffmpeg: %v %s", err, b)
		}
		bare = append(bare, time.Since(start))
		bareCPU = append(bareCPU, cpuTime()-cpu0)
		os.Remove(out)

		cpu0 = cpuTime()
		start = time.Now()
		v, err := publishWait(t, l, PublishRequest{File: src, Meta: testMeta(fmt.Sprintf("Bench %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, time.Since(start))
		oursCPU = append(oursCPU, cpuTime()-cpu0)
		if len(v.Files) != 1 || v.Files[0].Resolution != 720 {
			t.Fatalf("files %+v", v.Files)
		}
		if err := l.DeleteMyVideo(ctx, v.UUID); err != nil {
			t.Fatal(err)
		}
	}
	b, o := medianDur(bare), medianDur(ours)
	t.Logf("bare ffmpeg %v, Publish→done %v (medians of %d)", b, o, reps)
	fmt.Printf("BENCH publish-overhead %.3f x-vs-ffmpeg\n", o.Seconds()/b.Seconds())
	bc, oc := medianDur(bareCPU), medianDur(oursCPU)
	t.Logf("CPU: bare ffmpeg %v, Publish→done %v", bc, oc)
	fmt.Printf("BENCH publish-overhead-cpu %.3f x-vs-ffmpeg\n", oc.Seconds()/bc.Seconds())
}

// cpuTime is the user+system time of this process and its waited-for
// children so far.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

func medianDur(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
