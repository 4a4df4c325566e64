package tracker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// compactPeers decodes BEP 23 / BEP 7 compact peer strings.
func compactPeers(t *testing.T, s string, size int) []string {
	t.Helper()
	if len(s)%size != 0 {
		t.Fatalf("compact peers of %d bytes, not a multiple of %d", len(s), size)
	}
	var out []string
	for i := 0; i < len(s); i += size {
		ip, _ := netip.AddrFromSlice([]byte(s[i : i+size-2]))
		port := binary.BigEndian.Uint16([]byte(s[i+size-2 : i+size]))
		out = append(out, netip.AddrPortFrom(ip, port).String())
	}
	sort.Strings(out)
	return out
}

func TestAnnounceCompactNonCompactAndScrape(t *testing.T) {
	tr, srv, _ := newTestTracker(t)

	// A seeder on IPv4, a leecher on IPv6, then a leecher on IPv4 asking.
	seed := mustOK(t, announce(t, srv, params(ihA, "seeder", 6881, 0, "ip", "10.0.0.1", "event", "started")))
	if got := num(t, seed, "interval"); got != 60 {
		t.Errorf("interval = %d, want 60", got)
	}
	if got := num(t, seed, "min interval"); got != 30 {
		t.Errorf("min interval = %d, want 30", got)
	}
	if p := seed["peers"].(string); p != "" {
		t.Errorf("first peer got peers %q, want none (it must not get itself)", p)
	}
	mustOK(t, announce(t, srv, params(ihA, "leecher6", 6882, 100, "ip", "2001:db8::1", "event", "started")))
	r := mustOK(t, announce(t, srv, params(ihA, "leecher4", 6883, 100, "ip", "10.0.0.2")))
	if c, i := num(t, r, "complete"), num(t, r, "incomplete"); c != 1 || i != 2 {
		t.Errorf("complete/incomplete = %d/%d, want 1/2", c, i)
	}
	if got := compactPeers(t, r["peers"].(string), 6); len(got) != 1 || got[0] != "10.0.0.1:6881" {
		t.Errorf("compact IPv4 peers = %v, want [10.0.0.1:6881]", got)
	}
	p6, _ := r["peers6"].(string)
	if got := compactPeers(t, p6, 18); len(got) != 1 || got[0] != "[2001:db8::1]:6882" {
		t.Errorf("compact IPv6 peers6 = %v, want [[2001:db8::1]:6882]", got)
	}

	// Non-compact: a list of dictionaries, with peer ids unless no_peer_id.
	r = mustOK(t, announce(t, srv, params(ihA, "leecher4", 6883, 100, "ip", "10.0.0.2", "compact", "0")))
	list, ok := r["peers"].([]any)
	if !ok || len(list) != 2 {
		t.Fatalf("non-compact peers = %#v, want a list of 2", r["peers"])
	}
	got := map[string]string{}
	for _, e := range list {
		d := e.(map[string]any)
		got[netip.AddrPortFrom(netip.MustParseAddr(d["ip"].(string)), uint16(d["port"].(int64))).String()] = d["peer id"].(string)
	}
	want := map[string]string{"10.0.0.1:6881": "seeder              ", "[2001:db8::1]:6882": "leecher6            "}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("non-compact peer %s has peer id %q, want %q (all: %q)", k, got[k], v, got)
		}
	}
	r = mustOK(t, announce(t, srv, params(ihA, "leecher4", 6883, 100, "ip", "10.0.0.2", "compact", "0", "no_peer_id", "1")))
	for _, e := range r["peers"].([]any) {
		if _, has := e.(map[string]any)["peer id"]; has {
			t.Error("no_peer_id=1 still sent peer ids")
		}
	}

	// A seeder is given only leechers.
	r = mustOK(t, announce(t, srv, params(ihA, "seeder", 6881, 0, "ip", "10.0.0.1")))
	if got := compactPeers(t, r["peers"].(string), 6); len(got) != 1 || got[0] != "10.0.0.2:6883" {
		t.Errorf("seeder got IPv4 peers %v, want only the leecher 10.0.0.2:6883", got)
	}

	// The IPv4 leecher completes.
	mustOK(t, announce(t, srv, params(ihA, "leecher4", 6883, 0, "ip", "10.0.0.2", "event", "completed")))
	if st := tr.Stats(ihA); st != (Stats{Complete: 2, Incomplete: 1, Downloaded: 1}) {
		t.Errorf("Stats = %+v, want 2 complete, 1 incomplete, 1 downloaded", st)
	}

	// Scrape: known hashes (even without peers) are listed, unknown ones left out.
	q := "info_hash=" + escape(ihA) + "&info_hash=" + escape(ihB) + "&info_hash=" + escape(ihX)
	s := mustOK(t, get(t, srv, "/tracker/scrape", q))
	files, ok := s["files"].(map[string]any)
	if !ok || len(files) != 2 {
		t.Fatalf("scrape files = %#v, want entries for the 2 known hashes", s["files"])
	}
	fa := files[string(ihA[:])].(map[string]any)
	if num(t, fa, "complete") != 2 || num(t, fa, "incomplete") != 1 || num(t, fa, "downloaded") != 1 {
		t.Errorf("scrape of A = %v, want complete 2, incomplete 1, downloaded 1", fa)
	}
	if fb := files[string(ihB[:])].(map[string]any); num(t, fb, "complete") != 0 || num(t, fb, "incomplete") != 0 {
		t.Errorf("scrape of B = %v, want zeros", fb)
	}
	// A full scrape lists the swarms held.
	s = mustOK(t, get(t, srv, "/tracker/scrape", ""))
	if files := s["files"].(map[string]any); len(files) != 1 || files[string(ihA[:])] == nil {
		t.Errorf("full scrape files = %v, want only A", files)
	}
}

