package peer

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Config configures an Engine. Start from DefaultConfig (real use: every
// peer source on) or TestConfig (loopback only, nothing leaves the machine).
type Config struct {
	// DataDir holds the metainfo cache, the downloaded files and the piece
	// completion database (see the package doc). Required.
	DataDir string
	// ListenAddr is the BitTorrent address (TCP, and uTP when UTP is on),
	// "host:port". An empty host listens on every interface; port 0 picks a
	// free one. If the port is taken, Start falls back to a free port.
	ListenAddr string
	// UploadRate and DownloadRate cap BitTorrent and web seed traffic in
	// bytes per second; 0 means unlimited. Change them later with
	// Engine.SetRateLimits.
	UploadRate, DownloadRate int64

	// Peer sources and transports. All on for real use.
	DHT            bool // BEP 5 distributed hash table
	PEX            bool // BEP 11 peer exchange
	PortForwarding bool // UPnP / NAT-PMP mapping of ListenAddr's port
	UTP            bool // uTP besides TCP
	WebTorrent     bool // WebRTC peers through wss:// trackers
	Trackers       bool // announce to the torrents' trackers
	IPv6           bool // listen on and dial IPv6 too

	// SwarmPlanner lets the engine choose what to fetch from whom while
	// peers are connected (swarm.go): rarest pieces first, pieces only the
	// origin has spread among viewers, web seeds held while the connected
	// peers have what is missing. On for real use; off in TestConfig,
	// where anacrolix's own order is the reference.
	SwarmPlanner bool

	// StreamAddr is the stream server's address; it must be a loopback
	// address. Default "127.0.0.1:0" (a free port).
	StreamAddr string
	// DefaultReadahead is how far ahead of the player the stream prioritises
	// pieces when the video's duration is unknown. Default 4 MiB.
	DefaultReadahead int64

	// StreamGrace is how long a torrent just added, or whose last stream
	// request just ended, waits for a player before its web seeds download
	// the whole file, so that a player starting (or seeking, which
	// reconnects) gets the instance's bandwidth (see direct.go).
	// Default 2 s; negative: no wait.
	StreamGrace time.Duration

	// HTTPClient fetches .torrent files. Default: a client with a 30 s
	// timeout. Responses are capped at MaxMetainfoSize either way.
	HTTPClient *http.Client
	// UserAgent is sent to web seeds and trackers. Default "Fourmi".
	UserAgent string
	// TickInterval is how often the engine samples transfer rates and
	// checks web seeds for bad data. Default 1 s.
	TickInterval time.Duration
	// Logger receives the engine's and anacrolix/torrent's logs. Default
	// slog.Default(). The engine adds component=peer.
	Logger *slog.Logger
}

// DefaultConfig is the configuration for real use: every peer source on,
// BitTorrent on port 42069 (or a free one), no rate limits.
func DefaultConfig(dataDir string) Config {
	return Config{
		DataDir:        dataDir,
		ListenAddr:     ":42069",
		DHT:            true,
		PEX:            true,
		PortForwarding: true,
		UTP:            true,
		WebTorrent:     true,
		Trackers:       true,
		IPv6:           true,
		SwarmPlanner:   true,
	}
}

// TestConfig is for tests and benchmarks: BitTorrent on 127.0.0.1 with a free
// port, TCP only, no DHT, PEX, port mapping, WebTorrent, trackers, IPv6 or swarm planner,
// so nothing is sent beyond loopback; no StreamGrace, a fast tick. Peers are introduced with
// Engine.AddPeers; web seeds must be loopback servers.
func TestConfig(dataDir string) Config {
	return Config{
		DataDir:      dataDir,
		ListenAddr:   "127.0.0.1:0",
		TickInterval: 100 * time.Millisecond,
		StreamGrace:  -1,
	}
}

func (c *Config) setDefaults() {
	if c.StreamAddr == "" {
		c.StreamAddr = "127.0.0.1:0"
	}
	if c.StreamGrace == 0 {
		c.StreamGrace = 2 * time.Second
	}
	if c.DefaultReadahead <= 0 {
		c.DefaultReadahead = 4 << 20
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.UserAgent == "" {
		c.UserAgent = "Fourmi"
	}
	if c.TickInterval <= 0 {
		c.TickInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return errors.New("peer: Config.DataDir is required")
	}
	if c.UploadRate < 0 || c.DownloadRate < 0 {
		return fmt.Errorf("peer: negative rate limit (up %d, down %d)", c.UploadRate, c.DownloadRate)
	}
	if _, _, err := splitListenAddr(c.ListenAddr); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.StreamAddr)
	if err != nil {
		return fmt.Errorf("peer: Config.StreamAddr %q: %w", c.StreamAddr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("peer: Config.StreamAddr %q: the stream server must listen on a loopback IP address", c.StreamAddr)
	}
	return nil
}

func splitListenAddr(addr string) (host string, port int, err error) {
	if addr == "" {
		return "", 0, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("peer: Config.ListenAddr %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("peer: Config.ListenAddr %q: bad port", addr)
	}
	return h, port, nil
}
