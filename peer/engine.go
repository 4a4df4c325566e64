package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

var (
	// ErrNotStarted is returned by methods that need a running engine.
	ErrNotStarted = errors.New("peer: engine not started")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("peer: engine closed")
	// ErrUnknownTorrent is returned for an info-hash the engine does not have.
	ErrUnknownTorrent = errors.New("peer: unknown torrent")
	// ErrNoInfo is returned while a torrent added by magnet has no metadata yet.
	ErrNoInfo = errors.New("peer: torrent metadata not available yet")
)

// Engine is one BitTorrent client with its data directory, its metainfo
// cache and its stream server. Its methods are safe for concurrent use.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	up, down *rate.Limiter
	guard    *webSeedGuard

	mu         sync.Mutex
	state      engineState
	cl         *torrent.Client
	store      storage.ClientImplCloser
	completion *pieceCompletion
	torrents   map[InfoHash]*handle
	stream     *streamServer
	badMu      sync.Mutex
	bad        map[string]string // web seed URL → proof it serves bad data; see reportBadWebSeed
	writeErrs  map[*handle]error // direct fetches that could not write; see reportWriteError
	ctx        context.Context   // lives from Start to Close
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	lastMoved  int64 // bytes moved, at the last tick (see tick)
	quiet      int   // ticks since a byte moved, up to quietTicks
}

type engineState int

const (
	stateNew engineState = iota
	stateStarted
	stateClosed
)

// handle is the engine's record of one torrent. Guarded by Engine.mu.
type handle struct {
	ih        InfoHash
	t         *torrent.Torrent
	infoBytes []byte        // nil until the metadata is known and validated
	ready     chan struct{} // closed once infoBytes or err is set
	trackers  [][]string
	webSeeds  []*webSeed
	err       error // set when the torrent was refused after its metadata arrived
	rates     rateSampler
	direct    directState
	streams   int       // stream requests being served
	holdUntil time.Time // anacrolix's web seed requests wait until then (StreamGrace)...
	held      bool      // ...or while streamed or paused; see updateHoldLocked
	want      wantState // what anacrolix was asked to download (wantLocked)
	plan      planState // the swarm planner's (swarm.go)
	addedAt   time.Time
	// peered mirrors plan.active for stream readers (no lock): with peers,
	// the player's readahead is theirs to plan.
	peered atomic.Bool
	// peerHeld: per piece, whether a connected peer that is not a seeder
	// has it (nil without a plan); see planLocked.
	peerHeld atomic.Pointer[[]bool]
	// storageErr is why writing the torrent's data failed (a full disk);
	// the download is paused until storageRetry. See storageFailedLocked.
	storageErr   error
	storageRetry time.Time
}

func (e *Engine) newHandle(ih InfoHash, t *torrent.Torrent) *handle {
	now := time.Now()
	h := &handle{ih: ih, t: t, ready: make(chan struct{}), rates: newRateSampler(now), holdUntil: now.Add(e.cfg.StreamGrace), addedAt: now}
	h.direct.ctx, h.direct.cancel = context.WithCancel(e.ctx)
	e.updateHoldLocked(h, now)
	return h
}

// setReady records the outcome of the metadata: validated info bytes, or the
// reason it was refused.
func (h *handle) setReady(infoBytes []byte, err error) {
	select {
	case <-h.ready:
		return
	default:
	}
	h.infoBytes, h.err = infoBytes, err
	close(h.ready)
}

type webSeed struct {
	url     string
	peer    *torrent.Peer // anacrolix's web seed peer, for its stats
	dropped string        // why it was dropped; "" while in use
	// Piece counts when it was last re-enabled or probed: it is judged on
	// what came after.
	badBase, goodBase int64
	probing           bool
	lastProbe         time.Time
}

// New checks cfg and builds an Engine. It starts nothing: no goroutines, no
// sockets, no files.
func New(cfg Config) (*Engine, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "peer"),
		up:       rate.NewLimiter(limitOf(cfg.UploadRate), 1<<20),
		down:     rate.NewLimiter(limitOf(cfg.DownloadRate), 1<<20),
		guard:    newWebSeedGuard(cfg.UserAgent),
		torrents: map[InfoHash]*handle{},
	}, nil
}

func limitOf(bytesPerSec int64) rate.Limit {
	if bytesPerSec <= 0 {
		return rate.Inf
	}
	return rate.Limit(bytesPerSec)
}

func (e *Engine) torrentsDir() string { return filepath.Join(e.cfg.DataDir, "torrents") }
func (e *Engine) dataDir() string     { return filepath.Join(e.cfg.DataDir, "data") }

