package peer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Benchmarks compare Fourmi with plain HTTP from the same loopback server,
// in one run, and report the ratio (see the goals). Run with
// -benchtime=Nx; each iteration measures both sides.

type throttledServer struct {
	*seedServer
	limiter *rate.Limiter // shared by every response: the server's uplink
}

// newThrottledServer serves data at bytesPerSec in total (0: unthrottled).
func newThrottledServer(b *testing.B, data []byte, bytesPerSec int) *throttledServer {
	s := &throttledServer{seedServer: newSeedServer(b, "bench.mp4", data)}
	if bytesPerSec > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(bytesPerSec), 32<<10)
		inner := s.Server.Config.Handler
		s.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(&throttledWriter{w, r, s.limiter}, r)
		})
	}
	return s
}

type throttledWriter struct {
	http.ResponseWriter
	r *http.Request
	l *rate.Limiter
}

func (w *throttledWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), w.l.Burst())
		if err := w.l.WaitN(w.r.Context(), k); err != nil {
			return n, err
		}
		m, err := w.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// timeToBytes GETs u (with an optional Range) and returns how long until n
// bytes of the body were read.
func timeToBytes(b *testing.B, u, rangeHdr string, n int64) time.Duration {
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if got, err := io.CopyN(io.Discard, resp.Body, n); err != nil {
		b.Fatalf("read %d of %d bytes: %v", got, n, err)
	}
	return time.Since(start)
}

func benchEngine(b *testing.B) *Engine {
	return newEngine(b, b.TempDir(), func(c *Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.TickInterval = time.Second // as in real use
		c.StreamGrace = 0            // the default, 2 s
	})
}

func reportRatio(b *testing.B, fourmi, http time.Duration, label string) {
	n := float64(b.N)
	b.ReportMetric(float64(fourmi.Milliseconds())/n, "fourmi-ms")
	b.ReportMetric(float64(http.Milliseconds())/n, "http-ms")
	b.ReportMetric(fourmi.Seconds()/http.Seconds(), label)
	b.ReportMetric(0, "ns/op")
}

// Time to the first MiB of a stream (add the torrent, get the stream URL,
// read 1 MiB) against a plain GET of the same file. Goal ≤ 1.3×. On raw
// loopback the fixed cost of adding a torrent dominates; the throttled case
// (8 MiB/s, a decent home connection to an instance) is the realistic one.
func BenchmarkTimeToFirstMiB(b *testing.B) {
	for _, c := range []struct {
		name string
		bps  int
	}{{"loopback", 0}, {"8MiBps", 8 << 20}} {
		b.Run(c.name, func(b *testing.B) { benchFirstMiB(b, c.bps) })
	}
}

