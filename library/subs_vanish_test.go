package library

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// channelList is root_channel's video list on a stand-in, under the
// test's control: the videos listed (newest first) and how the origin
// answers for each video's details.
type channelList struct {
	mu     sync.Mutex
	listed []peertube.VideoDetails
	status map[string]int // uuid → the details' HTTP status (0: 200)
	asked  map[string]int // uuid → details requests
}

// serveChannelList serves root_channel on s (ServeChannel's profile) with
// a list and per-video details the test controls.
func serveChannelList(t *testing.T, s *peertubetest.Server) *channelList {
	s.ServeChannel("root_channel")
	cl := &channelList{status: map[string]int{}, asked: map[string]int{}}
	s.Handle("/api/v1/video-channels/root_channel/videos", func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		count, _ := strconv.Atoi(r.URL.Query().Get("count"))
		cl.mu.Lock()
		page := peertube.Page[peertube.Video]{Total: len(cl.listed), Data: []peertube.Video{}}
		for i := start; i < len(cl.listed) && i < start+count; i++ {
			page.Data = append(page.Data, cl.listed[i].Video)
		}
		cl.mu.Unlock()
		b, _ := json.Marshal(page)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	return cl
}

// add lists d first (the newest) and serves its details.
func (cl *channelList) add(s *peertubetest.Server, d peertube.VideoDetails) {
	cl.mu.Lock()
	cl.listed = append([]peertube.VideoDetails{d}, cl.listed...)
	cl.mu.Unlock()
	b, _ := json.Marshal(d)
	s.Handle("/api/v1/videos/"+d.UUID, func(w http.ResponseWriter, r *http.Request) {
		cl.mu.Lock()
		code := cl.status[d.UUID]
		cl.asked[d.UUID]++
		cl.mu.Unlock()
		if code != 0 {
			http.Error(w, `{"status":`+strconv.Itoa(code)+`}`, code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}

// unlist takes a video out of the list; its details answer code.
func (cl *channelList) unlist(id string, code int) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.listed = slices.DeleteFunc(cl.listed, func(d peertube.VideoDetails) bool { return d.UUID == id })
	cl.status[id] = code
}

func (cl *channelList) askedFor(id string) int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.asked[id]
}

func feedUUIDs(t *testing.T, l *Library) []string {
	t.Helper()
	feed, err := l.Feed(testCtx(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range feed {
		out = append(out, it.Video.UUID)
	}
	return out
}

// A REST subscription notices deletions: a video deleted on the origin
// (gone from the list, its details 404) leaves the feed at the next
// refresh, with an event; one whose details answer 500 stays; one merely
// pushed off the first page by newer videos stays and is not even asked
// for.
func TestSubsVanishREST(t *testing.T) {
	ctx := testCtx(t)
	s := peertubetest.NewCaptured(t)
	cl := serveChannelList(t, s)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 0, 0, 0, time.UTC) }
	v1 := channelVideo(s, 1, "Old ants", day(1))
	v2 := channelVideo(s, 2, "Deleted ants", day(2))
	v3 := channelVideo(s, 3, "Flaky ants", day(3))
	for _, d := range []peertube.VideoDetails{v1, v2, v3} {
		cl.add(s, d)
	}
	l := subsLib(t)
	var evs feedEvents
	defer l.SubscribeFeed(evs.add)()
	if _, err := l.Subscribe(ctx, "root_channel@"+s.Host()); err != nil {
		t.Fatal(err)
	}
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	if got := feedUUIDs(t, l); !slices.Equal(got, []string{v3.UUID, v2.UUID, v1.UUID}) {
		t.Fatalf("feed: %q", got)
	}

	// Deleted on the origin: out of the feed and of the catalog.
	cl.unlist(v2.UUID, http.StatusNotFound)
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	if got := feedUUIDs(t, l); !slices.Equal(got, []string{v3.UUID, v1.UUID}) {
		t.Fatalf("feed after a deletion: %q", got)
	}
	if cl.askedFor(v2.UUID) != 1 {
		t.Errorf("the deletion was confirmed with %d requests, want 1", cl.askedFor(v2.UUID))
	}
	if _, err := l.Video(ctx, v2.UUID); err == nil {
		t.Error("the deleted video is still in the catalog")
	}
	waitFor(t, "the removal event", func() bool { return evs.has(FeedRemoved, v2.UUID) })

	// The origin fails on the newest one: kept (asked at each poll).
	cl.unlist(v3.UUID, http.StatusInternalServerError)
	for i := range 2 {
		if err := l.RefreshSubscriptions(ctx); err != nil {
			t.Fatal(err)
		}
		if got := feedUUIDs(t, l); !slices.Equal(got, []string{v3.UUID, v1.UUID}) {
			t.Fatalf("feed with the origin answering 500 (poll %d): %q", i+1, got)
		}
	}
	if cl.askedFor(v3.UUID) != 2 {
		t.Errorf("the 500 video was asked for %d times, want 2", cl.askedFor(v3.UUID))
	}
	cl.mu.Lock()
	cl.status[v3.UUID] = 0
	cl.mu.Unlock()
	cl.add(s, v3)
	cl.mu.Lock()
	cl.listed = []peertube.VideoDetails{v3, v1} // back as it was
	cl.mu.Unlock()

	// pollCount newer videos push v3 and v1 off the first page: kept,
	// not asked for.
	for k := range pollCount {
		cl.add(s, channelVideo(s, 10+k, fmt.Sprintf("New ants %d", k), day(10).Add(time.Duration(k)*time.Hour)))
	}
	asked1, asked3 := cl.askedFor(v1.UUID), cl.askedFor(v3.UUID)
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	got := feedUUIDs(t, l)
	if len(got) != pollCount+2 || !slices.Contains(got, v1.UUID) || !slices.Contains(got, v3.UUID) {
		t.Fatalf("feed after newer videos: %d items, old ones kept: %v %v", len(got), slices.Contains(got, v1.UUID), slices.Contains(got, v3.UUID))
	}
	if cl.askedFor(v1.UUID) != asked1 || cl.askedFor(v3.UUID) != asked3 {
		t.Error("videos pushed off the first page were asked for")
	}
}

// apChannel is an ActivityPub-only channel (no REST API) whose outbox
// announces the test's videos (newest first), each built from the
// captured Video with its own UUID, title and date.
type apChannel struct {
	srv    *httptest.Server
	mu     sync.Mutex
	videos []apVideo
	status map[string]int // uuid → the video's HTTP status (0: 200)
	asked  atomic.Int64
	tpl    []byte // the captured Video on this host
}

type apVideo struct {
	uuid string
	json []byte
}

func newAPChannel(t *testing.T) *apChannel {
	dir, err := peertubetest.FixturesDir()
	if err != nil {
		t.Fatal(err)
	}
	c := &apChannel{status: map[string]int{}}
	host := func() string { return strings.TrimPrefix(c.srv.URL, "http://") }
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
		}
		return bytes.ReplaceAll(b, []byte(peertubetest.CapturedHost), []byte(host()))
	}
	const ap = "application/activity+json; charset=utf-8"
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/.well-known/webfinger" && r.URL.Query().Get("resource") == "acct:root_channel@"+r.Host:
			w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
			w.Write(fixture("webfinger-root-channel.json"))
			return
		case p == "/video-channels/root_channel":
			w.Header().Set("Content-Type", ap)
			w.Write(fixture("ap-channel.json"))
			return
		case p == "/video-channels/root_channel/outbox":
			w.Header().Set("Content-Type", ap)
			outbox := c.srv.URL + "/video-channels/root_channel/outbox"
			if r.URL.Query().Get("page") != "1" {
				fmt.Fprintf(w, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"OrderedCollection","first":%q}`,
					outbox, outbox+"?page=1")
				return
			}
			c.mu.Lock()
			var items []map[string]any
			for _, v := range c.videos {
				iri := c.srv.URL + "/videos/watch/" + v.uuid
				items = append(items, map[string]any{"type": "Announce", "id": iri + "/announces/1",
					"actor": c.srv.URL + "/video-channels/root_channel", "object": iri,
					"to": []string{"https://www.w3.org/ns/activitystreams#Public"}})
			}
			c.mu.Unlock()
			b, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": outbox + "?page=1",
				"type": "OrderedCollectionPage", "partOf": outbox, "orderedItems": items, "totalItems": len(items)})
			w.Write(b)
			return
		case strings.HasPrefix(p, "/videos/watch/"):
			id := strings.TrimPrefix(p, "/videos/watch/")
			c.asked.Add(1)
			c.mu.Lock()
			code := c.status[id]
			var body []byte
			for _, v := range c.videos {
				if v.uuid == id {
					body = v.json
				}
			}
			c.mu.Unlock()
			if code != 0 {
				http.Error(w, "no", code)
				return
			}
			if body != nil {
				w.Header().Set("Content-Type", ap)
				w.Write(body)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(c.srv.Close)
	// The template: the captured video on this host.
	c.tpl = fixture("ap-video-watch.json")
	return c
}

// add announces a new video (first in the outbox) and returns its UUID.
func (c *apChannel) add(t *testing.T, name string, published time.Time) string {
	id := newUUID()
	b := bytes.ReplaceAll(c.tpl, []byte(peertubetest.CapturedUUID), []byte(id))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["name"] = name
	m["published"] = published.Format(time.RFC3339)
	m["updated"] = published.Format(time.RFC3339)
	b, _ = json.Marshal(m)
	c.mu.Lock()
	c.videos = append([]apVideo{{uuid: id, json: b}}, c.videos...)
	c.mu.Unlock()
	return id
}

// An outbox subscription notices deletions the same way, confirming with
// a GET of the video's ActivityPub id: 410 removes it, 500 keeps it.
func TestSubsVanishOutbox(t *testing.T) {
	ctx := testCtx(t)
	c := newAPChannel(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 0, 0, 0, time.UTC) }
	v1 := c.add(t, "Old ants", day(1))
	v2 := c.add(t, "Deleted ants", day(2))
	v3 := c.add(t, "Flaky ants", day(3))
	l := subsLib(t)
	host := strings.TrimPrefix(c.srv.URL, "http://")
	if _, err := l.Subscribe(ctx, "root_channel@"+host); err != nil {
		t.Fatal(err)
	}
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	if got := feedUUIDs(t, l); !slices.Equal(got, []string{v3, v2, v1}) {
		t.Fatalf("feed: %q", got)
	}
	unlist := func(id string, code int) {
		c.mu.Lock()
		c.videos = slices.DeleteFunc(c.videos, func(v apVideo) bool { return v.uuid == id })
		c.status[id] = code
		c.mu.Unlock()
	}
	unlist(v2, http.StatusGone)
	unlist(v3, http.StatusInternalServerError)
	before := c.asked.Load()
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	if got := feedUUIDs(t, l); !slices.Equal(got, []string{v3, v1}) {
		t.Fatalf("feed after a deletion (410) and a failing origin (500): %q", got)
	}
	if n := c.asked.Load() - before; n != 2 {
		t.Errorf("%d video requests to confirm, want 2 (one per missing video)", n)
	}
}
