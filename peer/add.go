package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// AddTorrent adds a torrent from .torrent bytes (validated first; see
// ValidateInfo) and starts downloading all of it. Adding a torrent the
// engine already has merges its trackers and web seeds.
func (e *Engine) AddTorrent(data []byte) (InfoHash, error) {
	p, err := parseTorrent(data)
	if err != nil {
		return InfoHash{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return p.infoHash, e.addParsedLocked(p, nil)
}

// AddTorrentFile adds a torrent from a .torrent file on disk.
func (e *Engine) AddTorrentFile(path string) (InfoHash, error) {
	f, err := os.Open(path)
	if err != nil {
		return InfoHash{}, fmt.Errorf("peer: %w", err)
	}
	defer f.Close()
	data, err := readCapped(f, MaxMetainfoSize)
	if err != nil {
		return InfoHash{}, fmt.Errorf("peer: reading %s: %w", path, err)
	}
	return e.AddTorrent(data)
}

// AddTorrentURL fetches a .torrent over HTTP(S) (PeerTube's torrentUrl) and
// adds it. The response must be 200 and at most MaxMetainfoSize bytes; the
// request is bounded by the engine's HTTP client timeout and ctx.
func (e *Engine) AddTorrentURL(ctx context.Context, torrentURL string) (InfoHash, error) {
	data, err := e.fetchTorrent(ctx, torrentURL)
	if err != nil {
		return InfoHash{}, err
	}
	p, err := parseTorrent(data)
	if err != nil {
		return InfoHash{}, fmt.Errorf("%s: %w", torrentURL, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return p.infoHash, e.addParsedLocked(p, nil)
}

func (e *Engine) fetchTorrent(ctx context.Context, torrentURL string) ([]byte, error) {
	if !isHTTPURL(torrentURL) {
		return nil, fmt.Errorf("peer: torrent URL %q: want an absolute http(s) URL", torrentURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, torrentURL, nil)
	if err != nil {
		return nil, fmt.Errorf("peer: torrent URL: %w", err)
	}
	req.Header.Set("Accept", "application/x-bittorrent")
	req.Header.Set("User-Agent", e.cfg.UserAgent)
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("peer: fetching torrent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("peer: fetching torrent %s: HTTP %s", torrentURL, resp.Status)
	}
	data, err := readCapped(resp.Body, MaxMetainfoSize)
	if err != nil {
		return nil, fmt.Errorf("peer: fetching torrent %s: %w", torrentURL, err)
	}
	return data, nil
}

func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrInvalidTorrent, limit)
	}
	return data, nil
}

// addParsedLocked adds (or merges into) a torrent whose metainfo was
// validated.
func (e *Engine) addParsedLocked(p *parsedTorrent, extraWebSeeds []string) error {
	if err := e.usableLocked(); err != nil {
		return err
	}
	h := e.torrents[p.infoHash]
	if h == nil {
		// Nothing on disk yet: every piece is missing, no need to check them
		// one by one before requesting (that would delay the first bytes).
		if _, err := os.Stat(filepath.Join(e.dataDir(), p.infoHash.String())); errors.Is(err, os.ErrNotExist) {
			e.completion.markFresh(p.infoHash)
		}
		t, _ := e.cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: p.infoHash.mi()})
		h = e.newHandle(p.infoHash, t)
		e.torrents[p.infoHash] = h
		// Instead of anacrolix's default (stop downloading for good, which
		// its web seed planner does not survive): pause and retry.
		t.SetOnWriteChunkError(func(err error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.storageFailedLocked(h, err)
		})
	}
	if h.infoBytes == nil {
		if err := h.t.SetInfoBytes(p.mi.InfoBytes); err != nil {
			e.dropLocked(h)
			return fmt.Errorf("peer: adding %v: %w", p.infoHash, err)
		}
		h.setReady(p.mi.InfoBytes, nil)
	}
	e.addTrackersLocked(h, p.mi.UpvertedAnnounceList())
	if time.Now().Before(h.holdUntil) {
		// Held before anacrolix can start a web seed request, rather than
		// cancelling one just started (see onInfoLocked).
		e.setHeldLocked(h, true)
	}
	for _, ws := range append(slices.Clone(p.webSeeds), extraWebSeeds...) {
		e.addWebSeedLocked(h, ws)
	}
	e.onInfoLocked(h, &p.info)
	return nil
}

