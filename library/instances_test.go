package library

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func TestAddInstanceCaptured(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewCaptured(t)
	clock := newClock()
	l := openTest(t, Options{Now: clock.Now})
	in, err := l.AddInstance(ctx, " "+s.URL+"/videos/watch/x ")
	if err != nil {
		t.Fatal(err)
	}
	want := Instance{Host: s.Host(), BaseURL: s.URL, Name: "PeerTube",
		Description: "PeerTube, an ActivityPub-federated video streaming platform using P2P directly in your web browser.",
		Version:     "6.3.0", AddedAt: clock.Now(), CheckedAt: clock.Now()}
	if in != want {
		t.Errorf("AddInstance = %+v\nwant %+v", in, want)
	}
	ins, err := l.Instances(ctx)
	if err != nil || len(ins) != 1 || ins[0] != want {
		t.Errorf("Instances = %+v, %v", ins, err)
	}
	// Adding again refreshes but keeps AddedAt.
	clock.Add(3600e9)
	in2, err := l.AddInstance(ctx, s.Host())
	if err == nil {
		t.Errorf("bare host means https; the http stand-in should not answer: %+v", in2)
	}
	in2, err = l.AddInstance(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !in2.AddedAt.Equal(want.AddedAt) || !in2.CheckedAt.Equal(clock.Now()) {
		t.Errorf("re-add: %+v", in2)
	}
}

func TestAddInstanceNotPeerTube(t *testing.T) {
	ctx := context.Background()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>My blog</title>"))
	}))
	defer html.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	otherJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name":"not peertube"}`))
	}))
	defer otherJSON.Close()

	l := openTest(t, Options{})
	for name, url := range map[string]string{"html": html.URL, "404": notFound.URL, "other json": otherJSON.URL} {
		_, err := l.AddInstance(ctx, url)
		if !errors.Is(err, peertube.ErrNotPeerTube) {
			t.Errorf("%s: %v, want ErrNotPeerTube", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "not a PeerTube instance") || !strings.Contains(err.Error(), peertube.HostOf(url)) {
			t.Errorf("%s: unclear error %q", name, err)
		}
	}
	if ins, _ := l.Instances(ctx); len(ins) != 0 {
		t.Errorf("failed adds stored %+v", ins)
	}
}

func TestAddInstanceUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	l := openTest(t, Options{})
	_, err = l.AddInstance(context.Background(), "http://"+addr)
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("unreachable instance: %v", err)
	}
	if errors.Is(err, peertube.ErrNotPeerTube) {
		t.Error("an unreachable server is not 'not PeerTube'")
	}
	if _, err := l.AddInstance(context.Background(), "ftp://example.org"); err == nil {
		t.Error("ftp accepted")
	}
	if _, err := l.AddInstance(context.Background(), "  "); err == nil {
		t.Error("empty accepted")
	}
}

func TestRemoveInstanceAndSources(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(5)
	defer s.Close()
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	if src.Name != "Demo PeerTube" {
		t.Errorf("source name %q", src.Name)
	}
	srcs, err := l.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{src, {Kind: SourceGlobal, Host: "127.0.0.1:9", Name: GlobalSourceName}, {Kind: SourceLocal, Name: LocalSourceName}}
	if len(srcs) != 3 || srcs[0] != want[0] || srcs[1] != want[1] || srcs[2] != want[2] {
		t.Errorf("Sources = %+v\nwant %+v", srcs, want)
	}
	p, err := l.Fetch(ctx, Query{Source: src})
	if err != nil || len(p.Videos) != 5 {
		t.Fatalf("Fetch: %d videos, %v", len(p.Videos), err)
	}
	if err := l.RemoveInstance(ctx, s.URL); err != nil {
		t.Fatal(err)
	}
	if err := l.RemoveInstance(ctx, s.Host()); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice: %v, want ErrNotFound", err)
	}
	// Its pages are gone, its videos stay searchable.
	c, err := l.Cached(ctx, Query{Source: src})
	if err != nil || len(c.Videos) != 0 || !c.FromCache {
		t.Errorf("Cached after remove: %+v %v", c, err)
	}
	loc, err := l.Fetch(ctx, Query{Source: Source{Kind: SourceLocal}})
	if err != nil || loc.Total != 5 {
		t.Errorf("local after remove: total %d, %v", loc.Total, err)
	}
	srcs, _ = l.Sources(ctx)
	if len(srcs) != 2 || srcs[0].Kind != SourceGlobal {
		t.Errorf("Sources after remove = %+v", srcs)
	}
}

func TestInstancesSortedByName(t *testing.T) {
	ctx := context.Background()
	opt := testOptions(t.TempDir())
	opt.DefaultInstances = []string{"zeta.example", "Alpha.example", "https://mid.example/", "not a host"}
	l := openTest(t, opt)
	ins, err := l.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range ins {
		got = append(got, in.Host)
	}
	if strings.Join(got, " ") != "alpha.example mid.example zeta.example" {
		t.Errorf("instances %v", got)
	}
}
