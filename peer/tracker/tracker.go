package tracker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Config configures a Tracker. Only Known is required; every other field has
// a default suited to a small instance.
type Config struct {
	// Known reports whether an info-hash belongs to this instance. The
	// tracker answers only for those, like PeerTube. It is called on every
	// announce and scrape, so it should be fast (cached). Required.
	Known func(ih [20]byte) bool
	// Unlisted reports whether an announcing peer_id is the instance's own
	// BitTorrent seed. It is counted (scrape "complete"), but never handed
	// to other peers, and gets none itself: viewers that have the web seed
	// ration it (they fetch from it only what no other viewer has), while a
	// seed at the origin's uplink would be drained by every viewer at once,
	// each byte costing the origin as much as a web seed byte (make
	// bench-swarm: 3.4 copies for 8 viewers with it listed). It stays
	// reachable through DHT and PEX. Nil: every peer is listed.
	Unlisted func(peerID [20]byte) bool
	// Logger gets the tracker's logs. Default slog.Default(); the tracker
	// adds component=tracker.
	Logger *slog.Logger

	// Interval is the re-announce interval given to peers. Default 2 min
	// (what PeerTube's tracker gives WebTorrent peers). MinInterval is
	// the BEP 3 "min interval"; default Interval/2.
	Interval, MinInterval time.Duration
	// PeerTTL is how long a peer stays listed without announcing again,
	// and how long a WebSocket may stay silent. Default 3 × Interval.
	PeerTTL time.Duration

	// MaxTorrents caps the swarms held at once (default 10000);
	// MaxPeersPerTorrent the peers of one swarm (default 1000);
	// MaxPeersPerIP the peers of one swarm behind one IP address
	// (default 16). A peer over a cap is answered but not listed.
	MaxTorrents, MaxPeersPerTorrent, MaxPeersPerIP int
	// DefaultNumWant is how many peers an HTTP announce gets when it does
	// not say (default 50); MaxNumWant caps what it may ask (default 100).
	DefaultNumWant, MaxNumWant int
	// RequestsPerMinute caps HTTP announces and scrapes plus WebSocket
	// messages per client IP (token bucket, burst of the same size).
	// Default 300. MaxIPs caps the IPs remembered for it (default 10000);
	// when full, requests from new IPs are refused until some expire.
	RequestsPerMinute, MaxIPs int

	// MaxSockets caps WebSocket connections (default 2000),
	// MaxSocketsPerIP those from one IP (default 20).
	MaxSockets, MaxSocketsPerIP int
	// MaxMessageSize caps one WebSocket message in bytes (default 64 KiB:
	// ten SDP offers fit easily). A bigger one closes the socket (1009).
	MaxMessageSize int64
	// MaxOffers caps the WebRTC offers relayed from one announce
	// (default 10, what WebTorrent sends).
	MaxOffers int

	// TrustProxy takes the client's address from the last X-Forwarded-For
	// entry, for an instance behind a reverse proxy. Off: the connection's
	// address is the client's, whatever the headers say.
	TrustProxy bool
	// AllowLoopbackPeers lists HTTP peers with loopback addresses (tests,
	// one-machine setups). Off, such peers are answered but never given to
	// others, since their address means nothing elsewhere.
	AllowLoopbackPeers bool
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Interval <= 0 {
		c.Interval = 2 * time.Minute
	}
	if c.MinInterval <= 0 {
		c.MinInterval = c.Interval / 2
	}
	if c.PeerTTL <= 0 {
		c.PeerTTL = 3 * c.Interval
	}
	setInt := func(p *int, def int) {
		if *p <= 0 {
			*p = def
		}
	}
	setInt(&c.MaxTorrents, 10000)
	setInt(&c.MaxPeersPerTorrent, 1000)
	setInt(&c.MaxPeersPerIP, 16)
	setInt(&c.DefaultNumWant, 50)
	setInt(&c.MaxNumWant, 100)
	c.DefaultNumWant = min(c.DefaultNumWant, c.MaxNumWant)
	setInt(&c.RequestsPerMinute, 300)
	setInt(&c.MaxIPs, 10000)
	setInt(&c.MaxSockets, 2000)
	setInt(&c.MaxSocketsPerIP, 20)
	setInt(&c.MaxOffers, 10)
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 64 << 10
	}
}

