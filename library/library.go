// Package library is the heart of Fourmi: "your library". It owns the SQLite
// database (schema and numbered migrations), caches the federation's catalogs
// for instant and offline browsing, keeps settings and a thumbnail cache, and
// orchestrates the network packages (federation, peer) for the GUI and the
// CLI: watching a video while seeding it, within the user's limits. It holds
// no GUI types.
package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configure Open. Zero values give the real-user defaults.
type Options struct {
	Dir        string       // data directory; required
	Logger     *slog.Logger // default: slog.Default()
	HTTPClient *http.Client // for PeerTube, search index and thumbnails
	// DefaultInstances are added on first run. nil means the built-in list
	// of well-known public instances; tests pass their own (or an empty
	// non-nil slice) so nothing on the internet is ever contacted.
	DefaultInstances []string
	// SearchIndexURL is the global search default when the setting is unset;
	// "" means https://sepiasearch.org.
	SearchIndexURL  string
	ThumbCacheBytes int64            // thumbnail disk cache bound; default 256 MiB
	Now             func() time.Time // default time.Now

	// Watching and seeding (see Start).
	//
	// PeerListenAddr is the BitTorrent address; "" means ":42069" (a free
	// port if that one is taken), or "127.0.0.1:0" with LoopbackOnly.
	PeerListenAddr string
	// LoopbackOnly keeps BitTorrent on loopback with no DHT, PEX, port
	// mapping, uTP, WebTorrent or trackers: for tests and benchmarks.
	LoopbackOnly bool
	// PlayerHeadless runs mpv without video or audio output (tests).
	PlayerHeadless bool
	// PlayerPrefer is the player used while SettingPlayer is unset: "mpv",
	// "vlc", "default"; "" tries mpv, then VLC, then the OS default.
	PlayerPrefer string
	// SeedCheckInterval is how often the seeding manager saves the totals
	// and applies SeedLimits; default 10 s.
	SeedCheckInterval time.Duration
	// PositionSaveInterval is how often a playing position is saved for
	// resume; default 5 s.
	PositionSaveInterval time.Duration
	// SubscriptionPollInterval is how often each subscription is polled;
	// default 30 min (DefaultSubscriptionPollInterval).
	SubscriptionPollInterval time.Duration
	// SubscriptionRequestGap is the least time between two polling
	// requests overall (a polite global rate); default 2 s.
	SubscriptionRequestGap time.Duration
	// MirrorLifetime is how long a mirror's CacheFile is announced valid
	// (its expires date); it is refreshed with Update{CacheFile} once less
	// than half of it remains. Default 25 h (DefaultMirrorLifetime, as
	// PeerTube's redundancy min_lifetime); tests use seconds.
	MirrorLifetime time.Duration
	// NATPMPGateway, when set ("127.0.0.1:5351"), is the only router that
	// hosting's port mapping talks to: NAT-PMP at that address, with no
	// UPnP discovery (it multicasts on the LAN) and no default-route
	// lookup. For tests, with a loopback responder.
	NATPMPGateway string
}

// ErrLocked means another Fourmi process (or another Open in this one) uses
// the data directory. The wrapped error names the directory.
var ErrLocked = errors.New("the data directory is in use by another running Fourmi")

// ErrNotFound means the library does not know the thing asked for.
var ErrNotFound = errors.New("not found in the library")

// DefaultSearchIndexURL is the global search index used unless configured.
const DefaultSearchIndexURL = "https://sepiasearch.org"

// DefaultThumbCacheBytes bounds the thumbnail cache unless configured.
const DefaultThumbCacheBytes = 256 << 20

// Library is an open data directory. Its methods are safe for concurrent use.
type Library struct {
	dir  string
	opt  Options
	log  *slog.Logger
	hc   *http.Client
	now  func() time.Time
	db   *sql.DB
	lock *os.File

	// writeMu serializes write transactions in this process so they queue
	// here instead of in SQLite's busy handler.
	writeMu sync.Mutex

	// ctx ends at Close; background thumbnail fetches run under it and wg
	// counts them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	thumbs    thumbCache
	stmtCache stmtCache
	watch     watchState   // the BitTorrent engine, playbacks, the seeding manager
	pub       publishState // the publishing runner's job and subscribers (publish_run.go)

	closeOnce sync.Once
	closeErr  error
}

// Open acquires the data dir's lock (ErrLocked if another process holds it),
// opens or creates the database and migrates it (ErrNewerDatabase when it was
// written by a newer Fourmi). Open starts no goroutines.
func Open(ctx context.Context, opt Options) (*Library, error) {
	if opt.Dir == "" {
		return nil, errors.New("library: no data directory given")
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("library: creating the data directory: %w", err)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ThumbCacheBytes <= 0 {
		opt.ThumbCacheBytes = DefaultThumbCacheBytes
	}
	if opt.SearchIndexURL == "" {
		opt.SearchIndexURL = DefaultSearchIndexURL
	}
	if opt.SeedCheckInterval <= 0 {
		opt.SeedCheckInterval = 10 * time.Second
	}
	if opt.PositionSaveInterval <= 0 {
		opt.PositionSaveInterval = 5 * time.Second
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	db, err := openDB(filepath.Join(dir, "fourmi.db"))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("library: opening the database: %w", err)
	}
	l := &Library{
		dir:  dir,
		opt:  opt,
		log:  opt.Logger.With("component", "library"),
		hc:   opt.HTTPClient,
		now:  opt.Now,
		db:   db,
		lock: lock,
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.stmtCache.db = db
	l.thumbs.init(filepath.Join(dir, "cache", "thumbnails"), opt.ThumbCacheBytes)
	from, to, err := migrate(ctx, db)
	if err == nil {
		err = l.initWatch()
	}
	if err == nil {
		if from != to {
			l.log.Info("database migrated", "from", from, "to", to)
		}
		err = l.seedInstances(ctx)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("library: %s: %w", filepath.Join(dir, "fourmi.db"), err)
	}
	return l, nil
}

// Close stops the players, the seeding manager and the BitTorrent engine
// (saving positions and transfer totals), then closes the database and
// releases the lock. It waits for background thumbnail downloads, which it
// cancels.
func (l *Library) Close() error {
	l.closeOnce.Do(func() {
		watchErr := l.closeWatch()
		l.cancel()
		l.wg.Wait()
		l.stmtCache.close()
		l.closeErr = l.db.Close()
		if err := l.lock.Close(); err != nil && l.closeErr == nil {
			l.closeErr = err
		}
		if watchErr != nil && l.closeErr == nil {
			l.closeErr = watchErr
		}
	})
	return l.closeErr
}

// Dir is the data directory.
func (l *Library) Dir() string { return l.dir }

// inTx runs fn in one write transaction: committed when fn returns nil,
// rolled back otherwise.
func (l *Library) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := flushFTS(ctx, tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("updating the search index: %w", err)
	}
	return tx.Commit()
}

// flushFTS re-indexes the videos the triggers marked in fts_pending, in
// one statement so that FTS5 builds one segment.
func flushFTS(ctx context.Context, tx *sql.Tx) error {
	var pending bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM fts_pending)").Scan(&pending); err != nil || !pending {
		return err
	}
	for _, q := range []string{
		"DELETE FROM videos_fts WHERE rowid IN (SELECT video_id FROM fts_pending)",
		`INSERT INTO videos_fts (rowid, name, description, channel, account, tags)
			SELECT id, name, description, channel, account, tags FROM video_search_text
			WHERE id IN (SELECT video_id FROM fts_pending) ORDER BY id`,
		"DELETE FROM fts_pending",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
