package library

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/server"
	"github.com/fourmi-app/fourmi/peer/tracker"
)

// hostState is the running mini-instance (guarded by mu) and the status
// subscribers (guarded by subMu).
type hostState struct {
	life     sync.Mutex // serialises start and stop
	intentMu sync.Mutex // serialises flushHostIntents

	mu       sync.Mutex
	srv      *server.Server
	trk      *tracker.Tracker
	https    []*http.Server
	addr     string // bound address
	cfg      HostConfig
	cancel   context.CancelFunc
	reach    Reachability
	portMap  string
	lastErr  string
	unmapFns []func()
	wg       sync.WaitGroup // reachability check, port mapping

	knownMu sync.Mutex // the tracker's cache of published info-hashes
	known   map[[20]byte]bool
	knownAt time.Time

	subMu     sync.Mutex
	subs      map[int]func(HostStatus)
	nextSub   int
	dirty     bool // a change not yet read by notifyHost
	notifying bool // notifyHost runs
}

// host is the library's hosting state.
func (l *Library) host() *hostState { return &l.watch.host }

// hostServer is the running server, or nil.
func (l *Library) hostServer() *server.Server {
	h := l.host()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.srv
}

// StartHosting turns hosting on: it stores Enabled, starts the instance
// (HTTP, or HTTPS with ACME when a domain is set; the delivery queue; a
// port mapping attempt when configured) and runs the reachability check in
// the background. It needs a public URL. Already running, it does nothing.
func (l *Library) StartHosting(ctx context.Context) error {
	if l.ctx.Err() != nil {
		return errClosed
	}
	c, err := l.HostConfig(ctx)
	if err != nil {
		return err
	}
	c.Enabled = true
	if err := ValidateHostConfig(c); err != nil {
		return err
	}
	if err := l.saveHostConfig(ctx, c); err != nil {
		return err
	}
	return l.startHost(ctx, c)
}

// StopHosting turns hosting off (stored) and stops the instance: the
// listener closes, deliveries in flight go back to the queue, which resumes
// at the next start.
func (l *Library) StopHosting(ctx context.Context) error {
	c, err := l.HostConfig(ctx)
	if err != nil {
		return err
	}
	c.Enabled = false
	if err := l.saveHostConfig(ctx, c); err != nil {
		return err
	}
	l.stopHost()
	return nil
}

// startHostIfEnabled is Start's hook: hosting resumes when it was on.
// Failures are logged and shown in HostStatus, not fatal to Start.
func (l *Library) startHostIfEnabled(ctx context.Context) {
	c, err := l.HostConfig(ctx)
	if err != nil {
		l.log.Error("hosting: reading the configuration", "err", err)
		return
	}
	if !c.Enabled {
		return
	}
	if err := l.startHost(ctx, c); err != nil {
		l.log.Error("hosting: could not start", "err", err)
	}
}

// applyHostConfig brings a running instance in line with c.
func (l *Library) applyHostConfig(ctx context.Context, c HostConfig) error {
	h := l.host()
	h.mu.Lock()
	srv, old := h.srv, h.cfg
	h.mu.Unlock()
	if srv == nil {
		l.hostChanged()
		return nil
	}
	if old.Listen != c.Listen || old.Domain != c.Domain || old.PublicURL != c.PublicURL ||
		old.ManualApproval != c.ManualApproval || old.AllowPrivateNetworks != c.AllowPrivateNetworks ||
		old.PortMapping != c.PortMapping {
		l.stopHost()
		if !c.Enabled {
			return nil
		}
		return l.startHost(ctx, c)
	}
	h.mu.Lock()
	h.cfg = c
	h.mu.Unlock()
	if err := srv.Reload(ctx); err != nil {
		return fmt.Errorf("library: reloading the instance: %w", err)
	}
	l.hostChanged()
	return nil
}

