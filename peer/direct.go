package peer

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent"
	"golang.org/x/time/rate"
)

// Direct streaming from web seeds.
//
// anacrolix/torrent v1.61 fetches web seeds in aligned slices, several at a
// time per host, each a sequential request: a player starting or seeking
// shares the instance's bandwidth with the rest of the file, and a request
// it cancels to make room keeps its slot for a random back-off of up to
// 10 s. Measured against a plain GET from an 8 MiB/s server, the first MiB
// took 4× longer. So while a player reads a torrent:
//
//   - anacrolix's own web seed requests for it wait (webSeedGuard holds
//     them; those already being answered are stopped), and so does its
//     background download of the rest of the file;
//   - the stream fetches from the web seed itself, as a plain HTTP player
//     would: one sequential Range request from the player's position,
//     readahead bytes ahead at most, restarted on seeks. Each piece's SHA-1
//     is checked as it arrives, then the piece is written to the torrent's
//     storage and anacrolix told it is complete, so it is seeded like any
//     other;
//   - with BitTorrent peers connected, the stream fetches only directSpan
//     bytes at the position itself (getting playback going) and leaves the
//     rest to the peers: the instance's bandwidth is what Fourmi saves.
//
// When the last stream of the torrent ends, anacrolix resumes: web seed and
// peers complete the file for seeding. A torrent just added waits
// Config.StreamGrace for a player before that download starts, and so does
// one whose last stream just ended (a player seeking reconnects at once).
const directSpan = 1 << 20

// playerReadaheadPeered is the stream reader's readahead while peers are
// connected (see streamReader.Read).
const playerReadaheadPeered = directSpan

// directPeerWait is how long the stream leaves a piece that another viewer
// has to the peers before fetching it from the web seed itself.
const directPeerWait = 500 * time.Millisecond

// directExpectPeers is how long after a torrent with trackers is added the
// stream fetches as if peers were connected (a tracker answers in well
// under a second).
const directExpectPeers = 3 * time.Second

// directState is a torrent's direct-fetch bookkeeping.
type directState struct {
	ctx    context.Context // canceled when the torrent is removed
	cancel context.CancelFunc
	wg     sync.WaitGroup // running fetchers; Remove and Close wait for them
	bytes  atomic.Int64   // piece bytes written this way (counted as web seed bytes)
	starts atomic.Int64   // HTTP requests made
}

// directCtxKey marks the stream's own requests, which webSeedGuard lets
// through while it holds anacrolix's.
type directCtxKey struct{}

func isDirect(ctx context.Context) bool { return ctx.Value(directCtxKey{}) != nil }

// streamFetcher feeds one stream request (one player connection).
type streamFetcher struct {
	e         *Engine
	h         *handle
	readahead int64

	mu    sync.Mutex
	pos   int64 // torrent offset the player reads at
	gen   int   // bumped by each seek
	known bool  // pos was reported (the player has read or sought)
	wake  chan struct{}
	// peersExpected: until then the torrent may get peers from its
	// trackers (see startStreamFetch).
	peersExpected time.Time

	// The first piece the player misses and since when (run's own).
	missing      int
	missingSince time.Time
}

// startStreamFetch starts the fetcher of a stream request, or returns nil
// when there is nothing to fetch directly (no usable web seed, multi-file
// torrent, engine closing).
func (e *Engine) startStreamFetch(reqCtx context.Context, h *handle, readahead int64) *streamFetcher {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted || e.torrents[h.ih] != h || h.direct.ctx.Err() != nil || h.infoBytes == nil {
		return nil
	}
	if len(h.t.Info().Files) != 0 {
		return nil // multi-file web seeds need BEP 19 path building: anacrolix's job
	}
	f := &streamFetcher{e: e, h: h, readahead: max(readahead, directSpan), wake: make(chan struct{}, 1)}
	if e.cfg.Trackers && len(h.trackers) > 0 {
		// Its tracker will introduce peers soon: until then, fetch as if
		// they were there, or every viewer starting together would pull
		// a whole readahead from the instance first.
		f.peersExpected = h.addedAt.Add(directExpectPeers)
	}
	ctx, cancel := context.WithCancel(context.WithValue(reqCtx, directCtxKey{}, true))
	stop := context.AfterFunc(h.direct.ctx, cancel)
	h.direct.wg.Go(func() {
		defer stop()
		defer cancel()
		f.run(ctx)
	})
	return f
}

