package tracker

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// clock is a settable time for expiry and rate-limit tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func hashOf(s string) (h [20]byte) {
	copy(h[:], s)
	return h
}

var (
	ihA = hashOf("known-torrent-A\xff\x00\x80zz") // bytes over 0x7f and a NUL on purpose
	ihB = hashOf("known-torrent-B-----")
	ihX = hashOf("unknown-torrent-X---")
)

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("FOURMI_TRACKER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// newTestTracker serves a tracker knowing ihA and ihB on a loopback
// httptest server, with a settable clock.
func newTestTracker(t *testing.T, mod ...func(*Config)) (*Tracker, *httptest.Server, *clock) {
	t.Helper()
	cfg := Config{
		Known:              func(ih [20]byte) bool { return ih == ihA || ih == ihB },
		Logger:             testLogger(),
		Interval:           time.Minute,
		AllowLoopbackPeers: true,
	}
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr.now = clk.now
	srv := httptest.NewServer(tr.Handler())
	t.Cleanup(func() {
		srv.Close()
		tr.Close()
	})
	return tr, srv, clk
}

// params is an announce query for peer id on port, left bytes to go.
func params(ih [20]byte, id string, port int, left int64, kv ...string) url.Values {
	q := url.Values{
		"info_hash":  {string(ih[:])},
		"peer_id":    {fmt.Sprintf("%-20.20s", id)},
		"port":       {fmt.Sprint(port)},
		"uploaded":   {"0"},
		"downloaded": {"0"},
		"left":       {fmt.Sprint(left)},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

// get fetches path?rawQuery and decodes the bencoded dictionary.
func get(t *testing.T, srv *httptest.Server, path, rawQuery string) map[string]any {
	t.Helper()
	resp, err := http.Get(srv.URL + path + "?" + rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %q", path, resp.Status, body)
	}
	var m map[string]any
	if err := bencode.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: response is not a bencoded dictionary: %v: %q", path, err, body)
	}
	return m
}

func announce(t *testing.T, srv *httptest.Server, q url.Values) map[string]any {
	t.Helper()
	return get(t, srv, "/tracker/announce", q.Encode())
}

// mustOK fails the test if m is a failure.
func mustOK(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if r, ok := m["failure reason"]; ok {
		t.Fatalf("tracker refused: %v", r)
	}
	return m
}

func failure(m map[string]any) string {
	s, _ := m["failure reason"].(string)
	return s
}

func num(t *testing.T, m map[string]any, k string) int64 {
	t.Helper()
	v, ok := m[k].(int64)
	if !ok {
		t.Fatalf("%q is %T %v, want an integer (response %v)", k, m[k], m[k], m)
	}
	return v
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
