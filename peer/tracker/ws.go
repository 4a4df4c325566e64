package tracker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The WebTorrent tracker protocol: JSON text messages over one WebSocket per
// client and tracker. Binary fields (info_hash, peer_id, offer_id,
// to_peer_id) are 20-byte strings sent as JSON strings of code points
// 0–255 (latin1). A peer announces with up to ten WebRTC offers; the tracker
// relays each to a different peer of the swarm, whose answer (an announce
// with answer, to_peer_id and offer_id) the tracker relays back.

const (
	writeWait          = 10 * time.Second
	sendQueue          = 64        // messages queued per socket; a socket that falls further behind is dropped
	sendQueueBytes     = 128 << 10 // bytes queued per socket, likewise
	maxSwarmsPerSocket = 256       // torrents one socket may announce
)

// wsConn is one WebSocket client.
type wsConn struct {
	t      *Tracker
	c      *websocket.Conn
	ip     netip.Addr
	send   chan []byte
	queued atomic.Int64 // bytes in send
	done   chan struct{}
	once   sync.Once

	// Guarded by the tracker's mutex.
	peerID string            // the 20-byte peer_id as a string, set by the first announce
	joined map[[20]byte]bool // swarms this socket announced in
}

// wsRequest is a client message. Fields are decoded loosely and checked by
// hand so that every mistake gets a precise failure reason.
type wsRequest struct {
	Action   string          `json:"action"`
	InfoHash json.RawMessage `json:"info_hash"`
	PeerID   *string         `json:"peer_id"`
	NumWant  json.RawMessage `json:"numwant"`
	Left     json.RawMessage `json:"left"`
	Event    string          `json:"event"`
	Offers   json.RawMessage `json:"offers"`
	Answer   json.RawMessage `json:"answer"`
	ToPeerID *string         `json:"to_peer_id"`
	OfferID  *string         `json:"offer_id"`
}

type wsOffer struct {
	Offer   json.RawMessage `json:"offer"`
	OfferID *string         `json:"offer_id"`
}

// serveSocket upgrades to a WebSocket and serves it until it closes.
func (t *Tracker) serveSocket(w http.ResponseWriter, r *http.Request) {
	ip, err := t.clientIP(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "WebSocket upgrade required", http.StatusBadRequest)
		return
	}
	if !t.limiter.allow(ip, t.now()) {
		http.Error(w, errRateLimited, http.StatusTooManyRequests)
		return
	}
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		http.Error(w, errClosed, http.StatusServiceUnavailable)
		return
	case t.sockets >= t.cfg.MaxSockets:
		t.mu.Unlock()
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	case t.connsPerIP[ip] >= t.cfg.MaxSocketsPerIP:
		t.mu.Unlock()
		http.Error(w, "too many connections from your address", http.StatusTooManyRequests)
		return
	}
	// Reserve the slot before the handshake so concurrent upgrades count.
	t.connsPerIP[ip]++
	t.sockets++
	t.wg.Add(2) // reader (this goroutine) and writer
	t.mu.Unlock()
	release := func() {
		t.mu.Lock()
		t.sockets--
		if t.connsPerIP[ip]--; t.connsPerIP[ip] <= 0 {
			delete(t.connsPerIP, ip)
		}
		t.mu.Unlock()
	}

	ws, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil { // the upgrader has answered
		release()
		t.wg.Add(-2)
		return
	}
	c := &wsConn{
		t: t, c: ws, ip: ip,
		send:   make(chan []byte, sendQueue),
		done:   make(chan struct{}),
		joined: make(map[[20]byte]bool),
	}
	t.mu.Lock()
	if t.closed { // Close ran during the handshake
		t.mu.Unlock()
		ws.Close()
		release()
		t.wg.Add(-2)
		return
	}
	t.conns[c] = struct{}{}
	t.mu.Unlock()

	go func() {
		defer t.wg.Done()
		c.writeLoop()
	}()
	defer t.wg.Done()
	defer release()
	defer c.leave()
	c.readLoop()
}

func (c *wsConn) readLoop() {
	t := c.t
	c.c.SetReadLimit(t.cfg.MaxMessageSize)
	c.c.SetPongHandler(func(string) error {
		return c.c.SetReadDeadline(time.Now().Add(t.cfg.PeerTTL))
	})
	for {
		c.c.SetReadDeadline(time.Now().Add(t.cfg.PeerTTL))
		typ, msg, err := c.c.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				t.log.Debug("websocket message too big", "ip", c.ip)
			}
			c.shut(0, "")
			return
		}
		if typ != websocket.TextMessage {
			c.reply(map[string]any{"failure reason": "want JSON text messages"})
			continue
		}
		if !t.limiter.allow(c.ip, t.now()) {
			c.reply(map[string]any{"failure reason": errRateLimited})
			continue
		}
		c.handle(msg)
	}
}

