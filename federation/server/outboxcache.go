package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// The outboxes (collection and pages, per local actor) are cached as the
// bytes served: PeerTube crawls them after every Accept and re-reads them,
// and rebuilding a page reads the Store and marshals ten activities.
//
// An entry is valid while (1) the site it was built from is the current
// one (Reload makes a new site), (2) no local-video change was announced
// since it was built (PublishVideo, UpdateVideo, DeleteVideo and
// LocalVideosChanged bump a generation counter, read before the Store is),
// and (3) it is younger than outboxMaxAge, the bound on how stale a page
// can be when the Store changed behind the server's back. Bodies are the
// same for every Accept; only the Content-Type header differs.

// outboxMaxAge bounds the life of a cached outbox page.
const outboxMaxAge = 10 * time.Second

// maxOutboxEntries bounds the cache (a crawler asking for page after page
// of an empty range must not grow it without end).
const maxOutboxEntries = 512

type outboxKey struct {
	role string
	page int // 0: the collection itself
}

type outboxEntry struct {
	st    *site
	gen   uint64
	built time.Time
	body  []byte
	etag  string
	// header values, built once and shared read-only by every response
	length, etagHdr []string
}

// outboxCache holds the entries; gen is the local-video generation.
type outboxCache struct {
	gen     atomic.Uint64
	entries sync.Map // outboxKey → *outboxEntry
	count   atomic.Int64
}

// invalidate drops every entry (lazily: they no longer match gen).
func (c *outboxCache) invalidate() { c.gen.Add(1) }

// get returns the valid entry for k, or nil.
func (c *outboxCache) get(k outboxKey, st *site) *outboxEntry {
	v, ok := c.entries.Load(k)
	if !ok {
		return nil
	}
	e := v.(*outboxEntry)
	if e.st != st || e.gen != c.gen.Load() || time.Since(e.built) > outboxMaxAge {
		return nil
	}
	return e
}

// put stores body for k, built from st at generation gen (read before the
// Store was).
func (c *outboxCache) put(k outboxKey, st *site, gen uint64, built time.Time, body []byte) *outboxEntry {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	e := &outboxEntry{st: st, gen: gen, built: built, body: body, etag: etag,
		length: []string{strconv.Itoa(len(body))}, etagHdr: []string{etag}}
	if _, loaded := c.entries.Swap(k, e); !loaded && c.count.Add(1) > maxOutboxEntries {
		c.entries.Clear()
		c.count.Store(0)
	}
	return e
}

// LocalVideosChanged tells the server that the Store's local videos
// changed (added, edited, removed, privacy or views) without PublishVideo,
// UpdateVideo or DeleteVideo being called for it: the cached outboxes are
// dropped. Those three call it themselves.
func (s *Server) LocalVideosChanged() { s.outbox.invalidate() }

// Header values shared by every cached response (never mutated).
var (
	hdrActivityJSON = []string{federation.MediaTypeActivityJSON + "; charset=utf-8"}
	hdrLDJSON       = []string{federation.MediaTypeLDJSON + "; charset=utf-8"}
	hdrAnyOrigin    = []string{"*"}
	hdrVaryAccept   = []string{"Accept"}
	hdrNoCache      = []string{"no-cache"}
)

// serveCached writes a cached outbox body, or 304 when the client already
// holds it (If-None-Match).
func serveCached(w http.ResponseWriter, r *http.Request, e *outboxEntry) {
	h := w.Header()
	if _, ct := wantsActivityPub(r); ct == hdrLDJSON[0] {
		h["Content-Type"] = hdrLDJSON
	} else {
		h["Content-Type"] = hdrActivityJSON
	}
	h["Etag"] = e.etagHdr
	h["Vary"] = hdrVaryAccept
	h["Cache-Control"] = hdrNoCache // revalidate: the outbox changes on publish
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = e.length
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.body)
}

// etagMatch is If-None-Match's weak comparison of a list against etag.
func etagMatch(list, etag string) bool {
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}
