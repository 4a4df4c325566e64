package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// Failure reasons sent to clients.
const (
	errUnknownTorrent = "torrent not found on this instance"
	errRateLimited    = "too many requests, slow down"
	errClosed         = "tracker closed"
	maxScrapeHashes   = 100
)

// admit is the common start of announce and scrape: the client's address,
// the tracker open, the client's rate, a well-formed query. When it says
// no, the failure has been answered.
func (t *Tracker) admit(w http.ResponseWriter, r *http.Request) (netip.Addr, url.Values, bool) {
	ip, err := t.clientIP(r)
	if err != nil {
		t.fail(w, err.Error())
		return ip, nil, false
	}
	if t.isClosed() {
		t.reply(w, http.StatusServiceUnavailable, map[string]any{"failure reason": errClosed})
		return ip, nil, false
	}
	if !t.limiter.allow(ip, t.now()) {
		t.fail(w, errRateLimited)
		return ip, nil, false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		t.fail(w, "malformed query string")
		return ip, nil, false
	}
	return ip, q, true
}

// serveAnnounce answers a BEP 3 announce. Every failure is a bencoded
// "failure reason" with status 200, which is what clients parse.
func (t *Tracker) serveAnnounce(w http.ResponseWriter, r *http.Request) {
	ip, q, ok := t.admit(w, r)
	if !ok {
		return
	}
	ih, err := binaryParam(q, "info_hash")
	if err != nil {
		t.fail(w, err.Error())
		return
	}
	if !t.cfg.Known(ih) {
		t.log.Debug("announce for unknown torrent", "infohash", fmt.Sprintf("%x", ih), "ip", ip)
		t.fail(w, errUnknownTorrent)
		return
	}
	id, err := binaryParam(q, "peer_id")
	if err != nil {
		t.fail(w, err.Error())
		return
	}
	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		t.fail(w, "invalid port")
		return
	}
	for _, k := range []string{"uploaded", "downloaded", "left"} {
		for _, v := range q[k] {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				t.fail(w, "invalid "+k)
				return
			}
		}
	}
	event := q.Get("event")
	switch event {
	case "", "started", "stopped", "completed", "paused", "empty":
	default:
		t.fail(w, "invalid event")
		return
	}
	if event == "empty" {
		event = ""
	}
	numWant := t.cfg.DefaultNumWant
	if v := q.Get("numwant"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			t.fail(w, "invalid numwant")
			return
		}
		numWant = int(min(n, int64(t.cfg.MaxNumWant)))
	}
	compact := q.Get("compact") != "0"
	noPeerID := q.Get("no_peer_id") == "1"

	// A client on this machine (a local seeder, a test) may say which
	// address others should use; nobody else may (not even through a
	// trusted proxy, which is on this machine too).
	peerIP := ip
	if ip.IsLoopback() {
		for _, k := range []string{"ip", "ipv4", "ipv6"} {
			if a, err := netip.ParseAddr(q.Get(k)); err == nil {
				peerIP = a.Unmap()
				break
			}
		}
	}
	addr := netip.AddrPortFrom(peerIP, uint16(port))
	a := &announcement{
		key:      "h" + addr.String(),
		id:       id,
		addr:     addr,
		ip:       ip,
		complete: q.Get("left") == "0",
		leftSaid: q.Has("left"),
		event:    event,
		listable: t.listable(peerIP),
		unlisted: t.unlisted(id),
	}

	t.log.Debug("announce", "infohash", fmt.Sprintf("%x", ih), "peer", addr, "event", event,
		"left", q.Get("left"), "numwant", numWant, "compact", compact)
	t.mu.Lock()
	sw := t.swarmLocked(ih, event != "stopped")
	if sw == nil && event != "stopped" {
		t.mu.Unlock()
		t.fail(w, errFull)
		return
	}
	var st Stats
	var peers []*peer
	if sw != nil {
		now := t.now()
		sw.update(a, now, &t.cfg)
		st = sw.stats()
		if event != "stopped" && !a.unlisted {
			peers = sw.pick(numWant, a.key, false, a.complete)
		}
	}
	resp := map[string]any{
		"interval":     seconds(t.cfg.Interval),
		"min interval": seconds(t.cfg.MinInterval),
		"complete":     st.Complete,
		"incomplete":   st.Incomplete,
	}
	if compact {
		var v4, v6 []byte
		for _, p := range peers {
			// Not AddrPort.MarshalBinary: its port is little-endian.
			ip, port := p.addr.Addr(), p.addr.Port()
			if ip.Is4() {
				v4 = binary.BigEndian.AppendUint16(append(v4, ip.AsSlice()...), port)
			} else {
				v6 = binary.BigEndian.AppendUint16(append(v6, ip.AsSlice()...), port)
			}
		}
		resp["peers"] = string(v4)
		if len(v6) > 0 {
			resp["peers6"] = string(v6)
		}
	} else {
		list := make([]map[string]any, 0, len(peers))
		for _, p := range peers {
			d := map[string]any{"ip": p.addr.Addr().String(), "port": int(p.addr.Port())}
			if !noPeerID {
				d["peer id"] = string(p.id[:])
			}
			list = append(list, d)
		}
		resp["peers"] = list
	}
	t.mu.Unlock()
	t.reply(w, http.StatusOK, resp)
}