// Start opens the data directory (refusing one another engine holds), binds
// the BitTorrent port and the stream server, re-adds every cached torrent so
// it seeds at once (verified pieces are not downloaded or hashed again), and
// starts the background work. Canceling ctx stops the background work; call
// Close either way.
func (e *Engine) Start(ctx context.Context) (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateStarted:
		return errors.New("peer: engine already started")
	case stateClosed:
		return ErrClosed
	}
	for _, d := range []string{e.torrentsDir(), e.dataDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("peer: data dir: %w", err)
		}
	}
	completion, err := openPieceCompletion(e.dataDir(), e.log.Warn)
	if err != nil {
		return err
	}
	store := storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: e.dataDir(),
		TorrentDirMaker: func(base string, _ *metainfo.Info, ih metainfo.Hash) string {
			return filepath.Join(base, ih.HexString())
		},
		PieceCompletion: completion,
		// Part files would make anacrolix forget the completion of every
		// piece of an unfinished file at restart.
		UsePartFiles: g.Some(false),
		Logger:       e.log,
	})
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	host, port, _ := splitListenAddr(e.cfg.ListenAddr)
	cl, err := torrent.NewClient(e.clientConfig(store, host, port))
	if err != nil && port != 0 && errors.Is(err, syscall.EADDRINUSE) {
		e.log.Warn("BitTorrent port in use, using a free one", "addr", e.cfg.ListenAddr)
		cl, err = torrent.NewClient(e.clientConfig(store, host, 0))
	}
	if err != nil {
		return fmt.Errorf("peer: starting BitTorrent client: %w", err)
	}
	stream, err := newStreamServer(e, e.cfg.StreamAddr)
	if err != nil {
		cl.Close()
		return err
	}
	e.cl, e.store, e.completion, e.stream = cl, store, completion, stream
	e.ctx, e.cancel = context.WithCancel(ctx)
	ctx = e.ctx
	e.state = stateStarted
	e.log.Info("engine started", "bittorrent", e.listenAddrLocked(), "stream", stream.hostport)

	e.resumeLocked(ctx)
	e.wg.Go(func() { stream.serve() })
	e.wg.Go(func() { e.tickLoop(ctx) })
	e.wg.Go(func() { e.planLoop(ctx.Done()) })
	return nil
}

func (e *Engine) clientConfig(store storage.ClientImpl, host string, port int) *torrent.ClientConfig {
	c := torrent.NewDefaultClientConfig()
	c.Slogger = slog.New(quietCanceled{e.log.Handler()})
	c.DefaultStorage = store
	c.ListenHost = func(string) string { return host }
	c.ListenPort = port
	c.NoDHT = !e.cfg.DHT
	c.DisablePEX = !e.cfg.PEX
	c.NoDefaultPortForwarding = !e.cfg.PortForwarding
	c.DisableUTP = !e.cfg.UTP
	c.DisableWebtorrent = !e.cfg.WebTorrent
	c.DisableTrackers = !e.cfg.Trackers
	c.DisableIPv6 = !e.cfg.IPv6
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		c.DisableIPv6 = true // an IPv4 listen address cannot serve tcp6
	}
	c.Seed = true // keep giving back after the download
	c.UploadRateLimiter = e.up
	c.DownloadRateLimiter = e.down
	c.WebTransport = e.guard
	c.HTTPUserAgent = e.cfg.UserAgent
	return c
}

// Close stops the stream server and the background work, closes every
// torrent (data and piece completion stay on disk) and waits. It is safe to
// call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.state != stateStarted {
		e.state = stateClosed
		e.mu.Unlock()
		return nil
	}
	e.state = stateClosed
	e.cancel()
	e.mu.Unlock()

	e.stream.close()
	e.wg.Wait()
	e.mu.Lock()
	for _, h := range e.torrents {
		h.direct.wg.Wait() // canceled with e.ctx
	}
	e.mu.Unlock()
	errs := e.cl.Close()
	if err := e.store.Close(); err != nil {
		errs = append(errs, err)
	}
	e.guard.close()
	e.log.Info("engine closed")
	return errors.Join(errs...)
}

func (e *Engine) usableLocked() error {
	switch e.state {
	case stateNew:
		return ErrNotStarted
	case stateClosed:
		return ErrClosed
	}
	return nil
}

func (e *Engine) handleLocked(ih InfoHash) (*handle, error) {
	if err := e.usableLocked(); err != nil {
		return nil, err
	}
	h := e.torrents[ih]
	if h == nil {
		return nil, fmt.Errorf("%w %v", ErrUnknownTorrent, ih)
	}
	return h, nil
}

// ListenAddr is the BitTorrent address peers reach this engine on
// ("" before Start).
func (e *Engine) ListenAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted {
		return ""
	}
	return e.listenAddrLocked()
}

// PeerID is the engine's BitTorrent peer id, as it announces to trackers;
// false before Start and after Close.
func (e *Engine) PeerID() ([20]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted {
		return [20]byte{}, false
	}
	return e.cl.PeerID(), true
}

func (e *Engine) listenAddrLocked() string {
	host, _, _ := splitListenAddr(e.cfg.ListenAddr)
	return net.JoinHostPort(host, fmt.Sprint(e.cl.LocalPort()))
}

