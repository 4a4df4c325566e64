package library

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func TestFetchCapturedList(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewCaptured(t)
	clock := newClock()
	l := openTest(t, Options{Now: clock.Now})
	src := instanceSource(t, l, s)
	p, err := l.Fetch(ctx, Query{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if p.FromCache || p.Total != 1 || len(p.Videos) != 1 || !p.FetchedAt.Equal(clock.Now()) {
		t.Fatalf("page %+v", p)
	}
	v := p.Videos[0]
	h := s.Host()
	want := Video{
		UUID:         peertubetest.CapturedUUID,
		URL:          "http://" + h + "/videos/watch/" + peertubetest.CapturedUUID,
		Origin:       h,
		Name:         "Interop test video",
		Description:  "A 10s testsrc video for interop testing",
		Duration:     10 * time.Second,
		PublishedAt:  time.Date(2026, 11, 23, 2, 25, 55, 961e6, time.UTC),
		ThumbnailURL: "http://" + h + "/lazy-static/thumbnails/6a656547-eadf-4b71-ad09-307037a15932.jpg",
		PreviewURL:   "http://" + h + "/lazy-static/previews/87799b6c-7a8d-46c8-9d6e-ae2a78493f95.jpg",
		Channel:      Actor{Name: "root_channel", DisplayName: "Main root channel", Host: h, URL: "http://" + h + "/video-channels/root_channel"},
		Account:      Actor{Name: "root", DisplayName: "root", Host: h, URL: "http://" + h + "/accounts/root"},
		Category:     "Science & Technology",
		Licence:      "Attribution",
		Language:     "English",
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("video\n got %+v\nwant %+v", v, want)
	}
	if v.Channel.Handle() != "root_channel@"+h {
		t.Errorf("handle %q", v.Channel.Handle())
	}
	c, err := l.Cached(ctx, Query{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if !c.FromCache || !reflect.DeepEqual(c.Videos, p.Videos) || c.Total != 1 || !c.FetchedAt.Equal(p.FetchedAt) {
		t.Errorf("Cached %+v differs from Fetch %+v", c, p)
	}
	// The captured search answers too.
	sp, err := l.Fetch(ctx, Query{Source: src, Search: "interop"})
	if err != nil || len(sp.Videos) != 1 || sp.Videos[0].UUID != peertubetest.CapturedUUID {
		t.Errorf("search: %+v %v", sp, err)
	}
}

func TestCachedNeverFetched(t *testing.T) {
	l := openTest(t, Options{})
	p, err := l.Cached(context.Background(), Query{Source: Source{Kind: SourceInstance, Host: "never.example"}})
	if err != nil || !p.FromCache || len(p.Videos) != 0 || p.Total != 0 || !p.FetchedAt.IsZero() {
		t.Errorf("never fetched: %+v %v", p, err)
	}
}

func TestFetchPagingSynthetic(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(60)
	defer s.Close()
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	seen := map[string]int{}
	var all []string
	for page := 0; page < 3; page++ {
		p, err := l.Fetch(ctx, Query{Source: src, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		wantLen := []int{24, 24, 12}[page]
		if p.Total != 60 || len(p.Videos) != wantLen {
			t.Fatalf("page %d: total %d, %d videos", page, p.Total, len(p.Videos))
		}
		for _, v := range p.Videos {
			if prev, dup := seen[v.UUID]; dup {
				t.Errorf("video %s on pages %d and %d", v.UUID, prev, page)
			}
			seen[v.UUID] = page
			all = append(all, v.UUID)
		}
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct videos over 3 pages, want 60", len(seen))
	}
	// Newest first, like the server's catalog.
	for i, u := range all {
		if want := peertubetest.SyntheticVideo(s.URL, i).UUID; u != want {
			t.Fatalf("video %d is %s, want %s", i, u, want)
		}
	}
	p, err := l.Fetch(ctx, Query{Source: src, Page: 3})
	if err != nil || len(p.Videos) != 0 || p.Total != 60 {
		t.Errorf("page past the end: %d videos total %d %v", len(p.Videos), p.Total, err)
	}
	// Another page size is another page.
	p, err = l.Fetch(ctx, Query{Source: src, PageSize: 500})
	if err != nil || len(p.Videos) != 60 {
		t.Errorf("page size 500 (capped at 100): %d videos, %v", len(p.Videos), err)
	}
	// Cached pages come back in the same order.
	for page := 0; page < 3; page++ {
		c, err := l.Cached(ctx, Query{Source: src, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		want := all[page*24 : min(page*24+24, 60)]
		if !reflect.DeepEqual(uuids(c.Videos), want) || !c.FromCache || c.Total != 60 {
			t.Errorf("cached page %d: %v", page, uuids(c.Videos))
		}
	}
	// Searching pages too; the stand-in matches titles and descriptions.
	sp, err := l.Fetch(ctx, Query{Source: src, Search: "  Linux  ", PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Total == 0 || sp.Total > 60 || len(sp.Videos) != min(5, sp.Total) {
		t.Errorf("search: total %d, %d videos", sp.Total, len(sp.Videos))
	}
	for _, v := range sp.Videos {
		if !strings.Contains(strings.ToLower(v.Name+v.Description), "linux") {
			t.Errorf("search result %q has no linux", v.Name)
		}
	}
	cs, _ := l.Cached(ctx, Query{Source: src, Search: "linux", PageSize: 5})
	if !reflect.DeepEqual(uuids(cs.Videos), uuids(sp.Videos)) {
		t.Errorf("cached search differs: %v vs %v", uuids(cs.Videos), uuids(sp.Videos))
	}
}

// recordQueries overrides path on s to record each request's query and
// answer with the given videos.
func recordQueries(s *peertubetest.Server, path string, answer []peertube.VideoDetails) *[]string {
	var mu sync.Mutex
	var got []string
	s.Handle(path, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RawQuery)
		mu.Unlock()
		list := peertube.Page[peertube.Video]{Total: len(answer), Data: []peertube.Video{}}
		for _, d := range answer {
			list.Data = append(list.Data, d.Video)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	})
	return &got
}

func TestFetchSortMapping(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(0)
	defer s.Close()
	vids := []peertube.VideoDetails{peertubetest.SyntheticVideo(s.URL, 1)}
	list := recordQueries(s, "/api/v1/videos", vids)
	search := recordQueries(s, "/api/v1/search/videos", vids)
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	if err := l.SetSearchIndexURL(ctx, s.URL); err != nil {
		t.Fatal(err)
	}
	global := Source{Kind: SourceGlobal}
	cases := []struct {
		q    Query
		list bool
		want string
	}{
		{Query{Source: src}, true, "count=24&sort=-publishedAt"},
		{Query{Source: src, Sort: SortTrending, Page: 2}, true, "count=24&sort=-trending&start=48"},
		{Query{Source: src, Sort: SortMostViewed, PageSize: 10}, true, "count=10&sort=-views"},
		{Query{Source: src, Sort: SortRelevance}, true, "count=24&sort=-publishedAt"},
		{Query{Source: src, Search: "ants"}, false, "count=24&search=ants&sort=-match"},
		{Query{Source: src, Search: "ants", Sort: SortRecent}, false, "count=24&search=ants&sort=-publishedAt"},
		{Query{Source: src, Search: "ants", Sort: SortTrending}, false, "count=24&search=ants&sort=-views"},
		{Query{Source: global}, false, "count=24&sort=-publishedAt"},
		{Query{Source: global, Search: "free  software", PageSize: 200}, false, "count=100&search=free+software&sort=-match"},
	}
	for _, c := range cases {
		before := len(*list) + len(*search)
		if _, err := l.Fetch(ctx, c.q); err != nil {
			t.Errorf("%+v: %v", c.q, err)
			continue
		}
		rec := *search
		if c.list {
			rec = *list
		}
		if len(*list)+len(*search) != before+1 || rec[len(rec)-1] != c.want {
			t.Errorf("%+v: asked %q, want %q", c.q, rec[len(rec)-1], c.want)
		}
	}
	if _, err := l.Fetch(ctx, Query{Source: src, Sort: "random"}); err == nil {
		t.Error("unknown sort accepted")
	}
}

func TestFetchGlobalResolvesAgainstOrigin(t *testing.T) {
	ctx := context.Background()
	origin := peertubetest.NewSynthetic(0)
	defer origin.Close()
	index := peertubetest.NewSynthetic(0)
	defer index.Close()
	d := peertubetest.SyntheticVideo(origin.URL, 7)
	d.Channel.Avatars = []peertube.Image{{Path: "/lazy-static/avatars/big.png", Width: 600}, {Path: "/lazy-static/avatars/small.png", Width: 120}, {Path: "/lazy-static/avatars/tiny.png", Width: 30}}
	recordQueries(index, "/api/v1/search/videos", []peertube.VideoDetails{d})
	l := openTest(t, Options{})
	if err := l.SetSearchIndexURL(ctx, index.URL); err != nil {
		t.Fatal(err)
	}
	p, err := l.Fetch(ctx, Query{Source: Source{Kind: SourceGlobal}, Search: "ants"})
	if err != nil || len(p.Videos) != 1 {
		t.Fatalf("global: %+v %v", p, err)
	}
	v := p.Videos[0]
	if v.Origin != origin.Host() || v.ThumbnailURL != origin.URL+d.ThumbnailPath || v.Channel.AvatarURL != origin.URL+"/lazy-static/avatars/small.png" {
		t.Errorf("global result not resolved against its origin: %+v", v)
	}
	// The global cache key follows the configured index.
	c, _ := l.Cached(ctx, Query{Source: Source{Kind: SourceGlobal, Host: "whatever"}, Search: "Ants"})
	if len(c.Videos) != 1 {
		t.Errorf("cached global: %+v", c)
	}
}

func TestFetchErrorsKeepCache(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(30)
	defer s.Close()
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	q := Query{Source: src, PageSize: 10}
	good, err := l.Fetch(ctx, q)
	if err != nil || len(good.Videos) != 10 {
		t.Fatalf("first fetch: %v", err)
	}
	answers := map[string]http.HandlerFunc{
		"html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body>Maintenance</body></html>"))
		},
		"500": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			w.Write([]byte(`{"error":"boom"}`))
		},
		"garbage": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("\x00\x01garbage{{{"))
		},
		"truncated JSON": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"total":30,"data":[{"uuid":"f0000000-0000-4000-8000-000000000000","name":"Ants`))
		},
		"wrong shape": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"total":"many","data":{}}`))
		},
		"no data": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"videos":[]}`))
		},
		"hang up": func(w http.ResponseWriter, r *http.Request) {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		},
	}
	for name, h := range answers {
		s.Handle("/api/v1/videos", h)
		p, err := l.Fetch(ctx, q)
		if err == nil {
			t.Errorf("%s: Fetch succeeded with %+v", name, p)
		}
		c, err := l.Cached(ctx, q)
		if err != nil || !reflect.DeepEqual(c.Videos, good.Videos) || c.Total != good.Total {
			t.Errorf("%s: cache changed: %v %v", name, uuids(c.Videos), err)
		}
	}
	s.Handle("/api/v1/videos", nil)
	// Odd items are skipped, the rest of the page is kept.
	s.Handle("/api/v1/videos", func(w http.ResponseWriter, r *http.Request) {
		v := peertubetest.SyntheticVideo(s.URL, 3).Video
		b, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"total":3,"data":[{"uuid":42},{"name":"no uuid"},%s,{"uuid":"x","name":"y","duration":"long"}]}`, b)
	})
	p, err := l.Fetch(ctx, q)
	if err != nil || len(p.Videos) != 1 || p.Videos[0].UUID != peertubetest.SyntheticVideo(s.URL, 3).UUID {
		t.Errorf("page with odd items: %v %v", uuids(p.Videos), err)
	}
}

func TestFetchRetries429(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(3)
	defer s.Close()
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	before := s.Requests.Load()
	s.Fail429(1)
	p, err := l.Fetch(ctx, Query{Source: src})
	if err != nil || len(p.Videos) != 3 {
		t.Fatalf("after one 429: %d videos, %v", len(p.Videos), err)
	}
	if n := s.Requests.Load() - before; n != 2 {
		t.Errorf("%d requests, want 2 (429 then retry)", n)
	}
}

func TestFetchConcurrent(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(50)
	defer s.Close()
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := Query{Source: src, Page: i % 3, PageSize: 20}
			if i%2 == 0 {
				_, err := l.Fetch(ctx, q)
				errs <- err
			} else {
				_, err := l.Cached(ctx, q)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	p, _ := l.Fetch(ctx, Query{Source: Source{Kind: SourceLocal}})
	if p.Total != 50 {
		t.Errorf("local total %d, want 50", p.Total)
	}
}
