package peer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"

	"github.com/fourmi-app/fourmi/peer/tracker"
)

// The swarm (issue 7): one origin — a PeerTube-like instance serving the
// file as a web seed, running the tracker, and seeding the torrent over
// BitTorrent itself — and N viewers that start playing within 2 s of each
// other. The origin's egress is the web seed's body bytes plus its
// BitTorrent upload; without P2P every viewer pulls a whole copy from the
// web seed.

// swarmParams describes one swarm run.
type swarmParams struct {
	viewers   int
	size      int           // file bytes
	serverBps int           // the origin's web seed uplink (shared); 0 unthrottled
	originBps int64         // the origin engine's BitTorrent upload cap; 0 unlimited
	bitrate   int           // bytes/s each player reads at (after a first buffer)
	stagger   time.Duration // viewers start over this span
	p2p       bool          // false: web seed only (no tracker, no origin seed)
	logger    *slog.Logger
}

// swarmResult is what one run measured.
type swarmResult struct {
	egress    int64 // web seed body bytes + origin BitTorrent upload
	webSeed   int64
	originBT  int64
	viewersUp int64           // BitTorrent upload of the viewers (to each other)
	firstMiB  []time.Duration // per viewer, from its start to the first MiB read
	completed []time.Duration // per viewer, from its start to a complete, verified file
}

func (r swarmResult) copies(size int) float64 { return float64(r.egress) / float64(size) }

