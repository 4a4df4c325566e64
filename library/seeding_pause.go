package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Pause seeding: one switch that stops all uploading, kept across restarts.
//
// The engine has no per-torrent "stop uploading", and an upload cap of 0
// means unlimited, so a paused complete torrent leaves the engine, as
// PauseTransfer does: it neither uploads nor announces itself as a seeder.
// Its row becomes StatePaused (so it plays from its file, like any paused
// transfer) and its info-hash joins the setting's Held list; ResumeSeeding
// restores exactly those, not the transfers the user paused one by one.
// While paused, downloads go on (BitTorrent exchanges pieces while
// downloading; a video being watched keeps working) and a transfer leaves
// the engine as soon as it is complete, or when its playback ends. Start
// keeps a paused library's seeding transfers out of the engine. The
// published videos' web seed (the instance's HTTP files, when hosting) is
// not BitTorrent seeding and is not affected.

// settingSeedingPause holds the seedingPause as JSON.
const settingSeedingPause = "watch.seeding_pause"

// ErrSeedingPaused means the call would start seeding while seeding is
// paused (ResumeTransfer of a complete transfer): resume seeding first.
var ErrSeedingPaused = errors.New("library: seeding is paused (resume seeding first)")

// seedingPause is the stored switch.
type seedingPause struct {
	Paused bool     `json:"paused"`
	Held   []string `json:"held,omitempty"` // info-hashes the pause stopped, to restore
}

// pauseState serializes PauseSeeding and ResumeSeeding and holds their
// subscribers.
type pauseState struct {
	mu    sync.Mutex
	subMu sync.Mutex
	subs  map[int]chan bool
	next  int
}

// seedingPause reads the switch (not paused when unset or unreadable).
func (l *Library) seedingPause(ctx context.Context) (seedingPause, error) {
	v, ok, err := l.Setting(ctx, settingSeedingPause)
	if err != nil || !ok || v == "" {
		return seedingPause{}, err
	}
	var sp seedingPause
	if err := json.Unmarshal([]byte(v), &sp); err != nil {
		l.log.Warn("ignoring an unreadable seeding pause", "err", err)
		return seedingPause{}, nil
	}
	return sp, nil
}

// storeSeedingPause stores the switch in tx (Held without duplicates).
func storeSeedingPause(ctx context.Context, tx *sql.Tx, sp seedingPause) error {
	slices.Sort(sp.Held)
	sp.Held = slices.Compact(sp.Held)
	if !sp.Paused {
		sp.Held = nil
	}
	b, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	return setSetting(ctx, tx, settingSeedingPause, string(b))
}

// SeedingPaused reports whether seeding is paused (PauseSeeding).
func (l *Library) SeedingPaused(ctx context.Context) (bool, error) {
	sp, err := l.seedingPause(ctx)
	if err != nil {
		return false, fmt.Errorf("library: %w", err)
	}
	return sp.Paused, nil
}

// PauseSeeding stops every complete torrent from seeding, now and after a
// restart, until ResumeSeeding; downloads go on and stop seeding once
// complete. It works before Start too (Start then keeps them stopped).
func (l *Library) PauseSeeding(ctx context.Context) error {
	w := &l.watch
	w.pause.mu.Lock()
	defer w.pause.mu.Unlock()
	w.op.Lock()
	sp, err := l.seedingPause(ctx)
	if err == nil && !sp.Paused {
		sp.Paused = true
		err = l.inTx(ctx, func(tx *sql.Tx) error { return storeSeedingPause(ctx, tx, sp) })
	}
	w.op.Unlock()
	if err != nil {
		return fmt.Errorf("library: pausing seeding: %w", err)
	}
	l.log.Info("seeding paused")
	l.seedingPauseChanged(true)
	if _, err := l.engine(); err != nil {
		return nil // not running: Start keeps them stopped
	}
	// One manager tick takes the complete torrents out now.
	if err := l.seedTick(ctx); err != nil {
		return fmt.Errorf("library: pausing seeding: %w", err)
	}
	return nil
}

