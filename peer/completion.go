package peer

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
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
//   - Answers are kept in memory (one byte per piece): anacrolix asks for
//     the completion of every piece of a file each time one of its pieces
//     is verified, and a bolt read transaction per answer made that the
//     main cost of a fast download.
type pieceCompletion struct {
	db      *bbolt.DB // anacrolix's schema, so data dirs stay interchangeable
	dataDir string    // <DataDir>/data; a torrent's files are under <dataDir>/<infohash>

	mu      sync.Mutex
	fresh   map[metainfo.Hash]bool
	pending map[metainfo.Hash]map[int]bool // verified, not yet in db
	known   map[metainfo.Hash][]pieceState // what db (or pending) says, by piece
}

// pieceState is a cached completion: unknown (not read yet), or the answer.
type pieceState uint8

const (
	pieceUnknown pieceState = iota
	pieceIncomplete
	pieceComplete
)

var (
	_ storage.PieceCompletion          = (*pieceCompletion)(nil)
	_ storage.PieceCompletionGetRanger = (*pieceCompletion)(nil)
)

// Persistent false stops anacrolix from syncing the whole file after every
// verified piece: flush syncs before recording (see the type's doc).
func (c *pieceCompletion) Persistent() bool { return false }

// openPieceCompletion opens the completion database in dataDir. A database
// another process holds is an error; a corrupt one (e.g. after a power cut,
// anacrolix writes it without fsync) is moved aside and replaced: the pieces
// on disk are then verified again by hashing, nothing is downloaded again.
func openPieceCompletion(dataDir string, log func(msg string, args ...any)) (*pieceCompletion, error) {
	path := filepath.Join(dataDir, ".torrent.bolt.db")
	db, err := openBolt(path)
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("peer: piece completion in %s is locked: is another Fourmi using this data dir? %w", dataDir, err)
	}
	if err != nil {
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		log("piece completion database unreadable; moved aside, pieces will be verified again", "path", path, "aside", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("peer: piece completion in %s: %w (and moving it aside: %v)", dataDir, err, rerr)
		}
		if db, err = openBolt(path); err != nil {
			return nil, fmt.Errorf("peer: piece completion in %s: %w", dataDir, err)
		}
	}
	return &pieceCompletion{
		db:      db,
		dataDir: dataDir,
		fresh:   map[metainfo.Hash]bool{},
		pending: map[metainfo.Hash]map[int]bool{},
		known:   map[metainfo.Hash][]pieceState{},
	}, nil
}

// The database layout is anacrolix/torrent's (storage.NewBoltPieceCompletion):
// bucket "completion" → bucket <infohash> → big-endian uint32 piece index →
// "c" (complete) or "i" (incomplete). Owning the handle lets flush record a
// whole batch in one transaction (one fsync) instead of one per piece.
var completionBucket = []byte("completion")

const (
	boltComplete   = "c"
	boltIncomplete = "i"
)

func openBolt(path string) (*bbolt.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o660, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	// As anacrolix does: the pieces' data is synced before they are
	// recorded (flush), so a lost or torn write here only means hashing
	// again, and a database that does not open is moved aside.
	db.NoSync = true
	return db, nil
}

func pieceKeyBytes(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

func (c *pieceCompletion) dbGet(pk metainfo.PieceKey) (cmpl storage.Completion, err error) {
	err = c.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(completionBucket)
		if b != nil {
			b = b.Bucket(pk.InfoHash[:])
		}
		if b == nil {
			return nil
		}
		switch string(b.Get(pieceKeyBytes(pk.Index))) {
		case boltComplete:
			cmpl = storage.Completion{Ok: true, Complete: true}
		case boltIncomplete:
			cmpl = storage.Completion{Ok: true}
		}
		return nil
	})
	return cmpl, err
}

