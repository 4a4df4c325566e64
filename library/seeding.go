package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/fourmi-app/fourmi/peer"
)

// ErrNotStarted means the call needs the BitTorrent engine: call Start first.
var ErrNotStarted = errors.New("library: BitTorrent is not running yet (Start was not called)")

// errClosed is returned by watching methods after Close.
var errClosed = errors.New("library: closed")

// settingSeedLimits holds the SeedLimits as JSON.
const settingSeedLimits = "watch.seed_limits"

// watchState is the library's watching and seeding side: the engine, the
// playbacks, and the seeding manager.
type watchState struct {
	engine  *peer.Engine
	peerDir string // the engine's data directory

	// life serializes Start and closeWatch.
	life sync.Mutex

	mu        sync.Mutex
	started   bool
	closed    bool
	cancel    context.CancelFunc // ends the manager and the background re-adds
	runCtx    context.Context    // the background work's context, set by Start
	poke      chan struct{}      // wakes the manager (SetSeedLimits)
	playbacks map[*playback]struct{}

	// op serializes what changes a torrent's presence in the engine and
	// its stored totals: the manager's ticks, add, pause, resume, remove.
	op sync.Mutex
	// bases are, per info-hash in the engine, the totals stored before the
	// engine's counters (which start at zero when a torrent is added) began.
	// Guarded by basesMu, not op: readers must not wait for an operation.
	basesMu sync.Mutex
	bases   map[string]counters

	wg sync.WaitGroup // manager, playback followers, background re-adds

	pause pauseState // Pause seeding's subscribers (seeding_pause.go)

	host hostState // the mini-instance when hosting (host_run.go)
	subs subsState // subscriptions' poller and feed subscribers (subs.go)
}

type counters struct{ uploaded, fromWebSeed, fromPeers int64 }

// initWatch builds the engine (it starts nothing).
func (l *Library) initWatch() error {
	w := &l.watch
	w.peerDir = filepath.Join(l.dir, "bittorrent")
	w.poke = make(chan struct{}, 1)
	w.playbacks = map[*playback]struct{}{}
	w.bases = map[string]counters{}
	cfg := peer.DefaultConfig(w.peerDir)
	if l.opt.LoopbackOnly {
		cfg = peer.TestConfig(w.peerDir)
	}
	if l.opt.PeerListenAddr != "" {
		cfg.ListenAddr = l.opt.PeerListenAddr
	}
	if l.hc.Timeout > 0 {
		cfg.HTTPClient = l.hc
	}
	cfg.Logger = l.opt.Logger
	e, err := peer.New(cfg)
	if err != nil {
		return err
	}
	w.engine = e
	return nil
}

// engine returns the running engine, or ErrNotStarted / errClosed.
func (l *Library) engine() (*peer.Engine, error) {
	w := &l.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return nil, errClosed
	case !w.started:
		return nil, ErrNotStarted
	}
	return w.engine, nil
}

// Start starts what runs in the background: the peer engine (BitTorrent
// port and loopback stream server), re-seeding of kept torrents, and the
// seeding manager that enforces SeedLimits. Call it once after Open; ctx
// bounds the start-up only, the background work runs until Close. Paused and
// finished torrents stay stopped.
func (l *Library) Start(ctx context.Context) error {
	w := &l.watch
	w.life.Lock()
	defer w.life.Unlock()
	w.mu.Lock()
	closed, started := w.closed, w.started
	w.mu.Unlock()
	switch {
	case closed:
		return errClosed
	case started:
		return errors.New("library: already started")
	}
	lim, err := l.SeedLimits(ctx)
	if err != nil {
		return err
	}
	if err := w.engine.SetRateLimits(lim.UploadRate, lim.DownloadRate); err != nil {
		return fmt.Errorf("library: %w", err)
	}
	runCtx, cancel := context.WithCancel(l.ctx)
	// Hosting resumes (when it was on) before BitTorrent: the engine
	// re-adds its cached torrents as it starts, and their first announce
	// goes to this instance's own tracker, which must be listening, or the
	// origin misses its own swarm until anacrolix retries a minute later
	// (found by make bench-swarm). Hosting needs nothing of the engine.
	l.startHostIfEnabled(ctx)
	if err := w.engine.Start(runCtx); err != nil {
		cancel()
		l.stopHost()
		return fmt.Errorf("library: starting BitTorrent: %w", err)
	}
	w.mu.Lock()
	w.started, w.cancel, w.runCtx = true, cancel, runCtx
	w.mu.Unlock()
	l.log.Info("BitTorrent started", "addr", w.engine.ListenAddr())
	if err := l.reconcile(ctx, runCtx); err != nil {
		l.log.Error("resuming transfers", "err", err)
	}
	w.wg.Go(func() { l.manage(runCtx) })
	w.wg.Go(func() { l.runPublish(runCtx) })
	// The subscriptions' poller (subs_poll.go).
	w.wg.Go(func() { l.runSubscriptions(runCtx) })
	return nil
}