// moved records the player's position (a torrent offset).
func (f *streamFetcher) moved(pos int64, seek bool) {
	f.mu.Lock()
	f.pos, f.known = pos, true
	if seek {
		f.gen++
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *streamFetcher) state() (pos int64, gen int, known bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pos, f.gen, f.known
}

// lastWanted is the last piece to fetch for a player at pos.
func (f *streamFetcher) lastWanted(pos int64) int {
	info := f.h.t.Info()
	span := f.readahead
	if time.Now().Before(f.peersExpected) || len(f.h.t.PeerConns()) > 0 {
		span = directSpan
	}
	return int(min(pos+span-1, info.Length-1) / info.PieceLength)
}

func (f *streamFetcher) run(ctx context.Context) {
	t := f.h.t
	failures := 0
	for ctx.Err() == nil {
		pos, gen, known := f.state()
		if !known { // http.ServeContent seeks before the first read
			if !f.wait(ctx, time.Second) {
				return
			}
			continue
		}
		first, last := int(pos/t.Info().PieceLength), f.lastWanted(pos)
		for first <= last && t.Piece(first).State().Complete {
			first++
		}
		if first > last { // the window is there: wait for the player
			if !f.wait(ctx, time.Second) {
				return
			}
			continue
		}
		if f.peerHas(first) && f.waitedFor(first) < directPeerWait {
			// Another viewer has it: the peers bring it, unless the
			// player is left waiting.
			if !f.wait(ctx, directPeerWait/5) {
				return
			}
			continue
		}
		urls := f.e.directURLs(f.h)
		if len(urls) == 0 {
			return
		}
		u := urls[failures%len(urls)]
		err := f.fetch(ctx, u, first, gen)
		if err == nil || ctx.Err() != nil {
			failures = 0
			continue
		}
		failures++
		var bad *badPieceError
		if errors.As(err, &bad) {
			f.e.reportBadWebSeed(u, bad.Error())
		}
		var werr *writeError
		if errors.As(err, &werr) {
			f.e.reportWriteError(f.h, werr.err)
			return // the download is paused; a new stream request starts again
		}
		f.e.log.Info("direct fetch from web seed failed", "infohash", f.h.ih, "url", u, "piece", first, "err", err)
		if !f.wait(ctx, time.Duration(min(failures, 10))*200*time.Millisecond) {
			return
		}
	}
}

// peerHas reports whether a connected peer that is not a seeder (another
// viewer, not the origin) has piece i (see planLocked).
func (f *streamFetcher) peerHas(i int) bool {
	held := f.h.peerHeld.Load()
	return held != nil && i < len(*held) && (*held)[i]
}

// waitedFor is how long piece i has been the first one the player misses.
func (f *streamFetcher) waitedFor(i int) time.Duration {
	now := time.Now()
	if f.missing != i || f.missingSince.IsZero() {
		f.missing, f.missingSince = i, now
	}
	return now.Sub(f.missingSince)
}

// wait sleeps until the player moves, d passes or ctx ends (false).
func (f *streamFetcher) wait(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-f.wake:
	case <-timer.C:
	}
	return true
}

// fetch reads pieces from first on with one Range request, until the
// player's window (as it was when the request started) is covered or the
// player seeks.
//
// The request asks for the window only. An open-ended one would have the
// server push megabytes into the connection's buffers that are thrown away
// when the window is covered and the request closed: the origin's
// bandwidth spent for nothing, once per viewer. (The fetcher closes its
// request whenever the window is covered either way, so this costs no
// extra requests.)
func (f *streamFetcher) fetch(ctx context.Context, u string, first, gen int) error {
	info := f.h.t.Info()
	pos, _, _ := f.state()
	last := max(first, f.lastWanted(pos))
	for k := first + 1; k <= last; k++ {
		if f.peerHas(k) { // see run
			last = k - 1
			break
		}
	}
	end := min(int64(last+1)*info.PieceLength, info.Length)
	body, closeBody, err := f.e.openRange(ctx, u, int64(first)*info.PieceLength, end)
	if err != nil {
		return err
	}
	defer closeBody()
	f.h.direct.starts.Add(1)
	for i := first; i <= last; i++ {
		pos, g, _ := f.state()
		if g != gen || i > f.lastWanted(pos) {
			return nil
		}
		if i > first && f.h.t.Piece(i).State().Complete {
			return nil // a peer got ahead: reopen at the next missing piece
		}
		if err := f.e.readPieceInto(f.h, body, i); err != nil {
			return err
		}
	}
	return nil
}

// directURLs are the torrent's usable web seeds.
func (e *Engine) directURLs(h *handle) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var urls []string
	for _, ws := range h.webSeeds {
		if ws.dropped == "" && !strings.HasSuffix(ws.url, "/") {
			urls = append(urls, ws.url)
		}
	}
	return urls
}

