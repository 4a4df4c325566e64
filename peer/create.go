package peer

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// CreateOptions shape a torrent made by CreateTorrent.
type CreateOptions struct {
	Name         string     // default: the file's base name
	PieceLength  int64      // default: PieceLengthFor(size)
	WebSeeds     []string   // BEP 19 url-list: the instance's file URL
	Trackers     [][]string // announce-list tiers, e.g. {{wss://host/tracker/socket}, {https://host/tracker/announce}}
	Comment      string
	CreationDate time.Time // default: now
	Workers      int       // parallel hashing goroutines; default GOMAXPROCS
}

// PieceLengthFor is the piece length PeerTube (create-torrent) picks for a
// file of size bytes: about size/1024 rounded to a power of two, at least
// 16 KiB, here capped at MaxPieceLength.
func PieceLengthFor(size int64) int64 {
	if size < 1024 {
		return MinPieceLength
	}
	x := float64(size) / 1024
	// round(log2(x)) without floating-point logs: the bit length, then
	// compare with the geometric midpoint 2^(k+0.5).
	k := bits.Len64(uint64(x)) - 1
	if x*x >= 2*float64(uint64(1)<<k)*float64(uint64(1)<<k) {
		k++
	}
	return min(max(int64(1)<<k, MinPieceLength), MaxPieceLength)
}

// CreateTorrent hashes the file at path into a single-file BitTorrent v1
// .torrent, as PeerTube makes them (url-list web seed, announce-list,
// created by "Fourmi"). Pieces are hashed in parallel; ctx cancels.
func CreateTorrent(ctx context.Context, path string, opts CreateOptions) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("peer: create torrent: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("peer: create torrent: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("peer: create torrent: %s is not a regular file", path)
	}
	size := fi.Size()
	info := metainfo.Info{
		Name:        opts.Name,
		Length:      size,
		PieceLength: opts.PieceLength,
	}
	if info.Name == "" {
		info.Name = filepath.Base(path)
	}
	if info.PieceLength == 0 {
		info.PieceLength = PieceLengthFor(size)
	}
	for _, ws := range opts.WebSeeds {
		if !isHTTPURL(ws) {
			return nil, fmt.Errorf("peer: create torrent: web seed %q: want an absolute http(s) URL", ws)
		}
	}
	// Check everything but the hashes before the expensive part.
	n := int((size + info.PieceLength - 1) / info.PieceLength)
	info.Pieces = make([]byte, 20*n)
	if err := ValidateInfo(&info); err != nil {
		return nil, fmt.Errorf("peer: create torrent: %w", err)
	}
	if err := hashPieces(ctx, f, size, info.PieceLength, info.Pieces, opts.Workers); err != nil {
		return nil, fmt.Errorf("peer: create torrent: hashing %s: %w", path, err)
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("peer: create torrent: %w", err)
	}
	mi := metainfo.MetaInfo{
		InfoBytes:    infoBytes,
		AnnounceList: opts.Trackers,
		UrlList:      opts.WebSeeds,
		Comment:      opts.Comment,
		CreatedBy:    "Fourmi",
		Encoding:     "UTF-8",
		CreationDate: opts.CreationDate.Unix(),
	}
	if opts.CreationDate.IsZero() {
		mi.CreationDate = time.Now().Unix()
	}
	if len(opts.Trackers) > 0 && len(opts.Trackers[0]) > 0 {
		mi.Announce = opts.Trackers[0][0]
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return nil, fmt.Errorf("peer: create torrent: %w", err)
	}
	return buf.Bytes(), nil
}

// hashPieces fills out (20 bytes per piece) with the SHA-1 of each piece of
// r, workers pieces at a time.
func hashPieces(ctx context.Context, r io.ReaderAt, size, pieceLength int64, out []byte, workers int) error {
	n := len(out) / 20
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			buf := make([]byte, pieceLength)
			h := sha1.New()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				off := i * pieceLength
				b := buf[:min(pieceLength, size-off)]
				if _, err := r.ReadAt(b, off); err != nil {
					if errors.Is(err, io.EOF) {
						err = fmt.Errorf("file shrank while hashing (piece %d): %w", i, io.ErrUnexpectedEOF)
					}
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				h.Reset()
				h.Write(b)
				h.Sum(out[20*i : 20*i : 20*i+20])
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
