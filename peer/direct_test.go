package peer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Pieces read from a web seed response: hashed, written, marked complete;
// bad bytes refused and nothing written.
func TestReadPieceInto(t *testing.T) {
	path, video := testVideo(t)
	const pl = 16 << 10
	tb, ih := makeTorrent(t, path, pl) // no url-list: no other source
	good := newSeedServer(t, "v.mp4", video)
	bad := newSeedServer(t, "v.mp4", video)
	bad.set(func(s *seedServer) { s.corrupt = true })

	e := newEngine(t, t.TempDir())
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	h := e.torrents[ih]
	e.mu.Unlock()
	ctx := context.Background()

	body, closeBody, err := e.openRange(ctx, bad.fileURL(), 3*pl, 6*pl)
	if err != nil {
		t.Fatal(err)
	}
	err = e.readPieceInto(h, body, 3)
	closeBody()
	if err == nil || !strings.Contains(err.Error(), "fails its hash") {
		t.Fatalf("corrupt web seed: %v", err)
	}
	if s := mustStats(t, e, ih); s.PiecesComplete != 0 || s.BytesFromWebSeeds != 0 {
		t.Fatalf("after refusing bad bytes: %d pieces complete, %d web seed bytes", s.PiecesComplete, s.BytesFromWebSeeds)
	}

	body, closeBody, err = e.openRange(ctx, good.fileURL(), 3*pl, -1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 5; i++ {
		if err := e.readPieceInto(h, body, i); err != nil {
			t.Fatal(err)
		}
	}
	closeBody()
	s := mustStats(t, e, ih)
	for i, c := range s.Pieces {
		if c != (i >= 3 && i <= 5) {
			t.Errorf("piece %d complete=%v", i, c)
		}
	}
	if s.BytesFromWebSeeds != 3*pl {
		t.Errorf("web seed bytes %d, want %d", s.BytesFromWebSeeds, 3*pl)
	}
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, got := httpGet(t, u, "", "bytes=49152-98303")
	if resp.StatusCode != 206 || string(got) != string(video[3*pl:6*pl]) {
		t.Errorf("stream of the fetched pieces: %s", resp.Status)
	}
	if _, _, err := e.openRange(ctx, good.URL+"/missing.mp4", 0, 10); err == nil {
		t.Error("404 accepted")
	}
}

// While a player streams, anacrolix's web seed requests wait and the stream
// fetches the file itself: one sequential request, like a plain HTTP
// player, every byte verified.
func TestStreamFetchesDirectly(t *testing.T) {
	path, video := testVideo(t)
	const pl = 16 << 10
	srv := newSeedServer(t, "v.mp4", video)
	tb, ih := makeTorrent(t, path, pl, srv.fileURL())
	// A long grace: anacrolix's web seed waits from the add on.
	e := newEngine(t, t.TempDir(), func(c *Config) { c.StreamGrace = time.Minute })
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mid := (len(video) / 2) / pl * pl
	resp, body := httpGet(t, u, "", "bytes="+strconv.Itoa(mid)+"-")
	if resp.StatusCode != 206 || string(body) != string(video[mid:]) {
		t.Fatalf("range from the middle: %s", resp.Status)
	}
	resp, body = httpGet(t, u, "", "")
	if resp.StatusCode != 200 || string(body) != string(video) {
		t.Fatalf("full GET: %s", resp.Status)
	}
	s := mustStats(t, e, ih)
	if !s.Complete || s.BytesFromWebSeeds != int64(len(video)) || s.WebSeeds[0].BytesRead != 0 {
		t.Errorf("complete %v, web seed bytes %d (anacrolix's %d); want all %d fetched by the stream",
			s.Complete, s.BytesFromWebSeeds, s.WebSeeds[0].BytesRead, len(video))
	}
	checkFile(t, e, ih, video)
	e.mu.Lock()
	f := &streamFetcher{e: e, h: e.torrents[ih], readahead: 5 * pl}
	e.mu.Unlock()
	if got := f.lastWanted(0); got != 4 {
		t.Errorf("window without peers ends at piece %d, want 4 (the readahead)", got)
	}
	if got := f.lastWanted(int64(len(video)) - 1); got != s.NumPieces-1 {
		t.Errorf("window at the end: piece %d, want the last, %d", got, s.NumPieces-1)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.reqSizes) != 2 {
		t.Errorf("%d requests to the web seed, want 2 (one per player request): %v", len(srv.reqSizes), srv.reqSizes)
	}
}

// With a peer connected, the stream fetches only directSpan itself and the
// peer delivers the rest: the instance's bandwidth is saved.
func TestStreamLeavesTheRestToPeers(t *testing.T) {
	// Which source wins a piece is a race per piece; on a loaded machine a
	// peer connection slow to get going can lose a whole run to the web
	// seed. A second run must then show the split; a stream that does not
	// leave the rest to peers fails both.
	const size = 4 << 20
	for attempt := 1; ; attempt++ {
		web, peers := streamWithPeer(t, size)
		t.Logf("attempt %d: %d bytes from the web seed, %d from the peer", attempt, web, peers)
		// The stream keeps directSpan ahead of the player itself (a moving
		// window, so somewhat more in all); the peer fills the rest.
		// Without a peer the web seed would deliver all 4 MiB.
		if web <= size/2 && peers >= size/2 {
			return
		}
		if attempt == 2 {
			t.Fatalf("%d bytes from the web seed, %d from the peer; want the peer to deliver most", web, peers)
		}
	}
}

// streamWithPeer plays a torrent with a web seed and a seeding peer, and
// returns the bytes each delivered.
func streamWithPeer(t *testing.T, size int) (fromWeb, fromPeers int64) {
	dir := t.TempDir()
	path, data := randomFile(t, dir, "big.mp4", size)
	const pl = 16 << 10
	srv := newSeedServer(t, "big.mp4", data)
	tbSeed, ih := makeTorrent(t, path, pl)
	seeder := newEngine(t, t.TempDir())
	if _, err := seeder.SeedFile(waitCtx(t), tbSeed, path); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	tb, _ := makeTorrent(t, path, pl, srv.fileURL())
	// The download limit keeps the peer from delivering everything before
	// the player starts.
	e := newEngine(t, t.TempDir(), func(c *Config) { c.StreamGrace = time.Minute; c.DownloadRate = 2 << 20 })
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.AddPeers(ih, seeder.ListenAddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the peer connection", func() bool { return mustStats(t, e, ih).Peers > 0 })
	// The window the stream fetches itself: directSpan with a peer.
	e.mu.Lock()
	f := &streamFetcher{e: e, h: e.torrents[ih], readahead: 3 << 20}
	e.mu.Unlock()
	if got, want := f.lastWanted(pl), (pl+directSpan-1)/pl; got != want {
		t.Errorf("window with a peer ends at piece %d, want %d", got, want)
	}
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A player: the first MiB as fast as it comes, then at its bitrate
	// (1 MiB/s, below the peer's 2 MiB/s).
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %s", resp.Status)
	}
	body := make([]byte, 0, len(data))
	buf := make([]byte, 64<<10)
	lim := rate.NewLimiter(rate.Limit(1<<20), 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if len(body) > 1<<20 {
			lim.WaitN(waitCtx(t), n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
	}
	if !bytes.Equal(body, data) {
		t.Fatalf("stream: %d bytes, not the file", len(body))
	}
	s := mustStats(t, e, ih)
	return s.BytesFromWebSeeds, s.BytesFromPeers
}

// After StreamGrace with no player, the web seed downloads the file.
func TestStreamGraceThenDownload(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "v.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10, srv.fileURL())
	const grace = 300 * time.Millisecond
	e := newEngine(t, t.TempDir(), func(c *Config) { c.StreamGrace = grace })
	start := time.Now()
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < grace {
		t.Errorf("downloaded after %v, before the %v grace", d, grace)
	}
	checkFile(t, e, ih, video)
	// The grace's hold was in place before anacrolix could start a request:
	// none was cut, so the web seed was never suspended.
	if st := webSeedStatus(t, e, ih); punished(st) {
		t.Errorf("the web seed was punished during the grace:\n%s", st)
	}
}

// punished reports whether anacrolix's status shows a web seed suspended
// (after a request that failed).
func punished(status string) bool {
	return strings.Contains(status, "last crime") || strings.Contains(status, "suspended")
}

// A player streaming from a corrupt web seed gets no bad byte: the seed is
// dropped on proof, and the stream goes on from a good one added later.
func TestStreamSurvivesCorruptWebSeed(t *testing.T) {
	path, video := testVideo(t)
	bad := newSeedServer(t, "v.mp4", video)
	bad.set(func(s *seedServer) { s.corrupt = true })
	good := newSeedServer(t, "v.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10, bad.fileURL())
	e := newEngine(t, t.TempDir(), func(c *Config) { c.StreamGrace = time.Minute })
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   []byte
	}
	done := make(chan result, 1)
	go func() { // no t.Fatal off the test goroutine
		resp, err := http.Get(u)
		if err != nil {
			done <- result{-1, nil}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, body}
	}()
	waitFor(t, "the corrupt web seed to be dropped", func() bool {
		return strings.Contains(mustStats(t, e, ih).WebSeeds[0].Dropped, "fails its hash")
	})
	select {
	case r := <-done:
		t.Fatalf("the stream ended (%d, %d bytes) with only a corrupt source", r.status, len(r.body))
	default:
	}
	if err := e.AddWebSeed(ih, good.fileURL()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.status != 200 || string(r.body) != string(video) {
		t.Fatalf("stream after the good web seed came: %d, %d bytes, equal %v", r.status, len(r.body), string(r.body) == string(video))
	}
}

// A player starting while anacrolix downloads the rest of the file from the
// web seed (megabyte requests, sequential) stops those requests: the
// instance's bandwidth goes to the player's position at once.
func TestStreamStopsBackgroundWebSeedRequests(t *testing.T) {
	path, data := randomFile(t, t.TempDir(), "v.mp4", 16<<20)
	srv := newThrottledServer(t, data, 1<<20) // 1 MiB/s: a 2 MiB request lasts seconds
	tb, ih := makeTorrent(t, path, 64<<10, srv.fileURL())
	e := newEngine(t, t.TempDir()) // no StreamGrace: the background download starts at once
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	inflight := func() int { _, n, _, _ := srv.snapshot(); return n }
	waitFor(t, "anacrolix's web seed requests", func() bool { return inflight() >= 2 })
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := 12 << 20 // far from what the background download has
	_, _, before, _ := srv.snapshot()
	got := make(chan []byte, 1)
	go func() {
		_, body := httpGet(t, u, "", fmt.Sprintf("bytes=%d-%d", off, off+9))
		got <- body
	}()
	select {
	case b := <-got:
		if !bytes.Equal(b, data[off:off+10]) {
			t.Fatalf("stream at %d: %x, want %x", off, b, data[off:off+10])
		}
	case <-time.After(testTimeout):
		t.Fatal("no byte at the player's position")
	}
	waitFor(t, "only the stream's own request in flight", func() bool { return inflight() <= 1 })
	// What the server sent of the background requests once the player
	// came: what each had in hand (a 32 KiB write), not the rest of its
	// 2 MiB slice.
	_, _, ranges, _ := srv.snapshot()
	var background int64
	for _, r := range ranges[len(before):] {
		if r[0] < int64(off) {
			background += r[1] - r[0]
		}
	}
	if background > 1<<20 {
		t.Errorf("the web seed sent %d bytes of the background download after the player started", background)
	}
	// anacrolix cancelled those requests itself: the web seed is not
	// suspended (for a minute) as it is after a request that failed.
	if st := webSeedStatus(t, e, ih); punished(st) {
		t.Errorf("the web seed was punished for the player's start:\n%s", st)
	}
}

// webSeedStatus is anacrolix's status report of a torrent, whose web seed
// lines say whether it suspended one.
func webSeedStatus(t *testing.T, e *Engine, ih InfoHash) string {
	t.Helper()
	e.mu.Lock()
	h, err := e.handleLocked(ih)
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	clientLock(e.cl)
	torrentWriteStatus(h.t, &buf)
	clientUnlock(e.cl)
	return buf.String()
}
