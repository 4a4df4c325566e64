package peer

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbeWebSeed(t *testing.T) {
	dir := t.TempDir()
	path, data := randomFile(t, dir, "v.mp4", 200<<10+77)
	tb, _ := makeTorrent(t, path, 16<<10)
	p, err := parseTorrent(tb)
	if err != nil {
		t.Fatal(err)
	}
	info := &p.info
	client := &http.Client{Timeout: 10 * time.Second}
	probe := func(u string) (string, error) {
		return probeWebSeed(context.Background(), client, "test", u, info)
	}

	good := newSeedServer(t, "v.mp4", data)
	if reason, err := probe(good.fileURL()); reason != "" || err != nil {
		t.Errorf("good web seed: %q, %v", reason, err)
	}
	corrupt := newSeedServer(t, "v.mp4", data)
	corrupt.set(func(s *seedServer) { s.corrupt = true })
	if reason, _ := probe(corrupt.fileURL()); !strings.Contains(reason, "differs") {
		t.Errorf("corrupt web seed: %q", reason)
	}
	longer := newSeedServer(t, "v.mp4", append(bytes.Clone(data), 1, 2, 3))
	if reason, _ := probe(longer.fileURL()); !strings.Contains(reason, "bytes, the torrent says") {
		t.Errorf("web seed with another size: %q", reason)
	}
	// A server ignoring Range (200 with the whole file) is still checked.
	noRange := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) }))
	defer noRange.Close()
	if reason, err := probe(noRange.URL); reason != "" || err != nil {
		t.Errorf("web seed ignoring Range: %q, %v", reason, err)
	}
	// Unreachable or failing: inconclusive, never a reason to drop.
	if reason, err := probe(good.URL + "/missing.mp4"); reason != "" || err == nil {
		t.Errorf("404: %q, %v; want an error and no reason", reason, err)
	}
	cut := newSeedServer(t, "v.mp4", data)
	cut.set(func(s *seedServer) { s.cutAt = 1000 })
	if reason, err := probe(cut.fileURL()); reason != "" || err == nil {
		t.Errorf("connection cut: %q, %v; want an error and no reason", reason, err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if reason, err := probe(closed.URL + "/v.mp4"); reason != "" || err == nil {
		t.Errorf("closed server: %q, %v", reason, err)
	}
}

// The first web seed request follows AddTorrent at once, not on
// anacrolix's 5 s planning timer (see pokeWebSeeds). The bound is loose for
// loaded machines; it fails only if the 5 s rhythm is back.
func TestWebSeedStartsAtOnce(t *testing.T) {
	path, video := testVideo(t)
	srv := newSeedServer(t, "v.mp4", video)
	tb, ih := makeTorrent(t, path, 16<<10, srv.fileURL())
	e := newEngine(t, t.TempDir())
	start := time.Now()
	if _, err := e.AddTorrent(tb); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitComplete(waitCtx(t), ih); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a 230 KB download from a loopback web seed took %v", d)
	}
}

func TestWebSeedGuard(t *testing.T) {
	srv := newSeedServer(t, "v.mp4", []byte("hello"))
	g := newWebSeedGuard("Fourmi-test")
	client := &http.Client{Transport: g}
	get := func(u string) error {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(srv.fileURL()); err != nil {
		t.Fatal(err)
	}
	g.drop(srv.fileURL(), "bad data")
	if err := get(srv.fileURL()); err == nil || !strings.Contains(err.Error(), "bad data") {
		t.Errorf("dropped URL: %v", err)
	}
	n, _, _, _ := srv.snapshot()
	if n != 1 {
		t.Errorf("the server saw %d requests, want 1 (the one before the drop)", n)
	}
	g.drop(srv.URL+"/static/", "multi-file prefix")
	if err := get(srv.URL + "/static/other.mp4"); err == nil {
		t.Error("a URL under a dropped prefix web seed went through")
	}
	g.undrop(srv.fileURL())
	g.undrop(srv.URL + "/static/")
	if err := get(srv.fileURL()); err != nil {
		t.Errorf("undropped: %v", err)
	}
}
