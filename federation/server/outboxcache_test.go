package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// outboxPage GETs an outbox page and returns its items' video names (the
// Create's object name, or the Announce's object IRI), its total, and the
// response.
func outboxPage(t *testing.T, url string, hdr ...string) (*http.Response, federation.OrderedCollectionPage, []string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", federation.MediaTypeActivityJSON)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	if resp.StatusCode == http.StatusOK {
		if body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
	}
	var p federation.OrderedCollectionPage
	var names []string
	if resp.StatusCode != http.StatusOK {
		return resp, p, nil, body
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: %v: %s", url, err, body)
	}
	for _, it := range p.OrderedItems {
		var act federation.Activity
		if err := it.Decode(&act); err != nil {
			t.Fatal(err)
		}
		var v struct {
			Name string `json:"name"`
		}
		if !act.Object.Embedded() {
			names = append(names, act.Object.IRI)
		} else if err := act.Object.Decode(&v); err != nil {
			t.Fatal(err)
		} else {
			names = append(names, v.Name)
		}
	}
	return resp, p, names, body
}

func outboxTotal(t *testing.T, url string) int {
	t.Helper()
	_, b := get(t, url, federation.MediaTypeActivityJSON)
	var col federation.OrderedCollection
	if err := json.Unmarshal(b, &col); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return col.TotalItems
}

// The outbox is served from a cache, yet every publish, edit, privacy
// change, removal and instance change shows in the very next GET.
func TestOutboxCacheNeverServesStale(t *testing.T) {
	a := newInstance(t, "alice")
	ctx := context.Background()
	page := a.base + "/accounts/alice/outbox?page=1"
	col := a.base + "/accounts/alice/outbox"
	chPage := a.base + "/video-channels/alice_channel/outbox?page=1"
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	v1 := a.addVideo("First video", t0)

	_, _, names, first := outboxPage(t, page)
	if len(names) != 1 || names[0] != "First video" || outboxTotal(t, col) != 1 {
		t.Fatalf("start: %q", names)
	}
	_, _, chNames, _ := outboxPage(t, chPage) // cached per actor: Announces there
	if len(chNames) != 1 || !strings.HasSuffix(chNames[0], "/videos/watch/"+v1.UUID) {
		t.Fatalf("channel outbox: %q", chNames)
	}
	_, _, _, again := outboxPage(t, page)
	if string(again) != string(first) {
		t.Fatal("two GETs of an unchanged outbox differ")
	}

	// Publish: the new video is in the next GET of every outbox.
	v2 := a.addVideo("Second video", t0.Add(time.Minute))
	if err := a.srv.PublishVideo(ctx, v2.UUID); err != nil {
		t.Fatal(err)
	}
	if _, _, names, _ = outboxPage(t, page); len(names) != 2 || names[0] != "Second video" || outboxTotal(t, col) != 2 {
		t.Fatalf("after publish: %q, total %d", names, outboxTotal(t, col))
	}
	if _, _, chNames, _ = outboxPage(t, chPage); len(chNames) != 2 {
		t.Fatalf("channel outbox after publish: %q", chNames)
	}

	// Edit: the new name.
	v1.Name, v1.Updated = "First video, renamed", t0.Add(2*time.Minute)
	if _, err := a.store.PutLocalVideo(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.UpdateVideo(ctx, v1.UUID); err != nil {
		t.Fatal(err)
	}
	if _, _, names, _ = outboxPage(t, page); len(names) != 2 || names[1] != "First video, renamed" {
		t.Fatalf("after update: %q", names)
	}

	// Going private: UpdateVideo refuses to federate it, and it leaves the
	// outbox at once.
	v1.Privacy, v1.Updated = PrivacyPrivate, t0.Add(3*time.Minute)
	if _, err := a.store.PutLocalVideo(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.UpdateVideo(ctx, v1.UUID); !errors.Is(err, ErrNotPublic) {
		t.Fatalf("update of a private video: %v", err)
	}
	if _, _, names, _ = outboxPage(t, page); len(names) != 1 || names[0] != "Second video" || outboxTotal(t, col) != 1 {
		t.Fatalf("after going private: %q", names)
	}

	// Delete.
	if err := a.store.DeleteLocalVideo(ctx, v2.UUID); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.DeleteVideo(ctx, v2.UUID); err != nil {
		t.Fatal(err)
	}
	if _, _, names, _ = outboxPage(t, page); len(names) != 0 || outboxTotal(t, col) != 0 {
		t.Fatalf("after delete: %q", names)
	}
	if _, _, chNames, _ = outboxPage(t, chPage); len(chNames) != 0 {
		t.Fatalf("channel outbox after delete: %q", chNames)
	}

	// A change made in the Store alone shows after LocalVideosChanged.
	a.addVideo("Third video", t0.Add(4*time.Minute))
	a.srv.LocalVideosChanged()
	if _, _, names, _ = outboxPage(t, page); len(names) != 1 || names[0] != "Third video" {
		t.Fatalf("after LocalVideosChanged: %q", names)
	}

	// The instance renamed (SaveInstance + Reload): items carry the new
	// actor, even though the cache is keyed by role, not by path.
	in, err := a.store.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in.AccountName = "alicia"
	if err := a.store.SaveInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	_, p, _, _ := outboxPage(t, a.base+"/accounts/alicia/outbox?page=1")
	if len(p.OrderedItems) != 1 || p.PartOf != a.base+"/accounts/alicia/outbox" {
		t.Fatalf("after rename: %+v", p)
	}
	var act federation.Activity
	if err := p.OrderedItems[0].Decode(&act); err != nil || act.ActorIRI() != a.base+"/accounts/alicia" {
		t.Fatalf("after rename, item by %q (%v)", act.ActorIRI(), err)
	}
	if resp, _, _, _ := outboxPage(t, page); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("old account's outbox after rename: %d", resp.StatusCode)
	}
}

// Conditional GET: the ETag names the bytes; If-None-Match answers 304
// while they are unchanged and 200 with the new bytes once they change.
// The Content-Type follows Accept; the bytes and ETag do not.
func TestOutboxETagAndContentType(t *testing.T) {
	a := newInstance(t, "alice")
	ctx := context.Background()
	page := a.base + "/accounts/alice/outbox?page=1"
	a.addVideo("First video", time.Now().Add(-time.Hour))

	resp, _, _, body := outboxPage(t, page)
	etag := resp.Header.Get("ETag")
	if etag == "" || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Content-Type") != federation.MediaTypeActivityJSON+"; charset=utf-8" ||
		resp.Header.Get("Vary") != "Accept" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("headers: %v", resp.Header)
	}
	ld := federation.MediaTypeLDJSON
	resp2, _, _, body2 := outboxPage(t, page, "Accept", ld)
	if resp2.Header.Get("Content-Type") != federation.MediaTypeLDJSON+"; charset=utf-8" || resp2.Header.Get("ETag") != etag || string(body2) != string(body) {
		t.Fatalf("ld+json: %v", resp2.Header)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		resp, _, _, b := outboxPage(t, page, "If-None-Match", inm)
		if resp.StatusCode != http.StatusNotModified || len(b) != 0 || resp.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match %s: %d %q", inm, resp.StatusCode, b)
		}
	}
	if resp, _, _, _ := outboxPage(t, page, "If-None-Match", `"other"`); resp.StatusCode != http.StatusOK {
		t.Fatalf("If-None-Match of another ETag: %d", resp.StatusCode)
	}

	v := a.addVideo("Second video", time.Now())
	if err := a.srv.PublishVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	resp, _, names, _ := outboxPage(t, page, "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK || len(names) != 2 || resp.Header.Get("ETag") == etag {
		t.Fatalf("after publish, If-None-Match of the old ETag: %d %q %s", resp.StatusCode, names, resp.Header.Get("ETag"))
	}
}

