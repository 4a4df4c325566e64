//go:build linux

package swarmbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

// The environment that runs the benchmark and sizes it.
const (
	envBench   = "FOURMI_SWARM_BENCH"   // "1": run
	envBin     = "FOURMI_BIN"           // the built fourmi binary
	envInside  = "FOURMI_SWARM_NETNS"   // set in the re-executed test inside the namespace
	envViewers = "FOURMI_SWARM_N"       // viewer counts, default "2,8,16"
	envMB      = "FOURMI_SWARM_MB"      // video size in MB, default 100
	envLogs    = "FOURMI_SWARM_LOGS"    // keep every process's stderr in this directory
	envVerbose = "FOURMI_SWARM_VERBOSE" // "1": run the processes with --verbose
)

const (
	webSeedPrefix = "/static/web-videos/"
	trackerPrefix = "/tracker/"
	torrentPrefix = "/lazy-static/torrents/"
	mib           = 1 << 20
	seedFor       = "2m"
	runTimeout    = 4 * time.Minute // one N, one mode
)

// TestSwarmBench is make bench-swarm (see BENCHMARKS.md). It re-executes
// itself in a private network namespace, where the real binary runs with
// every peer source on (trackers, PEX, DHT) and still reaches nothing but
// loopback: --loopback-only would turn the trackers off and with them any
// chance for viewers to meet.
func TestSwarmBench(t *testing.T) {
	if os.Getenv(envBench) != "1" {
		t.Skip("the swarm benchmark runs with make bench-swarm (FOURMI_SWARM_BENCH=1)")
	}
	bin := os.Getenv(envBin)
	if bin == "" {
		t.Fatal("FOURMI_BIN (the built fourmi binary) is not set: run make bench-swarm")
	}
	if os.Getenv(envInside) == "" {
		reexecIsolated(t)
		return
	}
	if err := LoopbackUp(); err != nil {
		t.Fatal(err)
	}
	ns, err := viewerCounts(os.Getenv(envViewers))
	if err != nil {
		t.Fatal(err)
	}
	mb := 100
	if v := os.Getenv(envMB); v != "" {
		if mb, err = strconv.Atoi(v); err != nil || mb < 4 || mb > 1000 {
			t.Fatalf("%s=%q: want a size in MB from 4 to 1000", envMB, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 14*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := t.TempDir()

	start := time.Now()
	video := filepath.Join(dir, "swarm.mp4")
	makeVideo(ctx, t, video, mb)
	t.Logf("video: %d MB generated in %s", mb, time.Since(start).Round(time.Millisecond))

	o := newOrigin(t, bin, filepath.Join(dir, "origin"), log)
	defer o.close()
	file := o.publish(ctx, t, video)
	t.Logf("origin: %s serves %s (%d bytes) through the counting proxy %s", o.listen, file.Torrent, file.Size, o.publicURL)

	for _, n := range ns {
		base := o.run(ctx, t, bin, n, false, file)
		p2p := o.run(ctx, t, bin, n, true, file)
		report(t, n, file.Size, base, p2p)
	}
	t.Logf("swarm benchmark done in %s", time.Since(start).Round(time.Second))
}

// reexecIsolated runs this test again in a new user and network namespace
// and passes its output through.
func reexecIsolated(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSwarmBench$", "-test.v", "-test.count=1", "-test.timeout=15m")
	cmd.Env = append(os.Environ(), envInside+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = IsolatedAttr()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("the benchmark inside the network namespace failed (%v)", err)
		}
		t.Fatalf("cannot start the benchmark in a private network namespace (%v): it needs unprivileged user namespaces "+
			"(sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0); "+
			"without one, viewers would need --loopback-only, which turns trackers off, so no P2P could be measured", err)
	}
}

func viewerCounts(s string) ([]int, error) {
	if s == "" {
		s = "2,8,16"
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 64 {
			return nil, fmt.Errorf("%s=%q: want viewer counts from 1 to 64, e.g. 2,8,16", envViewers, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// makeVideo encodes a web-playable H.264 MP4 (faststart, constant
// bitrate, 80 s at 10 fps: cheap to encode) of about mb megabytes, so
// publishing keeps it as is.
func makeVideo(ctx context.Context, t *testing.T, path string, mb int) {
	const seconds = 80
	kbps := mb * 8000 / seconds
	rate := fmt.Sprintf("%dk", kbps)
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=10", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", fmt.Sprintf("%dk", kbps/5),
		"-x264-params", "nal-hrd=cbr", "-movflags", "+faststart", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// publishedFile is the part of `fourmi publish --json` the benchmark uses.
type publishedFile struct {
	Size     int64  `json:"size"`
	InfoHash string `json:"infoHash"`
	Magnet   string `json:"magnet"`
	WebSeed  string `json:"webSeed"`
	Torrent  string `json:"-"` // the .torrent's URL on the instance
}

// origin is `fourmi serve` on a data dir, behind the counting proxy whose
// address is the instance's public URL (so web seeds, torrent URLs and
// trackers in the torrents all point at the proxy).
type origin struct {
	bin, dir, listen, publicURL string
	logs                        string // where the processes' stderr goes
	proxy                       *CountingProxy
	srv                         *http.Server
	log                         *slog.Logger
}

func newOrigin(t *testing.T, bin, dir string, log *slog.Logger) *origin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{bin: bin, dir: dir, listen: freeAddr(t), publicURL: "http://" + ln.Addr().String(), log: log,
		logs: filepath.Dir(dir)}
	if d := os.Getenv(envLogs); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		o.logs = d
	}
	o.proxy = NewCountingProxy(&url.URL{Scheme: "http", Host: o.listen}, log, webSeedPrefix, trackerPrefix, torrentPrefix)
	o.srv = &http.Server{Handler: o.proxy, ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(ln)
	return o
}

func (o *origin) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o.srv.Shutdown(ctx)
}

// freeAddr is a free loopback TCP address (nothing else runs in the
// namespace, so it stays free).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts `fourmi serve` and returns once it says it is serving.
func (o *origin) serve(ctx context.Context, t *testing.T, logName string) *exec.Cmd {
	cmd := exec.Command(o.bin, "--data", o.dir, "serve", "--listen", o.listen,
		"--public-url", o.publicURL, "--allow-private-networks")
	if os.Getenv(envVerbose) == "1" {
		cmd.Args = slices.Insert(cmd.Args, 1, "--verbose")
	}
	stderr, err := os.Create(filepath.Join(o.logs, logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnCleanup(t, cmd)
	serving := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), "Serving ") {
				ok = true
				serving <- true
			}
		}
		if !ok {
			serving <- false
		}
	}()
	select {
	case ok := <-serving:
		if !ok {
			cmd.Wait()
			t.Fatalf("fourmi serve exited without serving:\n%s", tail(stderr.Name()))
		}
	case <-time.After(60 * time.Second):
		stop(cmd)
		t.Fatal("fourmi serve did not start within 60 s")
	case <-ctx.Done():
		stop(cmd)
		t.Fatal(ctx.Err())
	}
	return cmd
}

// publish saves the hosting configuration (a first serve: publish reads
// the public URL from it, for the web seed and the trackers), then
// publishes the video while the origin is stopped (one process per data
// dir).
func (o *origin) publish(ctx context.Context, t *testing.T, video string) publishedFile {
	stop(o.serve(ctx, t, "origin-configure.log"))
	cmd := exec.CommandContext(ctx, o.bin, "--data", o.dir, "--loopback-only", "publish",
		"--title", "Swarm benchmark video", "--json", "--quiet", video)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fourmi publish: %v\n%s", err, stderr.String())
	}
	var res struct {
		Files []struct {
			publishedFile
			TorrentPath string `json:"torrent"`
		} `json:"files"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Files) != 1 {
		t.Fatalf("fourmi publish --json: want one file, got %s (%v)", out, err)
	}
	f := res.Files[0].publishedFile
	if !strings.HasPrefix(f.WebSeed, o.publicURL+webSeedPrefix) || !strings.Contains(f.Magnet, url.QueryEscape(o.publicURL+"/tracker/announce")) {
		t.Fatalf("the published torrent does not point at the proxy %s: web seed %q, magnet %q", o.publicURL, f.WebSeed, f.Magnet)
	}
	f.Torrent = o.publicURL + torrentPrefix + filepath.Base(res.Files[0].TorrentPath)
	return f
}

// uploaded is the origin's BitTorrent upload total for the video, as its
// library saved it (read while serve is stopped).
func (o *origin) uploaded(ctx context.Context, t *testing.T, infoHash string) int64 {
	lib, err := library.Open(ctx, library.Options{Dir: o.dir, DefaultInstances: []string{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("opening the origin's library: %v", err)
	}
	defer lib.Close()
	tr, err := lib.TransferByHash(ctx, infoHash)
	if err != nil {
		t.Fatalf("the origin's transfer of the video: %v", err)
	}
	return tr.Stats.Uploaded
}

// runResult is one run: N viewers, with or without peers.
type runResult struct {
	n                        int
	webSeed, torrents, other int64 // bytes the proxy sent
	originBT                 int64 // bytes the origin uploaded over BitTorrent
	firstAny, firstHead      []time.Duration
	complete                 []time.Duration
	fromWebSeed, fromPeers   int64         // as the viewers reported them
	spread                   time.Duration // first to last viewer start
	announces                int64         // tracker requests through the proxy
}

// viewer is one `fourmi get` process.
type viewer struct {
	dir       string
	cmd       *exec.Cmd
	started   time.Time
	stderr    *os.File
	file      string // its copy of the video, once found
	firstAny  time.Duration
	firstHead time.Duration
	done      chan time.Duration // completion (the path on stdout)
	complete  time.Duration
}

// run starts the origin, N viewers within a fraction of a second, waits for
// every viewer to complete, stops everything and measures. Without p2p the
// proxy refuses the tracker: viewers know no peer (no DHT bootstrap, PEX
// needs a first peer) and download from the web seed alone.
func (o *origin) run(ctx context.Context, t *testing.T, bin string, n int, p2p bool, f publishedFile) runResult {
	mode := map[bool]string{false: "nop2p", true: "p2p"}[p2p]
	before := o.uploaded(ctx, t, f.InfoHash)
	if p2p {
		o.proxy.Block()
	} else {
		o.proxy.Block(trackerPrefix)
	}
	srv := o.serve(ctx, t, fmt.Sprintf("origin-n%d-%s.log", n, mode))
	o.proxy.Reset()
	runDir := filepath.Join(filepath.Dir(o.dir), fmt.Sprintf("n%d-%s", n, mode))

	vs := make([]*viewer, n)
	for i := range vs {
		v := &viewer{dir: filepath.Join(runDir, fmt.Sprintf("viewer%02d", i)), done: make(chan time.Duration, 1)}
		if err := os.MkdirAll(v.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		vs[i] = v
	}
	for _, v := range vs {
		v.start(t, bin, f.Torrent, filepath.Join(o.logs, fmt.Sprintf("n%d-%s-%s.log", n, mode, filepath.Base(v.dir))))
	}
	res := runResult{n: n, spread: vs[n-1].started.Sub(vs[0].started)}

	// Poll the viewers' files for their first MiB, and wait for all to
	// complete.
	name := filepath.Base(f.WebSeed)
	deadline := time.After(runTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	remaining := n
	failed := ""
	for remaining > 0 && failed == "" {
		select {
		case <-tick.C:
			for _, v := range vs {
				v.probe(f.InfoHash, name)
			}
		case <-deadline:
			failed = fmt.Sprintf("%d of %d viewers did not complete within %s", remaining, n, runTimeout)
		case <-ctx.Done():
			failed = ctx.Err().Error()
		}
		for _, v := range vs {
			select {
			case d, ok := <-v.done:
				if !ok {
					failed = fmt.Sprintf("viewer %s exited before completing:\n%s", v.dir, tail(v.stderr.Name()))
					v.done = nil
					continue
				}
				v.complete = d
				v.done = nil
				remaining--
				v.probe(f.InfoHash, name)
			default:
			}
		}
	}
	tick.Stop()
	for _, v := range vs {
		stop(v.cmd)
		v.stderr.Close()
	}
	stop(srv)
	if failed != "" {
		t.Fatalf("N=%d %s: %s", n, mode, failed)
	}

	c := o.proxy.Counts()
	res.webSeed, res.torrents = c[webSeedPrefix].Bytes, c[torrentPrefix].Bytes
	res.other = c[""].Bytes + c[trackerPrefix].Bytes
	res.announces = c[trackerPrefix].Requests
	res.originBT = o.uploaded(ctx, t, f.InfoHash) - before
	for _, v := range vs {
		res.firstAny = append(res.firstAny, v.firstAny)
		res.firstHead = append(res.firstHead, v.firstHead)
		res.complete = append(res.complete, v.complete)
		log, err := os.ReadFile(v.stderr.Name())
		if err != nil {
			t.Fatal(err)
		}
		ws, ps, ok := ParseGetSources(string(log))
		if !ok {
			t.Fatalf("viewer %s did not report where its bytes came from:\n%s", v.dir, tail(v.stderr.Name()))
		}
		res.fromWebSeed += ws
		res.fromPeers += ps
		if v.firstAny == 0 || v.firstHead == 0 {
			t.Fatalf("viewer %s completed but its file was never seen on disk", v.dir)
		}
	}
	t.Logf("N=%d %s: starts spread %s; proxy sent web seed %d B, torrents %d B, other %d B (%d tracker requests); origin BitTorrent upload %d B; "+
		"viewers got %d B from the web seed, %d B from peers", n, mode, res.spread.Round(time.Millisecond), res.webSeed,
		res.torrents, res.other, res.announces, res.originBT, res.fromWebSeed, res.fromPeers)
	if err := os.RemoveAll(runDir); err != nil {
		t.Fatal(err)
	}
	return res
}

func (v *viewer) start(t *testing.T, bin, torrent, logPath string) {
	v.cmd = exec.Command(bin, "--data", v.dir, "get", "--seed-for", seedFor, "--quiet", torrent)
	if os.Getenv(envVerbose) == "1" {
		v.cmd.Args = slices.Insert(v.cmd.Args, 1, "--verbose")
	}
	var err error
	if v.stderr, err = os.Create(logPath); err != nil {
		t.Fatal(err)
	}
	v.cmd.Stderr = v.stderr
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	v.started = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnCleanup(t, v.cmd)
	done := v.done
	go func() {
		// get prints the file's path on stdout once every piece is verified.
		sc := bufio.NewScanner(out)
		if sc.Scan() && sc.Text() != "" {
			done <- time.Since(v.started)
		}
		io.Copy(io.Discard, out)
		close(done)
	}()
}

// probe records when the viewer's file first holds a MiB anywhere, and a
// MiB at its start.
func (v *viewer) probe(infoHash, name string) {
	if v.firstAny != 0 && v.firstHead != 0 {
		return
	}
	now := time.Since(v.started)
	if v.file == "" {
		filepath.WalkDir(v.dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == name && filepath.Base(filepath.Dir(p)) == infoHash {
				v.file = p
				return fs.SkipAll
			}
			return nil
		})
		if v.file == "" {
			return
		}
	}
	if v.firstAny == 0 {
		if n, err := Allocated(v.file); err == nil && n >= mib {
			v.firstAny = now
		}
	}
	if v.firstHead == 0 {
		if n, err := HeadData(v.file); err == nil && n >= mib {
			v.firstHead = now
		}
	}
}

// tail is the end of a log file, for failure messages (the temporary
// directory goes away with the test).
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b[max(0, len(b)-3000):])
}

// killOnCleanup kills cmd when the test ends if nothing stopped it (a
// failure midway), so no viewer or origin outlives the benchmark.
func killOnCleanup(t *testing.T, cmd *exec.Cmd) {
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
}

// stop ends a process as Ctrl+C would (SIGTERM, then SIGKILL after 30 s)
// and waits for it.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// report prints one BENCH line per figure for N viewers.
func report(t *testing.T, n int, size int64, base, p2p runResult) {
	copies := func(r runResult) float64 { return float64(r.webSeed+r.originBT) / float64(size) }
	ratio := func(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	s := func(d time.Duration) float64 { return d.Seconds() }
	line := func(name string, v float64, unit string) { fmt.Printf("BENCH %s-n%d %.2f %s\n", name, n, v, unit) }

	line("swarm-egress-copies", copies(p2p), "copies")
	line("swarm-egress-webseed-copies", float64(p2p.webSeed)/float64(size), "copies")
	line("swarm-egress-btseed-copies", float64(p2p.originBT)/float64(size), "copies")
	line("swarm-egress-copies-nop2p", copies(base), "copies")
	line("swarm-from-peers-copies", float64(p2p.fromPeers)/float64(size), "copies")
	line("swarm-first-mib", ratio(Median(p2p.firstHead), Median(base.firstHead)), "x-vs-nop2p")
	line("swarm-first-mib-worst", ratio(Max(p2p.firstHead), Max(base.firstHead)), "x-vs-nop2p")
	line("swarm-first-mib-p50", ms(Median(p2p.firstHead)), "ms")
	line("swarm-first-mib-p50-nop2p", ms(Median(base.firstHead)), "ms")
	line("swarm-first-mib-any-p50", ms(Median(p2p.firstAny)), "ms")
	line("swarm-first-mib-any-p50-nop2p", ms(Median(base.firstAny)), "ms")
	line("swarm-complete-p50", s(Median(p2p.complete)), "s")
	line("swarm-complete-max", s(Max(p2p.complete)), "s")
	line("swarm-complete-p50-nop2p", s(Median(base.complete)), "s")
	line("swarm-complete-max-nop2p", s(Max(base.complete)), "s")
	t.Logf("N=%d first MiB at the file's start (ms), p2p %v, nop2p %v; complete (s), p2p %v, nop2p %v",
		n, msList(p2p.firstHead), msList(base.firstHead), sList(p2p.complete), sList(base.complete))
}

func msList(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Milliseconds()
	}
	return out
}

func sList(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
	}
	return out
}
