package peer

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/types"
)

// The swarm planner: many viewers should cost the origin (a PeerTube
// instance: its web seed, and its own BitTorrent seed) about one copy.
//
// While BitTorrent peers are connected and the torrent is incomplete, the
// engine plans what anacrolix downloads itself instead of asking for the
// whole file at once:
//
//   - the player's window keeps anacrolix's reader priorities (and the
//     stream's direct web seed fetch of the bytes at the player's position,
//     see direct.go): urgent pieces come from whoever is fastest;
//   - with peers, the player's readahead is short (playerReadaheadPeered)
//     and the stream fetches from the web seed only what no other viewer
//     has, or what the player has waited for (directPeerWait);
//   - away from the player, a window of missing pieces is wanted: up to
//     planWindow bytes that other viewers (connected peers that are not
//     seeders) have, and at High priority up to planSeedOnly bytes that
//     only seeders (the origin) have — the rarest first, ties broken in a
//     random order of this engine's own, so that viewers starting together
//     ask the origin for different pieces and then trade them instead of
//     each pulling the same ones. The rest is not wanted until the window
//     moves on (anacrolix would otherwise ask every peer, the origin
//     included, for everything in index order);
//   - anacrolix's web seed requests wait while planned; the planner fetches
//     from the web seed itself what no connected peer has (planWebLocked,
//     planFetch: one request at a time, groups in a random order), and,
//     with no player (fourmi get), the head first, as a player starting
//     would. A download making no progress for planStall is left to
//     anacrolix (everything wanted, web seeds released) for as long.
//
// Without peers, or once complete, the engine downloads as before (web
// seeds and whoever connects, the whole file).
const (
	// planWindow is how many bytes of background pieces other viewers have
	// are wanted at once; planSeedOnly how many that only seeders (the
	// origin) have.
	planWindow   = 8 << 20
	planSeedOnly = 4 << 20
	// planSeedOnlyShare: the seed-only window is at most this fraction of
	// the file.
	planSeedOnlyShare = 8
	// planInterval is how often the window moves on (see planLoop).
	planInterval = 250 * time.Millisecond
	// planStall is how long a planned download may make no progress before
	// the plan is suspended (for as long).
	planStall = 5 * time.Second
	// planHead: with no player, the first planHead bytes are what a player
	// would read first: wanted before anything else, from whoever has them
	// (Now priority).
	planHead = 2 << 20
	// webHead: the part of the head fetched from the web seed when peers
	// do not have it (what a player needs to start: the stream's direct
	// fetch takes as much, directSpan).
	webHead = directSpan
	// planGroup: the planner's web seed fetch takes the pieces no connected
	// peer has in groups of about planGroup bytes, the groups in this
	// engine's random order, so that viewers starting together fetch
	// different parts of the file from the origin and then trade them.
	// Smaller runs waste less when a peer delivers first and the run is
	// cut short (make bench-swarm, 8 viewers: 1 MiB 1.51–1.61 copies,
	// 512 KiB 1.31–1.35).
	planGroup = 512 << 10
	// planFetchWorkers: requests in flight per torrent for that fetch. One:
	// on a fast origin, more would have every viewer race ahead of the
	// piece exchange and fetch groups another viewer is fetching too.
	planFetchWorkers = 1
	// headPeerWait is how long the head waits for peers that have it
	// before the web seed fetches it anyway.
	headPeerWait = planInterval
)

// planState is a torrent's planner bookkeeping. Guarded by Engine.mu.
type planState struct {
	active   bool    // peers are connected and pieces missing: the planner decides
	peersAll bool    // the connected peers together have every missing piece
	rank     []int32 // this engine's random order of the pieces (tie-break)
	// want is the priority the planner wants per piece; set what anacrolix
	// was asked for (nil until wantPlanned cleared everything).
	want, set []types.PiecePriority
	// progress: the completed bytes at lastMove
	completed int64
	lastMove  time.Time
	resumeAt  time.Time // after a stall, no plan until then

	// avail and held: per piece, the connected peers having it, and those
	// of them that are not seeders (set while active).
	avail, held []int32
	// The planner's own web seed fetch (planFetch): the pieces to fetch, in
	// order, as computed at the last plan; groupRank is this engine's
	// random order of planGroup-sized groups of pieces.
	queue     atomic.Pointer[webQueue]
	groupRank []int32
	headSince time.Time // when the plan became active (the head's wait for peers)
	fetchers  atomic.Int32
	busyMu    sync.Mutex
	busy      map[int]bool // pieces a planFetch worker is fetching
}

