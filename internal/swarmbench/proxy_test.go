package swarmbench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestCountingProxyCountsBodiesByPrefix(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/static/web-videos/"):
			// A Range request is served as the origin answers it.
			http.ServeContent(w, r, "v.mp4", fakeModTime, strings.NewReader(strings.Repeat("x", 1000)))
		case r.URL.Path == "/host":
			io.WriteString(w, r.Host)
		default:
			io.WriteString(w, "hello")
		}
	}))
	defer origin.Close()
	target, _ := url.Parse(origin.URL)
	p := NewCountingProxy(target, slog.New(slog.DiscardHandler), "/static/", "/static/web-videos/", "/tracker/")
	front := httptest.NewServer(p)
	defer front.Close()

	get := func(path, rng string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", front.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	get("/static/web-videos/v.mp4", "")
	if code, body := get("/static/web-videos/v.mp4", "bytes=100-199"); code != http.StatusPartialContent || len(body) != 100 {
		t.Fatalf("range through the proxy: %d, %d bytes; want 206, 100 bytes", code, len(body))
	}
	get("/other", "")
	if _, host := get("/host", ""); host != strings.TrimPrefix(front.URL, "http://") {
		t.Errorf("the origin saw Host %q, want the proxy's %q (the public URL's host)", host, front.URL)
	}
	c := p.Counts()
	if got := c["/static/web-videos/"]; got.Bytes != 1100 || got.Requests != 2 {
		t.Errorf("web seed counts %+v, want 1100 bytes in 2 requests (the longest prefix wins)", got)
	}
	if got := c["/static/"]; got.Requests != 0 {
		t.Errorf("/static/ counted %+v, want nothing", got)
	}
	if got := c[""]; got.Requests != 2 || got.Bytes != int64(len("hello")+len(strings.TrimPrefix(front.URL, "http://"))) {
		t.Errorf("other paths counted %+v", got)
	}

	// Blocking refuses a prefix without counting it; Reset zeroes.
	p.Block("/tracker/")
	if code, _ := get("/tracker/announce?info_hash=x", ""); code != http.StatusServiceUnavailable {
		t.Errorf("blocked tracker answered %d, want 503", code)
	}
	if code, _ := get("/other", ""); code != http.StatusOK {
		t.Errorf("a path outside the blocked prefix answered %d", code)
	}
	if got := p.Counts()["/tracker/"]; got.Requests != 0 {
		t.Errorf("a refused request was counted: %+v", got)
	}
	p.Block()
	if code, _ := get("/tracker/announce", ""); code != http.StatusOK {
		t.Errorf("after Block() the tracker answered %d, want 200", code)
	}
	p.Reset()
	for pr, got := range p.Counts() {
		if got != (Counts{}) {
			t.Errorf("after Reset, %q counts %+v", pr, got)
		}
	}
}