// leave removes the socket's peers from every swarm it joined.
func (c *wsConn) leave() {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	for ih := range c.joined {
		if sw := t.swarms[ih]; sw != nil {
			if p := sw.peers[c.peerID]; p != nil && p.ws == c {
				delete(sw.peers, c.peerID)
			}
		}
	}
	c.joined = nil
}

// writeLoop sends queued messages and pings until the socket closes.
func (c *wsConn) writeLoop() {
	ping := time.NewTicker(max(c.t.cfg.PeerTTL/3, time.Second))
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case msg := <-c.send:
			c.queued.Add(-int64(len(msg)))
			c.c.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.c.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.shut(0, "")
				return
			}
		case <-ping.C:
			if err := c.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.shut(0, "")
				return
			}
		}
	}
}

// shut closes the socket once, first sending a close frame when code != 0.
func (c *wsConn) shut(code int, reason string) {
	c.once.Do(func() {
		if code != 0 {
			c.c.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		}
		close(c.done)
		c.c.Close()
	})
}

// enqueue queues a message without blocking; a socket whose queue is full
// is too slow and is dropped.
func (c *wsConn) enqueue(msg []byte) {
	if c.queued.Add(int64(len(msg))) > sendQueueBytes {
		c.t.log.Debug("websocket client too slow, dropping it", "ip", c.ip)
		c.shut(0, "")
		return
	}
	select {
	case <-c.done:
	case c.send <- msg:
	default:
		c.t.log.Debug("websocket client too slow, dropping it", "ip", c.ip)
		c.shut(0, "")
	}
}

func (c *wsConn) reply(v map[string]any) {
	msg, err := json.Marshal(v)
	if err != nil {
		c.t.log.Error("encoding websocket message", "err", err)
		return
	}
	c.enqueue(msg)
}

// handle answers one message.
func (c *wsConn) handle(msg []byte) {
	var req wsRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		c.reply(map[string]any{"failure reason": "invalid JSON message"})
		return
	}
	switch req.Action {
	case "announce":
		c.announce(&req)
	case "scrape":
		c.scrape(&req)
	default:
		c.reply(map[string]any{"failure reason": "invalid action " + strconv.Quote(truncate(req.Action, 32))})
	}
}

