package library

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func TestFetchVideoCapturedFiles(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewCaptured(t)
	clock := newClock()
	l := openTest(t, Options{Now: clock.Now})
	src := instanceSource(t, l, s)
	if _, err := l.Fetch(ctx, Query{Source: src}); err != nil {
		t.Fatal(err)
	}
	listed, err := l.Video(ctx, peertubetest.CapturedUUID)
	if err != nil {
		t.Fatal(err)
	}
	if !listed.DetailsAt.IsZero() || listed.Files != nil || listed.Tags != nil {
		t.Errorf("listed video already has details: %+v", listed)
	}
	clock.Add(60e9)
	v, err := l.FetchVideo(ctx, peertubetest.CapturedUUID)
	if err != nil {
		t.Fatal(err)
	}
	h := "http://" + s.Host()
	u := peertubetest.CapturedUUID
	want := []VideoFile{
		{Resolution: 360, Label: "360p", Width: 640, Height: 360, Size: 178603, FPS: 25,
			TorrentURL: h + "/lazy-static/torrents/2e66724f-fade-4928-abda-512ab3cc2bb1-360.torrent",
			FileURL:    h + "/static/web-videos/2f704993-adfd-4a83-a3a4-b07f1e680cf6-360.mp4"},
		{Resolution: 240, Label: "240p", Width: 426, Height: 240, Size: 152702, FPS: 25,
			TorrentURL: h + "/lazy-static/torrents/3c2fda76-8f7d-42ea-abce-0bed0b513d97-240.torrent",
			FileURL:    h + "/static/web-videos/439e3707-dfae-4cdc-a4d9-8c88d90c0e38-240.mp4"},
		{Resolution: 360, Label: "360p", Width: 640, Height: 360, Size: 176417, FPS: 25, HLS: true,
			TorrentURL: h + "/lazy-static/torrents/7bc1a6f3-4c78-4062-a333-83d25b2cd02f-360-hls.torrent",
			FileURL:    h + "/static/streaming-playlists/hls/" + u + "/43bfb6ca-a426-4b71-9ee5-f316c44e4f91-360-fragmented.mp4"},
		{Resolution: 240, Label: "240p", Width: 426, Height: 240, Size: 150996, FPS: 25, HLS: true,
			TorrentURL: h + "/lazy-static/torrents/5d5021d7-ac12-4df6-b9c1-fac77a7bcc3d-240-hls.torrent",
			FileURL:    h + "/static/streaming-playlists/hls/" + u + "/b58e7078-252e-4b35-b142-59f555f2742e-240-fragmented.mp4"},
	}
	btih := []string{"cab7a3977c4d43f7167a5132ebe498a21253172d", "320169716a7905cf2410d92fa38d58ed05c3eb66",
		"3b9adf06f30b41f3e05caf1a0aa01b651cfa36b5", "840d8e65d656d9e713f89e7e90f94fa3edda3e23"}
	if len(v.Files) != len(want) {
		t.Fatalf("%d files, want %d: %+v", len(v.Files), len(want), v.Files)
	}
	for i, f := range v.Files {
		if !strings.HasPrefix(f.MagnetURI, "magnet:?") || !strings.Contains(f.MagnetURI, "urn:btih:"+btih[i]) ||
			!strings.Contains(f.MagnetURI, strings.ReplaceAll(s.Host(), ":", "%3A")) {
			t.Errorf("file %d magnet %q", i, f.MagnetURI)
		}
		f.MagnetURI = ""
		if f != want[i] {
			t.Errorf("file %d\n got %+v\nwant %+v", i, f, want[i])
		}
	}
	if !reflect.DeepEqual(v.Tags, []string{"interop", "test"}) || v.Category != "Science & Technology" ||
		v.Licence != "Attribution" || v.Language != "English" || v.Support != "" || !v.DetailsAt.Equal(clock.Now()) {
		t.Errorf("details: %+v", v)
	}
	cached, err := l.Video(ctx, u)
	if err != nil || !reflect.DeepEqual(cached, v) {
		t.Errorf("Video after FetchVideo differs:\n%+v\n%+v (%v)", cached, v, err)
	}
	// A new listing keeps the details.
	if _, err := l.Fetch(ctx, Query{Source: src}); err != nil {
		t.Fatal(err)
	}
	again, _ := l.Video(ctx, u)
	if len(again.Files) != 4 || !reflect.DeepEqual(again.Tags, v.Tags) || again.DetailsAt.IsZero() {
		t.Errorf("listing dropped details: %+v", again)
	}
	// Tags are searchable now.
	found, err := l.SearchLocal(ctx, "interop", 10)
	if err != nil || len(found) != 1 {
		t.Errorf("search by tag after details: %v %v", uuids(found), err)
	}
	checkFTS(t, l)
}

func TestVideoUnknown(t *testing.T) {
	l := openTest(t, Options{})
	if _, err := l.Video(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Video(unknown): %v", err)
	}
	if _, err := l.FetchVideo(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FetchVideo(unknown): %v", err)
	}
}

func TestFetchVideoFallsBackToListingInstance(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(3)
	defer s.Close()
	// The listing says the videos live on an origin that does not answer
	// (loopback port 9: nothing listens).
	s.Handle("/api/v1/videos", func(w http.ResponseWriter, r *http.Request) {
		var list peertube.Page[peertube.Video]
		list.Total = 3
		for k := range 3 {
			v := peertubetest.SyntheticVideo(s.URL, k).Video
			v.URL = "http://127.0.0.1:9/videos/watch/" + v.UUID
			list.Data = append(list.Data, v)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	})
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	p, err := l.Fetch(ctx, Query{Source: src})
	if err != nil || len(p.Videos) != 3 {
		t.Fatalf("fetch: %v", err)
	}
	if p.Videos[0].Origin != "127.0.0.1:9" {
		t.Fatalf("origin %q", p.Videos[0].Origin)
	}
	v, err := l.FetchVideo(ctx, p.Videos[0].UUID)
	if err != nil {
		t.Fatalf("FetchVideo with a dead origin: %v", err)
	}
	if len(v.Files) != 3 || !v.Files[0].HLS || v.Files[0].Resolution != 720 || !strings.HasPrefix(v.Files[0].TorrentURL, s.URL) {
		t.Errorf("files from the listing instance: %+v", v.Files)
	}
	// When nobody has it, the error says so and the cache stays.
	s.Close()
	before, _ := l.Video(ctx, p.Videos[1].UUID)
	if _, err := l.FetchVideo(ctx, p.Videos[1].UUID); err == nil {
		t.Error("FetchVideo with everything down succeeded")
	}
	after, _ := l.Video(ctx, p.Videos[1].UUID)
	if !reflect.DeepEqual(before, after) {
		t.Error("failed FetchVideo changed the cache")
	}
}

func TestFetchVideoFullDescription(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(1)
	defer s.Close()
	d := peertubetest.SyntheticVideo(s.URL, 0)
	full := strings.Repeat("A long story. ", 40)
	s.Handle("/api/v1/videos/"+d.UUID, func(w http.ResponseWriter, r *http.Request) {
		cut := d
		cut.Description = full[:247] + "..."
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(cut)
	})
	s.Handle("/api/v1/videos/"+d.UUID+"/description", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"description": full})
	})
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	if _, err := l.Fetch(ctx, Query{Source: src}); err != nil {
		t.Fatal(err)
	}
	v, err := l.FetchVideo(ctx, d.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Description != full {
		t.Errorf("description %q, want the full one", v.Description)
	}
}