// instanceOf is the server's Instance for c.
func instanceOf(c HostConfig, now time.Time) server.Instance {
	in := server.Instance{
		BaseURL: c.PublicURL, Name: c.ChannelDisplayName,
		AccountName: c.AccountName, AccountDisplayName: c.AccountDisplayName,
		ChannelName: c.ChannelName, ChannelDisplayName: c.ChannelDisplayName,
		ChannelDescription: c.ChannelDescription, AvatarPath: c.AvatarPath,
		Created: now,
	}
	if u := hostOf(c.PublicURL); u != "" {
		ws, scheme := "wss", "https"
		if c.PublicURL[:5] == "http:" {
			ws, scheme = "ws", "http"
		}
		in.Trackers = []string{ws + "://" + u + "/tracker/socket", scheme + "://" + u + "/tracker/announce"}
	}
	return in
}

func (l *Library) setHostError(err error) {
	h := l.host()
	h.mu.Lock()
	h.lastErr = ""
	if err != nil {
		h.lastErr = err.Error()
	}
	h.mu.Unlock()
	l.hostChanged()
}

// startHost runs the instance for c.
func (l *Library) startHost(ctx context.Context, c HostConfig) (err error) {
	h := l.host()
	h.life.Lock()
	defer h.life.Unlock()
	h.mu.Lock()
	running := h.srv != nil
	h.mu.Unlock()
	if running {
		return nil
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("library: hosting: %w", err)
		}
		l.setHostError(err)
	}()
	if c.PublicURL == "" {
		return errNoPublicURL
	}
	srv, err := server.New(server.Config{
		Store:          l.hostStore(),
		Logger:         l.opt.Logger.With("component", "host"),
		Clock:          l.now,
		AllowLoopback:  c.AllowPrivateNetworks,
		ManualApproval: c.ManualApproval,
		OnActivity:     l.onHostActivity,
		// Deliveries enqueued, done, retried or dropped: the queue in
		// HostStatus changed (coalesced by the server).
		OnQueueChange: l.hostChanged,
	})
	if err != nil {
		return err
	}
	if err := srv.Reload(ctx); err != nil {
		return fmt.Errorf("loading the instance: %w", err)
	}
	trk, err := l.newTracker(c)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.Handle("/tracker/", trk.Handler())
	mux.HandleFunc("GET /static/redundancy/", l.serveMirror) // mirrors of subscriptions (subs_mirror.go)

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.Listen, err)
	}
	runCtx, cancel := context.WithCancel(l.ctx)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 20 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return runCtx }}
	servers := []*http.Server{hs}
	var extra net.Listener
	if c.Domain != "" {
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(c.Domain),
			Cache:      autocert.DirCache(filepath.Join(l.dir, "acme")),
		}
		hs.TLSConfig = m.TLSConfig()
		hs.TLSConfig.MinVersion = tls.VersionTLS12
		ln = tls.NewListener(ln, hs.TLSConfig)
		// HTTP-01 challenges and a redirect to HTTPS on :80 when it can be
		// had (TLS-ALPN-01 on the HTTPS port works without it).
		if l80, err := net.Listen("tcp", ":80"); err == nil {
			extra = l80
			servers = append(servers, &http.Server{Handler: m.HTTPHandler(nil), ReadHeaderTimeout: 20 * time.Second})
		} else {
			l.log.Info("hosting: port 80 unavailable; ACME uses the TLS-ALPN challenge only", "err", err)
		}
	}
	err = srv.Start(runCtx)
	if err == nil {
		err = trk.Start(runCtx)
	}
	if err != nil {
		cancel()
		srv.Close()
		trk.Close()
		ln.Close()
		if extra != nil {
			extra.Close()
		}
		return err
	}
	addr := ln.Addr().String()
	h.mu.Lock()
	h.srv, h.trk, h.https, h.addr, h.cfg, h.cancel = srv, trk, servers, addr, c, cancel
	h.reach = Reachability{}
	h.portMap = "off"
	h.mu.Unlock()
	for i, s := range servers {
		l2 := ln
		if i == 1 {
			l2 = extra
		}
		h.wg.Go(func() {
			if err := s.Serve(l2); err != nil && !errors.Is(err, http.ErrServerClosed) {
				l.log.Error("hosting: serving", "addr", l2.Addr(), "err", err)
				l.setHostError(err)
			}
		})
	}
	l.log.Info("hosting started", "listen", addr, "public_url", c.PublicURL, "https", c.Domain != "")
	if c.PortMapping {
		_, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		h.wg.Go(func() { l.mapPort(runCtx, p) })
	}
	h.wg.Go(func() {
		// Give a reverse proxy or the router a moment, then check.
		select {
		case <-runCtx.Done():
			return
		case <-time.After(time.Second):
		}
		cctx, ccancel := context.WithTimeout(runCtx, 20*time.Second)
		defer ccancel()
		l.CheckReachability(cctx)
	})
	l.flushHostIntents(ctx)
	return nil
}