// openRange GETs u from off (to end-1, or to the end of the file if end <
// 0), through the web seed guard and the download rate limit.
func (e *Engine) openRange(ctx context.Context, u string, off, end int64) (io.Reader, func(), error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if end >= 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end-1))
	} else {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := (&http.Client{Transport: e.guard}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	closeBody := func() { resp.Body.Close() }
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if cr := resp.Header.Get("Content-Range"); !strings.HasPrefix(cr, fmt.Sprintf("bytes %d-", off)) {
			closeBody()
			return nil, nil, fmt.Errorf("Content-Range %q for a request at %d", cr, off)
		}
	case http.StatusOK: // the server ignores Range
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			closeBody()
			return nil, nil, err
		}
	default:
		closeBody()
		return nil, nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return &limitedReader{ctx: ctx, r: resp.Body, l: e.down}, closeBody, nil
}

// readPieceInto reads piece i from body, checks its SHA-1, and unless the
// torrent already has it, writes it to storage and marks it complete.
func (e *Engine) readPieceInto(h *handle, body io.Reader, i int) error {
	p := h.t.Piece(i)
	b := make([]byte, p.Info().Length())
	if _, err := io.ReadFull(body, b); err != nil {
		return err
	}
	if sha1.Sum(b) != [20]byte(p.Info().V1Hash().Unwrap()) {
		return &badPieceError{i}
	}
	if p.State().Complete {
		return nil // a peer was faster
	}
	// p.Storage() is the torrent's file storage; the data is verified.
	if _, err := p.Storage().WriteAt(b, 0); err != nil {
		return &writeError{fmt.Errorf("writing piece %d: %w", i, err)}
	}
	if err := p.Storage().MarkComplete(); err != nil {
		return &writeError{fmt.Errorf("marking piece %d: %w", i, err)}
	}
	p.UpdateCompletion()
	h.direct.bytes.Add(int64(len(b)))
	return nil
}

// badPieceError is proof that a web seed serves other data: a whole piece
// read from it failed its hash.
type badPieceError struct{ piece int }

func (e *badPieceError) Error() string {
	return fmt.Sprintf("piece %d from the web seed fails its hash", e.piece)
}

// writeError is a failure to store verified data (a full disk).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// reportWriteError queues a direct fetch's storage failure for the next
// tick (fetchers must not take e.mu, like reportBadWebSeed).
func (e *Engine) reportWriteError(h *handle, err error) {
	e.badMu.Lock()
	defer e.badMu.Unlock()
	if e.writeErrs == nil {
		e.writeErrs = map[*handle]error{}
	}
	e.writeErrs[h] = err
}

// reportBadWebSeed queues a proven-bad web seed for the next tick to drop
// (fetchers must not take e.mu: Remove holds it while waiting for them).
func (e *Engine) reportBadWebSeed(u, reason string) {
	e.badMu.Lock()
	defer e.badMu.Unlock()
	if e.bad == nil {
		e.bad = map[string]string{}
	}
	e.bad[u] = reason
}