func (c *wsConn) announce(req *wsRequest) {
	t := c.t
	fail := func(reason string, ih *[20]byte) {
		m := map[string]any{"action": "announce", "failure reason": reason}
		if ih != nil {
			m["info_hash"] = toLatin1(ih[:])
		}
		c.reply(m)
	}
	var ihs string
	if err := json.Unmarshal(req.InfoHash, &ihs); err != nil {
		fail("invalid info_hash: want a 20-byte string", nil)
		return
	}
	ih, ok := from20(ihs)
	if !ok {
		fail("invalid info_hash: want a 20-byte string", nil)
		return
	}
	if !t.cfg.Known(ih) {
		t.log.Debug("websocket announce for unknown torrent", "infohash", fmt.Sprintf("%x", ih), "ip", c.ip)
		fail(errUnknownTorrent, &ih)
		return
	}
	if req.PeerID == nil {
		fail("invalid peer_id: want a 20-byte string", &ih)
		return
	}
	id, ok := from20(*req.PeerID)
	if !ok {
		fail("invalid peer_id: want a 20-byte string", &ih)
		return
	}
	event := req.Event
	switch event {
	case "started", "stopped", "completed", "paused":
	case "", "update", "empty", "<regular>": // a regular announce; anacrolix v1.61 sends "<regular>"
		event = ""
	default:
		fail("invalid event", &ih)
		return
	}
	complete, leftSaid := false, false
	if len(req.Left) > 0 && string(req.Left) != "null" {
		leftSaid = true
		var left float64 // negative: unknown (anacrolix sends -1 before it has the info)
		if err := json.Unmarshal(req.Left, &left); err != nil {
			fail("invalid left", &ih)
			return
		}
		complete = left == 0
	}
	var offers []wsOffer
	if len(req.Offers) > 0 && string(req.Offers) != "null" {
		if err := json.Unmarshal(req.Offers, &offers); err != nil {
			fail("invalid offers: want an array of {offer, offer_id}", &ih)
			return
		}
		offers = offers[:min(len(offers), t.cfg.MaxOffers)]
		if len(req.NumWant) > 0 && string(req.NumWant) != "null" {
			var n float64
			if err := json.Unmarshal(req.NumWant, &n); err != nil || n < 0 {
				fail("invalid numwant", &ih)
				return
			}
			offers = offers[:min(len(offers), int(n))]
		}
		for _, o := range offers {
			if o.OfferID == nil || !is20(*o.OfferID) || len(o.Offer) == 0 || string(o.Offer) == "null" {
				fail("invalid offers: each needs an offer and a 20-byte offer_id", &ih)
				return
			}
		}
	}
	hasAnswer := len(req.Answer) > 0 && string(req.Answer) != "null"
	var to [20]byte
	if hasAnswer {
		if req.ToPeerID == nil || req.OfferID == nil || !is20(*req.OfferID) {
			fail("invalid answer: needs a 20-byte to_peer_id and offer_id", &ih)
			return
		}
		if to, ok = from20(*req.ToPeerID); !ok {
			fail("invalid answer: needs a 20-byte to_peer_id and offer_id", &ih)
			return
		}
	}

	key := "w" + string(id[:])
	t.mu.Lock()
	if c.peerID != "" && c.peerID != key {
		t.mu.Unlock()
		fail("peer_id changed on this connection", &ih)
		return
	}
	if !c.joined[ih] && len(c.joined) >= maxSwarmsPerSocket && event != "stopped" {
		t.mu.Unlock()
		fail("too many torrents on this connection", &ih)
		return
	}
	sw := t.swarmLocked(ih, event != "stopped")
	if sw == nil && event != "stopped" {
		t.mu.Unlock()
		fail(errFull, &ih)
		return
	}
	if sw != nil {
		if p := sw.peers[key]; p != nil && p.ws != c {
			t.mu.Unlock()
			fail("peer_id in use by another connection", &ih)
			return
		}
	}
	c.peerID = key
	var st Stats
	var targets []*peer
	var answerTo *wsConn
	if sw != nil {
		a := &announcement{key: key, id: id, ip: c.ip, ws: c, complete: complete, leftSaid: leftSaid, event: event,
			listable: true, unlisted: t.unlisted(id)}
		if sw.update(a, t.now(), &t.cfg) {
			c.joined[ih] = true
		} else {
			delete(c.joined, ih)
		}
		st = sw.stats()
		if event != "stopped" && !a.unlisted {
			targets = sw.pick(len(offers), key, true, false)
		}
		if hasAnswer {
			if p := sw.peers["w"+string(to[:])]; p != nil && p.ws != nil {
				answerTo = p.ws
			}
		}
	}
	t.mu.Unlock()

	ihBin := toLatin1(ih[:])
	if !hasAnswer { // an answer gets no announce response, as in WebTorrent's tracker
		c.reply(map[string]any{
			"action":     "announce",
			"info_hash":  ihBin,
			"interval":   seconds(t.cfg.Interval),
			"complete":   st.Complete,
			"incomplete": st.Incomplete,
		})
	}
	for i, p := range targets {
		p.ws.reply(map[string]any{
			"action":    "announce",
			"info_hash": ihBin,
			"peer_id":   toLatin1(id[:]),
			"offer":     offers[i].Offer,
			"offer_id":  *offers[i].OfferID,
		})
	}
	if hasAnswer {
		if answerTo == nil {
			fail("no peer with that to_peer_id", &ih)
			return
		}
		answerTo.reply(map[string]any{
			"action":    "announce",
			"info_hash": ihBin,
			"peer_id":   toLatin1(id[:]),
			"answer":    req.Answer,
			"offer_id":  *req.OfferID,
		})
	}
}

// scrape answers {"action":"scrape","info_hash": string or [strings]}.
func (c *wsConn) scrape(req *wsRequest) {
	var hashes [][20]byte
	if len(req.InfoHash) > 0 && string(req.InfoHash) != "null" {
		var list []string
		var one string
		if err := json.Unmarshal(req.InfoHash, &one); err == nil {
			list = []string{one}
		} else if err := json.Unmarshal(req.InfoHash, &list); err != nil {
			c.reply(map[string]any{"action": "scrape", "failure reason": "invalid info_hash"})
			return
		}
		if len(list) > maxScrapeHashes {
			c.reply(map[string]any{"action": "scrape", "failure reason": "too many info_hash values"})
			return
		}
		for _, s := range list {
			ih, ok := from20(s)
			if !ok {
				c.reply(map[string]any{"action": "scrape", "failure reason": "invalid info_hash: want 20-byte strings"})
				return
			}
			hashes = append(hashes, ih)
		}
	}
	files := make(map[string]any)
	for k, v := range c.t.scrape(hashes) {
		files[toLatin1([]byte(k))] = v
	}
	c.reply(map[string]any{"action": "scrape", "files": files, "interval": seconds(c.t.cfg.Interval)})
}

// toLatin1 maps each byte to the code point of the same value, the way
// WebTorrent sends binary strings in JSON.
func toLatin1(b []byte) string {
	rs := make([]rune, len(b))
	for i, x := range b {
		rs[i] = rune(x)
	}
	return string(rs)
}

// from20 decodes a latin1 JSON string of exactly 20 code points ≤ 255.
func from20(s string) (out [20]byte, ok bool) {
	n := 0
	for _, r := range s {
		if n == 20 || r > 0xff {
			return out, false
		}
		out[n] = byte(r)
		n++
	}
	return out, n == 20
}

func is20(s string) bool { _, ok := from20(s); return ok }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
