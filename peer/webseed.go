package peer

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe" // go:linkname, see webseedRequestChunkSize and pokeWebSeeds

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// WebSeedRequestSize is the size of the aligned byte ranges the engine asks
// web seeds for. anacrolix/torrent v1.61 uses 64 MiB (tuned for CloudFlare);
// a forward seek that lands inside a 64 MiB range being fetched sequentially
// waits for everything before it (tens of seconds on a 2 MiB/s instance).
// 2 MiB bounds that wait to about a second and keeps HTTP overhead small.
// Setting TORRENT_WEBSEED_REQUEST_CHUNK_SIZE in the environment before the
// process starts overrides it.
const WebSeedRequestSize = 2 << 20

// webseedRequestChunkSize is anacrolix/torrent's unexported package variable,
// initialised from TORRENT_WEBSEED_REQUEST_CHUNK_SIZE when that package is
// initialised (before any of ours). v1.61 has no config field for it, so it
// is set here, once, in init — before any client exists, so no data race.
// The module version is pinned in go.mod; TestWebSeedRequestsAreSmall checks
// the effect on real HTTP Range requests.
//
//go:linkname webseedRequestChunkSize github.com/anacrolix/torrent.webseedRequestChunkSize
var webseedRequestChunkSize uint64

// WebSeedHostConcurrency caps the web seed requests in flight to one host
// (anacrolix/torrent v1.61: 25). The planner gives the slots to the highest
// priority pieces and cancels lower ones, so with few slots the player's
// position and readahead take them at once; with 25, the background
// download of the rest of the file would share the instance's bandwidth 25
// ways with the player. TORRENT_WEBSEED_HOST_REQUEST_CONCURRENCY overrides.
const WebSeedHostConcurrency = 4

//go:linkname webseedHostRequestConcurrency github.com/anacrolix/torrent.webseedHostRequestConcurrency
var webseedHostRequestConcurrency int

func init() {
	if os.Getenv("TORRENT_WEBSEED_REQUEST_CHUNK_SIZE") == "" {
		webseedRequestChunkSize = WebSeedRequestSize
	}
	if os.Getenv("TORRENT_WEBSEED_HOST_REQUEST_CONCURRENCY") == "" {
		webseedHostRequestConcurrency = WebSeedHostConcurrency
	}
}

// anacrolix/torrent v1.61 plans web seed requests on a 5 s timer, and early
// only when a web seed request ends: adding a torrent, or a player seeking,
// would wait up to 5 s for its first web seed byte. pokeWebSeeds asks for
// an immediate plan, with the client lock held as the method requires. These
// are unexported methods of the pinned version; the stream and download tests
// fail (by timing out on the 5 s rhythm in TestWebSeedStartsAtOnce) if they
// stop doing their job.
//
//go:linkname clientLock github.com/anacrolix/torrent.(*Client).lock
func clientLock(*torrent.Client)

//go:linkname clientUnlock github.com/anacrolix/torrent.(*Client).unlock
func clientUnlock(*torrent.Client)

//go:linkname updateWebseedRequestsWithReason github.com/anacrolix/torrent.(*Client).updateWebseedRequestsWithReason
func updateWebseedRequestsWithReason(cl *torrent.Client, reason string)

//go:linkname torrentWriteStatus github.com/anacrolix/torrent.(*Torrent).writeStatus
func torrentWriteStatus(t *torrent.Torrent, w io.Writer)

//go:linkname torrentClose github.com/anacrolix/torrent.(*Torrent).close
func torrentClose(t *torrent.Torrent, wg *sync.WaitGroup)