// limitedReader applies the engine's download rate limit.
type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *rate.Limiter
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	if lr.l.Limit() != rate.Inf {
		p = p[:min(len(p), lr.l.Burst())]
	}
	n, err := lr.r.Read(p)
	if n > 0 && lr.l.Limit() != rate.Inf {
		if werr := lr.l.WaitN(lr.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// streamStartedLocked and streamEnded bracket a stream request: while any
// is open, anacrolix's web seed requests for the torrent wait and the rest
// of the file is not downloaded.
func (e *Engine) streamStartedLocked(h *handle) {
	h.streams++
	e.updateHoldLocked(h, time.Now())
}

func (e *Engine) streamEnded(h *handle) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h.streams--
	if h.streams == 0 && e.state == stateStarted && e.torrents[h.ih] == h {
		// A player seeking closes its connection and opens another: keep
		// anacrolix's web seed requests waiting for StreamGrace, or requests
		// of megabytes released in between would compete with the next one
		// (the hold then stops them, but the server has already sent part;
		// and anacrolix suspends a web seed whose request fails for a
		// minute).
		now := time.Now()
		h.holdUntil = now.Add(e.cfg.StreamGrace)
		e.updateHoldLocked(h, now)
	}
}

// updateHoldLocked holds anacrolix's web seed requests for h while it is
// streamed, just added or just streamed (Config.StreamGrace), or paused by a
// write error, and releases them after. It also sets what anacrolix
// downloads (see wantLocked).
func (e *Engine) updateHoldLocked(h *handle, now time.Time) {
	e.planLocked(h, now)
	want := h.streams > 0 || now.Before(h.holdUntil) || h.storageErr != nil || h.planHoldsWebSeeds()
	changed := e.setHeldLocked(h, want)
	switch {
	case h.storageErr != nil:
		e.wantLocked(h, wantReaders)
	case h.plan.active:
		e.wantLocked(h, wantPlanned)
		e.applyPlanLocked(h)
	case h.streams > 0:
		e.wantLocked(h, wantReaders)
	case h.held && len(h.webSeeds) > 0:
		e.wantLocked(h, wantHead)
	default:
		e.wantLocked(h, wantAll)
	}
	switch {
	case changed && want && len(h.webSeeds) > 0:
		// A player starting or seeking must not share the instance's
		// bandwidth with megabytes of background download.
		cancelWebSeedRequests(e.cl, h.t)
	case changed && !want:
		pokeWebSeeds(e.cl, "fourmi: web seeds released")
	}
}

// setHeldLocked holds or releases h's web seed URLs in the transport.
func (e *Engine) setHeldLocked(h *handle, want bool) (changed bool) {
	if want == h.held {
		return false
	}
	h.held = want
	for _, ws := range h.webSeeds {
		e.guard.hold(ws.url, want)
	}
	return true
}

// wantState is what anacrolix is asked to download besides what stream
// readers ask for.
type wantState int

const (
	// wantReaders: nothing more (streamed: the player's window only; or
	// paused by a write error).
	wantReaders wantState = iota
	// wantHead: the first graceHead bytes, during a StreamGrace with web
	// seeds held. Peers connect and fetch what a player will read first;
	// switching every piece on then off again when the player comes (a
	// millisecond or more per thousand pieces each way) would delay it.
	wantHead
	// wantAll: the whole file, for seeding.
	wantAll
	// wantPlanned: the swarm planner's window (see swarm.go).
	wantPlanned
)

const graceHead = 4 << 20

func (e *Engine) wantLocked(h *handle, w wantState) {
	if h.infoBytes == nil || h.err != nil || h.want == w {
		return
	}
	n := h.t.NumPieces()
	head := min(n, int((graceHead+h.t.Info().PieceLength-1)/h.t.Info().PieceLength))
	switch w {
	case wantAll:
		h.t.DownloadAll()
	case wantHead:
		h.t.CancelPieces(head, n) // cheap for pieces not wanted
		h.t.DownloadPieces(0, head)
	case wantReaders, wantPlanned:
		h.t.CancelPieces(0, n)
	}
	h.plan.set = nil
	h.want = w
}

// releaseHoldLocked lets a removed torrent's waiting requests end.
func (e *Engine) releaseHoldLocked(h *handle) {
	e.setHeldLocked(h, false)
}

// streamReader is the stream handler's torrent reader. It tells the
// fetcher where the player is, and plans anacrolix's requests (peers, and
// web seeds once released) at once rather than on its 5 s timer.
type streamReader struct {
	torrent.Reader
	e         *Engine
	h         *handle
	readahead int64          // without peers
	peered    bool           // the reader's readahead is the short one (planned)
	f         *streamFetcher // nil: no direct fetching
	offset    int64          // of the file in the torrent
	length    int64          // of the file
	pos       int64          // in the file
	moved     bool
}

func (r *streamReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd && off == 0 {
		// http.ServeContent asking the size: answer without moving the
		// torrent reader, which would prioritise the last piece.
		return r.length, nil
	}
	n, err := r.Reader.Seek(off, whence)
	if err == nil {
		r.pos, r.moved = n, true
	}
	return n, err
}

func (r *streamReader) Read(p []byte) (int, error) {
	if peered := r.h.peered.Load(); peered != r.peered {
		// With peers, the player's readahead asks only for what it needs
		// now: the swarm planner gets the rest from other viewers, and the
		// stream's direct fetch covers directSpan at the position. A long
		// readahead would have every viewer ask the origin for the same
		// megabytes at once.
		r.peered = peered
		if peered {
			r.Reader.SetReadahead(playerReadaheadPeered)
		} else {
			r.Reader.SetReadahead(r.readahead)
		}
	}
	if r.moved {
		r.moved = false
		pokeWebSeeds(r.e.cl, "fourmi: stream read")
		if r.f != nil {
			r.f.moved(r.offset+r.pos, true)
		}
	}
	n, err := r.Reader.Read(p)
	r.pos += int64(n)
	if r.f != nil && n > 0 {
		r.f.moved(r.offset+r.pos, false)
	}
	return n, err
}