// closeWatch stops the playbacks (their positions are saved), the manager
// (the totals are saved) and the engine, in that order.
func (l *Library) closeWatch() error {
	l.stopHost() // the mini-instance first: it serves the published files
	w := &l.watch
	w.life.Lock()
	defer w.life.Unlock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	started := w.started
	var pbs []*playback
	for p := range w.playbacks {
		pbs = append(pbs, p)
	}
	w.mu.Unlock()
	for _, p := range pbs {
		p.Stop()
	}
	if started {
		w.cancel()
	}
	w.wg.Wait()
	if w.engine == nil {
		return nil
	}
	if started {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := l.saveTotals(ctx); err != nil {
			l.log.Error("saving transfer totals", "err", err)
		}
		cancel()
	}
	if err := w.engine.Close(); err != nil {
		return fmt.Errorf("library: closing BitTorrent: %w", err)
	}
	return nil
}

// reconcile makes the engine match the transfers table after a start: the
// engine re-added the torrents of its own cache; torrents the user paused or
// that finished are taken out again (the app may have stopped between the
// two writes), and active ones the cache lost are re-added, from the stored
// .torrent at once or from the network in the background.
func (l *Library) reconcile(ctx, runCtx context.Context) error {
	rows, err := l.transferRows(ctx, "")
	if err != nil {
		return err
	}
	w := &l.watch
	live := map[string]bool{}
	for _, ih := range w.engine.Torrents() {
		live[ih.String()] = true
	}
	held, err := l.holdOnStart(ctx, rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		switch {
		case held[r.infoHash]:
			if live[r.infoHash] {
				l.takeOut(r.infoHash)
			}
		case r.state == StatePaused || r.state == StateFinished:
			if live[r.infoHash] {
				l.takeOut(r.infoHash)
			}
		case r.state == StateError || live[r.infoHash]:
		default:
			src := r.source()
			if r.metainfo != nil {
				if _, _, err := l.addTorrent(ctx, src); err != nil {
					l.markError(ctx, r.infoHash, err)
				}
				continue
			}
			w.wg.Go(func() {
				if _, _, err := l.addTorrent(runCtx, src); err != nil && runCtx.Err() == nil {
					l.markError(runCtx, r.infoHash, err)
				}
			})
		}
	}
	return nil
}

// takeOut removes a torrent from the engine, keeping its data.
func (l *Library) takeOut(ih string) {
	w := &l.watch
	h, err := peer.ParseInfoHash(ih)
	if err == nil {
		err = w.engine.Remove(h, false)
	}
	if err != nil && !errors.Is(err, peer.ErrUnknownTorrent) {
		l.log.Error("stopping a torrent", "infohash", ih, "err", err)
	}
	w.forgetBase(ih)
}

