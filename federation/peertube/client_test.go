package peertube_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func client(t *testing.T, base string, opt peertube.Options) *peertube.Client {
	t.Helper()
	c, err := peertube.New(base, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCapturedCatalog(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	c := client(t, s.URL, peertube.Options{})
	ctx := context.Background()

	cfg, err := c.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerVersion != "6.3.0" || cfg.Instance.Name != "PeerTube" {
		t.Errorf("config = %q %q", cfg.ServerVersion, cfg.Instance.Name)
	}

	page, err := c.Videos(ctx, peertube.ListOptions{Sort: peertube.SortRecent, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || len(page.Data) != 1 {
		t.Fatalf("page = %d/%d", len(page.Data), page.Total)
	}
	v := page.Data[0]
	if v.UUID != peertubetest.CapturedUUID || v.Name != "Interop test video" || v.Duration != 10 {
		t.Errorf("video = %+v", v)
	}
	if v.Channel.Handle() != "root_channel@"+s.Host() || v.Account.Name != "root" {
		t.Errorf("channel %q account %q", v.Channel.Handle(), v.Account.Name)
	}
	if got := c.Abs(v.ThumbnailPath); !strings.HasPrefix(got, s.URL+"/lazy-static/thumbnails/") {
		t.Errorf("thumbnail = %q", got)
	}
	if v.PublishedAt.IsZero() || v.PublishedAt.Year() != 2026 {
		t.Errorf("publishedAt = %v", v.PublishedAt)
	}

	d, err := c.Video(ctx, v.UUID)
	if err != nil {
		t.Fatal(err)
	}
	files := d.AllFiles()
	if len(d.Files) != 2 || len(d.StreamingPlaylists) != 1 || len(files) != 4 {
		t.Fatalf("files: web %d, playlists %d, all %d", len(d.Files), len(d.StreamingPlaylists), len(files))
	}
	hls := d.StreamingPlaylists[0].Files[0]
	if hls.Resolution.ID != 360 || hls.Size != 176417 || !strings.Contains(hls.FileURL, s.Host()) ||
		!strings.HasSuffix(hls.TorrentURL, "-360-hls.torrent") || !strings.Contains(hls.MagnetURI, "xt=urn:btih:3b9adf06f30b41f3e05caf1a0aa01b651cfa36b5") {
		t.Errorf("hls file = %+v", hls)
	}
	if strings.Join(d.Tags, ",") != "interop,test" || d.Licence.Label != "Attribution" || d.Support != "" {
		t.Errorf("tags %v licence %q support %q", d.Tags, d.Licence.Label, d.Support)
	}
	desc, err := c.Description(ctx, v.UUID)
	if err != nil || desc != "A 10s testsrc video for interop testing" {
		t.Errorf("description = %q, %v", desc, err)
	}

	sr, err := c.Search(ctx, "interop", peertube.ListOptions{})
	if err != nil || sr.Total != 1 || sr.Data[0].UUID != v.UUID {
		t.Errorf("search = %+v, %v", sr, err)
	}
	none, err := c.Search(ctx, "no such thing", peertube.ListOptions{})
	if err != nil || none.Total != 0 || len(none.Data) != 0 {
		t.Errorf("empty search = %+v, %v", none, err)
	}
	cv, err := c.ChannelVideos(ctx, "root_channel", peertube.ListOptions{})
	if err != nil || len(cv.Data) != 1 {
		t.Errorf("channel videos = %+v, %v", cv, err)
	}
	av, err := c.AccountVideos(ctx, "root", peertube.ListOptions{})
	if err != nil || len(av.Data) != 1 {
		t.Errorf("account videos = %+v, %v", av, err)
	}
	if _, err := c.Video(ctx, "00000000-0000-4000-8000-000000000000"); !peertube.NotFound(err) {
		t.Errorf("missing video: %v", err)
	}
}

func TestPaging(t *testing.T) {
	s := peertubetest.NewSynthetic(40)
	defer s.Close()
	c := client(t, s.URL, peertube.Options{})
	seen := map[string]bool{}
	for start := 0; start < 40; start += 15 {
		p, err := c.Videos(context.Background(), peertube.ListOptions{Start: start, Count: 15})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 40 {
			t.Fatalf("total = %d", p.Total)
		}
		for _, v := range p.Data {
			if seen[v.UUID] {
				t.Fatalf("duplicate %s at start %d", v.UUID, start)
			}
			seen[v.UUID] = true
		}
	}
	if len(seen) != 40 {
		t.Errorf("saw %d videos, want 40", len(seen))
	}
	// count is capped at PeerTube's maximum rather than rejected
	p, err := c.Videos(context.Background(), peertube.ListOptions{Count: 500})
	if err != nil || len(p.Data) != 40 {
		t.Errorf("count 500: %d, %v", len(p.Data), err)
	}
}

func TestRateLimitBacksOffAndRetries(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	c := client(t, s.URL, peertube.Options{MaxBackoff: 50 * time.Millisecond})
	s.Fail429(2)
	p, err := c.Videos(context.Background(), peertube.ListOptions{})
	if err != nil || len(p.Data) != 1 {
		t.Fatalf("after 2×429: %v", err)
	}
	if n := s.Requests.Load(); n != 3 {
		t.Errorf("requests = %d, want 3 (two refused, one served)", n)
	}

	s.Fail429(10)
	c2 := client(t, s.URL, peertube.Options{Retries: 2, MaxBackoff: time.Millisecond})
	_, err = c2.Videos(context.Background(), peertube.ListOptions{})
	var he *peertube.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
		t.Fatalf("persistent 429: %v", err)
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	s.Fail429(1) // Retry-After: 1 second
	c := client(t, s.URL, peertube.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Videos(ctx, peertube.ListOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded while backing off, got %v", err)
	}
}

func TestTimeout(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	s.SetDelay(2 * time.Second)
	c := client(t, s.URL, peertube.Options{Timeout: 100 * time.Millisecond})
	_, err := c.Videos(context.Background(), peertube.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("want a timeout error, got %v", err)
	}
}

func TestHostileAnswers(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	c := client(t, s.URL, peertube.Options{MaxBody: 64 << 10})
	ctx := context.Background()
	cases := []struct {
		name, ctype, body string
		status            int
		check             func(error) bool
	}{
		{"html", "text/html", "<!DOCTYPE html><html>Welcome to nginx</html>", 200,
			func(err error) bool {
				return errors.Is(err, peertube.ErrNotPeerTube) && strings.Contains(err.Error(), "HTML")
			}},
		{"other json", "application/json", `{"hello":"world"}`, 200,
			func(err error) bool { return errors.Is(err, peertube.ErrNotPeerTube) }},
		{"data not a list", "application/json", `{"total":3,"data":{"a":1}}`, 200,
			func(err error) bool { return errors.Is(err, peertube.ErrNotPeerTube) }},
		{"truncated json", "application/json", `{"total":3,"data":[{"uuid":"x","na`, 200,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "malformed JSON") }},
		{"huge", "application/json", `{"total":1,"data":["` + strings.Repeat("x", 100<<10) + `"]}`, 200,
			func(err error) bool { return errors.Is(err, peertube.ErrTooLarge) }},
		{"server error", "application/json", `{"detail":"database down"}`, 500,
			func(err error) bool {
				var he *peertube.HTTPError
				return errors.As(err, &he) && he.Status == 500 && strings.Contains(err.Error(), "database down")
			}},
		{"empty", "application/json", ``, 200,
			func(err error) bool { return errors.Is(err, peertube.ErrNotPeerTube) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.Handle("/api/v1/videos", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			defer s.Handle("/api/v1/videos", nil)
			p, err := c.Videos(ctx, peertube.ListOptions{})
			if !tc.check(err) {
				t.Fatalf("got page %+v, err %v", p, err)
			}
		})
	}
}

func TestBadItemsAreSkippedNotFatal(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	s.Handle("/api/v1/videos", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"total":3,"data":[
			{"uuid":"11111111-1111-4111-8111-111111111111","name":"Good one","duration":5},
			{"uuid":"22222222-2222-4222-8222-222222222222","name":"Bad views","views":"many"},
			{"name":"No uuid"}]}`))
	})
	c := client(t, s.URL, peertube.Options{})
	p, err := c.Videos(context.Background(), peertube.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Data) != 1 || p.Data[0].Name != "Good one" || p.Total != 3 {
		t.Errorf("page = %+v", p)
	}
}

func TestConfigRejectsNonPeerTube(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>My blog</body></html>"))
	}))
	defer html.Close()
	_, err := client(t, html.URL, peertube.Options{}).Config(context.Background())
	if !errors.Is(err, peertube.ErrNotPeerTube) {
		t.Fatalf("html site: %v", err)
	}
	mastodonish := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"uri":"social.example","title":"Mastodon"}`))
	}))
	defer mastodonish.Close()
	_, err = client(t, mastodonish.URL, peertube.Options{}).Config(context.Background())
	if !errors.Is(err, peertube.ErrNotPeerTube) {
		t.Fatalf("other JSON: %v", err)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	_, err = client(t, gone.URL, peertube.Options{Retries: -1}).Config(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("closed server: %v", err)
	}
}

func TestParseBase(t *testing.T) {
	for in, want := range map[string]string{
		"framatube.org":                          "https://framatube.org",
		" https://Video.Blender.org/ ":           "https://video.blender.org",
		"http://127.0.0.1:9000/videos/watch/abc": "http://127.0.0.1:9000",
		"https://tilvids.com/w/xyz?start=3":      "https://tilvids.com",
	} {
		u, err := peertube.ParseBase(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseBase(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x.org", "https://", "has space.org"} {
		if _, err := peertube.ParseBase(bad); err == nil {
			t.Errorf("ParseBase(%q) accepted", bad)
		}
	}
	if h := peertube.HostOf("https://Framatube.org/w/abc"); h != "framatube.org" {
		t.Errorf("HostOf = %q", h)
	}
}