func escape(ih [20]byte) string {
	var b bytes.Buffer
	for _, c := range ih {
		b.WriteString("%")
		b.WriteString(string("0123456789ABCDEF"[c>>4]) + string("0123456789ABCDEF"[c&15]))
	}
	return b.String()
}

func TestUnknownTorrentRefused(t *testing.T) {
	tr, srv, _ := newTestTracker(t)
	r := announce(t, srv, params(ihX, "p", 6881, 0, "event", "started"))
	if got := failure(r); got != "torrent not found on this instance" {
		t.Fatalf("failure reason = %q, want the unknown-torrent refusal", got)
	}
	if _, has := r["peers"]; has {
		t.Error("refusal carries peers")
	}
	tr.mu.Lock()
	n := len(tr.swarms)
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("refused announce created %d swarms", n)
	}
}

func TestStoppedRemovesPeer(t *testing.T) {
	tr, srv, _ := newTestTracker(t)
	mustOK(t, announce(t, srv, params(ihA, "a", 7001, 0, "ip", "10.0.0.1")))
	mustOK(t, announce(t, srv, params(ihA, "b", 7002, 5, "ip", "10.0.0.2")))
	r := mustOK(t, announce(t, srv, params(ihA, "a", 7001, 0, "ip", "10.0.0.1", "event", "stopped")))
	if c, i := num(t, r, "complete"), num(t, r, "incomplete"); c != 0 || i != 1 {
		t.Errorf("after stopped: complete/incomplete = %d/%d, want 0/1", c, i)
	}
	r = mustOK(t, announce(t, srv, params(ihA, "b", 7002, 5, "ip", "10.0.0.2")))
	if p := r["peers"].(string); p != "" {
		t.Errorf("stopped peer still given out: %v", compactPeers(t, p, 6))
	}
	// Stopping on a torrent without a swarm creates none.
	mustOK(t, announce(t, srv, params(ihB, "a", 7001, 0, "event", "stopped")))
	if st := tr.Stats(ihB); st != (Stats{}) {
		t.Errorf("Stats(B) = %+v after a lone stopped", st)
	}
}