// dropTorrent drops t from cl without crashing the process. anacrolix v1.61
// panics (in its web seed planner, from a timer) if it plans while a dropped
// torrent still has web seed requests winding down: they unregister
// themselves asynchronously after the drop. (Torrent.DisallowDataDownload,
// the obvious way to stop them, makes a consistency check panic instead.)
// So: nothing is wanted any more, the web seed peers are closed (their
// requests end without the error back-off), and the torrent is closed —
// as Torrent.Drop does — under the same hold of the client lock that saw no
// web seed request left (at most 10 s later).
func dropTorrent(cl *torrent.Client, t *torrent.Torrent) {
	if t.Info() != nil {
		t.CancelPieces(0, t.NumPieces())
	}
	for _, p := range t.WebseedPeerConns() {
		p.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		clientLock(cl)
		select {
		case <-t.Closed():
			clientUnlock(cl)
			return
		default:
		}
		if !webSeedRequestsActiveLocked(t) || time.Now().After(deadline) {
			var wg sync.WaitGroup
			torrentClose(t, &wg)
			wg.Wait()
			clientUnlock(cl)
			return
		}
		clientUnlock(cl)
		time.Sleep(2 * time.Millisecond)
	}
}

// webSeedRequestsActiveLocked reads anacrolix's status report of t (the
// only place its in-flight web seed requests show); the client lock is held.
func webSeedRequestsActiveLocked(t *torrent.Torrent) bool {
	var buf bytes.Buffer
	torrentWriteStatus(t, &buf)
	return bytes.Contains(buf.Bytes(), []byte("active requests: "))
}

// webseedPeerCancelAllRequests is anacrolix's (*webseedPeer).cancelAllRequests:
// each request in flight is cancelled the way anacrolix cancels requests it
// no longer wants, which does not suspend the web seed. The receiver is a
// *webseedPeer; Torrent.WebseedPeerConns returns a pointer to its first
// field (its Peer, "first field for stats alignment" in v1.61), which is
// the same address.
//
//go:linkname webseedPeerCancelAllRequests github.com/anacrolix/torrent.(*webseedPeer).cancelAllRequests
func webseedPeerCancelAllRequests(ws unsafe.Pointer)

// cancelWebSeedRequests has anacrolix cancel t's web seed requests in
// flight, its own way, then plan again: held URLs' new requests wait in the
// transport (webSeedGuard.admit). A request failing under it instead (a
// cancelled HTTP context) makes anacrolix suspend that web seed for a
// minute. TestStreamStopsBackgroundWebSeedRequests checks both.
func cancelWebSeedRequests(cl *torrent.Client, t *torrent.Torrent) {
	peers := t.WebseedPeerConns() // takes the client's read lock itself
	clientLock(cl)
	defer clientUnlock(cl)
	for _, p := range peers {
		webseedPeerCancelAllRequests(unsafe.Pointer(p))
	}
	updateWebseedRequestsWithReason(cl, "fourmi: replan after cancelling")
}

func pokeWebSeeds(cl *torrent.Client, reason string) {
	clientLock(cl)
	defer clientUnlock(cl)
	updateWebseedRequestsWithReason(cl, reason)
}

// webSeedGuard is the HTTP transport for web seeds. It refuses requests to
// web seeds the engine has dropped for serving bad data (anacrolix/torrent
// only suspends them for a minute, then tries again) and sets the
// User-Agent.
type webSeedGuard struct {
	base      http.RoundTripper
	userAgent string

	mu      sync.RWMutex
	dropped map[string]string // normalised URL → reason
	holds   map[string]*webSeedHold
}

// webSeedHold makes anacrolix's requests to a URL wait (see direct.go).
type webSeedHold struct {
	n        int
	released chan struct{}
}

func newWebSeedGuard(userAgent string) *webSeedGuard {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = 10
	return &webSeedGuard{base: t, userAgent: userAgent, dropped: map[string]string{},
		holds: map[string]*webSeedHold{}}
}

func normURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.String()
}

func (g *webSeedGuard) drop(u, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropped[normURL(u)] = reason
}

func (g *webSeedGuard) undrop(u string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.dropped, normURL(u))
}

func (g *webSeedGuard) isDropped(u string) (string, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	r, ok := g.dropped[normURL(u)]
	return r, ok
}

// hold (or release) anacrolix's requests to u; holds count. Requests
// already being answered are not touched here: the engine has anacrolix
// cancel them (cancelWebSeedRequests). Failing them here, under anacrolix,
// made it suspend the web seed for a minute: a player's seek, or a torrent
// just added, then left the background download waiting for that minute.
func (g *webSeedGuard) hold(u string, on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	u = normURL(u)
	h := g.holds[u]
	if on {
		if h == nil {
			h = &webSeedHold{released: make(chan struct{})}
			g.holds[u] = h
		}
		h.n++
		return
	}
	if h == nil {
		return
	}
	if h.n--; h.n <= 0 {
		close(h.released)
		delete(g.holds, u)
	}
}

