package library

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/peer"
)

func peerHash(s string) (peer.InfoHash, error) { return peer.ParseInfoHash(s) }

// A real headless mpv plays the stream to the end: the history says
// watched with the final position, the transfer completed from the web seed
// alone with the right bytes, and it keeps seeding after the player exits.
func TestPlayToEndRecordsHistoryAndSeeds(t *testing.T) {
	testkit.NeedMPV(t)
	s := standIn(t)
	p := testkit.Publish(t, s, "Ants at work", testkit.Video(t, videoSpec), videoSpec.Seconds)
	l := startLib(t, watchOptions(t.TempDir()))
	ctx := testCtx(t)
	openVideo(t, l, s, p)

	pb, err := l.Play(ctx, PlayRequest{UUID: p.UUID})
	if err != nil {
		t.Fatalf("Play: %v", err)
	}
	if pb.Player() != "mpv" || pb.InfoHash() != p.InfoHash || pb.Video().UUID != p.UUID || pb.File().Resolution != 240 {
		t.Fatalf("playback: player %q, infohash %s, video %s, file %+v", pb.Player(), pb.InfoHash(), pb.Video().UUID, pb.File())
	}
	if !strings.HasPrefix(pb.StreamURL(), "http://127.0.0.1:") {
		t.Errorf("stream URL %q is not on loopback", pb.StreamURL())
	}
	select {
	case <-pb.Done():
	case <-ctx.Done():
		t.Fatal("mpv did not finish the 6 s video")
	}
	if err := pb.Err(); err != nil {
		t.Fatalf("playback error: %v", err)
	}
	hist, err := l.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Video.UUID != p.UUID || !hist[0].Watched {
		t.Fatalf("history = %+v, want one watched entry", hist)
	}
	if hist[0].Position < 5*time.Second || hist[0].Duration < 5*time.Second {
		t.Errorf("saved position %v of %v, want near the 6 s end", hist[0].Position, hist[0].Duration)
	}
	if cw, err := l.ContinueWatching(ctx, 10); err != nil || len(cw) != 0 {
		t.Errorf("continue watching after the end = %v, %v; want none", cw, err)
	}

	tr := waitState(t, l, p.InfoHash, StateSeeding)
	if tr.VideoUUID != p.UUID || tr.Name != "Ants at work" || tr.Resolution != 240 {
		t.Errorf("transfer = %+v", tr)
	}
	if tr.Stats.FromWebSeed <= 0 || tr.Stats.FromPeers != 0 {
		t.Errorf("bytes from web seed %d, from peers %d; want all from the web seed", tr.Stats.FromWebSeed, tr.Stats.FromPeers)
	}
	if tr.Stats.Completed != int64(len(p.Data)) || tr.Stats.Size != int64(len(p.Data)) {
		t.Errorf("completed %d of %d, want %d", tr.Stats.Completed, tr.Stats.Size, len(p.Data))
	}
	if tr.LastWatchedAt.IsZero() || tr.CompletedAt.IsZero() || tr.ThumbnailURL == "" {
		t.Errorf("transfer times/thumbnail: %+v", tr)
	}
	if n := len(tr.Stats.Pieces); n == 0 {
		t.Error("no piece bar")
	}
	path, err := l.TransferPath(ctx, p.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	fileEquals(t, path, p.Data)
	// Still in the engine after the player is gone: seeding.
	if !inEngine(l, p.InfoHash) {
		t.Error("the torrent left the engine when the player exited")
	}
	waitFor(t, "the manager to store the completion", func() bool { return storedState(t, l, p.InfoHash) == StateSeeding })
}

// Stopping midway saves the position; the next Play resumes there, and
// From overrides it.
func TestResumeWhereStopped(t *testing.T) {
	testkit.NeedMPV(t)
	s := standIn(t)
	p := testkit.Publish(t, s, "Forest walk", testkit.Video(t, videoSpec), videoSpec.Seconds)
	l := startLib(t, watchOptions(t.TempDir()))
	ctx := testCtx(t)
	openVideo(t, l, s, p)

	pb, err := l.Play(ctx, PlayRequest{UUID: p.UUID})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mpv to pass 2 s", func() bool { return pb.Position() >= 2*time.Second })
	if err := pb.Stop(); err != nil {
		t.Fatal(err)
	}
	<-pb.Done()
	cw, err := l.ContinueWatching(ctx, 10)
	if err != nil || len(cw) != 1 {
		t.Fatalf("continue watching = %+v, %v; want the stopped video", cw, err)
	}
	saved := cw[0].Position
	if saved < 2*time.Second || cw[0].Watched {
		t.Fatalf("saved %+v, want a position from 2 s and not watched", cw[0])
	}

	pb2, err := l.Play(ctx, PlayRequest{UUID: p.UUID})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mpv to report a position", func() bool { return pb2.Position() > 0 })
	if got := pb2.Position(); got < saved-500*time.Millisecond {
		t.Errorf("resumed at %v, saved %v", got, saved)
	}
	pb2.Stop()

	zero := time.Duration(0)
	pb3, err := l.Play(ctx, PlayRequest{UUID: p.UUID, From: &zero})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mpv to report a position", func() bool { return pb3.Position() > 0 })
	if got := pb3.Position(); got >= saved {
		t.Errorf("From 0 started at %v (saved %v)", got, saved)
	}
	pb3.Stop()
	if err := l.RemoveFromHistory(ctx, p.UUID); err != nil {
		t.Fatal(err)
	}
	if h, _ := l.History(ctx, 0); len(h) != 0 {
		t.Errorf("history after removal = %+v", h)
	}
	if err := l.RemoveFromHistory(ctx, p.UUID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second removal: %v, want ErrNotFound", err)
	}
}

// After a restart the complete transfer seeds again without a byte fetched
// from the instance, and the paused one stays paused until resumed.
func TestRestartKeepsSeedingAndPaused(t *testing.T) {
	s := standIn(t)
	a := testkit.Publish(t, s, "Mountain", testkit.Video(t, videoSpec), videoSpec.Seconds)
	b := testkit.Publish(t, s, "River", testkit.Video(t, videoSpec), videoSpec.Seconds)
	dir := t.TempDir()
	l := startLib(t, watchOptions(dir))
	ctx := testCtx(t)
	for _, p := range []testkit.Published{a, b} {
		openVideo(t, l, s, p)
		if _, err := l.Download(ctx, p.UUID, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, l, a.InfoHash, StateSeeding)
	waitState(t, l, b.InfoHash, StateSeeding)
	if err := l.PauseTransfer(ctx, b.InfoHash); err != nil {
		t.Fatal(err)
	}
	if tr := transfer(t, l, b.InfoHash); tr.State != StatePaused || inEngine(l, b.InfoHash) {
		t.Fatalf("paused transfer: state %s, in engine %v", tr.State, inEngine(l, b.InfoHash))
	}
	served := s.Served(a.FilePath) + s.Served(b.FilePath)
	if served < int64(len(a.Data)+len(b.Data)) {
		t.Fatalf("the stand-in served %d bytes, less than both files", served)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := startLib(t, watchOptions(dir))
	tr := transfer(t, l2, a.InfoHash)
	if tr.State != StateSeeding || tr.Stats.Completed != tr.Stats.Size || len(tr.Stats.Pieces) == 0 {
		t.Fatalf("after restart: %+v", tr)
	}
	if got := transfer(t, l2, b.InfoHash); got.State != StatePaused || inEngine(l2, b.InfoHash) {
		t.Fatalf("paused transfer after restart: state %s, in engine %v", got.State, inEngine(l2, b.InfoHash))
	}
	if got, err := l2.TransferPath(ctx, b.InfoHash); err != nil {
		t.Errorf("path of the paused transfer: %v", err)
	} else {
		fileEquals(t, got, b.Data)
	}
	if err := l2.ResumeTransfer(ctx, b.InfoHash); err != nil {
		t.Fatal(err)
	}
	waitState(t, l2, b.InfoHash, StateSeeding)
	time.Sleep(3 * l2.opt.SeedCheckInterval)
	if got := s.Served(a.FilePath) + s.Served(b.FilePath); got != served {
		t.Errorf("the stand-in served %d more bytes after the restart", got-served)
	}
	for _, p := range []testkit.Published{a, b} {
		path, err := l2.TransferPath(ctx, p.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		fileEquals(t, path, p.Data)
	}
	list, err := l2.Transfers(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("Transfers = %v, %v", list, err)
	}
}

// A second library downloads from the first over BitTorrent with the web
// seed gone: the first keeps giving back, its upload total survives a
// restart, and its ratio target then finishes the torrent.
func TestSecondLibraryDownloadsFromFirst(t *testing.T) {
	s := standIn(t)
	p := testkit.Publish(t, s, "Bicycle", testkit.Video(t, videoSpec), videoSpec.Seconds)
	dir1 := t.TempDir()
	l1 := startLib(t, watchOptions(dir1))
	ctx := testCtx(t)
	openVideo(t, l1, s, p)
	if _, err := l1.Download(ctx, p.UUID, 0); err != nil {
		t.Fatal(err)
	}
	waitState(t, l1, p.InfoHash, StateSeeding)

	// The instance's file is gone: only the first library has it.
	s.Handle(p.FilePath, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	torrentFile := filepath.Join(t.TempDir(), "bicycle.torrent")
	if err := os.WriteFile(torrentFile, p.Torrent, 0o600); err != nil {
		t.Fatal(err)
	}
	l2 := startLib(t, watchOptions(t.TempDir()))
	res, err := l2.OpenURL(ctx, torrentFile)
	if err != nil || res.Transfer == nil || res.Transfer.InfoHash != p.InfoHash {
		t.Fatalf("OpenURL(.torrent file) = %+v, %v", res, err)
	}
	h, _ := peerHash(p.InfoHash)
	if err := l2.watch.engine.AddPeers(h, l1.watch.engine.ListenAddr()); err != nil {
		t.Fatal(err)
	}
	tr2 := waitState(t, l2, p.InfoHash, StateSeeding)
	if tr2.Stats.FromPeers <= 0 || tr2.Stats.FromWebSeed != 0 {
		t.Errorf("second library: %d bytes from peers, %d from the web seed; want all from the peer", tr2.Stats.FromPeers, tr2.Stats.FromWebSeed)
	}
	path, err := l2.TransferPath(ctx, p.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	fileEquals(t, path, p.Data)

	var up int64
	waitFor(t, "the first library to count its upload", func() bool {
		up = transfer(t, l1, p.InfoHash).Stats.Uploaded
		return up >= int64(len(p.Data))/2
	})
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	l1 = startLib(t, watchOptions(dir1))
	if got := transfer(t, l1, p.InfoHash); got.Stats.Uploaded < up || got.State != StateSeeding {
		t.Fatalf("after restart: uploaded %d (was %d), state %s", got.Stats.Uploaded, up, got.State)
	}
	ratio := float64(up) / float64(len(p.Data)) / 2
	if err := l1.SetSeedLimits(ctx, SeedLimits{RatioTarget: ratio}); err != nil {
		t.Fatal(err)
	}
	tr1 := waitState(t, l1, p.InfoHash, StateFinished)
	if inEngine(l1, p.InfoHash) {
		t.Error("a finished torrent is still in the engine")
	}
	if tr1.Stats.Ratio() < ratio {
		t.Errorf("finished at ratio %.2f, target %.2f", tr1.Stats.Ratio(), ratio)
	}
	// Finished keeps the file.
	if path, err := l1.TransferPath(ctx, p.InfoHash); err != nil {
		t.Fatal(err)
	} else {
		fileEquals(t, path, p.Data)
	}
}

// The instance disappears mid-stream: what arrived streams, the rest stalls
// until the reader gives up (no error state, no panic), closing works, and
// once the instance is back the download finishes without fetching again
// the pieces already verified; the file is intact.
func TestInstanceDisappearsMidStream(t *testing.T) {
	s := standIn(t)
	p := testkit.Publish(t, s, "Retro games", testkit.Video(t, videoSpec), videoSpec.Seconds)
	size := int64(len(p.Data))
	cut := size * 2 / 5
	// The file server sends bytes before cut, then drops the connection.
	s.Handle(p.FilePath, func(w http.ResponseWriter, r *http.Request) {
		a, b := int64(0), size-1
		status := http.StatusOK
		if rng := r.Header.Get("Range"); rng != "" {
			status = http.StatusPartialContent
			if n, _ := fmt.Sscanf(rng, "bytes=%d-%d", &a, &b); n < 1 {
				http.Error(w, "bad range", http.StatusRequestedRangeNotSatisfiable)
				return
			}
			b = min(b, size-1)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
		}
		if a >= cut {
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", fmt.Sprint(b-a+1))
		w.WriteHeader(status)
		w.Write(p.Data[a:min(b+1, cut)])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	dir := t.TempDir()
	l := startLib(t, watchOptions(dir))
	ctx := testCtx(t)
	openVideo(t, l, s, p)
	pb, err := l.Stream(ctx, p.UUID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pb.Player() != "" {
		t.Errorf("a stream has player %q", pb.Player())
	}
	head, err := httpGet(ctx, pb.StreamURL(), "bytes=0-8191")
	if err != nil || string(head) != string(p.Data[:8192]) {
		t.Fatalf("the start of the stream: %d bytes, %v", len(head), err)
	}
	var before Transfer
	waitFor(t, "the first pieces", func() bool {
		before = transfer(t, l, p.InfoHash)
		return before.Stats.Completed >= 16<<10
	})
	s.CloseClientConnections()
	s.Close()

	// Past the cut nothing comes: the read stalls until its deadline.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	tail, err := httpGet(short, pb.StreamURL(), fmt.Sprintf("bytes=%d-", size-1000))
	cancel()
	if err == nil {
		t.Fatalf("read %d bytes past the cut with the instance gone", len(tail))
	}
	tr := transfer(t, l, p.InfoHash)
	if tr.State != StateDownloading || tr.Stats.Error != "" || tr.Stats.Completed >= size {
		t.Errorf("with the instance gone: state %s, error %q, %d of %d", tr.State, tr.Stats.Error, tr.Stats.Completed, size)
	}
	if err := pb.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// The instance is back; the library restarts and finishes.
	s.Handle(p.FilePath, nil)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	l = startLib(t, watchOptions(dir))
	waitState(t, l, p.InfoHash, StateSeeding)
	path, err := l.TransferPath(ctx, p.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	fileEquals(t, path, p.Data)
	if got := s.Served(p.FilePath); got >= size {
		t.Errorf("after the restart the instance served %d bytes of %d: verified pieces were fetched again", got, size)
	}
}

// A bare .torrent (no catalog video) plays with mpv through PlayTransfer:
// no history, but the transfer is stamped as watched. A paused transfer
// that is not complete is resumed to play.
func TestPlayTransferOfBareTorrent(t *testing.T) {
	testkit.NeedMPV(t)
	s := standIn(t)
	p := testkit.Publish(t, s, "Typography", testkit.Video(t, videoSpec), videoSpec.Seconds)
	l := startLib(t, watchOptions(t.TempDir()))
	ctx := testCtx(t)
	// Slow web seed: the transfer is paused before it completes.
	s.Handle(p.FilePath, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	res, err := l.OpenURL(ctx, p.TorrentURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.PauseTransfer(ctx, p.InfoHash); err != nil {
		t.Fatal(err)
	}
	if tr := transfer(t, l, p.InfoHash); tr.State != StatePaused || tr.VideoUUID != "" {
		t.Fatalf("paused bare transfer: %+v", tr)
	}
	s.Handle(p.FilePath, nil)
	pb, err := l.PlayTransfer(ctx, res.Transfer.InfoHash, "")
	if err != nil {
		t.Fatal(err)
	}
	if pb.Player() != "mpv" || pb.Video().UUID != "" {
		t.Errorf("playback of a bare transfer: player %q, video %+v", pb.Player(), pb.Video())
	}
	waitFor(t, "mpv to play", func() bool { return pb.Position() > time.Second })
	if st := transfer(t, l, p.InfoHash).State; st != StateDownloading && st != StateSeeding {
		t.Errorf("playing a paused transfer left it %s", st)
	}
	pb.Stop()
	if n := countRows(t, l, "history"); n != 0 {
		t.Errorf("%d history rows for a bare torrent", n)
	}
	if tr := transfer(t, l, p.InfoHash); tr.LastWatchedAt.IsZero() {
		t.Error("the transfer was not stamped as watched")
	}
	if err := l.RemoveTransfer(ctx, p.InfoHash, true); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TransferByHash(ctx, p.InfoHash); !errors.Is(err, ErrNotFound) {
		t.Errorf("after removal: %v", err)
	}
	if inEngine(l, p.InfoHash) {
		t.Error("removed torrent still in the engine")
	}
	if _, err := os.Stat(filepath.Join(l.watch.peerDir, "data", p.InfoHash)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed with its data, but the data is still there: %v", err)
	}
}