// webQueue is what the planner's web seed fetchers may fetch, in order.
type webQueue struct {
	pieces []int
	urls   []string
}

// planLoop starts and moves the plans of incomplete torrents between ticks.
func (e *Engine) planLoop(done <-chan struct{}) {
	tick := time.NewTicker(planInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			e.mu.Lock()
			if e.state == stateStarted {
				for _, h := range e.torrents {
					if h.plan.active || h.infoBytes != nil && h.err == nil && !h.t.Complete().Bool() {
						e.updateHoldLocked(h, now)
					}
				}
			}
			e.mu.Unlock()
		}
	}
}

// planLocked decides whether h is planned and, if so, chooses its window
// and what the planner fetches from the web seed itself. It is called from
// updateHoldLocked before the hold and want are chosen.
func (e *Engine) planLocked(h *handle, now time.Time) {
	e.planWindowLocked(h, now)
	e.planWebLocked(h, now)
}

// planWindowLocked is planLocked's choice of what anacrolix downloads.
func (e *Engine) planWindowLocked(h *handle, now time.Time) {
	if !e.cfg.SwarmPlanner || h.infoBytes == nil || h.err != nil || h.storageErr != nil {
		h.endPlan()
		return
	}
	t := h.t
	if t.Complete().Bool() || now.Before(h.plan.resumeAt) {
		h.endPlan()
		return
	}
	conns := t.PeerConns()
	n := t.NumPieces()
	if len(conns) == 0 || n == 0 {
		h.endPlan()
		return
	}
	var missing []int
	i := 0
	for _, r := range t.PieceStateRuns() {
		if !r.Complete {
			for k := range r.Length {
				missing = append(missing, i+k)
			}
		}
		i += r.Length
	}
	if len(missing) == 0 {
		h.endPlan()
		return
	}
	// avail counts the connected peers having each piece; held those that
	// are not seeders (other viewers: what they give costs the origin
	// nothing).
	avail, held := make([]int32, n), make([]int32, n)
	for _, pc := range conns {
		bm := pc.PeerPieces()
		seeder := int(bm.GetCardinality()) >= n
		it := bm.Iterator()
		for it.HasNext() {
			if p := int(it.Next()); p < n {
				avail[p]++
				if !seeder {
					held[p]++
				}
			}
		}
	}
	peerHeld := make([]bool, n)
	for i, c := range held {
		peerHeld[i] = c > 0
	}
	h.peerHeld.Store(&peerHeld)
	h.plan.avail, h.plan.held = avail, held
	if !h.plan.active {
		h.plan.active = true
		h.plan.completed, h.plan.lastMove = t.BytesCompleted(), now
		h.peered.Store(true)
	}
	if len(h.plan.rank) != n {
		h.plan.rank = make([]int32, n)
		for i, r := range rand.Perm(n) {
			h.plan.rank[i] = int32(r)
		}
	}
	if c := t.BytesCompleted(); c != h.plan.completed {
		h.plan.completed, h.plan.lastMove = c, now
	} else if now.Sub(h.plan.lastMove) >= planStall {
		// Stalled: let anacrolix download everything from everyone (web
		// seeds included) for a while.
		h.plan.resumeAt = now.Add(planStall)
		h.endPlan()
		return
	}
	h.plan.peersAll = true
	for _, p := range missing {
		if avail[p] == 0 {
			h.plan.peersAll = false
			break
		}
	}
	// The window: what other viewers have (Normal priority, up to
	// planWindow bytes), and pieces only seeders (the origin) have, at High
	// priority so that the requests to a seeder go to them first (up to
	// planSeedOnly bytes: enough to fill them). Among equals, the rarest
	// first, then this engine's random order.
	rank := h.plan.rank
	slices.SortFunc(missing, func(a, b int) int {
		if avail[a] != avail[b] {
			return int(avail[a] - avail[b])
		}
		return int(rank[a] - rank[b])
	})
	pl := t.Info().PieceLength
	// A small file gets a smaller seed-only window: the viewers' windows
	// would overlap (the same pieces asked of the origin) if each covered
	// much of it.
	seedOnly := min(planSeedOnly, t.Info().TotalLength()/planSeedOnlyShare)
	maxHeld, maxSeedOnly := max(1, int(planWindow/pl)), max(1, int(seedOnly/pl))
	if len(h.plan.want) != n {
		h.plan.want = make([]types.PiecePriority, n)
	}
	clear(h.plan.want)
	head := 0
	if h.streams == 0 {
		head = min(n, int((planHead+pl-1)/pl))
	}
	for _, p := range missing {
		if p < head {
			// No player: the head first, as a player starting would
			// read it, from whoever has it.
			h.plan.want[p] = types.PiecePriorityNow
			continue
		}
		switch {
		case held[p] > 0 && maxHeld > 0:
			h.plan.want[p] = types.PiecePriorityNormal
			maxHeld--
		case held[p] == 0 && maxSeedOnly > 0:
			h.plan.want[p] = types.PiecePriorityHigh
			maxSeedOnly--
		}
	}
}