// base is the stored totals a torrent's engine counters add to; the first
// call after the torrent entered the engine records r's.
func (w *watchState) base(r transferRow) counters {
	w.basesMu.Lock()
	defer w.basesMu.Unlock()
	b, ok := w.bases[r.infoHash]
	if !ok {
		b = counters{r.uploaded, r.fromWebSeed, r.fromPeers}
		w.bases[r.infoHash] = b
	}
	return b
}

// peekBase is base without recording.
func (w *watchState) peekBase(r transferRow) counters {
	w.basesMu.Lock()
	defer w.basesMu.Unlock()
	if b, ok := w.bases[r.infoHash]; ok {
		return b
	}
	return counters{r.uploaded, r.fromWebSeed, r.fromPeers}
}

// forgetBase is called when a torrent leaves the engine.
func (w *watchState) forgetBase(ih string) {
	w.basesMu.Lock()
	delete(w.bases, ih)
	w.basesMu.Unlock()
}

// manage is the seeding manager: every SeedCheckInterval (and when the
// limits change) it saves the totals and enforces SeedLimits.
func (l *Library) manage(ctx context.Context) {
	t := time.NewTicker(l.opt.SeedCheckInterval)
	defer t.Stop()
	for {
		if err := l.seedTick(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("seeding manager", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.watch.poke:
		}
	}
}

// pokeManager asks for a manager tick now.
func (l *Library) pokeManager() {
	select {
	case l.watch.poke <- struct{}{}:
	default:
	}
}

// liveUpdate is what a tick learned about one torrent in the engine.
type liveUpdate struct {
	row       transferRow
	stats     peer.Stats
	totals    counters
	state     TransferState
	completed int64
}

// observe reads the engine's view of the active transfers, with the totals
// across restarts. Called with op held.
func (l *Library) observe(rows []transferRow) []liveUpdate {
	w := &l.watch
	var out []liveUpdate
	for _, r := range rows {
		if !r.state.active() {
			continue
		}
		h, err := peer.ParseInfoHash(r.infoHash)
		if err != nil {
			continue
		}
		st, err := w.engine.Stats(h)
		if err != nil {
			continue // not (yet) in the engine
		}
		base := w.base(r)
		u := liveUpdate{row: r, stats: st, totals: counters{
			uploaded:    base.uploaded + st.BytesUploaded,
			fromWebSeed: base.fromWebSeed + st.BytesFromWebSeeds,
			fromPeers:   base.fromPeers + st.BytesFromPeers,
		}}
		u.state, u.completed = liveState(st)
		out = append(out, u)
	}
	return out
}

// engineNameSize is a transfer's name and size once in the engine: the
// name it was given, else the torrent's, and the torrent's length once the
// engine has the info.
func engineNameSize(name string, size int64, st peer.Stats) (string, int64) {
	if name == "" {
		name = st.Name
	}
	if st.HasInfo {
		size = st.Length
	}
	return name, size
}

// liveState is the state and verified bytes a torrent in the engine shows.
// Completed reaches Size only once every piece is verified.
func liveState(st peer.Stats) (TransferState, int64) {
	switch {
	case st.Err != "":
		return StateError, 0
	case !st.HasInfo:
		return StateFetchingInfo, 0
	case st.Complete:
		return StateSeeding, st.Length
	}
	return StateDownloading, min(st.BytesCompleted, st.Length-1)
}

// saveTotals stores the totals of the torrents in the engine (at Close).
func (l *Library) saveTotals(ctx context.Context) error {
	w := &l.watch
	w.op.Lock()
	defer w.op.Unlock()
	rows, err := l.transferRows(ctx, "")
	if err != nil {
		return err
	}
	return l.storeTotals(ctx, l.observe(rows))
}

// storeTotals stores the totals and verified bytes observed in ups; they
// only grow. Called with op held.
func (l *Library) storeTotals(ctx context.Context, ups []liveUpdate) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, `UPDATE transfers SET uploaded = max(uploaded, ?),
				from_web_seed = max(from_web_seed, ?), from_peers = max(from_peers, ?), completed = max(completed, ?)
				WHERE infohash = ?`,
				u.totals.uploaded, u.totals.fromWebSeed, u.totals.fromPeers, u.completed, u.row.infoHash); err != nil {
				return err
			}
		}
		return nil
	})
}

