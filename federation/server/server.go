// Package server is the mini-instance's HTTP server: the PeerTube-shaped
// face of a Fourmi instance (actors, WebFinger, NodeInfo, Video objects,
// outboxes, static files, a read-only REST subset), its inbox (signature
// verification, Follow/Accept/Undo, remote videos), and the outbound
// publishing of local videos through a durable delivery queue. Persistence
// goes through the Store interface; MemStore is the in-memory reference.
package server

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// Config is what New needs. Store is required; everything else has a
// default.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Clock is the server's time (signature Date window, dates it writes,
	// delivery schedule); default time.Now.
	Clock func() time.Time
	// HTTPClient makes the outbound requests (key and object fetches,
	// deliveries); its transport is wrapped to sign them. Default:
	// federation.NewHTTPClient(AllowLoopback, 15 s), whose dialer refuses
	// private and loopback addresses unless AllowLoopback.
	HTTPClient *http.Client
	// AllowLoopback lets the default client reach loopback and private
	// addresses and accepts URLs without a TLD (http://127.0.0.1:port/…):
	// tests and LAN instances.
	AllowLoopback bool
	// ManualApproval keeps Follows pending until Approve or Reject.
	ManualApproval bool
	// MaxBody caps an inbox POST; default 1 MB.
	MaxBody int64
	// InboxConcurrency bounds inbox requests processed at once (others
	// wait); default 32.
	InboxConcurrency int
	// DeliveryWorkers bounds concurrent deliveries; default 8.
	DeliveryWorkers int
	// PollInterval is how often the queue is polled when nothing wakes it;
	// default 1 s.
	PollInterval time.Duration
	// RetryBase and RetryMax shape the delivery backoff (base·2^attempt,
	// capped, ±25 % jitter); defaults 30 s and 6 h.
	RetryBase, RetryMax time.Duration
	// MaxAttempts before a delivery is dropped; default 12.
	MaxAttempts int
	// BreakerThreshold consecutive failures open a host's breaker for
	// BreakerCooldown (doubling while it keeps failing, up to RetryMax);
	// defaults 5 and 5 min.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// OnActivity, when set, is called after an inbox activity was verified
	// and applied (events for the GUI; tests). It must not block.
	OnActivity func(act *federation.Activity)
	// OnQueueChange, when set, is called after the delivery queue changed:
	// activities enqueued, or a delivery attempt finished (delivered,
	// put back for a retry, dropped). Calls are coalesced: at most one per
	// QueueChangeDelay, after the changes it reports (read QueueStats in
	// it), so a fan-out to 1,000 inboxes makes a few calls, not thousands.
	// It runs on its own goroutine with no lock held, one call at a time,
	// and never after Close returns.
	OnQueueChange func()
	// QueueChangeDelay is how long changes gather before OnQueueChange;
	// default 250 ms.
	QueueChangeDelay time.Duration
	// Version is the software version in NodeInfo and /api/v1/config.
	Version string
}

// Server is the mini-instance. New builds it, Handler serves it, Start runs
// the delivery workers, Close stops them.
type Server struct {
	cfg    Config
	store  Store
	log    *slog.Logger
	now    func() time.Time
	client *federation.Client // unsigned base; WithSigner per actor

	siteMu sync.Mutex
	site   atomic.Pointer[site]

	keys      sync.Map // role → *rsa.PrivateKey
	items     sync.Map // itemKey → federation.ObjectOrIRI (outbox entries)
	itemCount atomic.Int64
	outbox    outboxCache // served outbox bytes (outboxcache.go)
	remote    *keyCache
	inboxSem  chan struct{}
	acceptMu  sync.Mutex
	accepted  map[string]time.Time // follower → last Accept enqueued (flood bound)

	breakerMu sync.Mutex // serialises breaker read-modify-writes

	wake    chan struct{}
	queued  *coalescer // OnQueueChange
	runMu   sync.Mutex
	cancel  context.CancelFunc
	running sync.WaitGroup
}