func TestPeersExpire(t *testing.T) {
	tr, srv, clk := newTestTracker(t, func(c *Config) { c.PeerTTL = 5 * time.Minute })
	mustOK(t, announce(t, srv, params(ihA, "old", 7001, 0, "ip", "10.0.0.1")))
	clk.add(3 * time.Minute)
	mustOK(t, announce(t, srv, params(ihA, "new", 7002, 0, "ip", "10.0.0.2")))
	clk.add(3 * time.Minute) // "old" is 6 min old, "new" 3
	r := mustOK(t, announce(t, srv, params(ihA, "asker", 7003, 9, "ip", "10.0.0.3")))
	if got := compactPeers(t, r["peers"].(string), 6); len(got) != 1 || got[0] != "10.0.0.2:7002" {
		t.Errorf("peers = %v, want only the fresh one", got)
	}
	if st := tr.Stats(ihA); st.Complete != 1 || st.Incomplete != 1 {
		t.Errorf("Stats = %+v, want 1 complete (fresh) and 1 incomplete (asker)", st)
	}
	clk.add(10 * time.Minute)
	tr.sweep()
	tr.mu.Lock()
	n := len(tr.swarms)
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("sweep left %d swarms with only expired peers", n)
	}
}

func TestNumWant(t *testing.T) {
	_, srv, _ := newTestTracker(t, func(c *Config) { c.MaxNumWant = 5; c.DefaultNumWant = 4 })
	for i := range 10 {
		mustOK(t, announce(t, srv, params(ihA, "seed"+string(rune('a'+i)), 7000+i, 0, "ip", fmt.Sprint("10.0.1.", i+1))))
	}
	for _, tc := range []struct {
		numwant string
		want    int
	}{{"", 4}, {"0", 0}, {"3", 3}, {"5", 5}, {"1000000000000", 5}, {"99999999999999999999999", -1}, {"-1", -1}, {"lots", -1}} {
		q := params(ihA, "asker", 8000, 10, "ip", "10.0.2.1")
		if tc.numwant != "" {
			q.Set("numwant", tc.numwant)
		}
		r := announce(t, srv, q)
		if tc.want < 0 {
			if got := failure(r); got != "invalid numwant" {
				t.Errorf("numwant=%s: failure %q, want invalid numwant", tc.numwant, got)
			}
			continue
		}
		mustOK(t, r)
		if got := len(r["peers"].(string)) / 6; got != tc.want {
			t.Errorf("numwant=%q: got %d peers, want %d", tc.numwant, got, tc.want)
		}
	}
}

func TestHostileAnnounces(t *testing.T) {
	_, srv, _ := newTestTracker(t)
	good := params(ihA, "p", 6881, 0).Encode()
	for _, tc := range []struct{ name, query, want string }{
		{"short info_hash", "info_hash=abc&peer_id=aaaaaaaaaaaaaaaaaaaa&port=1", "invalid info_hash: want 20 bytes, got 3"},
		{"long info_hash", "info_hash=" + escape(ihA) + "00&peer_id=aaaaaaaaaaaaaaaaaaaa&port=1", "invalid info_hash: want 20 bytes, got 22"},
		{"no info_hash", "peer_id=aaaaaaaaaaaaaaaaaaaa&port=1", "want exactly one info_hash"},
		{"two info_hash", good + "&info_hash=" + escape(ihB), "want exactly one info_hash"},
		{"bad peer_id", "info_hash=" + escape(ihA) + "&peer_id=x&port=1", "invalid peer_id: want 20 bytes, got 1"},
		{"port 0", "info_hash=" + escape(ihA) + "&peer_id=aaaaaaaaaaaaaaaaaaaa&port=0", "invalid port"},
		{"port too big", "info_hash=" + escape(ihA) + "&peer_id=aaaaaaaaaaaaaaaaaaaa&port=65536", "invalid port"},
		{"port text", "info_hash=" + escape(ihA) + "&peer_id=aaaaaaaaaaaaaaaaaaaa&port=http", "invalid port"},
		{"no port", "info_hash=" + escape(ihA) + "&peer_id=aaaaaaaaaaaaaaaaaaaa", "invalid port"},
		{"malformed escape", "info_hash=%zz&peer_id=aaaaaaaaaaaaaaaaaaaa&port=1", "malformed query string"},
		{"semicolon", good + ";x=1", "malformed query string"},
		{"negative left", good + "&left=-1", "invalid left"},
		{"left text", good + "&left=all", "invalid left"},
		{"bogus event", good + "&event=exploded", "invalid event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failure(get(t, srv, "/tracker/announce", tc.query)); got != tc.want {
				t.Errorf("failure reason = %q, want %q", got, tc.want)
			}
		})
	}
	// Scrape hostility.
	if got := failure(get(t, srv, "/tracker/scrape", "info_hash=short")); got != "invalid info_hash: want 20 bytes, got 5" {
		t.Errorf("scrape with a short hash: %q", got)
	}
	many := ""
	for range maxScrapeHashes + 1 {
		many += "info_hash=" + escape(ihA) + "&"
	}
	if got := failure(get(t, srv, "/tracker/scrape", many)); !contains(got, "too many info_hash") {
		t.Errorf("scrape of %d hashes: %q", maxScrapeHashes+1, got)
	}
	// After all that, the tracker still works.
	mustOK(t, announce(t, srv, params(ihA, "p", 6881, 0)))
}