// seedTick saves what the engine reports and applies the limits: a complete
// torrent that reached the ratio target or seeded long enough finishes
// (taken out of the engine, kept on disk); over the disk budget, the least
// recently watched complete torrents are removed with their files.
func (l *Library) seedTick(ctx context.Context) error {
	lim, err := l.SeedLimits(ctx)
	if err != nil {
		return err
	}
	w := &l.watch
	w.op.Lock()
	defer w.op.Unlock()
	rows, err := l.transferRows(ctx, "")
	if err != nil {
		return err
	}
	ups := l.observe(rows)
	now := l.now()
	playing := l.playingSet()
	sp, err := l.seedingPause(ctx)
	if err != nil {
		return err
	}
	var finish, hold []string
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		for _, u := range ups {
			r, st := u.row, u.stats
			completedAt := r.completedAt
			if u.state == StateSeeding && completedAt.IsZero() {
				completedAt = now
				l.log.Info("transfer complete", "infohash", r.infoHash, "name", r.name)
			}
			if r.metainfo == nil && st.HasInfo {
				if b, err := l.cachedMetainfo(r.infoHash); err == nil {
					r.metainfo = b
				} else {
					l.log.Warn("reading the cached metainfo", "infohash", r.infoHash, "err", err)
				}
			}
			name, size := engineNameSize(r.name, r.size, st)
			state := u.state
			if state == StateSeeding && !r.keepSeeding && !playing[r.infoHash] && r.metainfo != nil &&
				limitReached(lim, u.totals.uploaded, size, completedAt, now) {
				state = StateFinished
				finish = append(finish, r.infoHash)
			}
			// Seeding is paused: a complete torrent leaves the engine
			// (paused, and remembered so that ResumeSeeding restores it),
			// unless it is being played (it then leaves when the playback
			// ends).
			if state == StateSeeding && sp.Paused && !playing[r.infoHash] && (r.metainfo != nil || r.torrentURL != "" || r.magnet != "") {
				state = StatePaused
				hold = append(hold, r.infoHash)
			}
			// The row may have changed since it was read (a Play links a
			// bare magnet to its video): only fill in, never go back.
			if _, err := tx.ExecContext(ctx, `UPDATE transfers SET name = CASE WHEN name = '' THEN ? ELSE name END,
				size = ?, metainfo = coalesce(metainfo, ?), state = ?,
				completed_at = CASE WHEN completed_at > 0 THEN completed_at ELSE ? END, completed = ?,
				uploaded = max(uploaded, ?), from_web_seed = max(from_web_seed, ?), from_peers = max(from_peers, ?), error = ?
				WHERE infohash = ?`,
				name, size, r.metainfo, string(state), ms(completedAt), u.completed,
				u.totals.uploaded, u.totals.fromWebSeed, u.totals.fromPeers, st.Err, r.infoHash); err != nil {
				return err
			}
		}
		if len(hold) == 0 {
			return nil
		}
		sp.Held = append(sp.Held, hold...)
		return storeSeedingPause(ctx, tx, sp)
	})
	if err != nil {
		return fmt.Errorf("saving transfers: %w", err)
	}
	for _, ih := range finish {
		l.log.Info("seeding limits reached: transfer finished", "infohash", ih)
		l.takeOut(ih)
	}
	for _, ih := range hold {
		l.log.Info("seeding paused: transfer stopped", "infohash", ih)
		l.takeOut(ih)
	}
	if lim.DiskBudget > 0 {
		return l.enforceBudget(ctx, lim.DiskBudget, playing)
	}
	return nil
}

// limitReached says whether a complete torrent met the ratio or time target.
func limitReached(lim SeedLimits, uploaded, size int64, completedAt, now time.Time) bool {
	if lim.RatioTarget > 0 && size > 0 && float64(uploaded) >= lim.RatioTarget*float64(size) {
		return true
	}
	return lim.SeedFor > 0 && !completedAt.IsZero() && now.Sub(completedAt) >= lim.SeedFor
}

