package peer

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Stats is a snapshot of one torrent, cheap enough to poll about once a
// second for a live display.
type Stats struct {
	InfoHash InfoHash
	Name     string
	HasInfo  bool   // metadata known (always, except for magnets still fetching it)
	Err      string // why the torrent was refused after its metadata arrived; "" normally

	Length         int64 // total bytes (0 without info)
	BytesCompleted int64 // verified bytes plus written chunks of unverified pieces
	NumPieces      int
	PiecesComplete int
	Pieces         []bool // per piece: verified and on disk
	Complete       bool   // every piece verified
	Seeding        bool   // complete and uploading to whoever asks

	BytesFromWebSeeds int64   // useful bytes received from web seeds
	BytesFromPeers    int64   // useful bytes received from BitTorrent peers
	BytesUploaded     int64   // piece data sent to peers
	DownloadRate      float64 // bytes/s, smoothed over a few seconds
	UploadRate        float64 // bytes/s, smoothed over a few seconds
	Peers             int     // connected BitTorrent peers
	Seeders           int     // connected peers that have everything
	WebSeeds          []WebSeedStats
}

// WebSeedStats describes one web seed of a torrent.
type WebSeedStats struct {
	URL        string
	BytesRead  int64  // useful bytes anacrolix received (the stream's own fetches count only in Stats.BytesFromWebSeeds)
	PiecesGood int64  // pieces it wrote to that passed their hash
	PiecesBad  int64  // pieces it wrote to that failed their hash
	Dropped    string // why the engine stopped using it; "" while in use
}

// Ratio is uploaded bytes over the torrent's length (0 without info).
func (s Stats) Ratio() float64 {
	if s.Length == 0 {
		return 0
	}
	return float64(s.BytesUploaded) / float64(s.Length)
}

// Stats returns a snapshot of one torrent.
func (e *Engine) Stats(ih InfoHash) (Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, err := e.handleLocked(ih)
	if err != nil {
		return Stats{}, err
	}
	return e.statsLocked(h), nil
}

func (e *Engine) statsLocked(h *handle) Stats {
	t := h.t
	s := Stats{
		InfoHash:     h.ih,
		Name:         t.Name(),
		DownloadRate: h.rates.down,
		UploadRate:   h.rates.up,
	}
	if h.err != nil {
		s.Err = h.err.Error()
		return s // dropped: anacrolix's state is gone
	}
	ts := t.Stats()
	s.BytesFromWebSeeds = ts.WebSeeds.BytesReadUsefulData.Int64() + h.direct.bytes.Load()
	s.BytesFromPeers = ts.PeerConns.BytesReadUsefulData.Int64()
	s.BytesUploaded = ts.BytesWrittenData.Int64()
	s.Peers = ts.ActivePeers
	s.Seeders = ts.ConnectedSeeders
	for _, ws := range h.webSeeds {
		w := WebSeedStats{URL: ws.url, Dropped: ws.dropped}
		if ws.peer != nil {
			ps := ws.peer.Stats()
			w.BytesRead = ps.BytesReadUsefulData.Int64()
			w.PiecesGood = ps.PiecesDirtiedGood.Int64()
			w.PiecesBad = ps.PiecesDirtiedBad.Int64()
		}
		s.WebSeeds = append(s.WebSeeds, w)
	}
	if h.infoBytes == nil {
		return s
	}
	s.HasInfo = true
	s.Length = t.Length()
	s.BytesCompleted = t.BytesCompleted()
	s.NumPieces = t.NumPieces()
	s.Pieces = make([]bool, 0, s.NumPieces)
	for _, run := range t.PieceStateRuns() {
		for range run.Length {
			s.Pieces = append(s.Pieces, run.Complete)
		}
	}
	for _, c := range s.Pieces {
		if c {
			s.PiecesComplete++
		}
	}
	s.Complete = s.NumPieces > 0 && s.PiecesComplete == s.NumPieces
	s.Seeding = t.Seeding()
	return s
}