// New builds a server; it starts nothing and touches no network.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = federation.NewHTTPClient(cfg.AllowLoopback, 15*time.Second)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.InboxConcurrency <= 0 {
		cfg.InboxConcurrency = 32
	}
	if cfg.DeliveryWorkers <= 0 {
		cfg.DeliveryWorkers = 8
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 6 * time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.BreakerThreshold <= 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 5 * time.Minute
	}
	if cfg.QueueChangeDelay <= 0 {
		cfg.QueueChangeDelay = 250 * time.Millisecond
	}
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	s := &Server{
		cfg:      cfg,
		store:    cfg.Store,
		log:      cfg.Logger,
		now:      cfg.Clock,
		inboxSem: make(chan struct{}, cfg.InboxConcurrency),
		accepted: map[string]time.Time{},
		wake:     make(chan struct{}, 1),
		queued:   newCoalescer(cfg.OnQueueChange, cfg.QueueChangeDelay),
	}
	s.client = federation.NewClient(federation.ClientOptions{
		HTTP:         cfg.HTTPClient,
		MaxBody:      cfg.MaxBody,
		AllowPrivate: cfg.AllowLoopback,
		Validate:     s.validateOptions(),
	})
	s.remote = newKeyCache(4096)
	return s, nil
}

// validateOptions are the rules for what the server takes in and emits.
func (s *Server) validateOptions() federation.ValidateOptions {
	return federation.ValidateOptions{AllowLocalhost: s.cfg.AllowLoopback, Strict: true}
}

// Reload re-reads the instance configuration from the Store (call it after
// SaveInstance: actors, WebFinger and objects are built from a cached copy).
func (s *Server) Reload(ctx context.Context) error {
	s.siteMu.Lock()
	defer s.siteMu.Unlock()
	st, err := s.loadSite(ctx)
	if err != nil {
		return err
	}
	s.site.Store(st)
	s.outbox.invalidate()
	return nil
}

// currentSite is the cached site, loaded on first use.
func (s *Server) currentSite(ctx context.Context) (*site, error) {
	if st := s.site.Load(); st != nil {
		return st, nil
	}
	s.siteMu.Lock()
	defer s.siteMu.Unlock()
	if st := s.site.Load(); st != nil {
		return st, nil
	}
	st, err := s.loadSite(ctx)
	if err != nil {
		return nil, err
	}
	s.site.Store(st)
	return st, nil
}

// key returns a local role's private key, generating and storing it on
// first use.
func (s *Server) key(ctx context.Context, role string) (*rsa.PrivateKey, error) {
	if k, ok := s.keys.Load(role); ok {
		return k.(*rsa.PrivateKey), nil
	}
	pem, err := s.store.ActorKey(ctx, role)
	if errors.Is(err, ErrNotFound) {
		k, gerr := federation.GenerateKey()
		if gerr != nil {
			return nil, gerr
		}
		p, perr := federation.PrivateKeyPEM(k)
		if perr != nil {
			return nil, perr
		}
		pem, err = s.store.PutActorKeyIfAbsent(ctx, role, p)
	}
	if err != nil {
		return nil, fmt.Errorf("actor key %s: %w", role, err)
	}
	k, err := federation.ParsePrivateKeyPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("actor key %s: %w", role, err)
	}
	actual, _ := s.keys.LoadOrStore(role, k)
	return actual.(*rsa.PrivateKey), nil
}

// signerFor is the signer of a local role.
func (s *Server) signerFor(ctx context.Context, role string) (*federation.Signer, error) {
	st, err := s.currentSite(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.key(ctx, role)
	if err != nil {
		return nil, err
	}
	a := st.actorByRole(role)
	if a == nil {
		return nil, fmt.Errorf("no local actor %q", role)
	}
	return &federation.Signer{KeyID: a.PublicKey.ID, Key: k, Now: s.now}, nil
}

// fetcher is the client signing GETs as the instance actor, as PeerTube
// does.
func (s *Server) fetcher(ctx context.Context) (*federation.Client, error) {
	sg, err := s.signerFor(ctx, RoleInstance)
	if err != nil {
		return nil, err
	}
	return s.client.WithSigner(sg), nil
}

// hostOf is the host[:port] of an URL, lower-cased.
func hostOf(iri string) string {
	u, err := url.Parse(iri)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}