// runSwarm runs one swarm in t's temp dirs and returns its figures; it fails
// t if a viewer does not end with the exact file.
func runSwarm(t testing.TB, p swarmParams) swarmResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	path, data := randomFile(t, t.TempDir(), "swarm.mp4", p.size)
	web := newThrottledServer(t, data, p.serverBps)

	mi := metainfo.MetaInfo{UrlList: []string{web.fileURL()}}
	var ih InfoHash // set before anyone announces
	var originEngine atomic.Pointer[Engine]
	if p.p2p {
		tr, err := tracker.New(tracker.Config{
			Known: func(h [20]byte) bool { return h == ih },
			// As an instance's tracker does (library/host_run.go): the
			// origin's own seed is not handed out.
			Unlisted: func(id [20]byte) bool {
				e := originEngine.Load()
				if e == nil {
					return false
				}
				own, ok := e.PeerID()
				return ok && id == own
			},
			AllowLoopbackPeers: true,
			Logger:             p.logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		trSrv := httptest.NewServer(tr.Handler())
		defer trSrv.Close()
		if err := tr.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		mi.Announce = trSrv.URL + "/tracker/announce"
		mi.AnnounceList = [][]string{{mi.Announce}}
	}
	var tb []byte
	tb, ih = buildTorrent(t, path, PieceLengthFor(int64(p.size)), mi)

	config := func(c *Config) {
		c.Logger = p.logger
		c.Trackers = p.p2p
		c.SwarmPlanner = true
		c.TickInterval = time.Second // as in real use
		c.StreamGrace = 0            // the default, 2 s
	}
	var origin *Engine
	if p.p2p {
		origin = newEngine(t, t.TempDir(), config, func(c *Config) { c.UploadRate = p.originBps })
		originEngine.Store(origin)
		if _, err := origin.SeedFile(ctx, tb, path); err != nil {
			t.Fatal(err)
		}
		if err := origin.WaitComplete(ctx, ih); err != nil {
			t.Fatal(err)
		}
	}
	viewers := make([]*Engine, p.viewers)
	for i := range viewers {
		viewers[i] = newEngine(t, t.TempDir(), config)
	}

	if os.Getenv("FOURMI_SWARM_DEBUG") != "" {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
				line := ""
				for _, e := range viewers {
					if s, err := e.Stats(ih); err == nil {
						e.mu.Lock()
						h := e.torrents[ih]
						line += fmt.Sprintf(" %d/%d(w%d,p%d,%v)", s.PiecesComplete, s.NumPieces, h.want, s.Peers, h.plan.active)
						e.mu.Unlock()
					}
				}
				if origin != nil {
					if s, err := origin.Stats(ih); err == nil {
						line += fmt.Sprintf(" origin up %.1f MiB", mib(s.BytesUploaded))
					}
				}
				_, _, _, served := web.snapshot()
				t.Logf("progress:%s web %.1f MiB", line, mib(served))
			}
		}()
	}
	res := swarmResult{firstMiB: make([]time.Duration, p.viewers), completed: make([]time.Duration, p.viewers)}
	errs := make(chan error, p.viewers)
	var wg sync.WaitGroup
	for i, e := range viewers {
		delay := time.Duration(0)
		if p.viewers > 1 {
			delay = p.stagger * time.Duration(i) / time.Duration(p.viewers-1)
		}
		wg.Go(func() {
			time.Sleep(delay)
			first, done, err := watch(ctx, e, tb, ih, p.bitrate)
			res.firstMiB[i], res.completed[i] = first, done
			if err != nil {
				errs <- fmt.Errorf("viewer %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, e := range viewers {
		checkFile(t, e, ih, data)
		res.viewersUp += mustStats(t, e, ih).BytesUploaded
		if os.Getenv("FOURMI_SWARM_DEBUG") != "" {
			s := mustStats(t, e, ih)
			var ws int64
			for _, w := range s.WebSeeds {
				ws += w.BytesRead
			}
			e.mu.Lock()
			h := e.torrents[ih]
			direct, starts := h.direct.bytes.Load(), h.direct.starts.Load()
			e.mu.Unlock()
			t.Logf("viewer %d: from peers %.1f MiB, web seeds %.1f MiB (anacrolix %.1f, direct %.1f in %d requests), uploaded %.1f MiB",
				i, mib(s.BytesFromPeers), mib(s.BytesFromWebSeeds), mib(ws), mib(direct), starts, mib(s.BytesUploaded))
		}
	}
	_, _, _, res.webSeed = web.snapshot()
	if origin != nil {
		res.originBT = mustStats(t, origin, ih).BytesUploaded
	}
	res.egress = res.webSeed + res.originBT
	return res
}

// watch is one viewer: it adds the torrent, plays it from the start through
// the stream URL (as fast as it comes for the first MiB, then at bitrate),
// and waits for the whole file. It returns the times from its start to the
// first MiB and to completion.
func watch(ctx context.Context, e *Engine, tb []byte, ih InfoHash, bitrate int) (firstMiB, complete time.Duration, err error) {
	start := time.Now()
	if _, err := e.AddTorrent(tb); err != nil {
		return 0, 0, err
	}
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
		return 0, 0, fmt.Errorf("first MiB: %w", err)
	}
	firstMiB = time.Since(start)
	// The player's buffer is full: from now on it reads at the bitrate.
	l := rate.NewLimiter(rate.Limit(bitrate), 64<<10)
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if werr := l.WaitN(ctx, n); werr != nil {
				return firstMiB, 0, werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return firstMiB, 0, fmt.Errorf("playing: %w", err)
		}
	}
	resp.Body.Close()
	if err := e.WaitComplete(ctx, ih); err != nil {
		return firstMiB, 0, err
	}
	return firstMiB, time.Since(start), nil
}

// A small swarm: every viewer ends with the exact file, the viewers find
// each other through the tracker and share, and the origin sends less than
// one copy per viewer. (The figures are the benchmark's; on a loaded
// machine under -race the swarm is far less efficient than in real time.)
func TestSwarmSharesTheOriginsCopy(t *testing.T) {
	const viewers, size = 4, 8 << 20
	res := runSwarm(t, swarmParams{
		viewers: viewers, size: size, serverBps: 4 << 20, originBps: 4 << 20,
		bitrate: 2 << 20, stagger: time.Second, p2p: true, logger: testLogger(),
	})
	t.Logf("egress %.2f copies (web seed %d, origin BitTorrent %d), viewers uploaded %d, first MiB %v, complete %v",
		res.copies(size), res.webSeed, res.originBT, res.viewersUp, res.firstMiB, res.completed)
	if c := res.copies(size); c >= viewers {
		t.Errorf("origin egress %.2f copies for %d viewers: they do not share", c, viewers)
	}
	if res.viewersUp < size/2 {
		t.Errorf("the viewers uploaded %d bytes to each other, less than half a copy", res.viewersUp)
	}
}

// swarmBenchParams is the bench-swarm setup: 8 viewers of a 32 MiB video
// (FOURMI_SWARM_MIB overrides) from an instance with an 8 MiB/s uplink for
// its web seed and as much for its BitTorrent seed, players at 2 MiB/s.
func swarmBenchParams(p2p bool) swarmParams {
	size := 32 << 20
	if v, err := strconv.Atoi(os.Getenv("FOURMI_SWARM_MIB")); err == nil && v > 0 {
		size = v << 20
	}
	return swarmParams{
		viewers: 8, size: size, serverBps: 8 << 20, originBps: 8 << 20,
		bitrate: 2 << 20, stagger: 2 * time.Second, p2p: p2p,
		logger: slog.New(slog.DiscardHandler),
	}
}

// measureSwarm runs rounds of the P2P swarm and of the web-seed-only
// baseline and returns the median egress (in copies) and the median over
// rounds of (median first-MiB time with P2P ÷ that of the baseline).
func measureSwarm(t testing.TB, rounds int) (copies, firstRatio float64, detail string) {
	var cs, rs []float64
	for range rounds {
		base := runSwarm(t, swarmBenchParams(false))
		p := swarmBenchParams(true)
		res := runSwarm(t, p)
		cs = append(cs, res.copies(p.size))
		rs = append(rs, medianMs(res.firstMiB)/medianMs(base.firstMiB))
		detail += fmt.Sprintf("round: p2p egress %.2f copies (web seed %.2f, origin BT %.2f), first MiB median %.0f ms (max %.0f), complete median %.0f ms; "+
			"baseline egress %.2f copies, first MiB median %.0f ms (max %.0f), complete median %.0f ms\n",
			res.copies(p.size), float64(res.webSeed)/float64(p.size), float64(res.originBT)/float64(p.size),
			medianMs(res.firstMiB), maxMs(res.firstMiB), medianMs(res.completed),
			base.copies(p.size), medianMs(base.firstMiB), maxMs(base.firstMiB), medianMs(base.completed))
		if testing.Verbose() {
			detail += fmt.Sprintf("  p2p first MiB %v\n  p2p complete %v\n  baseline first MiB %v\n", res.firstMiB, res.completed, base.firstMiB)
		}
	}
	return median(cs), median(rs), detail
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func maxMs(d []time.Duration) float64 {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return float64(m) / float64(time.Millisecond)
}

// TestSwarmBench prints only the swarm figures (FOURMI_SWARM_BENCH=1;
// FOURMI_SWARM_ROUNDS rounds, default 3). TestBenchReport prints them too.
func TestSwarmBench(t *testing.T) {
	if os.Getenv("FOURMI_SWARM_BENCH") != "1" {
		t.Skip("set FOURMI_SWARM_BENCH=1 to run the swarm benchmark")
	}
	reportSwarm(t)
}

func reportSwarm(t *testing.T) {
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("FOURMI_SWARM_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	copies, ratio, detail := measureSwarm(t, rounds)
	fmt.Print(detail)
	fmt.Printf("BENCH peer-swarm-egress-copies-n8 %.2f copies\n", copies)
	fmt.Printf("BENCH peer-swarm-first-mib-n8 %.2f x-vs-webseed-only\n", ratio)
}

// With a peer that has every piece, the web seed waits: the instance is not
// asked for what the swarm can give (here the peer is slow, as an origin's
// uplink would be, so a web seed running alongside would serve half the
// file). The leecher still ends with the exact file.
func TestPeersBeforeWebSeed(t *testing.T) {
	const size, bps = 8 << 20, 2 << 20
	path, data := randomFile(t, t.TempDir(), "video.mp4", size)
	web := newThrottledServer(t, data, bps)
	tb, ih := makeTorrent(t, path, 32<<10, web.fileURL())
	seeder := newEngine(t, t.TempDir(), func(c *Config) { c.UploadRate = bps })
	if _, err := seeder.SeedFile(waitCtx(t), tb, path); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	leecher := newEngine(t, t.TempDir(), func(c *Config) { c.SwarmPlanner = true })
	if _, err := leecher.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := leecher.AddPeers(ih, seeder.ListenAddr()); err != nil {
		t.Fatal(err)
	}
	if err := leecher.WaitComplete(plannerCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	checkFile(t, leecher, ih, data)
	_, _, _, served := web.snapshot()
	s := mustStats(t, leecher, ih)
	t.Logf("web seed served %d bytes; leecher got %d from peers, %d from web seeds", served, s.BytesFromPeers, s.BytesFromWebSeeds)
	// The head (webHead) may come from the web seed when the peer is slow
	// to send it, as a player would need it; not much more.
	if served > size/4+webHead {
		t.Errorf("web seed served %d of %d bytes while a peer had them all", served, size)
	}
}

// plannerCtx bounds a planned download: longer than waitCtx, because after a
// stall the planner steps aside and anacrolix may have set the web seed
// aside for a minute (it does so after cancelled requests).
func plannerCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// With no player (fourmi get), the planner fetches the head of the file
// from the web seed at once, as a player starting would, instead of
// waiting StreamGrace for a player with nothing downloaded: here the grace
// outlasts the test, so anacrolix's own web seed requests never run, and
// the head still arrives — and nothing but the head.
func TestPlannerFetchesTheHeadWithoutAPlayer(t *testing.T) {
	const size, pieceLen = 4 << 20, 64 << 10
	path, data := randomFile(t, t.TempDir(), "video.mp4", size)
	web := newThrottledServer(t, data, 0)
	tb, ih := makeTorrent(t, path, pieceLen, web.fileURL())
	e := newEngine(t, t.TempDir(), func(c *Config) {
		c.SwarmPlanner = true
		c.StreamGrace = time.Hour
	})
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	head := webHead / pieceLen
	ctx := waitCtx(t)
	for {
		s := mustStats(t, e, ih)
		if s.PiecesComplete >= head {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the head never came: %d of %d pieces after %v", s.PiecesComplete, head, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(2 * planInterval) // would anything else come?
	e.mu.Lock()
	h := e.torrents[ih]
	var got []int
	for i := range h.t.NumPieces() {
		if h.t.Piece(i).State().Complete {
			got = append(got, i)
		}
	}
	e.mu.Unlock()
	if len(got) != head || got[0] != 0 || got[len(got)-1] != head-1 {
		t.Errorf("complete pieces %v, want exactly the head 0..%d", got, head-1)
	}
	if _, _, _, served := web.snapshot(); served > int64(size)/2 {
		t.Errorf("the web seed served %d bytes for a head of %d", served, webHead)
	}
	f, err := e.FilePath(ih, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < webHead || string(b[:webHead]) != string(data[:webHead]) {
		t.Error("the head on disk differs from the file")
	}
}

// Two viewers of a web seed that find each other and nobody else: the
// planner fetches from the web seed only pieces neither has, in different
// random orders, so they trade the rest and the origin sends well under the
// two copies it would without P2P. Both end with the exact file.
func TestPlannerViewersSplitTheWebSeed(t *testing.T) {
	const size, pieceLen = 8 << 20, 32 << 10
	path, data := randomFile(t, t.TempDir(), "video.mp4", size)
	web := newThrottledServer(t, data, 4<<20)
	tb, ih := makeTorrent(t, path, pieceLen, web.fileURL())
	var vs []*Engine
	for range 2 {
		e := newEngine(t, t.TempDir(), func(c *Config) { c.SwarmPlanner = true })
		if _, err := e.AddTorrent(tb); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, e)
	}
	if err := vs[0].AddPeers(ih, vs[1].ListenAddr()); err != nil {
		t.Fatal(err)
	}
	for _, e := range vs {
		if err := e.WaitComplete(plannerCtx(t), ih); err != nil {
			t.Fatal(err)
		}
		checkFile(t, e, ih, data)
	}
	_, _, _, served := web.snapshot()
	s0, s1 := mustStats(t, vs[0], ih), mustStats(t, vs[1], ih)
	t.Logf("web seed served %d bytes; from peers %d + %d", served, s0.BytesFromPeers, s1.BytesFromPeers)
	if served >= 7*size/4 {
		t.Errorf("the web seed served %d bytes (%.2f copies) to two viewers that trade", served, float64(served)/size)
	}
	if s0.BytesFromPeers == 0 || s1.BytesFromPeers == 0 {
		t.Errorf("a viewer got nothing from the other (%d, %d bytes)", s0.BytesFromPeers, s1.BytesFromPeers)
	}
}
