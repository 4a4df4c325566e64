package library

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxThumbnailBytes caps one cached image.
const MaxThumbnailBytes = 4 << 20

// thumbFetchTimeout bounds one thumbnail download.
const thumbFetchTimeout = 30 * time.Second

// thumbCache is the size-bounded on-disk image cache: files named by the
// SHA-256 of their URL, evicted least recently used first (a hit touches
// the file's mtime, which is what survives a restart).
type thumbCache struct {
	dir     string
	max     int64 // total bound
	maxFile int64 // one image's bound

	mu       sync.Mutex
	loaded   bool
	files    map[string]*thumbEntry // file name → entry
	total    int64
	inflight map[string]*thumbCall // URL → download in progress
}

type thumbEntry struct {
	size int64
	used time.Time
}

// thumbCall is one download that concurrent callers share.
type thumbCall struct {
	done chan struct{}
	path string
	err  error
}

func (c *thumbCache) init(dir string, max int64) {
	c.dir = dir
	c.max = max
	c.maxFile = min(int64(MaxThumbnailBytes), max)
	c.files = map[string]*thumbEntry{}
	c.inflight = map[string]*thumbCall{}
}

// load scans the cache directory once (under c.mu): it learns sizes and
// last uses, removes temporary files left by a crash and enforces the bound.
func (c *thumbCache) load() error {
	if c.loaded {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			os.Remove(filepath.Join(c.dir, name))
			continue
		}
		if !e.Type().IsRegular() || !isThumbName(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		c.files[name] = &thumbEntry{size: info.Size(), used: info.ModTime()}
		c.total += info.Size()
	}
	c.loaded = true
	c.evict("")
	return nil
}

func isThumbName(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// evict removes least recently used files until the cache fits in its
// bound (down to 90% of it, so that evictions come in batches). keep is
// never evicted.
func (c *thumbCache) evict(keep string) {
	if c.total <= c.max {
		return
	}
	type cand struct {
		name string
		e    *thumbEntry
	}
	cands := make([]cand, 0, len(c.files))
	for n, e := range c.files {
		if n != keep {
			cands = append(cands, cand{n, e})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if !cands[i].e.used.Equal(cands[j].e.used) {
			return cands[i].e.used.Before(cands[j].e.used)
		}
		return cands[i].name < cands[j].name
	})
	target := c.max - c.max/10
	for _, cd := range cands {
		if c.total <= target {
			break
		}
		if err := os.Remove(filepath.Join(c.dir, cd.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		c.total -= cd.e.size
		delete(c.files, cd.name)
	}
}

// Thumbnail returns the path of a cached copy of the image at url, fetching
// it into the size-bounded disk cache on a miss. Concurrent calls for one
// URL share one download, which goes on (bounded by a timeout, cancelled
// by Close) when the caller's ctx ends. Answers that are not images or are
// over MaxThumbnailBytes are refused and not cached.
func (l *Library) Thumbnail(ctx context.Context, rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("library: %q is not an http(s) image address", rawURL)
	}
	sum := sha256.Sum256([]byte(rawURL))
	name := hex.EncodeToString(sum[:])
	c := &l.thumbs
	path := filepath.Join(c.dir, name)

	c.mu.Lock()
	now := l.now()
	if err := c.load(); err != nil {
		c.mu.Unlock()
		return "", fmt.Errorf("library: thumbnail cache: %w", err)
	}
	if e, ok := c.files[name]; ok {
		if err := os.Chtimes(path, now, now); err == nil {
			e.used = now
			c.mu.Unlock()
			return path, nil
		}
		// Removed behind our back: fetch it again.
		c.total -= e.size
		delete(c.files, name)
	}
	call, ok := c.inflight[rawURL]
	if !ok {
		if l.ctx.Err() != nil {
			c.mu.Unlock()
			return "", errors.New("library: closed")
		}
		call = &thumbCall{done: make(chan struct{})}
		c.inflight[rawURL] = call
		l.wg.Add(1)
		go l.downloadThumb(rawURL, name, call)
	}
	c.mu.Unlock()

	select {
	case <-call.done:
		return call.path, call.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// downloadThumb fetches url into the cache as name and completes call.
func (l *Library) downloadThumb(rawURL, name string, call *thumbCall) {
	defer l.wg.Done()
	c := &l.thumbs
	size, err := l.fetchThumb(rawURL, name)
	c.mu.Lock()
	if err == nil {
		now := l.now()
		if old, ok := c.files[name]; ok {
			c.total -= old.size
		}
		c.files[name] = &thumbEntry{size: size, used: now}
		c.total += size
		c.evict(name)
		call.path = filepath.Join(c.dir, name)
	} else {
		call.err = fmt.Errorf("library: thumbnail %s: %w", rawURL, err)
	}
	delete(c.inflight, rawURL)
	c.mu.Unlock()
	close(call.done)
}

// fetchThumb downloads an image and writes it atomically (temporary file,
// then rename) as name in the cache directory.
func (l *Library) fetchThumb(rawURL, name string) (int64, error) {
	c := &l.thumbs
	ctx, cancel := context.WithTimeout(l.ctx, thumbFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "image/*")
	req.Header.Set("User-Agent", "Fourmi")
	resp, err := l.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.ContentLength > c.maxFile {
		return 0, fmt.Errorf("image too large (%d bytes, limit %d)", resp.ContentLength, c.maxFile)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxFile+1))
	if err != nil {
		return 0, err
	}
	if int64(len(body)) > c.maxFile {
		return 0, fmt.Errorf("image too large (over %d bytes)", c.maxFile)
	}
	if kind := imageKind(body); kind == "" {
		return 0, fmt.Errorf("not an image (%s, %d bytes)", describeContent(resp.Header.Get("Content-Type"), body), len(body))
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return 0, err
	}
	_, werr := tmp.Write(body)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		now := l.now()
		os.Chtimes(tmp.Name(), now, now)
		werr = os.Rename(tmp.Name(), filepath.Join(c.dir, name))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return 0, werr
	}
	return int64(len(body)), nil
}

// imageKind sniffs the raster formats the GUI can show; "" for anything else.
func imageKind(b []byte) string {
	switch ct := http.DetectContentType(b); ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp":
		return ct
	}
	return ""
}

func describeContent(header string, body []byte) string {
	sniffed := http.DetectContentType(body)
	if header == "" {
		return sniffed
	}
	return header + ", looks like " + sniffed
}