// applyPlanLocked asks anacrolix for the planned priorities (in
// wantPlanned, after wantLocked cleared every piece).
func (e *Engine) applyPlanLocked(h *handle) {
	n := h.t.NumPieces()
	if len(h.plan.want) != n {
		return
	}
	if len(h.plan.set) != n {
		h.plan.set = make([]types.PiecePriority, n) // wantLocked set them all to None
	}
	for i, w := range h.plan.want {
		if h.plan.set[i] != w {
			h.t.Piece(i).SetPriority(w)
			h.plan.set[i] = w
		}
	}
}

// planHoldsWebSeeds: the peers can supply the rest, or the planner fetches
// what they cannot itself (planFetch).
func (h *handle) planHoldsWebSeeds() bool {
	if !h.plan.active {
		return false
	}
	q := h.plan.queue.Load()
	return h.plan.peersAll || q != nil && len(q.urls) > 0
}

func (h *handle) endPlan() {
	h.plan.active = false
	h.plan.avail, h.plan.held = nil, nil
	h.peered.Store(false)
	h.peerHeld.Store(nil)
}

// planWebLocked chooses what the planner fetches from the web seed itself
// (planFetch), bypassing anacrolix's web seed requests, which it holds
// while planned: with no player, the head (planHead) that no other viewer
// has (or that one has but has not sent within headPeerWait); and while
// planned, the pieces no connected peer has at all, by groups in this
// engine's random order. Without a usable single-file web seed there is
// nothing to fetch this way (anacrolix's web seed requests then follow the
// window when released).
func (e *Engine) planWebLocked(h *handle, now time.Time) {
	t := h.t
	if !e.cfg.SwarmPlanner || h.infoBytes == nil || h.err != nil || h.storageErr != nil || t.Complete().Bool() ||
		len(t.Info().Files) != 0 {
		h.plan.queue.Store(nil)
		return
	}
	var urls []string
	for _, ws := range h.webSeeds {
		if ws.dropped == "" {
			urls = append(urls, ws.url)
		}
	}
	if len(urls) == 0 {
		h.plan.queue.Store(nil)
		return
	}
	n, pl := t.NumPieces(), t.Info().PieceLength
	complete := make([]bool, n)
	i := 0
	for _, r := range t.PieceStateRuns() {
		for k := range r.Length {
			complete[i+k] = r.Complete
		}
		i += r.Length
	}
	var pieces []int
	if h.streams == 0 {
		// The head a player would wait for: at once while no peer is
		// connected; with peers, what none of them has, or all of it
		// once they have had headPeerWait to send it.
		head := min(n, int((webHead+pl-1)/pl))
		if !h.plan.active {
			h.plan.headSince = time.Time{}
		} else if h.plan.headSince.IsZero() {
			h.plan.headSince = now
		}
		waited := h.plan.active && now.Sub(h.plan.headSince) >= headPeerWait
		for i := range head {
			if !complete[i] && (!h.plan.active || h.plan.avail[i] == 0 || waited) {
				pieces = append(pieces, i)
			}
		}
	}
	if h.plan.active && !h.plan.peersAll {
		per := max(1, int(planGroup/pl))
		groups := (n + per - 1) / per
		if len(h.plan.groupRank) != groups {
			h.plan.groupRank = make([]int32, groups)
			for i, r := range rand.Perm(groups) {
				h.plan.groupRank[i] = int32(r)
			}
		}
		var none []int
		for i := range n {
			if !complete[i] && h.plan.avail[i] == 0 && !slices.Contains(pieces, i) {
				none = append(none, i)
			}
		}
		rank := h.plan.groupRank
		slices.SortFunc(none, func(a, b int) int {
			if ra, rb := rank[a/per], rank[b/per]; ra != rb {
				return int(ra - rb)
			}
			return a - b
		})
		pieces = append(pieces, none...)
	}
	h.plan.queue.Store(&webQueue{pieces: pieces, urls: urls})
	if len(pieces) > 0 && h.plan.fetchers.CompareAndSwap(0, planFetchWorkers) {
		for range planFetchWorkers {
			h.direct.wg.Go(func() {
				defer h.plan.fetchers.Add(-1)
				e.planFetch(h)
			})
		}
	}
}

