package peer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// Benchmarks compare Fourmi with plain HTTP from the same loopback server,
// in one run, and report the ratio (see the goals). Each round
// measures both sides back to back; the figure is the median of the rounds'
// ratios, so one round disturbed by the machine's other work does not decide
// it. Run with -benchtime=Nx for N rounds.

type throttledServer struct {
	*seedServer
	limiter *rate.Limiter // shared by every response: the server's uplink
}

// newThrottledServer serves data at bytesPerSec in total (0: unthrottled).
func newThrottledServer(b testing.TB, data []byte, bytesPerSec int) *throttledServer {
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
func timeToBytes(b testing.TB, u, rangeHdr string, n int64) time.Duration {
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

func benchEngine(b testing.TB) *Engine {
	return newEngine(b, b.TempDir(), func(c *Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.TickInterval = time.Second // as in real use
		c.StreamGrace = 0            // the default, 2 s
	})
}

// rounds holds per-round times of both sides of a comparison.
type rounds struct{ fourmi, plain []time.Duration }

func (r *rounds) add(fourmi, plain time.Duration) {
	r.fourmi = append(r.fourmi, fourmi)
	r.plain = append(r.plain, plain)
}

// ratio is the median over rounds of fourmi/plain.
func (r *rounds) ratio() float64 {
	q := make([]float64, len(r.fourmi))
	for i := range q {
		q[i] = r.fourmi[i].Seconds() / r.plain[i].Seconds()
	}
	return median(q)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func medianMs(d []time.Duration) float64 {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x) / float64(time.Millisecond)
	}
	return median(v)
}

func reportRatio(b *testing.B, r *rounds, label string) {
	b.ReportMetric(medianMs(r.fourmi), "fourmi-ms")
	b.ReportMetric(medianMs(r.plain), "http-ms")
	b.ReportMetric(r.ratio(), label)
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
	r := measureFirstMiB(b, bps, b.N)
	reportRatio(b, r, "x-http")
}

func measureFirstMiB(t testing.TB, bps, n int) *rounds {
	path, data := randomFile(t, t.TempDir(), "bench.mp4", 16<<20)
	srv := newThrottledServer(t, data, bps)
	tb, ih := makeTorrent(t, path, PieceLengthFor(int64(len(data))), srv.fileURL())
	e := benchEngine(t)
	r := &rounds{}
	for range n {
		plain := timeToBytes(t, srv.fileURL(), "", 1<<20)
		time.Sleep(50 * time.Millisecond) // the server's bucket refills: both sides start alike
		start := time.Now()
		if _, err := e.AddTorrent(tb); err != nil {
			t.Fatal(err)
		}
		u, err := e.StreamURL(ih, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		timeToBytes(t, u, "", 1<<20)
		r.add(time.Since(start), plain)
		if err := e.Remove(ih, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

// TestBenchReport prints peer's figures for make bench (FOURMI_BENCH=1),
// each measured against plain HTTP from the same server in the same run,
// as the median of benchRounds rounds.
func TestBenchReport(t *testing.T) {
	if os.Getenv("FOURMI_BENCH") != "1" {
		t.Skip("set FOURMI_BENCH=1 to run the benchmark report")
	}
	// First, while the process is fresh: its RSS is the figure.
	cpu, rss := measureIdleSeeding(t, 200, 5)
	fmt.Printf("BENCH idle-seeding-200-cpu %.2f %%-of-a-core\n", cpu)
	fmt.Printf("BENCH idle-seeding-200-rss %.1f MiB\n", rss)
	r := measureFirstMiB(t, 8<<20, benchRounds)
	fmt.Printf("BENCH stream-first-mib-8MiBps %.2f x-vs-http\n", r.ratio())
	fmt.Printf("BENCH stream-first-mib-8MiBps-time %.0f ms\n", medianMs(r.fourmi))
	r = measureFirstMiB(t, 0, benchRounds)
	fmt.Printf("BENCH stream-first-mib-loopback %.2f x-vs-http\n", r.ratio())
	warm, cold := measureSeek(t, benchRounds)
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps %.2f x-vs-http-range\n", warm.ratio())
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps-time %.0f ms\n", medianMs(warm.fourmi))
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps-http-time %.0f ms\n", medianMs(warm.plain))
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps-vs-idle-server %.2f x-vs-http-range\n", cold.ratio())
	r = measureSeekDuringDownload(t, benchRounds)
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps-during-download %.2f x-vs-http-range\n", r.ratio())
	fmt.Printf("BENCH stream-seek-first-byte-2MiBps-during-download-time %.0f ms\n", medianMs(r.fourmi))
	r = measurePeerThroughput(t, benchRounds)
	fmt.Printf("BENCH p2p-throughput-loopback %.2f x-vs-http\n", 1/r.ratio())
	fmt.Printf("BENCH p2p-throughput-loopback-time %.0f ms\n", medianMs(r.fourmi))
	fmt.Printf("BENCH p2p-throughput-loopback-http-time %.0f ms\n", medianMs(r.plain))
	r = measureBareAnacrolixThroughput(t, benchRounds)
	fmt.Printf("BENCH p2p-throughput-loopback-bare-anacrolix %.2f x-vs-http\n", 1/r.ratio())
	reportSwarm(t)
}

const benchRounds = 7

// Time to the first byte after a seek to 50 % (the player first reads the
// start), against an HTTP Range request, the server throttled to 2 MiB/s.
// Goal ≤ 1.5×.
func BenchmarkSeekTimeToFirstByte(b *testing.B) {
	warm, cold := measureSeek(b, b.N)
	reportRatio(b, warm, "x-http")
	b.ReportMetric(cold.ratio(), "x-http-idle-server")
}

// measureSeek plays the same scenario over plain HTTP and over a Fourmi
// stream: read 256 KiB from the start, close, then a Range request at 50 %
// (what a player does to seek), timed to its first byte. The server's
// 2 MiB/s is spent on the first read in both cases, so the Range request
// waits for it to refill either way (warm). cold times the plain Range
// request alone, on an idle server, for comparison.
func measureSeek(t testing.TB, n int) (warm, cold *rounds) {
	path, data := randomFile(t, t.TempDir(), "bench.mp4", 32<<20)
	srv := newThrottledServer(t, data, 2<<20)
	tb, ih := makeTorrent(t, path, PieceLengthFor(int64(len(data))), srv.fileURL())
	e := benchEngine(t)
	half := len(data) / 2
	rangeHdr := "bytes=" + strconv.Itoa(half) + "-"
	warm, cold = &rounds{}, &rounds{}
	settle := func() { time.Sleep(100 * time.Millisecond) } // the server idles between scenarios
	for range n {
		settle()
		idle := timeToBytes(t, srv.fileURL(), rangeHdr, 1)
		settle()
		timeToBytes(t, srv.fileURL(), "", 256<<10) // playing from the start
		plain := timeToBytes(t, srv.fileURL(), rangeHdr, 1)
		settle()
		if _, err := e.AddTorrent(tb); err != nil {
			t.Fatal(err)
		}
		u, err := e.StreamURL(ih, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		timeToBytes(t, u, "", 256<<10) // playing from the start
		fourmi := timeToBytes(t, u, rangeHdr, 1)
		warm.add(fourmi, plain)
		cold.add(fourmi, idle)
		if err := e.Remove(ih, true); err != nil {
			t.Fatal(err)
		}
	}
	return warm, cold
}

// measureSeekDuringDownload is measureSeek once the torrent's background
// download (anacrolix's sequential 2 MiB web seed requests, several at a
// time) is under way: the player's first read and its seek must not share
// the server's 2 MiB/s with it.
func measureSeekDuringDownload(t testing.TB, n int) *rounds {
	path, data := randomFile(t, t.TempDir(), "bench.mp4", 32<<20)
	srv := newThrottledServer(t, data, 2<<20)
	tb, ih := makeTorrent(t, path, PieceLengthFor(int64(len(data))), srv.fileURL())
	e := newEngine(t, t.TempDir(), func(c *Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.TickInterval = time.Second
		c.StreamGrace = -1 // the background download starts at once
	})
	half := len(data) / 2
	rangeHdr := "bytes=" + strconv.Itoa(half) + "-"
	r := &rounds{}
	for range n {
		time.Sleep(100 * time.Millisecond)
		timeToBytes(t, srv.fileURL(), "", 256<<10)
		plain := timeToBytes(t, srv.fileURL(), rangeHdr, 1)
		if _, err := e.AddTorrent(tb); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(testTimeout)
		for { // the background download under way
			if _, inflight, _, _ := srv.snapshot(); inflight >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		u, err := e.StreamURL(ih, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		timeToBytes(t, u, "", 256<<10)
		r.add(timeToBytes(t, u, rangeHdr, 1), plain)
		if err := e.Remove(ih, true); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Peer-to-peer download of a 32 MiB file between two engines on loopback
// against a plain HTTP download of it to disk. Goal: throughput ≥ 0.7× HTTP,
// i.e. time ≤ 1.43×.
func BenchmarkPeerThroughput(b *testing.B) {
	r := measurePeerThroughput(b, b.N)
	reportRatio(b, r, "x-http-time")
	b.ReportMetric(1/r.ratio(), "throughput-vs-http")
}

func measurePeerThroughput(t testing.TB, n int) *rounds {
	dir := t.TempDir()
	path, data := randomFile(t, dir, "bench.mp4", 32<<20)
	srv := newThrottledServer(t, data, 0)
	tb, ih := makeTorrent(t, path, PieceLengthFor(int64(len(data))))
	seeder := benchEngine(t)
	if _, err := seeder.SeedFile(context.Background(), tb, path); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	leecher := benchEngine(t)
	r := &rounds{}
	for i := range n {
		start := time.Now()
		resp, err := http.Get(srv.fileURL())
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("http-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f.Close()
		plain := time.Since(start)
		os.Remove(f.Name())

		start = time.Now()
		if _, err := leecher.AddTorrent(tb); err != nil {
			t.Fatal(err)
		}
		if err := leecher.AddPeers(ih, seeder.ListenAddr()); err != nil {
			t.Fatal(err)
		}
		if err := leecher.WaitComplete(waitCtx(t), ih); err != nil {
			t.Fatal(err)
		}
		r.add(time.Since(start), plain)
		if err := leecher.Remove(ih, true); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// measureBareAnacrolixThroughput is measurePeerThroughput with two plain
// anacrolix/torrent clients (its defaults, loopback only, piece completion
// in memory: none of Fourmi's code): the ceiling the library sets on
// loopback.
func measureBareAnacrolixThroughput(t testing.TB, n int) *rounds {
	dir := t.TempDir()
	path, data := randomFile(t, dir, "bench.mp4", 32<<20)
	srv := newThrottledServer(t, data, 0)
	tb, _ := makeTorrent(t, path, PieceLengthFor(int64(len(data))))
	mi, err := metainfo.Load(bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	client := func(dataDir string) *torrent.Client {
		c := torrent.NewDefaultClientConfig()
		c.Slogger = slog.New(slog.DiscardHandler)
		c.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
			ClientBaseDir: dataDir, PieceCompletion: storage.NewMapPieceCompletion()})
		c.SetListenAddr("127.0.0.1:0")
		c.NoDHT, c.DisablePEX, c.NoDefaultPortForwarding, c.DisableUTP = true, true, true, true
		c.DisableWebtorrent, c.DisableTrackers, c.DisableIPv6 = true, true, true
		c.Seed = true
		cl, err := torrent.NewClient(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	seedDir := filepath.Join(dir, "seed")
	if err := os.MkdirAll(seedDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seedDir, "bench.mp4"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	seeder := client(seedDir)
	st, err := seeder.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.VerifyDataContext(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	r := &rounds{}
	for range n {
		start := time.Now()
		resp, err := http.Get(srv.fileURL())
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, "http"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f.Close()
		plain := time.Since(start)

		leecher := client(t.TempDir())
		start = time.Now()
		lt, err := leecher.AddTorrent(mi)
		if err != nil {
			t.Fatal(err)
		}
		lt.DownloadAll()
		lt.AddPeers([]torrent.PeerInfo{{Addr: seeder.ListenAddrs()[0]}})
		select {
		case <-lt.Complete().On():
		case <-waitCtx(t).Done():
			t.Fatal("bare anacrolix download timed out")
		}
		r.add(time.Since(start), plain)
		leecher.Close()
	}
	return r
}

// 200 torrents seeding, idle: resident memory and CPU. Goals: < 200 MB RSS,
// < 2 % of a core.
func BenchmarkIdleSeeding200(b *testing.B) {
	cpu, rss := measureIdleSeeding(b, 200, max(b.N, 1))
	b.ReportMetric(cpu, "%cpu")
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(0, "ns/op")
}

// measureIdleSeeding adds n small torrents with SeedFile, waits until they
// are verified and recorded (the work of adding them, done once), then
// measures the process's CPU over windows of idle seeding: the median
// window, in % of a core, and the RSS after.
func measureIdleSeeding(t testing.TB, n, windows int) (cpuPercent, rssMiB float64) {
	dir := t.TempDir()
	e := benchEngine(t)
	for i := range n {
		path, _ := randomFile(t, dir, fmt.Sprintf("v%03d.mp4", i), 64<<10)
		tb, _ := makeTorrent(t, path, 16<<10)
		if _, err := e.SeedFile(context.Background(), tb, path); err != nil {
			t.Fatal(err)
		}
	}
	for _, ih := range e.Torrents() {
		if err := e.WaitComplete(waitCtx(t), ih); err != nil {
			t.Fatal(err)
		}
	}
	// Verified pieces are recorded at the next tick; then the engine goes
	// quiet after quietTicks more.
	time.Sleep(time.Duration(quietTicks+2) * time.Second)
	const window = 3 * time.Second
	var pct []float64
	for range windows {
		before := cpuTime()
		time.Sleep(window)
		pct = append(pct, 100*(cpuTime()-before).Seconds()/window.Seconds())
	}
	return median(pct), float64(rssBytes()) / (1 << 20)
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