// stopHost stops the instance if it runs; it waits for its goroutines.
func (l *Library) stopHost() {
	h := l.host()
	h.life.Lock()
	defer h.life.Unlock()
	h.mu.Lock()
	srv, trk, servers, cancel, unmaps := h.srv, h.trk, h.https, h.cancel, h.unmapFns
	h.srv, h.trk, h.https, h.cancel, h.unmapFns, h.addr = nil, nil, nil, nil, nil, ""
	h.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			s.Close()
		}
	}
	cancel()
	srv.Close()
	trk.Close()
	for _, f := range unmaps {
		f()
	}
	h.wg.Wait()
	l.log.Info("hosting stopped")
	l.hostChanged()
}

// HostStatus is the state of hosting now.
func (l *Library) HostStatus(ctx context.Context) (HostStatus, error) {
	h := l.host()
	h.mu.Lock()
	st := HostStatus{Running: h.srv != nil, ListenAddr: h.addr, Reachability: h.reach, PortMapping: h.portMap,
		LastError: h.lastErr}
	if h.srv != nil {
		st.PublicURL = h.cfg.PublicURL
	}
	h.mu.Unlock()
	if st.PortMapping == "" {
		st.PortMapping = "off"
	}
	if !st.Running {
		c, err := l.HostConfig(ctx)
		if err != nil {
			return HostStatus{}, err
		}
		st.PublicURL = c.PublicURL
	}
	fs, err := l.HostFollowers(ctx)
	if err != nil {
		return HostStatus{}, err
	}
	for _, f := range fs {
		switch f.State {
		case FollowerAccepted:
			st.Followers++
		case FollowerPending:
			st.Pending = append(st.Pending, f)
		}
	}
	qs, err := l.hostStore().QueueStats(ctx)
	if err != nil {
		return HostStatus{}, fmt.Errorf("library: %w", err)
	}
	st.Queue = HostQueue{Pending: qs.Pending, Failed: qs.Dropped}
	return st, nil
}

// CheckReachability fetches the instance actor through the public URL, as
// a remote server would, and records the result in HostStatus.
func (l *Library) CheckReachability(ctx context.Context) (Reachability, error) {
	h := l.host()
	h.mu.Lock()
	running, pub := h.srv != nil, h.cfg.PublicURL
	h.mu.Unlock()
	if !running {
		return Reachability{}, ErrNotHosting
	}
	r := Reachability{Checked: l.now()}
	if err := fetchOwnActor(ctx, pub); err != nil {
		r.Error = err.Error()
	} else {
		r.OK = true
	}
	h.mu.Lock()
	if h.srv != nil {
		h.reach = r
	}
	h.mu.Unlock()
	l.log.Info("hosting: reachability", "url", pub, "ok", r.OK, "err", r.Error)
	l.hostChanged()
	return r, nil
}

// fetchOwnActor GETs <pub>/accounts/peertube as ActivityPub JSON and checks
// that it is this instance's actor.
func fetchOwnActor(ctx context.Context, pub string) error {
	want := pub + "/accounts/peertube"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, want, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", federation.MediaTypeActivityJSON)
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s cannot be reached from here: %w", pub, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", want, resp.Status)
	}
	var a struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return fmt.Errorf("%s did not answer ActivityPub JSON (another site behind this URL?): %w", want, err)
	}
	if a.ID != want {
		return fmt.Errorf("%s answered as %q: the public URL does not lead to this instance", want, a.ID)
	}
	return nil
}

