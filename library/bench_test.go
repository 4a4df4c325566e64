package library

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// benchCatalogSize is the synthetic instance's catalog for the first-page
// benchmarks: a small instance (ten pages of 24).
const benchCatalogSize = 240

// catalogBench is a library browsing a synthetic stand-in.
type catalogBench struct {
	s   *peertubetest.Server
	l   *Library
	q   Query
	raw string // the URL Fetch asks for page 1
	hc  *http.Client
}

func newCatalogBench(tb testing.TB) *catalogBench {
	s := peertubetest.NewSynthetic(benchCatalogSize)
	tb.Cleanup(s.Close)
	l := openTest(tb, Options{})
	src := instanceSource(tb, l, s)
	return &catalogBench{
		s: s, l: l,
		q:   Query{Source: src, PageSize: DefaultPageSize},
		raw: s.URL + "/api/v1/videos?count=24&sort=-publishedAt",
		hc:  l.hc,
	}
}

func (c *catalogBench) fetch(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		p, err := c.l.Fetch(ctx, c.q)
		if err != nil || len(p.Videos) != DefaultPageSize {
			b.Fatalf("Fetch: %d videos, %v", len(p.Videos), err)
		}
	}
}

func (c *catalogBench) rawHTTP(b *testing.B) {
	for b.Loop() {
		resp, err := c.hc.Get(c.raw)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(body) < 1000 {
			b.Fatalf("raw GET: %d, %d bytes, %v", resp.StatusCode, len(body), err)
		}
	}
}

// BenchmarkCatalogFirstPage is Fetch of a 24-video page: HTTP, decoding,
// one SQLite transaction, reading the page back.
func BenchmarkCatalogFirstPage(b *testing.B) { newCatalogBench(b).fetch(b) }

// BenchmarkCatalogFirstPageRawHTTP is the floor: GET + read of the same URL.
func BenchmarkCatalogFirstPageRawHTTP(b *testing.B) { newCatalogBench(b).rawHTTP(b) }

// BenchmarkCatalogFirstPageCold is Fetch of a 24-video page into an empty
// library: every row is inserted and indexed for search.
func BenchmarkCatalogFirstPageCold(b *testing.B) {
	s := peertubetest.NewSynthetic(benchCatalogSize)
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		opt := testOptions(b.TempDir())
		l, err := Open(ctx, opt)
		if err != nil {
			b.Fatal(err)
		}
		src := instanceSource(b, l, s)
		b.StartTimer()
		if p, err := l.Fetch(ctx, Query{Source: src}); err != nil || len(p.Videos) != DefaultPageSize {
			b.Fatalf("Fetch: %v", err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}

// BenchmarkCachedFirstPage is showing a page from the cache.
func BenchmarkCachedFirstPage(b *testing.B) {
	c := newCatalogBench(b)
	ctx := context.Background()
	if _, err := c.l.Fetch(ctx, c.q); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if p, err := c.l.Cached(ctx, c.q); err != nil || len(p.Videos) != DefaultPageSize {
			b.Fatal(err)
		}
	}
}

// populate caches n synthetic videos (with tags) in one transaction, in
// statements of batchRows like pages of 100 would be.
func populate(tb testing.TB, l *Library, n int) {
	tb.Helper()
	ctx := context.Background()
	c, _ := peertube.New("https://demo.example", peertube.Options{})
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		w := l.writer(ctx, tx, l.now())
		defer w.close()
		vs := make([]Video, 0, n)
		for k := range n {
			d := peertubetest.SyntheticVideo("https://demo.example", k)
			d.PublishedAt = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(k) * time.Hour)
			v := convertVideo(d.Video, c.Host(), instanceResolver(c))
			v.Tags = d.Tags
			vs = append(vs, v)
		}
		_, err := w.videos(vs, false)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

type searchBench struct {
	l *Library
}

func newSearchBench(tb testing.TB, n int) *searchBench {
	l := openTest(tb, Options{})
	populate(tb, l, n)
	return &searchBench{l: l}
}

func (s *searchBench) search(text string) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		q := Query{Source: Source{Kind: SourceLocal}, Search: text}
		for b.Loop() {
			p, err := s.l.Fetch(ctx, q)
			if err != nil || len(p.Videos) == 0 {
				b.Fatalf("local search %q: %d results, %v", text, len(p.Videos), err)
			}
		}
	}
}

const (
	benchQuery       = "free software"
	benchPrefixQuery = "free softw"
)

func BenchmarkLocalSearch10k(b *testing.B) {
	newSearchBench(b, 10_000).search(benchQuery)(b)
}

func BenchmarkLocalSearch10kPrefix(b *testing.B) {
	newSearchBench(b, 10_000).search(benchPrefixQuery)(b)
}

func BenchmarkPopulate1k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		l := openTest(b, Options{})
		b.StartTimer()
		populate(b, l, 1000)
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}

// TestBenchReport prints the library's benchmark figures as BENCH lines.
// Run with FOURMI_BENCH=1.
func TestBenchReport(t *testing.T) {
	if os.Getenv("FOURMI_BENCH") != "1" {
		t.Skip("set FOURMI_BENCH=1 to run the benchmark report")
	}
	perOp := func(r testing.BenchmarkResult) float64 { return float64(r.T.Nanoseconds()) / float64(r.N) }
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}

	c := newCatalogBench(t)
	// Alternate the two to share the machine's mood; keep the medians.
	var fetch, raw []float64
	for range 3 {
		raw = append(raw, perOp(testing.Benchmark(c.rawHTTP)))
		fetch = append(fetch, perOp(testing.Benchmark(c.fetch)))
	}
	t.Logf("fetch %v raw %v", fetch, raw)
	f, r := median(fetch), median(raw)

	start := time.Now()
	s := newSearchBench(t, 10_000)
	t.Logf("populated 10,000 videos in %v", time.Since(start))
	two := perOp(testing.Benchmark(s.search(benchQuery)))
	prefix := perOp(testing.Benchmark(s.search(benchPrefixQuery)))

	fmt.Printf("BENCH catalog-first-page-overhead %.2f x-vs-raw-http\n", f/r)
	fmt.Printf("BENCH catalog-first-page %.2f ms\n", f/1e6)
	fmt.Printf("BENCH local-search-10k %.2f ms\n", two/1e6)
	fmt.Printf("BENCH local-search-10k-prefix %.2f ms\n", prefix/1e6)
}