// onInfoLocked starts downloading everything (after StreamGrace if it has
// web seeds) and refreshes the cache.
func (e *Engine) onInfoLocked(h *handle, info *metainfo.Info) {
	e.updateHoldLocked(h, time.Now()) // downloads everything unless held
	e.wg.Go(func() { e.pokeAfterInitialCheck(h) })
	if err := e.writeCacheSoonLocked(h); err != nil {
		e.log.Error("caching metainfo", "infohash", h.ih, "err", err)
	}
	e.log.Info("torrent added", "infohash", h.ih, "name", info.BestName(), "bytes", info.TotalLength(),
		"webseeds", len(h.webSeeds))
}

// pokeAfterInitialCheck asks for web seed requests as soon as anacrolix has
// checked the pieces whose completion it did not know (at once for a new
// download, longer for SeedFile); pieces being checked are not requested.
func (e *Engine) pokeAfterInitialCheck(h *handle) {
	wait := 5 * time.Millisecond
	for {
		checking := false
		for _, r := range h.t.PieceStateRuns() {
			if r.Checking || r.Hashing || r.QueuedForHash || r.Marking {
				checking = true
				break
			}
		}
		if !checking {
			pokeWebSeeds(e.cl, "fourmi: torrent checked")
			return
		}
		select {
		case <-time.After(wait):
		case <-h.t.Closed():
			return
		case <-e.ctx.Done():
			return
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func (e *Engine) addTrackersLocked(h *handle, tiers [][]string) {
	changed := false
	for _, tier := range tiers {
		var keep []string
		for _, tr := range tier {
			if tr != "" && !slices.ContainsFunc(h.trackers, func(t []string) bool { return slices.Contains(t, tr) }) {
				keep = append(keep, tr)
			}
		}
		if len(keep) > 0 {
			h.trackers = append(h.trackers, keep)
			changed = true
		}
	}
	if changed {
		h.t.AddTrackers(h.trackers)
	}
}

// AddWebSeed adds a BEP 19 web seed (PeerTube's fileUrl) to a torrent and
// remembers it across restarts. Adding one already present does nothing;
// adding one that was dropped for bad data gives it another chance.
func (e *Engine) AddWebSeed(ih InfoHash, fileURL string) error {
	if !isHTTPURL(fileURL) {
		return fmt.Errorf("peer: web seed %q: want an absolute http(s) URL", fileURL)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	h, err := e.handleLocked(ih)
	if err != nil {
		return err
	}
	e.addWebSeedLocked(h, fileURL)
	return e.writeCacheLocked(h)
}

func (e *Engine) addWebSeedLocked(h *handle, u string) {
	if i := slices.IndexFunc(h.webSeeds, func(w *webSeed) bool { return w.url == u }); i >= 0 {
		if ws := h.webSeeds[i]; ws.dropped != "" {
			e.log.Info("web seed re-enabled", "infohash", h.ih, "url", u)
			e.guard.undrop(u)
			ws.dropped = ""
			if ws.peer != nil { // judge it on what it serves from now on
				ps := ws.peer.Stats()
				ws.badBase, ws.goodBase = ps.PiecesDirtiedBad.Int64(), ps.PiecesDirtiedGood.Int64()
			}
			pokeWebSeeds(e.cl, "fourmi: web seed re-enabled")
		}
		return
	}
	if h.held {
		e.guard.hold(u, true)
	}
	before := h.t.WebseedPeerConns()
	h.t.AddWebSeeds([]string{u})
	ws := &webSeed{url: u}
	// anacrolix does not expose which Peer serves which URL: the new one is
	// the one that was not there before.
	for _, p := range h.t.WebseedPeerConns() {
		if !slices.Contains(before, p) {
			ws.peer = p
		}
	}
	h.webSeeds = append(h.webSeeds, ws)
	pokeWebSeeds(e.cl, "fourmi: web seed added")
}

// AddPeers introduces BitTorrent peers ("host:port") for a torrent, e.g.
// other Fourmi instances known out of band, or a seeder in tests.
func (e *Engine) AddPeers(ih InfoHash, addrs ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, err := e.handleLocked(ih)
	if err != nil {
		return err
	}
	return e.addPeersLocked(h, addrs)
}

func (e *Engine) addPeersLocked(h *handle, addrs []string) error {
	var infos []torrent.PeerInfo
	for _, a := range addrs {
		if _, _, err := splitListenAddr(a); err != nil || a == "" {
			return fmt.Errorf("peer: peer address %q: want host:port", a)
		}
		infos = append(infos, torrent.PeerInfo{Addr: torrent.StringAddr(a), Source: torrent.PeerSourceDirect, Trusted: true})
	}
	h.t.AddPeers(infos)
	return nil
}