// admit blocks one of anacrolix's requests while its URL is held.
func (g *webSeedGuard) admit(r *http.Request) error {
	u := normURL(r.URL.String())
	for {
		g.mu.RLock()
		h := g.holds[u]
		g.mu.RUnlock()
		if h == nil {
			return nil
		}
		select {
		case <-h.released:
		case <-r.Context().Done():
			return r.Context().Err()
		}
	}
}

func (g *webSeedGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isDirect(r.Context()) {
		if err := g.admit(r); err != nil {
			return nil, err // GET requests have no body to close
		}
	}
	return g.roundTrip(r)
}

func (g *webSeedGuard) roundTrip(r *http.Request) (*http.Response, error) {
	reqURL := r.URL.String()
	g.mu.RLock()
	for u, reason := range g.dropped {
		// A web seed URL ending in "/" is a prefix for multi-file torrents (BEP 19).
		if reqURL == u || (strings.HasSuffix(u, "/") && strings.HasPrefix(reqURL, u)) {
			g.mu.RUnlock()
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, fmt.Errorf("peer: web seed %s was dropped: %s", u, reason)
		}
	}
	g.mu.RUnlock()
	if r.Header.Get("User-Agent") == "" && g.userAgent != "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", g.userAgent)
	}
	return g.base.RoundTrip(r)
}

func (g *webSeedGuard) close() {
	if t, ok := g.base.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// probeWebSeed checks a single-file torrent's web seed directly: the first,
// the last and a few random pieces are fetched with Range requests and
// hashed. It returns a reason to drop the web seed when it proves the seed
// serves other data (a wrong hash, a wrong size), or an error when it could
// not tell (network, HTTP status): an unreachable seed is anacrolix's to
// retry, not proof of bad data.
func probeWebSeed(ctx context.Context, client *http.Client, userAgent, fileURL string, info *metainfo.Info) (reason string, err error) {
	n := info.NumPieces()
	pieces := []int{0, n - 1}
	for range probeRandomPieces {
		pieces = append(pieces, rand.IntN(n))
	}
	for _, i := range pieces {
		p := info.Piece(i)
		off, length := p.Offset(), p.Length()
		data, total, err := fetchRange(ctx, client, userAgent, fileURL, off, length)
		if err != nil {
			return "", err
		}
		if total >= 0 && total != info.Length {
			return fmt.Sprintf("serves a file of %d bytes, the torrent says %d", total, info.Length), nil
		}
		if int64(len(data)) != length { // cut short: could be the network
			return "", fmt.Errorf("probe: piece %d: got %d bytes, want %d", i, len(data), length)
		}
		if sha1.Sum(data) != [20]byte(p.V1Hash().Unwrap()) {
			return fmt.Sprintf("piece %d differs from the torrent (its SHA-1 does not match)", i), nil
		}
	}
	return "", nil
}

// fetchRange GETs length bytes at off. total is the file size from
// Content-Range (or Content-Length of a 200), -1 if unknown.
func fetchRange(ctx context.Context, client *http.Client, userAgent, u string, off, length int64) (data []byte, total int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, -1, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+length-1))
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return nil, -1, err
	}
	defer resp.Body.Close()
	total = -1
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if t, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				total = t
			}
		}
		if !strings.HasPrefix(cr, fmt.Sprintf("bytes %d-", off)) {
			return nil, total, fmt.Errorf("probe: Content-Range %q for a request at %d", cr, off)
		}
	case http.StatusOK: // the server ignores Range: skip to the piece
		total = resp.ContentLength
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			return nil, total, fmt.Errorf("probe: %w", err)
		}
	default:
		return nil, -1, fmt.Errorf("probe: HTTP %s", resp.Status)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, length))
	if err != nil {
		return nil, total, fmt.Errorf("probe: %w", err)
	}
	return data, total, nil
}
