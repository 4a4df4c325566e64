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
	// StorageErr is why the downloaded data could not be written (e.g. a
	// full disk); "" normally. The download is paused meanwhile and tried
	// again every StorageRetryInterval; verified pieces are kept.
	StorageErr string

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
	if h.storageErr != nil {
		s.StorageErr = "cannot write the downloaded data: " + h.storageErr.Error()
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

// quietTicks is how many ticks without a byte moving (anacrolix's peers and
// web seeds, the stream's direct fetches) make the engine idle: the tick then
// skips the per-torrent statistics (rates are zero, no piece can have
// failed since), so 200 torrents seeding idle cost next to nothing.
const quietTicks = 2

func (e *Engine) tick(now time.Time) {
	// Runs only between Start and Close, so e.completion is set and open.
	if err := e.completion.flush(); err != nil {
		e.log.Error("recording verified pieces", "err", err)
	}
	e.badMu.Lock()
	bad, writeErrs := e.bad, e.writeErrs
	e.bad, e.writeErrs = nil, nil
	e.badMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted {
		return
	}
	for h, err := range writeErrs {
		e.storageFailedLocked(h, err)
	}
	if len(bad) > 0 {
		for _, h := range e.torrents {
			for _, ws := range h.webSeeds {
				if reason, ok := bad[ws.url]; ok && ws.dropped == "" {
					e.dropWebSeedLocked(h, ws, reason)
				}
			}
		}
	}
	cs := e.cl.ConnStats()
	moved := cs.BytesRead.Int64() + cs.BytesWritten.Int64()
	for _, h := range e.torrents {
		moved += h.direct.bytes.Load()
	}
	if moved != e.lastMoved {
		e.lastMoved, e.quiet = moved, 0
	} else if e.quiet < quietTicks {
		e.quiet++
	}
	idle := e.quiet >= quietTicks
	for _, h := range e.torrents {
		if h.storageErr != nil && !now.Before(h.storageRetry) {
			e.storageRetryLocked(h)
		}
		e.updateHoldLocked(h, now)
		if h.err != nil {
			continue
		}
		if idle {
			// Nothing moved for a while: the counters are where the last
			// sample left them.
			h.rates.down, h.rates.up, h.rates.lastAt = 0, 0, now
			continue
		}
		ts := h.t.Stats()
		h.rates.sample(now, ts.BytesReadUsefulData.Int64(), ts.BytesWrittenData.Int64())
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

// StorageRetryInterval is how long a download stays paused after its data
// could not be written (a full disk) before it is tried again.
const StorageRetryInterval = 30 * time.Second

// storageFailedLocked pauses h's download after a write failed: nothing is
// requested from peers or web seeds (anacrolix would otherwise request and
// fail again at full speed), pieces already verified stay, seeding goes on.
// The next tick after StorageRetryInterval tries again.
func (e *Engine) storageFailedLocked(h *handle, err error) {
	if e.state != stateStarted || e.torrents[h.ih] != h || h.storageErr != nil {
		return
	}
	now := time.Now()
	h.storageErr, h.storageRetry = err, now.Add(StorageRetryInterval)
	e.log.Error("cannot write torrent data; download paused", "infohash", h.ih, "err", err,
		"retry_in", StorageRetryInterval)
	e.updateHoldLocked(h, now) // nothing wanted, web seeds held
}

// storageRetryLocked ends the pause; the caller's updateHoldLocked resumes.
func (e *Engine) storageRetryLocked(h *handle) {
	e.log.Info("retrying a download paused by a write error", "infohash", h.ih, "err", h.storageErr)
	h.storageErr = nil
}
