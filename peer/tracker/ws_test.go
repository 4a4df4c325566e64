package tracker

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is a WebTorrent-style tracker client: gorilla/websocket on
// loopback, JSON messages.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, srv *httptest.Server) *wsClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/tracker/socket"
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	if err := w.c.WriteJSON(v); err != nil {
		w.t.Fatal(err)
	}
}

// recv reads one JSON message (10 s at most).
func (w *wsClient) recv() map[string]any {
	w.t.Helper()
	w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(msg, &m); err != nil {
		w.t.Fatalf("not JSON: %v: %q", err, msg)
	}
	return m
}

// id20 is a 20-byte binary id with bytes over 0x7f, as latin1 text.
func id20(tag byte) string {
	b := make([]byte, 20)
	for i := range b {
		b[i] = tag + byte(i)*11
	}
	b[0], b[1] = 0xff, 0x80
	return toLatin1(b)
}

func TestWebSocketRelaysOffersAndAnswers(t *testing.T) {
	tr, srv, _ := newTestTracker(t)
	ih := toLatin1(ihA[:])
	a, b := dialWS(t, srv), dialWS(t, srv)
	idA, idB := id20('a'), id20('b')

	// A, a seeder, announces without offers.
	a.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": idA, "left": 0, "event": "started", "numwant": 10, "offers": []any{}})
	r := a.recv()
	if r["action"] != "announce" || r["info_hash"] != ih || r["complete"] != 1.0 || r["incomplete"] != 0.0 || r["interval"] != 60.0 {
		t.Fatalf("A's announce response = %v, want announce, same info_hash, 1 complete, 0 incomplete, interval 60", r)
	}

	// B, a leecher, announces with two offers: only A exists, so A gets one.
	offer1 := map[string]any{"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
	offer2 := map[string]any{"type": "offer", "sdp": "v=0 second"}
	offerID1, offerID2 := id20('o'), id20('q')
	b.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": idB, "left": 1000, "event": "started", "numwant": 2,
		"offers": []any{map[string]any{"offer": offer1, "offer_id": offerID1}, map[string]any{"offer": offer2, "offer_id": offerID2}}})
	r = b.recv()
	if r["action"] != "announce" || r["complete"] != 1.0 || r["incomplete"] != 1.0 {
		t.Fatalf("B's announce response = %v, want 1 complete, 1 incomplete", r)
	}
	got := a.recv()
	if got["action"] != "announce" || got["info_hash"] != ih || got["peer_id"] != idB || got["offer_id"] != offerID1 {
		t.Fatalf("offer relayed to A = %v, want B's peer_id and the first offer_id", got)
	}
	if o, _ := got["offer"].(map[string]any); o["sdp"] != offer1["sdp"] || o["type"] != "offer" {
		t.Errorf("relayed offer = %v, want %v", got["offer"], offer1)
	}
	if _, has := got["answer"]; has {
		t.Error("offer message carries an answer")
	}

	// A answers: B gets the answer from A; A gets no announce response.
	answer := map[string]any{"type": "answer", "sdp": "v=0 answer"}
	a.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": idA, "left": 0, "answer": answer, "offer_id": offerID1, "to_peer_id": idB})
	got = b.recv()
	if got["action"] != "announce" || got["info_hash"] != ih || got["peer_id"] != idA || got["offer_id"] != offerID1 {
		t.Fatalf("answer relayed to B = %v, want A's peer_id and offer_id 1", got)
	}
	if ans, _ := got["answer"].(map[string]any); ans["sdp"] != "v=0 answer" || ans["type"] != "answer" {
		t.Errorf("relayed answer = %v", got["answer"])
	}

	// An answer to a peer that is not there is refused clearly.
	a.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": idA, "answer": answer, "offer_id": offerID1, "to_peer_id": id20('z')})
	if r := a.recv(); r["failure reason"] != "no peer with that to_peer_id" {
		t.Errorf("answer to nobody: %v", r)
	}

	if st := tr.Stats(ihA); st.Complete != 1 || st.Incomplete != 1 {
		t.Errorf("Stats = %+v, want 1 complete, 1 incomplete", st)
	}

	// Scrape over the socket.
	b.send(map[string]any{"action": "scrape", "info_hash": []string{ih, toLatin1(ihX[:])}})
	r = b.recv()
	files, _ := r["files"].(map[string]any)
	fa, _ := files[ih].(map[string]any)
	if r["action"] != "scrape" || len(files) != 1 || fa["complete"] != 1.0 || fa["incomplete"] != 1.0 {
		t.Errorf("scrape = %v, want only A's hash with 1/1", r)
	}

	// B leaves by closing its socket: its peer is gone.
	b.c.Close()
	waitUntil(t, "B's peer to leave the swarm", func() bool { return tr.Stats(ihA).Incomplete == 0 })
	// A stops: the swarm is empty.
	a.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": idA, "left": 0, "event": "stopped"})
	if r := a.recv(); r["complete"] != 0.0 || r["incomplete"] != 0.0 {
		t.Errorf("after stopped: %v, want 0/0", r)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebSocketHostileMessages(t *testing.T) {
	tr, srv, _ := newTestTracker(t, func(c *Config) { c.MaxMessageSize = 4 << 10 })
	ih := toLatin1(ihA[:])
	w := dialWS(t, srv)
	for _, tc := range []struct {
		name string
		msg  string
		want string
	}{
		{"garbage", "{not json", "invalid JSON message"},
		{"array", "[1,2,3]", "invalid JSON message"},
		{"no action", `{"info_hash":"x"}`, `invalid action ""`},
		{"bad action", `{"action":"explode"}`, `invalid action "explode"`},
		{"short info_hash", `{"action":"announce","info_hash":"abc","peer_id":` + jsonString(id20('a')) + `}`, "invalid info_hash: want a 20-byte string"},
		{"numeric info_hash", `{"action":"announce","info_hash":12345,"peer_id":"x"}`, "invalid info_hash: want a 20-byte string"},
		{"wide runes", `{"action":"announce","info_hash":"` + strings.Repeat("é€", 10) + `","peer_id":"x"}`, "invalid info_hash: want a 20-byte string"},
		{"unknown torrent", `{"action":"announce","info_hash":` + jsonString(toLatin1(ihX[:])) + `,"peer_id":` + jsonString(id20('a')) + `}`, "torrent not found on this instance"},
		{"bad peer_id", `{"action":"announce","info_hash":` + jsonString(ih) + `,"peer_id":"short"}`, "invalid peer_id: want a 20-byte string"},
		{"bad offers", `{"action":"announce","info_hash":` + jsonString(ih) + `,"peer_id":` + jsonString(id20('a')) + `,"offers":"lots"}`, "invalid offers: want an array of {offer, offer_id}"},
		{"offer without id", `{"action":"announce","info_hash":` + jsonString(ih) + `,"peer_id":` + jsonString(id20('a')) + `,"offers":[{"offer":{}}]}`, "invalid offers: each needs an offer and a 20-byte offer_id"},
		{"answer without to_peer_id", `{"action":"announce","info_hash":` + jsonString(ih) + `,"peer_id":` + jsonString(id20('a')) + `,"answer":{},"offer_id":` + jsonString(id20('o')) + `}`, "invalid answer: needs a 20-byte to_peer_id and offer_id"},
		{"text left", `{"action":"announce","info_hash":` + jsonString(ih) + `,"peer_id":` + jsonString(id20('a')) + `,"left":"much"}`, "invalid left"},
		{"bad event", `{"action":"announce","info_hash":` + jsonString(ih) + `,"peer_id":` + jsonString(id20('a')) + `,"event":"boom"}`, "invalid event"},
		{"bad scrape", `{"action":"scrape","info_hash":{"a":1}}`, "invalid info_hash"},
	} {
		if err := w.c.WriteMessage(websocket.TextMessage, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		if got := w.recv()["failure reason"]; got != tc.want {
			t.Errorf("%s: failure reason %q, want %q", tc.name, got, tc.want)
		}
	}
	if err := w.c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if got := w.recv()["failure reason"]; got != "want JSON text messages" {
		t.Errorf("binary message: %q", got)
	}
	// The socket survived all of that. A regular announce as anacrolix
	// v1.61 sends it (event "<regular>", left -1 before it has the info)
	// counts as a leecher.
	w.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": id20('a'), "left": -1, "event": "<regular>", "numwant": 0, "offers": nil})
	if r := w.recv(); r["incomplete"] != 1.0 || r["complete"] != 0.0 {
		t.Fatalf("valid announce after hostile ones: %v", r)
	}
	// The same socket cannot switch peer_id, and another cannot steal it.
	w.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": id20('b'), "left": 3})
	if r := w.recv(); r["failure reason"] != "peer_id changed on this connection" {
		t.Errorf("peer_id switch: %v", r)
	}
	thief := dialWS(t, srv)
	thief.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": id20('a'), "left": 0})
	if r := thief.recv(); r["failure reason"] != "peer_id in use by another connection" {
		t.Errorf("peer_id theft: %v", r)
	}

	// An oversized message closes that socket (with close code 1009, which
	// the client may miss when the unread rest of its message makes the
	// kernel reset the connection) and nothing else. The write itself may
	// fail for the same reason.
	big := `{"action":"announce","pad":"` + strings.Repeat("x", 8<<10) + `"}`
	thief.c.WriteMessage(websocket.TextMessage, []byte(big))
	thief.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := thief.c.ReadMessage()
	var ne interface{ Timeout() bool }
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("oversized message: socket still open (read: %v)", err)
	} else if ce := (*websocket.CloseError)(nil); errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("oversized message: closed with %d, want 1009", ce.Code)
	}
	waitUntil(t, "the tracker to drop the oversized socket", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.conns) == 1
	})
	if st := tr.Stats(ihA); st.Incomplete != 1 {
		t.Errorf("Stats = %+v after the thief left, want the first peer still listed", st)
	}
	w.send(map[string]any{"action": "scrape", "info_hash": ih})
	if r := w.recv(); r["action"] != "scrape" {
		t.Errorf("first socket after the oversized message elsewhere: %v", r)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestWebSocketLimitsAndClose(t *testing.T) {
	tr, srv, _ := newTestTracker(t, func(c *Config) { c.MaxSocketsPerIP = 2 })
	a, b := dialWS(t, srv), dialWS(t, srv)
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/tracker/socket"
	_, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil || resp == nil || resp.StatusCode != 429 {
		t.Errorf("third socket from one IP: err %v, response %v; want 429", err, resp)
	}
	ih := toLatin1(ihA[:])
	a.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": id20('a'), "left": 0})
	a.recv()

	// Close drops every socket with 1001 and forgets their peers.
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wsClient{a, b} {
		c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := c.c.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("after Close: %v, want close 1001", err)
		}
	}
	if st := tr.Stats(ihA); st.Complete != 0 {
		t.Errorf("Stats after Close = %+v", st)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp.StatusCode != 503 {
		t.Errorf("dial after Close: %v %v, want 503", err, resp)
	}
}

func TestWebSocketIdleTimeout(t *testing.T) {
	// A client that never answers pings (gorilla answers only while
	// reading) and sends nothing is dropped after PeerTTL.
	_, srv, _ := newTestTracker(t, func(c *Config) { c.PeerTTL = 300 * time.Millisecond; c.Interval = time.Second })
	w := dialWS(t, srv)
	time.Sleep(time.Second)
	w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	for {
		_, _, err := w.c.ReadMessage()
		if err == nil {
			continue
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the tracker kept a silent socket open for %v", time.Since(start))
		}
		break // closed by the tracker
	}
}

func TestWebSocketSlowReaderIsDropped(t *testing.T) {
	tr, srv, _ := newTestTracker(t, func(c *Config) { c.RequestsPerMinute = 1 << 20 })
	ih := toLatin1(ihA[:])
	victim, sender := dialWS(t, srv), dialWS(t, srv)
	victim.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": id20('v'), "left": 0})
	victim.recv() // then never reads again
	sdp := strings.Repeat("s", 50<<10)
	conns := func() int {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.conns)
	}
	// Both sockets are registered by the tracker (the victim's announce was
	// answered; the sender's upgrade may still be in progress).
	for wait := time.Now().Add(10 * time.Second); conns() != 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("the tracker holds %d sockets, want 2", conns())
		}
	}
	// Each announce relays a 50 KiB offer to the victim. Once the kernel's
	// socket buffers are full, the tracker's queue for it fills and the
	// tracker drops it instead of buffering without bound.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; conns() == 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after %d offers (%d MiB) the slow reader is still connected", i, i*50>>10)
		}
		sender.send(map[string]any{"action": "announce", "info_hash": ih, "peer_id": id20('s'), "left": 10, "numwant": 1,
			"offers": []any{map[string]any{"offer": map[string]any{"type": "offer", "sdp": sdp}, "offer_id": id20(byte(i))}}})
		if r := sender.recv(); r["failure reason"] != nil {
			t.Fatalf("sender refused: %v", r)
		}
	}
	if st := tr.Stats(ihA); st.Complete != 0 || st.Incomplete != 1 {
		t.Errorf("Stats = %+v, want the victim gone and the sender listed", st)
	}
}

func TestWebSocketEndpointRefusals(t *testing.T) {
	_, srv, _ := newTestTracker(t, func(c *Config) { c.MaxSockets = 1 })
	// A plain GET on the socket endpoint is not an upgrade.
	resp, err := http.Get(srv.URL + "/tracker/socket")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET /tracker/socket: %s, want 400", resp.Status)
	}
	// Other paths are not the tracker's.
	resp, err = http.Get(srv.URL + "/tracker/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /tracker/other: %s, want 404", resp.Status)
	}
	// MaxSockets counts every client.
	dialWS(t, srv)
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/tracker/socket"
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("socket over MaxSockets: %v %v, want 503", err, resp)
	}
}