// serveFrom runs the real handler for a request that arrives from remote
// (an address a loopback test cannot dial from).
func serveFrom(t *testing.T, tr *Tracker, remote, target string, hdr http.Header) map[string]any {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = remote
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	tr.Handler().ServeHTTP(rec, req)
	var m map[string]any
	if err := bencode.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: %v: %q", target, err, rec.Body.Bytes())
	}
	return m
}

func TestPeerAddressComesFromTheConnection(t *testing.T) {
	tr, srv, _ := newTestTracker(t, func(c *Config) { c.AllowLoopbackPeers = false })
	// A remote client cannot pick another address with ip=.
	mustOK(t, serveFrom(t, tr, "203.0.113.5:40000", "/tracker/announce?"+params(ihA, "remote", 6881, 0, "ip", "198.51.100.9").Encode(), nil))
	// Without TrustProxy, X-Forwarded-For is ignored.
	mustOK(t, serveFrom(t, tr, "203.0.113.6:40000", "/tracker/announce?"+params(ihA, "proxied", 6882, 0).Encode(),
		http.Header{"X-Forwarded-For": {"198.51.100.10"}}))
	// A loopback peer is answered but not listed.
	mustOK(t, announce(t, srv, params(ihA, "local", 6883, 0)))
	r := mustOK(t, serveFrom(t, tr, "203.0.113.7:40000", "/tracker/announce?"+params(ihA, "asker", 6884, 5).Encode(), nil))
	if got := compactPeers(t, r["peers"].(string), 6); len(got) != 2 || got[0] != "203.0.113.5:6881" || got[1] != "203.0.113.6:6882" {
		t.Errorf("peers = %v, want the two connection addresses and no loopback peer", got)
	}

	// Behind a trusted proxy, the last X-Forwarded-For entry is the client.
	tp, _, _ := newTestTracker(t, func(c *Config) { c.TrustProxy = true })
	mustOK(t, serveFrom(t, tp, "127.0.0.1:5000", "/tracker/announce?"+params(ihA, "behind", 6881, 0).Encode(),
		http.Header{"X-Forwarded-For": {"10.9.9.9, 198.51.100.20"}}))
	r = mustOK(t, serveFrom(t, tp, "127.0.0.1:5000", "/tracker/announce?"+params(ihA, "asker", 6882, 5).Encode(),
		http.Header{"X-Forwarded-For": {"198.51.100.21"}}))
	if got := compactPeers(t, r["peers"].(string), 6); len(got) != 1 || got[0] != "198.51.100.20:6881" {
		t.Errorf("peers behind proxy = %v, want [198.51.100.20:6881]", got)
	}
	// A proxied client cannot pick its address with ip= either.
	mustOK(t, serveFrom(t, tp, "127.0.0.1:5000", "/tracker/announce?"+params(ihA, "spoofer", 6883, 0, "ip", "10.1.1.1").Encode(),
		http.Header{"X-Forwarded-For": {"198.51.100.22"}}))
	r = mustOK(t, serveFrom(t, tp, "127.0.0.1:5000", "/tracker/announce?"+params(ihA, "asker", 6882, 5).Encode(),
		http.Header{"X-Forwarded-For": {"198.51.100.21"}}))
	if got := compactPeers(t, r["peers"].(string), 6); len(got) != 2 || got[1] != "198.51.100.22:6883" {
		t.Errorf("peers behind proxy = %v, want the spoofer listed at its real address 198.51.100.22:6883", got)
	}
	if got := failure(serveFrom(t, tp, "127.0.0.1:5000", "/tracker/announce?"+params(ihA, "x", 1, 0).Encode(),
		http.Header{"X-Forwarded-For": {"not-an-ip"}})); got != "invalid X-Forwarded-For" {
		t.Errorf("bad X-Forwarded-For: %q", got)
	}
}