// serveScrape answers a BEP 48 scrape: counts for each requested known
// torrent (unknown ones are left out), or for every swarm held when none is
// named.
func (t *Tracker) serveScrape(w http.ResponseWriter, r *http.Request) {
	_, q, ok := t.admit(w, r)
	if !ok {
		return
	}
	hashes, err := binaryParams(q["info_hash"], "info_hash")
	if err != nil {
		t.fail(w, err.Error())
		return
	}
	files := t.scrape(hashes)
	resp := map[string]any{
		"files": files,
		"flags": map[string]any{"min_request_interval": seconds(t.cfg.MinInterval)},
	}
	t.reply(w, http.StatusOK, resp)
}

// scrape returns the counts of hashes that are known, keyed by the binary
// info-hash; with no hashes, of every swarm held.
func (t *Tracker) scrape(hashes [][20]byte) map[string]any {
	var known [][20]byte
	for _, ih := range hashes {
		if t.cfg.Known(ih) {
			known = append(known, ih)
		}
	}
	files := make(map[string]any)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	stat := func(ih [20]byte) Stats {
		if sw := t.swarms[ih]; sw != nil {
			sw.expire(now)
			return sw.stats()
		}
		return Stats{}
	}
	if len(hashes) == 0 {
		for ih := range t.swarms {
			known = append(known, ih)
		}
	}
	for _, ih := range known {
		st := stat(ih)
		files[string(ih[:])] = map[string]any{
			"complete":   st.Complete,
			"incomplete": st.Incomplete,
			"downloaded": st.Downloaded,
		}
	}
	return files
}

// binaryParam is the single 20-byte value of a query parameter.
func binaryParam(q url.Values, name string) ([20]byte, error) {
	vs := q[name]
	if len(vs) != 1 {
		return [20]byte{}, fmt.Errorf("want exactly one %s", name)
	}
	hs, err := binaryParams(vs, name)
	if err != nil {
		return [20]byte{}, err
	}
	return hs[0], nil
}

func binaryParams(vs []string, name string) ([][20]byte, error) {
	if len(vs) > maxScrapeHashes {
		return nil, fmt.Errorf("too many %s values (at most %d)", name, maxScrapeHashes)
	}
	out := make([][20]byte, len(vs))
	for i, v := range vs {
		if len(v) != 20 {
			return nil, fmt.Errorf("invalid %s: want 20 bytes, got %d", name, len(v))
		}
		copy(out[i][:], v)
	}
	return out, nil
}

// clientIP is the client's address: the connection's, or with TrustProxy
// the last X-Forwarded-For entry, the one the proxy added.
func (t *Tracker) clientIP(r *http.Request) (netip.Addr, error) {
	var direct netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		direct = ap.Addr()
	} else {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if direct, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, errors.New("unknown client address")
		}
	}
	direct = direct.Unmap().WithZone("")
	if !t.cfg.TrustProxy {
		return direct, nil
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return direct, nil
	}
	last := xff[len(xff)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	a, err := netip.ParseAddr(strings.TrimSpace(last))
	if err != nil {
		return netip.Addr{}, errors.New("invalid X-Forwarded-For")
	}
	return a.Unmap().WithZone(""), nil
}

// listable reports whether an HTTP peer's address is worth giving to others.
func (t *Tracker) listable(a netip.Addr) bool {
	switch {
	case !a.IsValid(), a.IsUnspecified(), a.IsMulticast(), a.IsLinkLocalUnicast(),
		a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast(),
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	case a.IsLoopback():
		return t.cfg.AllowLoopbackPeers
	}
	return true
}

// unlisted reports whether peer_id id is the instance's own seed.
func (t *Tracker) unlisted(id [20]byte) bool {
	return t.cfg.Unlisted != nil && t.cfg.Unlisted(id)
}

func (t *Tracker) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *Tracker) fail(w http.ResponseWriter, reason string) {
	t.reply(w, http.StatusOK, map[string]any{"failure reason": reason})
}

func (t *Tracker) reply(w http.ResponseWriter, status int, v map[string]any) {
	body, err := bencode.Marshal(v)
	if err != nil {
		t.log.Error("encoding tracker response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

func seconds(d time.Duration) int {
	return max(1, int(d.Seconds()+0.5))
}
