package peer

import (
	"math/rand/v2"
	"slices"
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
//   - anacrolix's web seed requests wait while the connected peers together
//     have every missing piece; a piece no connected peer has releases
//     them. A download making no progress for planStall is left to
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

// planLocked decides whether h is planned and, if so, chooses its window.
// It is called from updateHoldLocked before the hold and want are chosen.
func (e *Engine) planLocked(h *handle, now time.Time) {
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
	for _, p := range missing {
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

// planHoldsWebSeeds: the peers can supply the rest.
func (h *handle) planHoldsWebSeeds() bool {
	return h.plan.active && h.plan.peersAll
}

func (h *handle) endPlan() {
	h.plan.active = false
	h.peered.Store(false)
	h.peerHeld.Store(nil)
}
