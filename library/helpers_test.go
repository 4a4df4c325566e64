package library

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testOptions are options that never reach the internet: no default
// instances, a search index on loopback port 9 (discard, refused) unless
// overridden, a silent logger.
func testOptions(dir string) Options {
	return Options{
		Dir:              dir,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		HTTPClient:       &http.Client{Timeout: 10 * time.Second},
		DefaultInstances: []string{},
		SearchIndexURL:   "http://127.0.0.1:9",
		Now:              newClock().Now,
	}
}

func openTest(t testing.TB, opt Options) *Library {
	t.Helper()
	if opt.Dir == "" {
		o := testOptions(t.TempDir())
		o.Now, o.ThumbCacheBytes = opt.Now, opt.ThumbCacheBytes
		if opt.Now == nil {
			o.Now = newClock().Now
		}
		opt = o
	}
	l, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// instanceSource adds the stand-in as an instance and returns its source.
func instanceSource(t testing.TB, l *Library, s *peertubetest.Server) Source {
	t.Helper()
	in, err := l.AddInstance(context.Background(), s.URL)
	if err != nil {
		t.Fatalf("AddInstance(%s): %v", s.URL, err)
	}
	return Source{Kind: SourceInstance, Host: in.Host, Name: in.Name}
}

func uuids(vs []Video) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.UUID
	}
	return out
}