// SetRateLimits changes the upload and download caps (bytes per second,
// 0 = unlimited) of a running or not yet started engine.
func (e *Engine) SetRateLimits(upload, download int64) error {
	if upload < 0 || download < 0 {
		return fmt.Errorf("peer: negative rate limit (up %d, down %d)", upload, download)
	}
	e.up.SetLimit(limitOf(upload))
	e.down.SetLimit(limitOf(download))
	return nil
}

// Torrents lists the engine's torrents, sorted by info-hash.
func (e *Engine) Torrents() []InfoHash {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]InfoHash, 0, len(e.torrents))
	for ih := range e.torrents {
		out = append(out, ih)
	}
	slices.SortFunc(out, func(a, b InfoHash) int { return slices.Compare(a[:], b[:]) })
	return out
}

// Remove drops a torrent: it stops transferring and is forgotten (also after
// a restart). With deleteData, its files and piece completion are deleted
// too; otherwise re-adding it later finds the verified pieces.
func (e *Engine) Remove(ih InfoHash, deleteData bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, err := e.handleLocked(ih)
	if err != nil {
		return err
	}
	e.dropLocked(h)
	e.completion.forget(ih)
	if err := os.Remove(e.cachePath(ih)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("peer: removing cached metainfo: %w", err)
	}
	if !deleteData {
		return nil
	}
	if err := e.completion.clear(ih); err != nil {
		return fmt.Errorf("peer: clearing piece completion of %v: %w", ih, err)
	}
	if err := os.RemoveAll(filepath.Join(e.dataDir(), ih.String())); err != nil {
		return fmt.Errorf("peer: deleting data of %v: %w", ih, err)
	}
	return nil
}

// dropLocked removes h from the client and the engine, keeping its files.
func (e *Engine) dropLocked(h *handle) {
	h.direct.cancel()
	h.direct.wg.Wait() // they touch the torrent; they need no e.mu
	e.releaseHoldLocked(h)
	dropTorrent(e.cl, h.t)
	delete(e.torrents, h.ih)
	e.stream.forget(h.ih)
	for _, ws := range h.webSeeds {
		e.guard.undrop(ws.url)
	}
}

// WaitInfo blocks until the torrent's metadata is known (at once for
// torrents added from .torrent bytes or a URL).
func (e *Engine) WaitInfo(ctx context.Context, ih InfoHash) error {
	e.mu.Lock()
	h, err := e.handleLocked(ih)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-h.ready:
		e.mu.Lock()
		defer e.mu.Unlock()
		return h.err
	case <-h.t.Closed():
		return e.closedErr(h)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitComplete blocks until every piece of the torrent is downloaded and
// verified.
func (e *Engine) WaitComplete(ctx context.Context, ih InfoHash) error {
	if err := e.WaitInfo(ctx, ih); err != nil {
		return err
	}
	e.mu.Lock()
	h, err := e.handleLocked(ih)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-h.t.Complete().On():
		return nil
	case <-h.t.Closed():
		return e.closedErr(h)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) closedErr(h *handle) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	if e.state == stateClosed {
		return ErrClosed
	}
	return fmt.Errorf("%w %v (removed)", ErrUnknownTorrent, h.ih)
}

// Files lists the torrent's files (ErrNoInfo before its metadata is known).
func (e *Engine) Files(ih InfoHash) ([]FileInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, err := e.handleLocked(ih)
	if err != nil {
		return nil, err
	}
	if h.infoBytes == nil {
		return nil, ErrNoInfo
	}
	return filesOf(h.t.Info()), nil
}

// FilePath is where a torrent file's data lives on disk (complete or not).
func (e *Engine) FilePath(ih InfoHash, fileIndex int) (string, error) {
	files, err := e.Files(ih)
	if err != nil {
		return "", err
	}
	if fileIndex < 0 || fileIndex >= len(files) {
		return "", fmt.Errorf("peer: torrent %v has no file %d", ih, fileIndex)
	}
	e.mu.Lock()
	name := e.torrents[ih].t.Info().BestName()
	e.mu.Unlock()
	p := filepath.FromSlash(files[fileIndex].Path)
	if len(files) > 1 || p != name {
		p = filepath.Join(name, p)
	}
	return filepath.Join(e.dataDir(), ih.String(), p), nil
}

// rateSampler turns cumulative byte counters into smoothed rates.
type rateSampler struct {
	lastRead, lastWritten int64
	lastAt                time.Time
	down, up              float64
}

// newRateSampler starts from zero counters at now (anacrolix's counters
// start at zero when a torrent is added).
func newRateSampler(now time.Time) rateSampler { return rateSampler{lastAt: now} }

// sample folds in counters read at now; the smoothing time constant is 2 s
// whatever the tick interval.
func (r *rateSampler) sample(now time.Time, read, written int64) {
	dt := now.Sub(r.lastAt).Seconds()
	if dt <= 0 {
		return
	}
	alpha := 1 - math.Exp(-dt/2)
	r.down += alpha * (float64(read-r.lastRead)/dt - r.down)
	r.up += alpha * (float64(written-r.lastWritten)/dt - r.up)
	r.lastRead, r.lastWritten, r.lastAt = read, written, now
}