// ResumeSeeding undoes PauseSeeding: the transfers it stopped seed again
// (a transfer the user paused or removed meanwhile stays as it is).
func (l *Library) ResumeSeeding(ctx context.Context) error {
	w := &l.watch
	w.pause.mu.Lock()
	defer w.pause.mu.Unlock()
	w.op.Lock()
	sp, err := l.seedingPause(ctx)
	var n int64
	if err == nil {
		err = l.inTx(ctx, func(tx *sql.Tx) error {
			for _, ih := range sp.Held {
				res, err := tx.ExecContext(ctx, "UPDATE transfers SET state = 'seeding' WHERE infohash = ? AND state = 'paused'", ih)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				n += k
			}
			return storeSeedingPause(ctx, tx, seedingPause{})
		})
	}
	w.op.Unlock()
	if err != nil {
		return fmt.Errorf("library: resuming seeding: %w", err)
	}
	l.log.Info("seeding resumed", "transfers", n)
	l.seedingPauseChanged(false)
	w.mu.Lock()
	runCtx, started, closed := w.runCtx, w.started, w.closed
	w.mu.Unlock()
	if !started || closed {
		return nil // Start adds them back
	}
	// The rows are active again: put them back in the engine, as Start
	// does.
	if err := l.reconcile(ctx, runCtx); err != nil {
		return fmt.Errorf("library: resuming seeding: %w", err)
	}
	return nil
}

// holdOnStart marks, when seeding is paused, the transfers stored as
// seeding (the app stopped before a tick could take them out) as held by
// the pause. Start's reconcile then leaves them out of the engine.
func (l *Library) holdOnStart(ctx context.Context, rows []transferRow) (map[string]bool, error) {
	sp, err := l.seedingPause(ctx)
	if err != nil || !sp.Paused {
		return nil, err
	}
	held := map[string]bool{}
	for _, r := range rows {
		if r.state == StateSeeding {
			held[r.infoHash] = true
			sp.Held = append(sp.Held, r.infoHash)
		}
	}
	if len(held) == 0 {
		return nil, nil
	}
	w := &l.watch
	w.op.Lock()
	defer w.op.Unlock()
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		for ih := range held {
			if _, err := tx.ExecContext(ctx, "UPDATE transfers SET state = 'paused' WHERE infohash = ? AND state = 'seeding'", ih); err != nil {
				return err
			}
		}
		return storeSeedingPause(ctx, tx, sp)
	})
	return held, err
}

// unholdTx forgets that the pause stopped ih (the user paused it
// explicitly: ResumeSeeding must not restart it).
func (l *Library) unholdTx(ctx context.Context, tx *sql.Tx, ih string) error {
	sp, err := l.seedingPause(ctx)
	if err != nil || !slices.Contains(sp.Held, ih) {
		return err
	}
	sp.Held = slices.DeleteFunc(sp.Held, func(h string) bool { return h == ih })
	return storeSeedingPause(ctx, tx, sp)
}

// SubscribeSeedingPaused calls fn (from its own goroutine) with the new
// state each time seeding is paused or resumed; a slow fn sees the latest
// state, not every change. The returned function unsubscribes.
func (l *Library) SubscribeSeedingPaused(fn func(paused bool)) (unsubscribe func()) {
	p := &l.watch.pause
	ch := make(chan bool, 1)
	p.subMu.Lock()
	if p.subs == nil {
		p.subs = map[int]chan bool{}
	}
	id := p.next
	p.next++
	p.subs[id] = ch
	p.subMu.Unlock()
	l.wg.Go(func() {
		for {
			select {
			case v, ok := <-ch:
				if !ok {
					return
				}
				fn(v)
			case <-l.ctx.Done():
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			p.subMu.Lock()
			delete(p.subs, id)
			p.subMu.Unlock()
			close(ch)
		})
	}
}

// seedingPauseChanged sends the state to the subscribers, replacing a
// value not yet taken.
func (l *Library) seedingPauseChanged(paused bool) {
	p := &l.watch.pause
	p.subMu.Lock()
	defer p.subMu.Unlock()
	for _, ch := range p.subs {
		select {
		case <-ch:
		default:
		}
		ch <- paused
	}
}