// enforceBudget removes complete torrents (seeding or finished), least
// recently watched first, until the kept files fit the budget. A torrent
// being played is never removed. Recency is the last watch, or the addition
// for one never watched: a download made for later is as recent as its
// addition. Called with op held.
func (l *Library) enforceBudget(ctx context.Context, budget int64, playing map[string]bool) error {
	var total int64
	// The creator's published files are never evicted and do not count.
	const notPublished = ` AND infohash NOT IN (SELECT infohash FROM local_files)`
	if err := l.db.QueryRowContext(ctx, "SELECT coalesce(sum(size), 0) FROM transfers WHERE 1"+notPublished).Scan(&total); err != nil {
		return err
	}
	if total <= budget {
		return nil
	}
	rows, err := l.db.QueryContext(ctx, `SELECT infohash, size FROM transfers
		WHERE state IN ('seeding', 'finished')`+notPublished+` ORDER BY max(last_watched_at, added_at), added_at, infohash`)
	if err != nil {
		return err
	}
	type cand struct {
		ih   string
		size int64
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.ih, &c.size); err != nil {
			rows.Close()
			return err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range cands {
		if total <= budget {
			break
		}
		if playing[c.ih] {
			continue
		}
		l.log.Info("disk budget exceeded: removing the least recently watched download", "infohash", c.ih,
			"bytes", c.size, "total", total, "budget", budget)
		if err := l.removeLocked(ctx, c.ih, true); err != nil {
			return err
		}
		total -= c.size
	}
	return nil
}

// seedLimitsJSON is how SeedLimits are stored.
type seedLimitsJSON struct {
	UploadRate   int64   `json:"upload_rate"`
	DownloadRate int64   `json:"download_rate"`
	RatioTarget  float64 `json:"ratio_target"`
	SeedForSec   int64   `json:"seed_for_s"`
	DiskBudget   int64   `json:"disk_budget"`
}

// SeedLimits reads the user's limits (DefaultSeedLimits until set).
func (l *Library) SeedLimits(ctx context.Context) (SeedLimits, error) {
	v, ok, err := l.Setting(ctx, settingSeedLimits)
	if err != nil || !ok {
		return DefaultSeedLimits, err
	}
	var j seedLimitsJSON
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		l.log.Warn("ignoring unreadable seeding limits", "err", err)
		return DefaultSeedLimits, nil
	}
	return SeedLimits{UploadRate: j.UploadRate, DownloadRate: j.DownloadRate, RatioTarget: j.RatioTarget,
		SeedFor: time.Duration(j.SeedForSec) * time.Second, DiskBudget: j.DiskBudget}, nil
}

// SetSeedLimits stores the limits and applies them at once.
func (l *Library) SetSeedLimits(ctx context.Context, lim SeedLimits) error {
	if lim.UploadRate < 0 || lim.DownloadRate < 0 || lim.SeedFor < 0 || lim.DiskBudget < 0 ||
		lim.RatioTarget < 0 || math.IsNaN(lim.RatioTarget) || math.IsInf(lim.RatioTarget, 0) {
		return fmt.Errorf("library: seeding limits must be zero (no limit) or positive: %+v", lim)
	}
	b, err := json.Marshal(seedLimitsJSON{UploadRate: lim.UploadRate, DownloadRate: lim.DownloadRate,
		RatioTarget: lim.RatioTarget, SeedForSec: int64(lim.SeedFor / time.Second), DiskBudget: lim.DiskBudget})
	if err != nil {
		return err
	}
	if err := l.SetSetting(ctx, settingSeedLimits, string(b)); err != nil {
		return err
	}
	if err := l.watch.engine.SetRateLimits(lim.UploadRate, lim.DownloadRate); err != nil {
		return fmt.Errorf("library: %w", err)
	}
	l.pokeManager()
	return nil
}
