package peer

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/torrent"
	"golang.org/x/time/rate"
)

// urgentSpan is how much the stream fetches itself from a web seed where the
// player starts reading or lands after a seek.
const urgentSpan = 1 << 20

// Urgent fetches. anacrolix/torrent v1.61 plans web seed requests in aligned
// slices, a few per host, and a request it cancels to make room keeps its
// slot for a random back-off of up to 10 s: a seek into data nobody has yet
// could wait seconds. So the stream fetches the first urgentSpan bytes at
// the player's position itself, with one HTTP Range request to a web seed,
// checks each piece's SHA-1 as it arrives, writes it to the torrent's
// storage and tells anacrolix the piece is complete. Everything else (the
// rest of the file, peers, seeding) stays anacrolix's.
type urgentState struct {
	ctx    context.Context // canceled when the torrent is removed
	cancel context.CancelFunc
	wg     sync.WaitGroup // running fetches; Remove waits for them
	bytes  atomic.Int64   // piece bytes this path wrote (counted as web seed bytes)
	starts atomic.Int64   // fetches started
}

// startUrgent fetches from piece first on, for a stream whose request
// context is reqCtx. It returns at once; the fetch stops with reqCtx, at the
// first piece already complete, or when the torrent is removed.
func (e *Engine) startUrgent(reqCtx context.Context, h *handle, first int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted || e.torrents[h.ih] != h || h.urgent.ctx.Err() != nil || h.infoBytes == nil {
		return
	}
	info := h.t.Info()
	if len(info.Files) != 0 || first < 0 || first >= info.NumPieces() {
		return // multi-file web seeds need BEP 19 path building: anacrolix's job
	}
	var urls []string
	for _, ws := range h.webSeeds {
		if ws.dropped == "" && !strings.HasSuffix(ws.url, "/") {
			urls = append(urls, ws.url)
		}
	}
	if len(urls) == 0 {
		return
	}
	h.urgent.starts.Add(1)
	ctx, cancel := context.WithCancel(reqCtx)
	stop := context.AfterFunc(h.urgent.ctx, cancel)
	h.urgent.wg.Go(func() {
		defer stop()
		defer cancel()
		if err := e.fetchUrgent(ctx, h, urls, first); err != nil && ctx.Err() == nil {
			e.log.Info("urgent fetch from web seed failed; anacrolix carries on", "infohash", h.ih, "piece", first, "err", err)
		}
	})
}

func (e *Engine) fetchUrgent(ctx context.Context, h *handle, urls []string, first int) error {
	t := h.t
	info := t.Info()
	n := info.NumPieces()
	complete := func(i int) bool { return t.Piece(i).State().Complete }
	for first < n && complete(first) {
		first++
	}
	if first >= n {
		return nil
	}
	last := first
	for last+1 < n && int64(last+2-first)*info.PieceLength <= urgentSpan && !complete(last+1) {
		last++
	}
	off := int64(first) * info.PieceLength
	end := min(int64(last+1)*info.PieceLength, info.Length)

	var errs []error
	for _, u := range urls {
		err := e.fetchUrgentFrom(ctx, h, u, first, last, off, end)
		if err == nil || ctx.Err() != nil {
			return err
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return errors.Join(errs...)
}

func (e *Engine) fetchUrgentFrom(ctx context.Context, h *handle, u string, first, last int, off, end int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end-1))
	resp, err := (&http.Client{Transport: e.guard}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", off)) {
			return fmt.Errorf("Content-Range %q for a request at %d", resp.Header.Get("Content-Range"), off)
		}
	case http.StatusOK:
		if _, err := io.CopyN(io.Discard, body, off); err != nil {
			return err
		}
	default:
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	body = &limitedReader{ctx: ctx, r: body, l: e.down}

	t := h.t
	info := t.Info()
	buf := make([]byte, info.PieceLength)
	for i := first; i <= last; i++ {
		p := t.Piece(i)
		b := buf[:p.Info().Length()]
		if _, err := io.ReadFull(body, b); err != nil {
			return err
		}
		if sha1.Sum(b) != [20]byte(p.Info().V1Hash().Unwrap()) {
			return fmt.Errorf("piece %d from the web seed fails its hash", i)
		}
		if p.State().Complete {
			return nil // others got here first: leave the rest to them
		}
		// p.Storage() is the torrent's file storage; the data is verified.
		if _, err := p.Storage().WriteAt(b, 0); err != nil {
			return fmt.Errorf("writing piece %d: %w", i, err)
		}
		if err := p.Storage().MarkComplete(); err != nil {
			return fmt.Errorf("marking piece %d: %w", i, err)
		}
		p.UpdateCompletion()
		h.urgent.bytes.Add(int64(len(b)))
	}
	return nil
}

// limitedReader applies the engine's download rate limit.
type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *rate.Limiter
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	if lr.l.Limit() != rate.Inf {
		p = p[:min(len(p), lr.l.Burst())]
	}
	n, err := lr.r.Read(p)
	if n > 0 && lr.l.Limit() != rate.Inf {
		if werr := lr.l.WaitN(lr.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// streamReader is the stream handler's torrent reader. When the player
// starts reading or seeks, it plans anacrolix's web seed requests at once
// (instead of on its 5 s timer) and starts an urgent fetch at the position.
type streamReader struct {
	torrent.Reader
	e      *Engine
	h      *handle
	ctx    context.Context // the HTTP request's
	offset int64           // of the file in the torrent
	length int64           // of the file
	pos    int64           // in the file
	moved  bool
}

func (r *streamReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd && off == 0 {
		// http.ServeContent asking the size: answer without moving the
		// torrent reader, which would prioritise the last piece.
		return r.length, nil
	}
	n, err := r.Reader.Seek(off, whence)
	if err == nil {
		r.pos, r.moved = n, true
	}
	return n, err
}

func (r *streamReader) Read(p []byte) (int, error) {
	if r.moved {
		r.moved = false
		pokeWebSeeds(r.e.cl, "fourmi: stream read")
		info := r.h.t.Info()
		r.e.startUrgent(r.ctx, r.h, int((r.offset+r.pos)/info.PieceLength))
	}
	n, err := r.Reader.Read(p)
	r.pos += int64(n)
	return n, err
}
