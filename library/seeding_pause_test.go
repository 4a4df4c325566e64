package library

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/internal/testkit"
)

// Pause seeding with real engines over loopback: a paused library gives a
// leecher nothing, also after a restart; a download completing while
// paused does not seed; ResumeSeeding brings back exactly the transfers
// the pause stopped (not those the user paused, before or during the
// pause), and the leecher completes from it.
func TestPauseSeedingPersistsAndResumes(t *testing.T) {
	s := standIn(t)
	video := testkit.Video(t, videoSpec)
	a := testkit.Publish(t, s, "Heron", video, videoSpec.Seconds)
	b := testkit.Publish(t, s, "Kingfisher", video, videoSpec.Seconds)
	c := testkit.Publish(t, s, "Cormorant", video, videoSpec.Seconds)
	dir1 := t.TempDir()
	l1 := startLib(t, watchOptions(dir1))
	ctx := testCtx(t)
	for _, p := range []testkit.Published{a, b} {
		openVideo(t, l1, s, p)
		if _, err := l1.Download(ctx, p.UUID, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []testkit.Published{a, b} {
		waitState(t, l1, p.InfoHash, StateSeeding)
		waitStored(t, l1, p.InfoHash, StateSeeding)
	}
	// The user pauses b before pausing seeding.
	if err := l1.PauseTransfer(ctx, b.InfoHash); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []bool
	)
	unsub := l1.SubscribeSeedingPaused(func(p bool) { mu.Lock(); events = append(events, p); mu.Unlock() })
	lastEvent := func() (bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(events) == 0 {
			return false, false
		}
		return events[len(events)-1], true
	}
	if p, err := l1.SeedingPaused(ctx); err != nil || p {
		t.Fatalf("SeedingPaused before pausing = %v, %v", p, err)
	}
	if err := l1.PauseSeeding(ctx); err != nil {
		t.Fatalf("PauseSeeding: %v", err)
	}
	if p, err := l1.SeedingPaused(ctx); err != nil || !p {
		t.Fatalf("SeedingPaused = %v, %v", p, err)
	}
	waitFor(t, "the paused event", func() bool { p, ok := lastEvent(); return ok && p })
	unsub()
	if inEngine(l1, a.InfoHash) || storedState(t, l1, a.InfoHash) != StatePaused {
		t.Fatalf("a seeding transfer after PauseSeeding: in engine %v, state %s", inEngine(l1, a.InfoHash), storedState(t, l1, a.InfoHash))
	}
	// A complete transfer cannot be resumed one by one while paused.
	if err := l1.ResumeTransfer(ctx, b.InfoHash); !errors.Is(err, ErrSeedingPaused) {
		t.Fatalf("ResumeTransfer while seeding is paused: %v", err)
	}
	// A download still works while paused, and stops once complete.
	openVideo(t, l1, s, c)
	if _, err := l1.Download(ctx, c.UUID, 0); err != nil {
		t.Fatal(err)
	}
	waitStored(t, l1, c.InfoHash, StatePaused)
	if tr := transfer(t, l1, c.InfoHash); inEngine(l1, c.InfoHash) || tr.Stats.Completed != int64(len(c.Data)) {
		t.Fatalf("a download completed while paused: in engine %v, %d of %d bytes", inEngine(l1, c.InfoHash), tr.Stats.Completed, len(c.Data))
	}
	if path, err := l1.TransferPath(ctx, c.InfoHash); err != nil {
		t.Fatal(err)
	} else {
		fileEquals(t, path, c.Data)
	}
	upBefore := transfer(t, l1, a.InfoHash).Stats.Uploaded

	// A leecher of a, with the instance's file gone: only l1 has it.
	s.Handle(a.FilePath, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	torrentFile := filepath.Join(t.TempDir(), "heron.torrent")
	if err := os.WriteFile(torrentFile, a.Torrent, 0o600); err != nil {
		t.Fatal(err)
	}
	l2 := startLib(t, watchOptions(t.TempDir()))
	if res, err := l2.OpenURL(ctx, torrentFile); err != nil || res.Transfer == nil || res.Transfer.InfoHash != a.InfoHash {
		t.Fatalf("OpenURL(.torrent file) = %+v, %v", res, err)
	}
	h, _ := peerHash(a.InfoHash)
	gotNothing := func(when string) {
		t.Helper()
		if err := l2.watch.engine.AddPeers(h, l1.watch.engine.ListenAddr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // several ticks of both: a seeder would have sent pieces
		if tr := transfer(t, l2, a.InfoHash); tr.Stats.Completed != 0 || tr.Stats.FromPeers != 0 {
			t.Fatalf("%s: the leecher got %d bytes (%d verified) from a paused seeder", when, tr.Stats.FromPeers, tr.Stats.Completed)
		}
	}
	gotNothing("paused")

	// Restart: still paused, nothing back in the engine.
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	l1 = startLib(t, watchOptions(dir1))
	if p, err := l1.SeedingPaused(ctx); err != nil || !p {
		t.Fatalf("SeedingPaused after a restart = %v, %v", p, err)
	}
	for _, p := range []testkit.Published{a, b, c} {
		if inEngine(l1, p.InfoHash) || storedState(t, l1, p.InfoHash) != StatePaused {
			t.Fatalf("%s after a restart while paused: in engine %v, state %s", p.Name, inEngine(l1, p.InfoHash), storedState(t, l1, p.InfoHash))
		}
	}
	gotNothing("paused, after a restart")
	// The user pauses c during the pause: it stays paused after resuming.
	if err := l1.PauseTransfer(ctx, c.InfoHash); err != nil {
		t.Fatal(err)
	}

	if err := l1.ResumeSeeding(ctx); err != nil {
		t.Fatalf("ResumeSeeding: %v", err)
	}
	if p, err := l1.SeedingPaused(ctx); err != nil || p {
		t.Fatalf("SeedingPaused after resuming = %v, %v", p, err)
	}
	waitState(t, l1, a.InfoHash, StateSeeding)
	if !inEngine(l1, a.InfoHash) {
		t.Fatal("a is not back in the engine")
	}
	for _, p := range []testkit.Published{b, c} {
		if inEngine(l1, p.InfoHash) || storedState(t, l1, p.InfoHash) != StatePaused {
			t.Fatalf("%s, paused by the user, after ResumeSeeding: in engine %v, state %s", p.Name, inEngine(l1, p.InfoHash), storedState(t, l1, p.InfoHash))
		}
	}
	if err := l2.watch.engine.AddPeers(h, l1.watch.engine.ListenAddr()); err != nil {
		t.Fatal(err)
	}
	tr2 := waitState(t, l2, a.InfoHash, StateSeeding)
	if tr2.Stats.FromPeers <= 0 {
		t.Errorf("the leecher completed with %d bytes from peers", tr2.Stats.FromPeers)
	}
	if path, err := l2.TransferPath(ctx, a.InfoHash); err != nil {
		t.Fatal(err)
	} else {
		fileEquals(t, path, a.Data)
	}
	waitFor(t, "the seeder to count its upload", func() bool {
		return transfer(t, l1, a.InfoHash).Stats.Uploaded > upBefore
	})
	// Resumed, a complete transfer the user paused resumes one by one again.
	if err := l1.ResumeTransfer(ctx, b.InfoHash); err != nil {
		t.Fatalf("ResumeTransfer after ResumeSeeding: %v", err)
	}
	waitState(t, l1, b.InfoHash, StateSeeding)
}

// Pausing before Start (a CLI command) is stored, and Start honours it.
func TestPauseSeedingBeforeStart(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, watchOptions(dir))
	ctx := testCtx(t)
	if err := l.PauseSeeding(ctx); err != nil {
		t.Fatalf("PauseSeeding before Start: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = startLib(t, watchOptions(dir))
	if p, err := l.SeedingPaused(ctx); err != nil || !p {
		t.Fatalf("SeedingPaused = %v, %v", p, err)
	}
	if err := l.ResumeSeeding(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := l.SeedingPaused(ctx); p {
		t.Fatal("still paused after ResumeSeeding")
	}
}