// slowStore pauses LocalVideos once, on demand, so a change can land while
// a page is being built.
type slowStore struct {
	*MemStore
	pause   atomic.Bool
	reached chan struct{}
	resume  chan struct{}
}

func (s *slowStore) LocalVideos(ctx context.Context, q VideoQuery) ([]LocalVideo, int, error) {
	vs, n, err := s.MemStore.LocalVideos(ctx, q)
	if q.Count > 1 && s.pause.CompareAndSwap(true, false) {
		close(s.reached)
		<-s.resume
	}
	return vs, n, err
}

// A publish that lands while a page is being built from the old state must
// not leave that old page in the cache.
func TestOutboxCacheChangeDuringBuild(t *testing.T) {
	ctx := context.Background()
	st := &slowStore{MemStore: NewMemStore(), reached: make(chan struct{}), resume: make(chan struct{})}
	if err := st.SaveInstance(ctx, Instance{BaseURL: "http://127.0.0.1:1", AccountName: "alice", ChannelName: "alice_channel"}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	names := func() []string {
		r := httptest.NewRequest(http.MethodGet, "/accounts/alice/outbox?page=1", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var p federation.OrderedCollectionPage
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &p) != nil {
			t.Errorf("GET: %d %s", w.Code, w.Body)
			return nil
		}
		var out []string
		for _, it := range p.OrderedItems {
			var act federation.Activity
			_ = it.Decode(&act)
			var v struct{ Name string }
			_ = act.Object.Decode(&v)
			out = append(out, v.Name)
		}
		return out
	}
	put := func(name string) LocalVideo {
		v, err := st.PutLocalVideo(ctx, LocalVideo{UUID: newUUID(), Name: name, Duration: 5, Published: time.Now(), Updated: time.Now(), Privacy: PrivacyPublic,
			Files: []VideoFile{{Resolution: 360, Width: 640, Height: 360, FPS: 25, Size: 100, InfoHash: "0123456789abcdef0123456789abcdef01234567"}}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	put("Old video")
	st.pause.Store(true)
	done := make(chan []string)
	go func() { done <- names() }()
	<-st.reached // the page is being built from one video
	v := put("New video")
	if err := s.PublishVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	close(st.resume)
	if got := <-done; len(got) != 1 {
		t.Fatalf("the GET in flight: %q", got)
	}
	if got := names(); len(got) != 2 || got[0] != "New video" {
		t.Fatalf("the GET after the publish: %q (a stale page was cached)", got)
	}
}
