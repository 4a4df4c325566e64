package peer

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// The urgent path alone (the torrent has no web seed anacrolix could use):
// a range fetched, hashed, written and marked complete; bad bytes refused.
func TestUrgentFetch(t *testing.T) {
	path, video := testVideo(t)
	const pl = 16 << 10
	tb, ih := makeTorrent(t, path, pl) // no url-list
	good := newSeedServer(t, "v.mp4", video)
	bad := newSeedServer(t, "v.mp4", video)
	bad.set(func(s *seedServer) { s.corrupt = true })

	e := newEngine(t, t.TempDir())
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	h := e.torrents[ih]
	e.mu.Unlock()
	ctx := context.Background()

	// Corrupt source: the first piece fails its hash; nothing is written.
	err := e.fetchUrgentFrom(ctx, h, bad.fileURL(), 3, 5, 3*pl, 6*pl)
	if err == nil || !strings.Contains(err.Error(), "fails its hash") {
		t.Fatalf("corrupt web seed: %v", err)
	}
	if s := mustStats(t, e, ih); s.PiecesComplete != 0 || s.BytesFromWebSeeds != 0 {
		t.Fatalf("after refusing bad bytes: %d pieces complete, %d web seed bytes", s.PiecesComplete, s.BytesFromWebSeeds)
	}

	if err := e.fetchUrgentFrom(ctx, h, good.fileURL(), 3, 5, 3*pl, 6*pl); err != nil {
		t.Fatal(err)
	}
	s := mustStats(t, e, ih)
	for i, c := range s.Pieces {
		if c != (i >= 3 && i <= 5) {
			t.Errorf("piece %d complete=%v", i, c)
		}
	}
	if s.BytesFromWebSeeds != 3*pl {
		t.Errorf("urgent bytes %d, want %d", s.BytesFromWebSeeds, 3*pl)
	}
	// The stream serves them (no other source exists).
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := httpGet(t, u, "", "bytes=49152-98303")
	if resp.StatusCode != 206 || string(body) != string(video[3*pl:6*pl]) {
		t.Errorf("stream of the urgently fetched pieces: %s", resp.Status)
	}
	// The last piece is short; fetched with the file's end.
	n := s.NumPieces
	if err := e.fetchUrgentFrom(ctx, h, good.fileURL(), n-1, n-1, int64(n-1)*pl, int64(len(video))); err != nil {
		t.Fatal(err)
	}
	if !mustStats(t, e, ih).Pieces[n-1] {
		t.Error("short last piece not complete")
	}
}

// A seek through the stream starts an urgent fetch at the new position.
func TestSeekStartsUrgentFetch(t *testing.T) {
	path, video := testVideo(t)
	const pl = 16 << 10
	srv := newSeedServer(t, "v.mp4", video)
	tb, ih := makeTorrent(t, path, pl, srv.fileURL())
	e := newEngine(t, t.TempDir())
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	u, err := e.StreamURL(ih, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mid := (len(video) / 2) / pl * pl
	resp, body := httpGet(t, u, "", "bytes="+strconv.Itoa(mid)+"-")
	if resp.StatusCode != 206 || string(body) != string(video[mid:]) {
		t.Fatalf("range from the middle: %s", resp.Status)
	}
	e.mu.Lock()
	starts := e.torrents[ih].urgent.starts.Load()
	e.mu.Unlock()
	if starts < 1 {
		t.Error("a seek did not start an urgent fetch")
	}
	// Sequential reading from the start is a "seek" to 0 too: one more.
	if resp, _ := httpGet(t, u, "", ""); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if got := e.torrents[ih].urgent.starts.Load(); got != starts+1 {
		t.Errorf("%d urgent fetches after a second request, want %d", got, starts+1)
	}
}