// Stats counts one torrent's swarm.
type Stats struct {
	Complete   int // seeders listed
	Incomplete int // leechers listed
	Downloaded int // completed events seen since the swarm was created
}

// Tracker is the tracker. Build it with New, serve Handler, Start the
// janitor, Close at the end.
type Tracker struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time // the clock; tests move it
	upgrader websocket.Upgrader
	limiter  *ipLimiter

	mu         sync.Mutex
	swarms     map[[20]byte]*swarm
	conns      map[*wsConn]struct{}
	sockets    int // WebSocket slots taken, handshakes included
	connsPerIP map[netip.Addr]int
	closed     bool
	cancel     context.CancelFunc // stops the janitor

	wg sync.WaitGroup // janitor, WebSocket readers and writers
}

// New builds a tracker. It starts nothing.
func New(cfg Config) (*Tracker, error) {
	if cfg.Known == nil {
		return nil, errors.New("tracker: Config.Known is required")
	}
	cfg.setDefaults()
	t := &Tracker{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "tracker"),
		now:        time.Now,
		swarms:     make(map[[20]byte]*swarm),
		conns:      make(map[*wsConn]struct{}),
		connsPerIP: make(map[netip.Addr]int),
	}
	t.limiter = newIPLimiter(cfg.RequestsPerMinute, cfg.MaxIPs)
	t.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  4 << 10,
		// WebTorrent peers run in pages of any origin (other instances'
		// players): the tracker holds nothing an origin check would protect.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return t, nil
}

// Handler serves GET /tracker/announce, /tracker/scrape and /tracker/socket;
// mount it at the root or under "/tracker/".
func (t *Tracker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tracker/announce", t.serveAnnounce)
	mux.HandleFunc("GET /tracker/scrape", t.serveScrape)
	mux.HandleFunc("GET /tracker/socket", t.serveSocket)
	return mux
}

// Start runs the janitor, which forgets expired peers, empty swarms and idle
// rate-limit entries, until ctx ends or Close.
func (t *Tracker) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("tracker: closed")
	}
	if t.cancel != nil {
		return errors.New("tracker: already started")
	}
	ctx, t.cancel = context.WithCancel(ctx)
	every := max(min(t.cfg.PeerTTL/2, time.Minute), time.Millisecond)
	t.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.sweep()
			}
		}
	})
	return nil
}

// Close stops the janitor, closes every WebSocket connection (close code
// 1001, going away) and waits for their goroutines. Later requests get 503.
// It is safe to call more than once.
func (t *Tracker) Close() error {
	t.mu.Lock()
	t.closed = true
	if t.cancel != nil {
		t.cancel()
	}
	conns := make([]*wsConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.shut(websocket.CloseGoingAway, "tracker shutting down")
	}
	t.wg.Wait()
	return nil
}

// Stats returns the counts of one torrent's swarm (zero if it has none).
func (t *Tracker) Stats(ih [20]byte) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	sw := t.swarms[ih]
	if sw == nil {
		return Stats{}
	}
	sw.expire(t.now())
	return sw.stats()
}

// sweep drops expired peers, empty swarms and idle rate-limit entries.
func (t *Tracker) sweep() {
	now := t.now()
	t.mu.Lock()
	for ih, sw := range t.swarms {
		sw.expire(now)
		if len(sw.peers) == 0 {
			delete(t.swarms, ih)
		}
	}
	t.mu.Unlock()
	t.limiter.sweep(now)
}

// swarmLocked returns ih's swarm, creating it unless create is false or the
// tracker holds MaxTorrents swarms already (then nil).
func (t *Tracker) swarmLocked(ih [20]byte, create bool) *swarm {
	sw := t.swarms[ih]
	if sw != nil || !create {
		return sw
	}
	if len(t.swarms) >= t.cfg.MaxTorrents {
		// Make room from swarms that only hold expired peers.
		now := t.now()
		for k, s := range t.swarms {
			s.expire(now)
			if len(s.peers) == 0 {
				delete(t.swarms, k)
			}
		}
		if len(t.swarms) >= t.cfg.MaxTorrents {
			return nil
		}
	}
	sw = &swarm{peers: make(map[string]*peer)}
	t.swarms[ih] = sw
	return sw
}

// errFull is the answer when a new torrent does not fit.
const errFull = "tracker is full, try again later"
