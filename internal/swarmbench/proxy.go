package swarmbench

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Counts are the bytes and requests a CountingProxy served for one path
// prefix.
type Counts struct {
	Requests int64
	Bytes    int64 // response body bytes sent to clients
}

// CountingProxy is a reverse proxy to one origin that counts the response
// body bytes it sends, per path prefix, and can refuse the paths under some
// prefixes (the baseline refuses the tracker, so viewers find no peers).
// Bytes of hijacked connections (WebSocket) are not counted.
type CountingProxy struct {
	rp       *httputil.ReverseProxy
	prefixes []string // longest first; "" (anything else) last

	mu      sync.Mutex
	counts  map[string]*counter
	blocked []string
}

type counter struct{ requests, bytes atomic.Int64 }

// NewCountingProxy forwards every request to target (scheme and host),
// keeping the client's Host header, and counts under the longest of
// prefixes that the path starts with, or under "" when none does.
func NewCountingProxy(target *url.URL, log *slog.Logger, prefixes ...string) *CountingProxy {
	p := &CountingProxy{counts: map[string]*counter{}}
	for _, pr := range prefixes {
		if pr != "" {
			p.prefixes = append(p.prefixes, pr)
		}
	}
	// Longest first, so /a/b/ wins over /a/.
	for i := 1; i < len(p.prefixes); i++ {
		for j := i; j > 0 && len(p.prefixes[j]) > len(p.prefixes[j-1]); j-- {
			p.prefixes[j], p.prefixes[j-1] = p.prefixes[j-1], p.prefixes[j]
		}
	}
	p.prefixes = append(p.prefixes, "")
	for _, pr := range p.prefixes {
		p.counts[pr] = &counter{}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return p
}

// Block makes the proxy answer 503 to paths under any of prefixes (none:
// serve everything again).
func (p *CountingProxy) Block(prefixes ...string) {
	p.mu.Lock()
	p.blocked = append([]string(nil), prefixes...)
	p.mu.Unlock()
}

// Reset zeroes the counts.
func (p *CountingProxy) Reset() {
	for _, c := range p.counts {
		c.requests.Store(0)
		c.bytes.Store(0)
	}
}

// Counts returns the counts so far, by prefix ("" for other paths).
func (p *CountingProxy) Counts() map[string]Counts {
	out := make(map[string]Counts, len(p.counts))
	for pr, c := range p.counts {
		out[pr] = Counts{Requests: c.requests.Load(), Bytes: c.bytes.Load()}
	}
	return out
}

func (p *CountingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	blocked := p.blocked
	p.mu.Unlock()
	for _, b := range blocked {
		if strings.HasPrefix(r.URL.Path, b) {
			http.Error(w, "refused by the benchmark's proxy", http.StatusServiceUnavailable)
			return
		}
	}
	c := p.counts[p.prefixOf(r.URL.Path)]
	c.requests.Add(1)
	p.rp.ServeHTTP(&countingWriter{ResponseWriter: w, n: &c.bytes}, r)
}

func (p *CountingProxy) prefixOf(path string) string {
	for _, pr := range p.prefixes {
		if strings.HasPrefix(path, pr) {
			return pr
		}
	}
	return ""
}

// countingWriter counts the body bytes written through it. Unwrap lets
// http.ResponseController reach Flush and Hijack underneath.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
