package library

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/internal/testkit"
)

// waitStored waits until the manager stored a transfer's state.
func waitStored(t testing.TB, l *Library, ih string, want TransferState) {
	t.Helper()
	waitFor(t, "stored state "+string(want), func() bool { return storedState(t, l, ih) == want })
}

// Over the disk budget the least recently watched complete downloads are
// removed with their files; one being played is spared.
func TestDiskBudgetEvictsLeastRecentlyWatched(t *testing.T) {
	s := standIn(t)
	video := testkit.Video(t, videoSpec)
	clk := newClock()
	o := watchOptions(t.TempDir())
	o.Now = clk.Now
	l := startLib(t, o)
	ctx := testCtx(t)
	if err := l.SetSeedLimits(ctx, SeedLimits{}); err != nil { // no limits while downloading
		t.Fatal(err)
	}
	var ps []testkit.Published
	paths := map[string]string{}
	for _, name := range []string{"Aardvark", "Badger", "Capybara"} {
		p := testkit.Publish(t, s, name, video, videoSpec.Seconds)
		ps = append(ps, p)
		openVideo(t, l, s, p)
		if _, err := l.Download(ctx, p.UUID, 0); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
	}
	for _, p := range ps {
		waitState(t, l, p.InfoHash, StateSeeding)
		waitStored(t, l, p.InfoHash, StateSeeding)
		path, err := l.TransferPath(ctx, p.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		paths[p.InfoHash] = path
	}
	a, b, c := ps[0], ps[1], ps[2]
	size := int64(len(a.Data))
	// b is streamed, then a and c are watched: b is the least recently
	// watched but it is playing, so a (the older of the two others) goes.
	pb, err := l.Stream(ctx, b.UUID, 0)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	for _, p := range []testkit.Published{a, c} {
		if err := l.touchWatched(ctx, p.InfoHash); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SetSeedLimits(ctx, SeedLimits{DiskBudget: 2*size + size/2}); err != nil {
		t.Fatal(err)
	}
	evicted := func(p testkit.Published) {
		t.Helper()
		waitFor(t, "the disk budget to evict "+p.Name, func() bool {
			_, err := l.TransferByHash(ctx, p.InfoHash)
			return errors.Is(err, ErrNotFound)
		})
		if _, err := os.Stat(paths[p.InfoHash]); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the evicted download's file is still there: %v", err)
		}
		if inEngine(l, p.InfoHash) {
			t.Error("the evicted torrent is still in the engine")
		}
	}
	evicted(a)
	time.Sleep(3 * o.SeedCheckInterval)
	for _, p := range []testkit.Published{b, c} {
		if tr := transfer(t, l, p.InfoHash); tr.State != StateSeeding {
			t.Errorf("%s: %s after the eviction", p.Name, tr.State)
		}
		fileEquals(t, paths[p.InfoHash], p.Data)
	}

	// Once the stream stops, b is the least recently watched.
	pb.Stop()
	if err := l.SetSeedLimits(ctx, SeedLimits{DiskBudget: size + size/2}); err != nil {
		t.Fatal(err)
	}
	evicted(b)
	fileEquals(t, paths[c.InfoHash], c.Data)
	list, err := l.Transfers(ctx)
	if err != nil || len(list) != 1 || list[0].InfoHash != c.InfoHash {
		t.Errorf("transfers left: %+v, %v", list, err)
	}
}

// A complete torrent that seeded for SeedFor finishes: out of the engine,
// kept on disk (it plays from the file); resumed by the user, it seeds
// again despite the limit.
func TestSeedForFinishesAndResumeKeepsSeeding(t *testing.T) {
	s := standIn(t)
	p := testkit.Publish(t, s, "Volcanoes", testkit.Video(t, videoSpec), videoSpec.Seconds)
	clk := newClock()
	dir := t.TempDir()
	o := watchOptions(dir)
	o.Now = clk.Now
	l := startLib(t, o)
	ctx := testCtx(t)
	if err := l.SetSeedLimits(ctx, SeedLimits{SeedFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	openVideo(t, l, s, p)
	if _, err := l.Download(ctx, p.UUID, 0); err != nil {
		t.Fatal(err)
	}
	waitStored(t, l, p.InfoHash, StateSeeding)
	clk.Add(59 * time.Minute)
	time.Sleep(3 * o.SeedCheckInterval)
	if st := storedState(t, l, p.InfoHash); st != StateSeeding {
		t.Fatalf("state %s before SeedFor elapsed", st)
	}
	clk.Add(2 * time.Minute)
	tr := waitState(t, l, p.InfoHash, StateFinished)
	if inEngine(l, p.InfoHash) {
		t.Error("a finished torrent is still in the engine")
	}
	if tr.Stats.Completed != tr.Stats.Size || tr.Stats.Size != int64(len(p.Data)) {
		t.Errorf("finished stats %+v", tr.Stats)
	}

	// A finished download streams from its file, without the engine.
	pb, err := l.Stream(ctx, p.UUID, 0)
	if err != nil {
		t.Fatal(err)
	}
	path, err := l.TransferPath(ctx, p.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if pb.StreamURL() != "file://"+path {
		t.Errorf("stream of a finished download: %q, want file://%s", pb.StreamURL(), path)
	}
	pb.Stop()
	if inEngine(l, p.InfoHash) || storedState(t, l, p.InfoHash) != StateFinished {
		t.Error("streaming a finished download put it back in the engine")
	}

	// Survives a restart as finished.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = startLib(t, o)
	if tr := transfer(t, l, p.InfoHash); tr.State != StateFinished || inEngine(l, p.InfoHash) {
		t.Fatalf("after restart: %s, in engine %v", tr.State, inEngine(l, p.InfoHash))
	}
	if err := l.ResumeTransfer(ctx, p.InfoHash); err != nil {
		t.Fatal(err)
	}
	waitStored(t, l, p.InfoHash, StateSeeding)
	time.Sleep(3 * o.SeedCheckInterval)
	if st := storedState(t, l, p.InfoHash); st != StateSeeding || !inEngine(l, p.InfoHash) {
		t.Errorf("resumed by the user: %s, in engine %v; want seeding", st, inEngine(l, p.InfoHash))
	}
	fileEquals(t, path, p.Data)
}

// The download rate limit, stored before Start, caps the web seed once the
// engine runs (the limiter lets a 1 MiB burst through at once).
func TestRateLimitsApplied(t *testing.T) {
	s := standIn(t)
	p := testkit.Publish(t, s, "Big random file", randomFile(t, 1536<<10), videoSpec.Seconds)
	dir := t.TempDir()
	l := openTest(t, watchOptions(dir))
	ctx := testCtx(t)
	lim := SeedLimits{UploadRate: 1 << 20, DownloadRate: 256 << 10}
	if err := l.SetSeedLimits(ctx, lim); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = startLib(t, watchOptions(dir))
	if got, err := l.SeedLimits(ctx); err != nil || got != lim {
		t.Fatalf("limits after reopen: %+v, %v", got, err)
	}
	openVideo(t, l, s, p)
	start := time.Now()
	if _, err := l.Download(ctx, p.UUID, 0); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, p.InfoHash, StateSeeding)
	// 1 MiB burst, then 0.5 MiB at 256 KiB/s: at least 2 s.
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("1.5 MiB at 256 KiB/s took only %v: the limit is not applied", d)
	}
	path, err := l.TransferPath(ctx, p.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	fileEquals(t, path, p.Data)
}

func TestSeedLimitsStoredAndValidated(t *testing.T) {
	l := openTest(t, watchOptions(t.TempDir()))
	ctx := context.Background()
	got, err := l.SeedLimits(ctx)
	if err != nil || got != DefaultSeedLimits {
		t.Fatalf("default limits %+v, %v", got, err)
	}
	want := SeedLimits{UploadRate: 100 << 10, RatioTarget: 1.5, SeedFor: 72 * time.Hour, DiskBudget: 5 << 30}
	if err := l.SetSeedLimits(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.SeedLimits(ctx); got != want {
		t.Errorf("limits %+v, want %+v", got, want)
	}
	for _, bad := range []SeedLimits{{UploadRate: -1}, {DownloadRate: -5}, {RatioTarget: -1},
		{RatioTarget: math.NaN()}, {RatioTarget: math.Inf(1)}, {SeedFor: -time.Second}, {DiskBudget: -1}} {
		if err := l.SetSeedLimits(ctx, bad); err == nil {
			t.Errorf("SetSeedLimits(%+v) accepted", bad)
		}
	}
	if got, _ := l.SeedLimits(ctx); got != want {
		t.Errorf("a refused change altered the limits: %+v", got)
	}
}

// Everything that needs BitTorrent says so before Start.
func TestEngineMethodsBeforeStart(t *testing.T) {
	l := openTest(t, watchOptions(t.TempDir()))
	ctx := context.Background()
	ih := "0123456789abcdef0123456789abcdef01234567"
	checks := map[string]error{}
	_, checks["Play"] = l.Play(ctx, PlayRequest{UUID: "x"})
	_, checks["Stream"] = l.Stream(ctx, "x", 0)
	_, checks["Download"] = l.Download(ctx, "x", 0)
	_, checks["PlayTransfer"] = l.PlayTransfer(ctx, ih, "")
	_, checks["OpenURL magnet"] = l.OpenURL(ctx, "magnet:?xt=urn:btih:"+ih)
	checks["PauseTransfer"] = l.PauseTransfer(ctx, ih)
	checks["ResumeTransfer"] = l.ResumeTransfer(ctx, ih)
	checks["RemoveTransfer"] = l.RemoveTransfer(ctx, ih, true)
	for name, err := range checks {
		if !errors.Is(err, ErrNotStarted) {
			t.Errorf("%s before Start: %v, want ErrNotStarted", name, err)
		}
	}
	if list, err := l.Transfers(ctx); err != nil || len(list) != 0 {
		t.Errorf("Transfers before Start: %v, %v", list, err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}
	l.Close()
	if err := l.Start(ctx); err == nil {
		t.Error("Start after Close succeeded")
	}
	if _, err := l.Download(ctx, "x", 0); err == nil {
		t.Error("Download after Close succeeded")
	}
}