// dbSet records pieces of torrents as complete or not, in one transaction.
func (c *pieceCompletion) dbSet(batch map[metainfo.Hash]map[int]bool) error {
	return c.db.Update(func(tx *bbolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(completionBucket)
		if err != nil {
			return err
		}
		for ih, pieces := range batch {
			b, err := root.CreateBucketIfNotExists(ih[:])
			if err != nil {
				return err
			}
			for i, complete := range pieces {
				v := boltIncomplete
				if complete {
					v = boltComplete
				}
				if err := b.Put(pieceKeyBytes(i), []byte(v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// clear forgets every recorded piece of a torrent (its data was deleted).
func (c *pieceCompletion) clear(ih InfoHash) error {
	c.mu.Lock()
	delete(c.pending, ih.mi())
	delete(c.known, ih.mi())
	c.mu.Unlock()
	return c.db.Update(func(tx *bbolt.Tx) error {
		root := tx.Bucket(completionBucket)
		if root == nil || root.Bucket(ih[:]) == nil {
			return nil
		}
		return root.DeleteBucket(ih[:])
	})
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
	delete(c.known, ih.mi())
	// pending stays: those pieces are verified and on disk, the next flush
	// records them (clear drops them when the data is deleted).
}

// cachedLocked is the remembered state of a piece (pieceUnknown if none).
func (c *pieceCompletion) cachedLocked(pk metainfo.PieceKey) pieceState {
	if s := c.known[pk.InfoHash]; pk.Index >= 0 && pk.Index < len(s) {
		return s[pk.Index]
	}
	return pieceUnknown
}

func (c *pieceCompletion) rememberLocked(pk metainfo.PieceKey, st pieceState) {
	if pk.Index < 0 {
		return
	}
	s := c.known[pk.InfoHash]
	if pk.Index >= len(s) {
		s = append(s, make([]pieceState, pk.Index+1-len(s))...)
		c.known[pk.InfoHash] = s
	}
	s[pk.Index] = st
}

func completionOf(st pieceState) storage.Completion {
	return storage.Completion{Ok: st != pieceUnknown, Complete: st == pieceComplete}
}

func (c *pieceCompletion) Get(pk metainfo.PieceKey) (storage.Completion, error) {
	c.mu.Lock()
	if st := c.cachedLocked(pk); st != pieceUnknown {
		c.mu.Unlock()
		return completionOf(st), nil
	}
	if c.fresh[pk.InfoHash] {
		// Nothing on disk: whatever the database says, the piece is missing.
		c.mu.Unlock()
		return storage.Completion{Ok: true, Complete: false}, nil
	}
	c.mu.Unlock()
	cmpl, err := c.dbGet(pk)
	if err != nil {
		return cmpl, err
	}
	if cmpl.Ok {
		st := pieceIncomplete
		if cmpl.Complete {
			st = pieceComplete
		}
		c.mu.Lock()
		if c.cachedLocked(pk) == pieceUnknown { // a Set meanwhile wins
			c.rememberLocked(pk, st)
		}
		c.mu.Unlock()
	}
	return cmpl, nil
}

// GetRange answers pieces [begin, end) of a torrent from memory when it
// can (anacrolix calls it for a whole file after each verified piece).
func (c *pieceCompletion) GetRange(ih metainfo.Hash, begin, end int) iter.Seq[storage.Completion] {
	return func(yield func(storage.Completion) bool) {
		for i := begin; i < end; {
			c.mu.Lock()
			s := c.known[ih]
			j := i
			for j < end && j < len(s) && s[j] != pieceUnknown {
				j++
			}
			batch := slices.Clone(s[i:j])
			c.mu.Unlock()
			for _, st := range batch {
				if !yield(completionOf(st)) {
					return
				}
			}
			if i = j; i < end {
				cmpl, err := c.Get(metainfo.PieceKey{InfoHash: ih, Index: i})
				cmpl.Err = cmp.Or(cmpl.Err, err)
				if !yield(cmpl) {
					return
				}
				i++
			}
		}
	}
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
		c.rememberLocked(pk, pieceComplete)
		c.mu.Unlock()
		return nil
	}
	defer c.mu.Unlock()
	delete(c.pending[pk.InfoHash], pk.Index)
	c.rememberLocked(pk, pieceIncomplete)
	// Under c.mu, so that a flush in progress cannot record it complete after.
	return c.dbSet(map[metainfo.Hash]map[int]bool{pk.InfoHash: {pk.Index: false}})
}

// flush syncs the files of torrents with newly verified pieces, then
// records those pieces in the database, in one transaction. What fails
// stays pending and is retried at the next flush.
func (c *pieceCompletion) flush() error {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return nil
	}
	batch := c.pending
	c.pending = map[metainfo.Hash]map[int]bool{}
	c.mu.Unlock()
	var errs []error
	synced := map[metainfo.Hash]map[int]bool{}
	for ih, pieces := range batch {
		if err := syncTree(filepath.Join(c.dataDir, ih.HexString())); err != nil {
			errs = append(errs, fmt.Errorf("recording verified pieces of %v: %w", ih, err))
			c.repend(ih, pieces)
			continue
		}
		synced[ih] = pieces
	}
	if len(synced) > 0 {
		c.mu.Lock()
		for ih, pieces := range synced { // marked incomplete meanwhile: not recorded
			for i := range pieces {
				if c.cachedLocked(metainfo.PieceKey{InfoHash: ih, Index: i}) != pieceComplete {
					delete(pieces, i)
				}
			}
		}
		err := c.dbSet(synced)
		c.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("recording verified pieces: %w", err))
			for ih, pieces := range synced {
				c.repend(ih, pieces)
			}
		}
	}
	return errors.Join(errs...)
}

// repend puts pieces back in pending, unless they were marked incomplete
// since (a later Set wins).
func (c *pieceCompletion) repend(ih metainfo.Hash, pieces map[int]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range pieces {
		if c.cachedLocked(metainfo.PieceKey{InfoHash: ih, Index: i}) != pieceComplete {
			continue
		}
		if c.pending[ih] == nil {
			c.pending[ih] = map[int]bool{}
		}
		c.pending[ih][i] = true
	}
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