// tickLoop samples rates and polices web seeds until ctx ends.
func (e *Engine) tickLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.TickInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			e.tick(now)
		}
	}
}

func (e *Engine) tick(now time.Time) {
	// Runs only between Start and Close, so e.completion is set and open.
	if err := e.completion.flush(); err != nil {
		e.log.Error("recording verified pieces", "err", err)
	}
	e.badMu.Lock()
	bad := e.bad
	e.bad = nil
	e.badMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted {
		return
	}
	for _, h := range e.torrents {
		for _, ws := range h.webSeeds {
			if reason, ok := bad[ws.url]; ok && ws.dropped == "" {
				e.dropWebSeedLocked(h, ws, reason)
			}
		}
	}
	for _, h := range e.torrents {
		if h.err != nil {
			continue
		}
		ts := h.t.Stats()
		h.rates.sample(now, ts.BytesReadUsefulData.Int64(), ts.BytesWrittenData.Int64())
		e.updateHoldLocked(h, now)
		if h.infoBytes != nil {
			e.policeWebSeedsLocked(h, now)
		}
	}
}

// Web seed policing. anacrolix counts, per source, the pieces it wrote to
// that passed or failed their hash, but it only suspends a web seed for a
// minute (and only when it alone wrote a bad piece): a seed serving another
// file would be retried forever. Counts also blame every source that wrote
// to a failed piece, so a peer poisoning pieces could make a good web seed
// look bad. So a failure only raises suspicion; the engine then checks the
// web seed itself — a few pieces fetched directly and hashed (see
// probeWebSeed) — and drops it only on proof: a wrong size or a wrong hash.
const (
	probeEvery          = time.Minute // at most one probe per web seed per minute
	multiFileBadToDrop  = 2           // multi-file torrents are not probed: counts decide
	probeRandomPieces   = 2           // pieces probed besides the first and the last
	probeRequestTimeout = 30 * time.Second
)

func (e *Engine) policeWebSeedsLocked(h *handle, now time.Time) {
	for _, ws := range h.webSeeds {
		if ws.dropped != "" || ws.peer == nil || ws.probing || now.Sub(ws.lastProbe) < probeEvery {
			continue
		}
		ps := ws.peer.Stats()
		bad, good := ps.PiecesDirtiedBad.Int64()-ws.badBase, ps.PiecesDirtiedGood.Int64()-ws.goodBase
		if bad < 1 || bad <= good {
			continue
		}
		info := h.t.Info()
		if len(info.Files) != 0 {
			if bad >= multiFileBadToDrop {
				e.dropWebSeedLocked(h, ws, fmt.Sprintf("served data failing the piece hashes (%d pieces bad, %d good)", bad, good))
			}
			continue
		}
		ws.probing, ws.lastProbe = true, now
		ws.badBase, ws.goodBase = ps.PiecesDirtiedBad.Int64(), ps.PiecesDirtiedGood.Int64()
		client := &http.Client{Transport: e.guard.base, Timeout: probeRequestTimeout}
		e.wg.Go(func() {
			reason, err := probeWebSeed(e.ctx, client, e.cfg.UserAgent, ws.url, info)
			e.mu.Lock()
			defer e.mu.Unlock()
			ws.probing = false
			switch {
			case reason != "":
				if e.torrents[h.ih] == h && ws.dropped == "" {
					e.dropWebSeedLocked(h, ws, reason)
				}
			case err != nil:
				e.log.Info("web seed probe inconclusive", "infohash", h.ih, "url", ws.url, "err", err)
			default:
				e.log.Info("web seed probed after a failed piece: it serves the right data", "infohash", h.ih, "url", ws.url)
			}
		})
	}
}

func (e *Engine) dropWebSeedLocked(h *handle, ws *webSeed, reason string) {
	ws.dropped = reason
	e.guard.drop(ws.url, reason)
	e.log.Warn("web seed dropped", "infohash", h.ih, "url", ws.url, "reason", reason)
	if err := e.writeCacheLocked(h); err != nil {
		e.log.Error("caching metainfo", "infohash", h.ih, "err", err)
	}
}
