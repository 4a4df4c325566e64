package peer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"go.etcd.io/bbolt"
)

// pieceCompletion records which pieces are verified, in anacrolix's bolt
// database, with two things added:
//
//   - A verified piece is written to the database only after the torrent's
//     files were synced to disk (flush, from the engine's tick), so after a
//     power cut the database never claims data the disk lost. anacrolix's
//     own way (Persistent: fsync the whole file after every piece) made
//     downloads several times slower. After a crash at most the last tick's
//     pieces are unrecorded: they are hashed again at start, not downloaded.
//   - A torrent added with nothing on disk ("fresh") has every piece
//     missing; saying so spares anacrolix checking each piece of unknown
//     completion before requesting any, which delayed the first bytes.
type pieceCompletion struct {
	db      storage.PieceCompletion // bolt
	dataDir string                  // <DataDir>/data; a torrent's files are under <dataDir>/<infohash>

	mu      sync.Mutex
	fresh   map[metainfo.Hash]bool
	pending map[metainfo.Hash]map[int]bool // verified, not yet in db
}

var _ storage.PieceCompletion = (*pieceCompletion)(nil)

// Persistent false stops anacrolix from syncing the whole file after every
// verified piece: flush syncs before recording (see the type's doc).
func (c *pieceCompletion) Persistent() bool { return false }

// openPieceCompletion opens the completion database in dataDir. A database
// another process holds is an error; a corrupt one (e.g. after a power cut,
// anacrolix writes it without fsync) is moved aside and replaced: the pieces
// on disk are then verified again by hashing, nothing is downloaded again.
func openPieceCompletion(dataDir string, log func(msg string, args ...any)) (*pieceCompletion, error) {
	db, err := storage.NewBoltPieceCompletion(dataDir)
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("peer: piece completion in %s is locked: is another Fourmi using this data dir? %w", dataDir, err)
	}
	if err != nil {
		path := filepath.Join(dataDir, ".torrent.bolt.db")
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		log("piece completion database unreadable; moved aside, pieces will be verified again", "path", path, "aside", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("peer: piece completion in %s: %w (and moving it aside: %v)", dataDir, err, rerr)
		}
		if db, err = storage.NewBoltPieceCompletion(dataDir); err != nil {
			return nil, fmt.Errorf("peer: piece completion in %s: %w", dataDir, err)
		}
	}
	return &pieceCompletion{
		db:      db,
		dataDir: dataDir,
		fresh:   map[metainfo.Hash]bool{},
		pending: map[metainfo.Hash]map[int]bool{},
	}, nil
}

func (c *pieceCompletion) markFresh(ih InfoHash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fresh[ih.mi()] = true
}

// forget drops what is kept in memory for a removed torrent.
func (c *pieceCompletion) forget(ih InfoHash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.fresh, ih.mi())
	delete(c.pending, ih.mi())
}

func (c *pieceCompletion) Get(pk metainfo.PieceKey) (storage.Completion, error) {
	c.mu.Lock()
	if c.pending[pk.InfoHash][pk.Index] {
		c.mu.Unlock()
		return storage.Completion{Ok: true, Complete: true}, nil
	}
	fresh := c.fresh[pk.InfoHash]
	c.mu.Unlock()
	cmpl, err := c.db.Get(pk)
	if err == nil && !cmpl.Ok && fresh {
		return storage.Completion{Ok: true, Complete: false}, nil
	}
	return cmpl, err
}

func (c *pieceCompletion) Set(pk metainfo.PieceKey, complete bool) error {
	c.mu.Lock()
	if complete {
		m := c.pending[pk.InfoHash]
		if m == nil {
			m = map[int]bool{}
			c.pending[pk.InfoHash] = m
		}
		m[pk.Index] = true
		c.mu.Unlock()
		return nil
	}
	delete(c.pending[pk.InfoHash], pk.Index)
	c.mu.Unlock()
	return c.db.Set(pk, false)
}

// flush syncs the files of torrents with newly verified pieces, then
// records those pieces in the database.
func (c *pieceCompletion) flush() error {
	c.mu.Lock()
	batch := c.pending
	c.pending = map[metainfo.Hash]map[int]bool{}
	c.mu.Unlock()
	var errs []error
	for ih, pieces := range batch {
		err := syncTree(filepath.Join(c.dataDir, ih.HexString()))
		for i := range pieces {
			if err == nil {
				err = c.db.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, true)
			}
			if err != nil { // keep it pending; retried at the next flush
				c.mu.Lock()
				if c.pending[ih] == nil {
					c.pending[ih] = map[int]bool{}
				}
				c.pending[ih][i] = true
				c.mu.Unlock()
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("recording verified pieces of %v: %w", ih, err))
		}
	}
	return errors.Join(errs...)
}

// Close flushes and closes the database.
func (c *pieceCompletion) Close() error {
	return errors.Join(c.flush(), c.db.Close())
}

// syncTree fsyncs every regular file under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrPermission) {
			f, err = os.Open(path) // read-only files sync too on Linux
		}
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