// hostChanged sends the new HostStatus to the subscribers, in the
// background. Changes coalesce: one goroutine at a time reads the status
// and hands it out, and reads it again when changes came in meanwhile, so
// the last status a subscriber gets was read after the last change (never
// an older one overtaking a newer).
func (l *Library) hostChanged() {
	h := l.host()
	h.subMu.Lock()
	defer h.subMu.Unlock()
	if len(h.subs) == 0 || l.ctx.Err() != nil {
		return
	}
	h.dirty = true
	if h.notifying {
		return
	}
	h.notifying = true
	l.wg.Go(l.notifyHost)
}

// notifyHost is hostChanged's goroutine.
func (l *Library) notifyHost() {
	h := l.host()
	for {
		h.subMu.Lock()
		if !h.dirty || len(h.subs) == 0 || l.ctx.Err() != nil {
			h.notifying, h.dirty = false, false
			h.subMu.Unlock()
			return
		}
		h.dirty = false
		h.subMu.Unlock()
		ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
		st, err := l.HostStatus(ctx)
		cancel()
		if err != nil {
			if l.ctx.Err() == nil {
				l.log.Warn("hosting: reading the status", "err", err)
			}
			continue
		}
		h.subMu.Lock()
		fns := make([]func(HostStatus), 0, len(h.subs))
		for _, fn := range h.subs {
			fns = append(fns, fn)
		}
		h.subMu.Unlock()
		for _, fn := range fns {
			fn(st)
		}
	}
}

// onHostActivity is the server's OnActivity hook: status for the GUI, and
// the answers to our own Follows.
func (l *Library) onHostActivity(act *federation.Activity) {
	switch act.Type {
	case federation.TypeAccept, federation.TypeReject:
		l.onFollowAnswer(act)
	case federation.TypeCreate, federation.TypeUpdate, federation.TypeUndo:
		l.onMirrorActivity(act) // CacheFiles for our videos (subs_mirror.go)
	}
	l.hostChanged()
}

// newTracker is the instance's BitTorrent tracker (HTTP announce and
// scrape, WebSocket for WebTorrent peers), answering only for the
// info-hashes of the published files.
func (l *Library) newTracker(c HostConfig) (*tracker.Tracker, error) {
	host, _, _ := net.SplitHostPort(c.Listen)
	ip := net.ParseIP(host)
	behindProxy := c.Domain == "" && (host == "localhost" || (ip != nil && ip.IsLoopback()))
	return tracker.New(tracker.Config{
		Known: l.knownInfoHash,
		// This library's own seed of its videos is not handed out: viewers
		// get the web seed for what no other viewer has (see
		// tracker.Config.Unlisted and BENCHMARKS.md).
		Unlisted: func(id [20]byte) bool {
			own, ok := l.watch.engine.PeerID()
			return ok && id == own
		},
		Logger: l.opt.Logger,
		// Listening on loopback with plain HTTP means a reverse proxy on
		// this machine forwards the requests: the client's address is in
		// X-Forwarded-For.
		TrustProxy:         behindProxy,
		AllowLoopbackPeers: c.AllowPrivateNetworks,
	})
}

// knownInfoHash reports whether ih is a file this instance publishes
// (cached for a few seconds: the tracker asks on every announce).
func (l *Library) knownInfoHash(ih [20]byte) bool {
	h := l.host()
	h.knownMu.Lock()
	defer h.knownMu.Unlock()
	now := time.Now()
	if h.known == nil || now.Sub(h.knownAt) > 30*time.Second || (!h.known[ih] && now.Sub(h.knownAt) > time.Second) {
		known := map[[20]byte]bool{}
		ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
		rows, err := l.db.QueryContext(ctx, `SELECT f.infohash FROM local_files f JOIN local_videos v ON v.uuid = f.video_uuid
			WHERE v.state = 'done'`)
		if err == nil {
			for rows.Next() {
				var s string
				if rows.Scan(&s) == nil {
					if b, err := hex.DecodeString(s); err == nil && len(b) == 20 {
						known[[20]byte(b)] = true
					}
				}
			}
			rows.Close()
			h.known, h.knownAt = known, now
		}
		cancel()
	}
	return h.known[ih]
}