// planFetch is one of a torrent's planner web seed fetchers: it takes the
// first pieces of the plan's queue that nobody fetches yet (a run of
// consecutive ones, up to planGroup bytes), fetches them with one Range
// request, checks and stores them (as the stream's direct fetch does), and
// starts over. It ends when the queue is empty (planWebLocked starts it
// again), or the torrent is complete or removed. It never takes e.mu:
// Remove holds it while waiting for the fetchers.
func (e *Engine) planFetch(h *handle) {
	ctx := context.WithValue(h.direct.ctx, directCtxKey{}, true)
	failures := 0
	for ctx.Err() == nil && !h.t.Complete().Bool() {
		q := h.plan.queue.Load()
		if q == nil || len(q.urls) == 0 {
			return
		}
		first, last, ok := h.claim(q)
		if !ok {
			return
		}
		u := q.urls[failures%len(q.urls)]
		err := e.fetchPieces(ctx, h, u, first, last)
		h.unclaim(first, last)
		if err == nil || ctx.Err() != nil {
			failures = 0
			continue
		}
		failures++
		var bad *badPieceError
		if errors.As(err, &bad) {
			e.reportBadWebSeed(u, bad.Error())
		}
		var werr *writeError
		if errors.As(err, &werr) {
			e.reportWriteError(h, werr.err)
			return
		}
		e.log.Info("planned fetch from web seed failed", "infohash", h.ih, "url", u, "pieces", []int{first, last}, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(min(failures, 10)) * 200 * time.Millisecond):
		}
	}
}

// claim picks the next run of pieces of q to fetch and marks them busy.
// Pieces complete, busy, or that a connected peer has by now are skipped.
func (h *handle) claim(q *webQueue) (first, last int, ok bool) {
	pl := h.t.Info().PieceLength
	maxRun := max(1, int(planGroup/pl))
	conns := h.t.PeerConns()
	have := func(i int) bool {
		for _, pc := range conns {
			if pc.PeerPieces().Contains(uint32(i)) {
				return true
			}
		}
		return false
	}
	h.plan.busyMu.Lock()
	defer h.plan.busyMu.Unlock()
	if h.plan.busy == nil {
		h.plan.busy = map[int]bool{}
	}
	for k, p := range q.pieces {
		// The head is fetched even if a peer has it (planWebLocked
		// waited for the peers first); the rest only if none has it.
		if h.plan.busy[p] || h.t.Piece(p).State().Complete || p >= int((webHead+pl-1)/pl) && have(p) {
			continue
		}
		first, last = p, p
		for j := k + 1; j < len(q.pieces) && q.pieces[j] == last+1 && last-first+1 < maxRun; j++ {
			if h.plan.busy[last+1] || h.t.Piece(last+1).State().Complete {
				break
			}
			last++
		}
		for i := first; i <= last; i++ {
			h.plan.busy[i] = true
		}
		return first, last, true
	}
	return 0, 0, false
}

func (h *handle) unclaim(first, last int) {
	h.plan.busyMu.Lock()
	defer h.plan.busyMu.Unlock()
	for i := first; i <= last; i++ {
		delete(h.plan.busy, i)
	}
}

// fetchPieces GETs pieces first..last from the web seed u and stores each
// one that checks out (readPieceInto); it stops early when the rest is
// complete.
func (e *Engine) fetchPieces(ctx context.Context, h *handle, u string, first, last int) error {
	info := h.t.Info()
	end := min(int64(last+1)*info.PieceLength, info.Length)
	body, closeBody, err := e.openRange(ctx, u, int64(first)*info.PieceLength, end)
	if err != nil {
		return err
	}
	defer closeBody()
	h.direct.starts.Add(1)
	for i := first; i <= last; i++ {
		if i > first && h.t.Piece(i).State().Complete {
			rest := true
			for k := i; k <= last; k++ {
				rest = rest && h.t.Piece(k).State().Complete
			}
			if rest {
				return nil
			}
		}
		if err := e.readPieceInto(h, body, i); err != nil {
			return err
		}
	}
	return nil
}