func TestRateLimitAndCaps(t *testing.T) {
	tr, srv, clk := newTestTracker(t, func(c *Config) {
		c.RequestsPerMinute = 4
		c.MaxPeersPerTorrent = 2
	})
	for i := range 4 {
		r := mustOK(t, announce(t, srv, params(ihA, "p"+string(rune('a'+i)), 7000+i, 0, "ip", fmt.Sprint("10.0.0.", i+1))))
		_ = r
	}
	if st := tr.Stats(ihA); st.Complete != 2 {
		t.Errorf("Stats = %+v, want 2 listed (MaxPeersPerTorrent)", st)
	}
	if got := failure(announce(t, srv, params(ihA, "pz", 7100, 0))); got != "too many requests, slow down" {
		t.Fatalf("5th request in a minute: %q, want rate-limited", got)
	}
	if got := failure(get(t, srv, "/tracker/scrape", "")); got != "too many requests, slow down" {
		t.Errorf("scrape over the limit: %q", got)
	}
	clk.add(time.Minute)
	mustOK(t, announce(t, srv, params(ihA, "pz", 7100, 0)))
}

func TestClosedTrackerRefuses(t *testing.T) {
	tr, srv, _ := newTestTracker(t)
	tr.Close()
	resp, err := http.Get(srv.URL + "/tracker/announce?" + params(ihA, "p", 1, 0).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("announce after Close: %s, want 503", resp.Status)
	}
	if err := tr.Start(t.Context()); err == nil {
		t.Error("Start after Close succeeded")
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartRunsTheJanitor(t *testing.T) {
	tr, srv, clk := newTestTracker(t, func(c *Config) { c.PeerTTL = 20 * time.Millisecond })
	mustOK(t, announce(t, srv, params(ihA, "p", 6881, 0, "ip", "10.0.0.1")))
	if err := tr.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
	clk.add(time.Minute) // the peer is now expired; the janitor (every 10 ms) drops its swarm
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr.mu.Lock()
		n := len(tr.swarms)
		tr.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the janitor never removed the expired swarm")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewNeedsKnown(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without Known succeeded")
	}
}

// The instance's own seed (Config.Unlisted) is counted but handed to
// nobody, and is handed nobody itself; other seeds are listed as usual.
func TestOwnSeedUnlisted(t *testing.T) {
	own := fmt.Sprintf("%-20.20s", "origin")
	tr, srv, _ := newTestTracker(t, func(c *Config) {
		c.Unlisted = func(id [20]byte) bool { return string(id[:]) == own }
	})
	mustOK(t, announce(t, srv, params(ihA, "leecher1", 6882, 100, "ip", "10.0.0.2", "event", "started")))
	r := mustOK(t, announce(t, srv, params(ihA, "origin", 6881, 0, "ip", "10.0.0.1", "event", "started")))
	if p := r["peers"].(string); p != "" {
		t.Errorf("the own seed got peers %v, want none", compactPeers(t, p, 6))
	}
	mustOK(t, announce(t, srv, params(ihA, "viewer", 6884, 0, "ip", "10.0.0.4", "event", "started")))
	r = mustOK(t, announce(t, srv, params(ihA, "leecher2", 6883, 100, "ip", "10.0.0.3")))
	got := compactPeers(t, r["peers"].(string), 6)
	if len(got) != 2 || slices.Contains(got, "10.0.0.1:6881") {
		t.Errorf("a leecher got %v, want the other leecher and the viewer's seed, not the own seed", got)
	}
	if c, i := num(t, r, "complete"), num(t, r, "incomplete"); c != 2 || i != 2 {
		t.Errorf("complete/incomplete = %d/%d, want 2/2 (the own seed counted)", c, i)
	}
	if st := tr.Stats(ihA); st.Complete != 2 {
		t.Errorf("Stats = %+v, want the own seed among 2 complete", st)
	}
}