func benchFirstMiB(b *testing.B, bps int) {
	path, data := randomFile(b, b.TempDir(), "bench.mp4", 16<<20)
	srv := newThrottledServer(b, data, bps)
	tb, ih := makeTorrent(b, path, PieceLengthFor(int64(len(data))), srv.fileURL())
	e := benchEngine(b)
	var fourmi, plain time.Duration
	for range b.N {
		plain += timeToBytes(b, srv.fileURL(), "", 1<<20)
		start := time.Now()
		if _, err := e.AddTorrent(tb); err != nil {
			b.Fatal(err)
		}
		u, err := e.StreamURL(ih, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		timeToBytes(b, u, "", 1<<20)
		fourmi += time.Since(start)
		if err := e.Remove(ih, true); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, fourmi, plain, "x-http")
}

// TestBenchReport prints peer's figures for make bench (FOURMI_BENCH=1),
// each measured against plain HTTP from the same server in the same run.
func TestBenchReport(t *testing.T) {
	if os.Getenv("FOURMI_BENCH") != "1" {
		t.Skip("set FOURMI_BENCH=1 to run the benchmark report")
	}
	// First, while the process is fresh: its RSS is the figure.
	r := testing.Benchmark(BenchmarkIdleSeeding200)
	fmt.Printf("BENCH idle-seeding-200-cpu %.2f %%-of-a-core\n", r.Extra["%cpu"])
	fmt.Printf("BENCH idle-seeding-200-rss %.1f MiB\n", r.Extra["rss-MiB"])
	r = testing.Benchmark(func(b *testing.B) { benchFirstMiB(b, 8<<20) })
	fmt.Printf("BENCH stream-first-mib-8MiBps %.2f x-vs-http\n", r.Extra["x-http"])
	fmt.Printf("BENCH stream-first-mib-8MiBps-time %.0f ms\n", r.Extra["fourmi-ms"])
	r = testing.Benchmark(func(b *testing.B) { benchFirstMiB(b, 0) })
	fmt.Printf("BENCH stream-first-mib-loopback %.2f x-vs-http\n", r.Extra["x-http"])
	r = testing.Benchmark(BenchmarkSeekTimeToFirstByte)
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps %.2f x-vs-http-range\n", r.Extra["x-http"])
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps-time %.0f ms\n", r.Extra["fourmi-ms"])
	r = testing.Benchmark(BenchmarkPeerThroughput)
	fmt.Printf("BENCH p2p-throughput-loopback %.2f x-vs-http\n", r.Extra["throughput-vs-http"])
}

// Time to the first byte after a seek to 50 % (the player first reads the
// start), against an HTTP Range request, the server throttled to 2 MiB/s.
// Goal ≤ 1.5×.
func BenchmarkSeekTimeToFirstByte(b *testing.B) {
	path, data := randomFile(b, b.TempDir(), "bench.mp4", 32<<20)
	srv := newThrottledServer(b, data, 2<<20)
	tb, ih := makeTorrent(b, path, PieceLengthFor(int64(len(data))), srv.fileURL())
	e := benchEngine(b)
	half := len(data) / 2
	rangeHdr := "bytes=" + strconv.Itoa(half) + "-"
	var fourmi, plain time.Duration
	for range b.N {
		plain += timeToBytes(b, srv.fileURL(), rangeHdr, 1)
		if _, err := e.AddTorrent(tb); err != nil {
			b.Fatal(err)
		}
		u, err := e.StreamURL(ih, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		timeToBytes(b, u, "", 256<<10) // playing from the start
		fourmi += timeToBytes(b, u, rangeHdr, 1)
		if err := e.Remove(ih, true); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, fourmi, plain, "x-http")
}

// Peer-to-peer download of a 32 MiB file between two engines on loopback
// against a plain HTTP download of it to disk. Goal: throughput ≥ 0.7× HTTP,
// i.e. time ≤ 1.43×.
func BenchmarkPeerThroughput(b *testing.B) {
	dir := b.TempDir()
	path, data := randomFile(b, dir, "bench.mp4", 32<<20)
	srv := newThrottledServer(b, data, 0)
	tb, ih := makeTorrent(b, path, PieceLengthFor(int64(len(data))))
	seeder := benchEngine(b)
	if _, err := seeder.SeedFile(context.Background(), tb, path); err != nil {
		b.Fatal(err)
	}
	if err := seeder.WaitComplete(waitCtx(b), ih); err != nil {
		b.Fatal(err)
	}
	leecher := benchEngine(b)
	var fourmi, plain time.Duration
	for i := range b.N {
		start := time.Now()
		resp, err := http.Get(srv.fileURL())
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("http-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		f.Close()
		plain += time.Since(start)

		start = time.Now()
		if _, err := leecher.AddTorrent(tb); err != nil {
			b.Fatal(err)
		}
		if err := leecher.AddPeers(ih, seeder.ListenAddr()); err != nil {
			b.Fatal(err)
		}
		if err := leecher.WaitComplete(waitCtx(b), ih); err != nil {
			b.Fatal(err)
		}
		fourmi += time.Since(start)
		if err := leecher.Remove(ih, true); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, fourmi, plain, "x-http-time")
	b.ReportMetric(plain.Seconds()/fourmi.Seconds(), "throughput-vs-http")
}

// 200 torrents seeding, idle: resident memory and CPU. Goals: < 200 MB RSS,
// < 2 % of a core.
func BenchmarkIdleSeeding200(b *testing.B) {
	dir := b.TempDir()
	e := benchEngine(b)
	var last InfoHash
	for i := range 200 {
		path, _ := randomFile(b, dir, fmt.Sprintf("v%03d.mp4", i), 64<<10)
		tb, _ := makeTorrent(b, path, 16<<10)
		ih, err := e.SeedFile(context.Background(), tb, path)
		if err != nil {
			b.Fatal(err)
		}
		last = ih
	}
	for _, ih := range e.Torrents() {
		if err := e.WaitComplete(waitCtx(b), ih); err != nil {
			b.Fatal(err)
		}
	}
	_ = last
	const idle = 5 * time.Second
	var cpu time.Duration
	for range b.N {
		before := cpuTime()
		time.Sleep(idle)
		cpu += cpuTime() - before
	}
	b.ReportMetric(100*cpu.Seconds()/(idle.Seconds()*float64(b.N)), "%cpu")
	b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
	b.ReportMetric(0, "ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssBytes() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
