package library

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// subsLib is a library (not started: the tests poll with
// RefreshSubscriptions) that polls without the polite 2 s gap.
func subsLib(t testing.TB) *Library {
	t.Helper()
	o := testOptions(t.TempDir())
	o.SubscriptionRequestGap = time.Millisecond
	return openTest(t, o)
}

// feedEvents collects feed events.
type feedEvents struct {
	mu  sync.Mutex
	evs []FeedEvent
}

func (f *feedEvents) add(ev FeedEvent) { f.mu.Lock(); f.evs = append(f.evs, ev); f.mu.Unlock() }

func (f *feedEvents) has(kind, uuid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range f.evs {
		if ev.Kind == kind && (uuid == "" || ev.Item.Video.UUID == uuid) {
			return true
		}
	}
	return false
}

// channelVideo is a new video of the captured root_channel on s.
func channelVideo(s *peertubetest.Server, k int, title string, published time.Time) peertube.VideoDetails {
	d := peertubetest.SyntheticVideo(s.URL, k)
	d.Name = title
	d.PublishedAt, d.CreatedAt, d.UpdatedAt = published, published, published
	d.Channel = peertube.Actor{ID: 1, Name: "root_channel", DisplayName: "Main root channel",
		URL: s.URL + "/video-channels/root_channel", Host: s.Host()}
	d.Account = peertube.Actor{ID: 2, Name: "root", DisplayName: "root", URL: s.URL + "/accounts/root", Host: s.Host()}
	return d
}

// Subscribing to a PeerTube channel without hosting: resolved through the
// REST API, polled, its videos in the feed newest first; an unchanged
// channel costs a 304; a new video arrives unseen with an event; a channel
// that vanishes is reported gone after a few polls and never polled again.
func TestSubsPollFeed(t *testing.T) {
	ctx := testCtx(t)
	s := peertubetest.NewCaptured(t)
	st := s.ServeChannel("root_channel")
	l := subsLib(t)
	var evs feedEvents
	defer l.SubscribeFeed(evs.add)()

	sub, err := l.Subscribe(ctx, "root_channel@"+s.Host())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if sub.Kind != SubscriptionChannel || sub.Actor != s.URL+"/video-channels/root_channel" || sub.Name != "root_channel" ||
		sub.DisplayName != "Main root channel" || sub.Host != s.Host() || sub.State != SubscriptionOK ||
		sub.FeedURL != s.URL+"/feeds/videos.xml?videoChannelId=1" || sub.Following != "" {
		t.Fatalf("subscription: %+v", sub)
	}
	// The channel's page URL is the same subscription.
	again, err := l.Subscribe(ctx, s.URL+"/c/root_channel/videos")
	if err != nil || again.ID != sub.ID {
		t.Fatalf("subscribing again by URL: %+v %v", again, err)
	}
	if got, err := l.SubscriptionByHandle(ctx, "@root_channel@"+s.Host()); err != nil || got.ID != sub.ID {
		t.Fatalf("SubscriptionByHandle: %+v %v", got, err)
	}

	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatalf("first poll: %v", err)
	}
	feed, err := l.Feed(ctx, 0)
	if err != nil || len(feed) != 1 || feed[0].Video.UUID != peertubetest.CapturedUUID || feed[0].Unseen ||
		feed[0].Subscription.ID != sub.ID || feed[0].Video.Channel.Name != "root_channel" {
		t.Fatalf("feed after the first poll (the backlog is not news): %+v %v", feed, err)
	}
	if n, _ := l.UnseenCount(ctx); n != 0 {
		t.Fatalf("unseen after the backlog: %d", n)
	}
	// The video is in the catalog too (search finds it).
	if v, err := l.Video(ctx, peertubetest.CapturedUUID); err != nil || v.Name == "" {
		t.Fatalf("catalog: %+v %v", v, err)
	}

	// Nothing changed: a conditional request answered 304.
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatalf("second poll: %v", err)
	}
	if st.Requests.Load() != 2 || st.Conditional.Load() != 1 || st.NotModified.Load() != 1 {
		t.Fatalf("second poll not conditional: requests %d, conditional %d, 304 %d",
			st.Requests.Load(), st.Conditional.Load(), st.NotModified.Load())
	}

	// A new video: it arrives first in the feed, unseen, with an event.
	d := channelVideo(s, 1, "Ants at dawn", time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	s.AddVideo(d)
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatalf("third poll: %v", err)
	}
	if st.NotModified.Load() != 1 {
		t.Fatal("a changed list was answered 304")
	}
	feed, _ = l.Feed(ctx, 10)
	if len(feed) != 2 || feed[0].Video.UUID != d.UUID || !feed[0].Unseen || feed[0].Video.Name != "Ants at dawn" ||
		feed[1].Video.UUID != peertubetest.CapturedUUID {
		t.Fatalf("feed after a new video: %+v", feed)
	}
	if n, _ := l.UnseenCount(ctx); n != 1 {
		t.Fatalf("unseen = %d, want 1", n)
	}
	waitFor(t, "the new-video event", func() bool { return evs.has(FeedNew, d.UUID) })
	if err := l.MarkFeedSeen(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.UnseenCount(ctx); n != 0 {
		t.Fatalf("unseen after MarkFeedSeen = %d", n)
	}

	// The channel vanishes: errors, then gone, then never asked again.
	st.RemoveChannel()
	for i := range goneAfter {
		err := l.RefreshSubscriptions(ctx)
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("poll %d of a vanished channel: %v", i+1, err)
		}
	}
	subs, _ := l.Subscriptions(ctx)
	if len(subs) != 1 || subs[0].State != SubscriptionGone || !strings.Contains(subs[0].Error, "no longer exists") {
		t.Fatalf("vanished channel: %+v", subs)
	}
	asked := st.Requests.Load()
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatalf("refresh with only a gone subscription: %v", err)
	}
	if st.Requests.Load() != asked {
		t.Fatal("a gone channel was polled again")
	}
	// Its feed stays readable until the user unsubscribes.
	if feed, _ := l.Feed(ctx, 10); len(feed) != 2 {
		t.Fatalf("feed of a gone channel: %d items", len(feed))
	}
	if err := l.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if feed, _ := l.Feed(ctx, 10); len(feed) != 0 {
		t.Fatalf("feed after unsubscribing: %d items", len(feed))
	}
	if err := l.Unsubscribe(ctx, sub.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unsubscribing twice: %v", err)
	}
}

// A rate-limited host is left alone (per-host backoff) and the
// subscription is not marked as failing for it.
func TestSubsBackoff(t *testing.T) {
	ctx := testCtx(t)
	s := peertubetest.NewCaptured(t)
	st := s.ServeChannel("root_channel")
	l := subsLib(t)
	if _, err := l.Subscribe(ctx, s.URL+"/video-channels/root_channel"); err != nil {
		t.Fatal(err)
	}
	s.Fail429(1)
	err := l.RefreshSubscriptions(ctx)
	if err == nil || !strings.Contains(err.Error(), "slow down") {
		t.Fatalf("429: %v", err)
	}
	before := s.Requests.Load()
	err = l.RefreshSubscriptions(ctx)
	if err == nil || !strings.Contains(err.Error(), "resting") || s.Requests.Load() != before {
		t.Fatalf("the host in backoff was asked again: %v (%d → %d requests)", err, before, s.Requests.Load())
	}
	subs, _ := l.Subscriptions(ctx)
	if subs[0].State != SubscriptionError || subs[0].State == SubscriptionGone || st.Requests.Load() != 0 {
		t.Fatalf("after a 429: %+v", subs[0])
	}
}

// Bad input gets a clear error and nothing is stored.
func TestSubsHostileInput(t *testing.T) {
	ctx := testCtx(t)
	s := peertubetest.NewCaptured(t)
	s.ServeChannel("root_channel")
	l := subsLib(t)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
	}))
	defer garbage.Close()
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":1,"name":"root_channel","url":"https://elsewhere.example/video-channels/root_channel"}`))
	}))
	defer liar.Close()
	for _, tc := range []struct{ in, want string }{
		{"", "whom to follow"},
		{"just-a-name", "neither name@host nor a URL"},
		{"a b@host", "neither name@host nor a URL"},
		{"https://example.org/videos/watch/123", "not a channel or account URL"},
		{"ftp://example.org/c/x", "not a channel or account URL"},
		{"nobody@" + s.Host(), "no such channel or account"},
		{"root_channel@" + strings.TrimPrefix(garbage.URL, "http://"), "PeerTube"},
		{"root_channel@" + strings.TrimPrefix(liar.URL, "http://"), "elsewhere.example"},
		{"x@127.0.0.1:9", "unreachable"},
	} {
		_, err := l.Subscribe(ctx, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Subscribe(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	for _, bad := range []string{
		"<opml><body><outline text='x' xmlUrl='",                                                            // cut short
		"<opml version='2.0'><body><outline text='a feed' xmlUrl='https://example.org/rss'/></body></opml>", // no channel
		"{\"following\": 3}",
		"not a file at all",
		"",
	} {
		if res, err := l.ImportSubscriptions(ctx, strings.NewReader(bad)); err == nil {
			t.Errorf("ImportSubscriptions(%q) = %+v, want an error", bad, res)
		}
	}
	if subs, _ := l.Subscriptions(ctx); len(subs) != 0 {
		t.Fatalf("bad input stored subscriptions: %+v", subs)
	}
}

// OPML and PeerTube's following.json: export, then import into another
// library, gives the same subscriptions; entries that do not resolve are
// reported while the others are followed.
func TestSubsOPMLRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	s := peertubetest.NewCaptured(t)
	s.ServeChannel("root_channel")
	a := subsLib(t)
	sub, err := a.Subscribe(ctx, "root_channel@"+s.Host())
	if err != nil {
		t.Fatal(err)
	}
	var opml bytes.Buffer
	if err := a.ExportSubscriptions(ctx, &opml, FormatOPML); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<opml version="2.0">`, `type="rss"`, `xmlUrl="` + sub.FeedURL[:strings.Index(sub.FeedURL, "?")],
		`htmlUrl="` + sub.Actor + `"`, `title="Main root channel"`} {
		if !strings.Contains(opml.String(), want) {
			t.Fatalf("OPML lacks %s:\n%s", want, opml.String())
		}
	}
	var pt bytes.Buffer
	if err := a.ExportSubscriptions(ctx, &pt, FormatPeerTube); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pt.String(), `"targetHandle": "root_channel@`+s.Host()+`"`) {
		t.Fatalf("following.json: %s", pt.String())
	}
	if err := a.ExportSubscriptions(ctx, &pt, "csv"); err == nil {
		t.Fatal("an unknown export format was accepted")
	}
	for name, data := range map[string][]byte{"opml": opml.Bytes(), "peertube": pt.Bytes()} {
		t.Run(name, func(t *testing.T) {
			b := subsLib(t)
			res, err := b.ImportSubscriptions(ctx, bytes.NewReader(data))
			if err != nil || len(res.Added) != 1 || len(res.Failed) != 0 || res.Added[0].Actor != sub.Actor {
				t.Fatalf("import: %+v %v", res, err)
			}
		})
	}
	// Another reader's OPML, nested, with one channel that does not exist.
	other := `<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>
		<outline text="Videos"><outline text="Root" type="rss" xmlUrl="` + s.URL + `/feeds/videos.xml?videoChannelId=1" htmlUrl="` + s.URL + `/c/root_channel"/>
		<outline text="Ghost" type="rss" xmlUrl="` + s.URL + `/video-channels/ghost"/></outline></body></opml>`
	c := subsLib(t)
	res, err := c.ImportSubscriptions(ctx, strings.NewReader(other))
	if err != nil || len(res.Added) != 1 || len(res.Failed) != 1 || !errors.Is(res.Failed[0].Err, ErrNotFound) {
		t.Fatalf("nested OPML: %+v %v", res, err)
	}
	// A JSON list of handles.
	d := subsLib(t)
	if res, err := d.ImportSubscriptions(ctx, strings.NewReader(`["root_channel@`+s.Host()+`"]`)); err != nil || len(res.Added) != 1 {
		t.Fatalf("list of handles: %+v %v", res, err)
	}
}

// The poller started by Start polls a new subscription at once, and Close
// stops it.
func TestSubsPollerRuns(t *testing.T) {
	ctx := testCtx(t)
	s := peertubetest.NewCaptured(t)
	st := s.ServeChannel("root_channel")
	o := watchOptions(t.TempDir())
	o.SubscriptionRequestGap = time.Millisecond
	l := startLib(t, o)
	if _, err := l.Subscribe(ctx, "root_channel@"+s.Host()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the background poll", func() bool {
		feed, _ := l.Feed(ctx, 10)
		return len(feed) == 1
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	n := st.Requests.Load()
	time.Sleep(50 * time.Millisecond)
	if st.Requests.Load() != n || n != 1 {
		t.Fatalf("requests after Close: %d then %d", n, st.Requests.Load())
	}
}

// apOnlyServer serves the captured PeerTube channel over ActivityPub only
// (WebFinger, actor, outbox, video), with no REST API; it counts video
// fetches.
func apOnlyServer(t *testing.T) (*httptest.Server, *atomic.Int64, *atomic.Bool) {
	dir, err := peertubetest.FixturesDir()
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int64
	var gone atomic.Bool
	var srv *httptest.Server
	file := func(w http.ResponseWriter, name, ct string) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			return
		}
		b = bytes.ReplaceAll(b, []byte(peertubetest.CapturedHost), []byte(strings.TrimPrefix(srv.URL, "http://")))
		w.Header().Set("Content-Type", ct)
		w.Write(b)
	}
	const ap = "application/activity+json; charset=utf-8"
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/.well-known/webfinger" && r.URL.Query().Get("resource") == "acct:root_channel@"+r.Host:
			file(w, "webfinger-root-channel.json", "application/jrd+json; charset=utf-8")
		case p == "/video-channels/root_channel":
			file(w, "ap-channel.json", ap)
		case p == "/video-channels/root_channel/outbox" && !gone.Load():
			if r.URL.Query().Get("page") == "1" {
				file(w, "ap-channel-outbox-page1.json", ap)
			} else {
				file(w, "ap-channel-outbox.json", ap)
			}
		case p == "/videos/watch/"+peertubetest.CapturedUUID:
			fetches.Add(1)
			file(w, "ap-video-watch.json", ap)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("<html>Cannot GET " + p + "</html>"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &fetches, &gone
}

// A server without the REST API is followed through WebFinger and polled
// through its outbox: its videos land in the feed with their files, known
// ones are not fetched again, and a vanished outbox makes it gone.
func TestSubsOutboxFallback(t *testing.T) {
	ctx := testCtx(t)
	srv, fetches, gone := apOnlyServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	l := subsLib(t)
	sub, err := l.Subscribe(ctx, "root_channel@"+host)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if sub.Kind != SubscriptionChannel || sub.Actor != srv.URL+"/video-channels/root_channel" || sub.FeedURL != "" {
		t.Fatalf("subscription: %+v", sub)
	}
	if err := l.RefreshSubscriptions(ctx); err != nil {
		t.Fatalf("poll: %v", err)
	}
	feed, err := l.Feed(ctx, 10)
	if err != nil || len(feed) != 1 || feed[0].Video.UUID != peertubetest.CapturedUUID || len(feed[0].Video.Files) == 0 ||
		feed[0].Video.Channel.URL != sub.Actor || feed[0].Video.PublishedAt.IsZero() {
		t.Fatalf("feed: %+v %v", feed, err)
	}
	if err := l.RefreshSubscriptions(ctx); err != nil || fetches.Load() != 1 {
		t.Fatalf("second poll: %v, %d video fetches", err, fetches.Load())
	}
	gone.Store(true)
	for range goneAfter {
		l.RefreshSubscriptions(ctx)
	}
	if subs, _ := l.Subscriptions(ctx); subs[0].State != SubscriptionGone {
		t.Fatalf("vanished outbox: %+v", subs[0])
	}
}

// Polls are spread ±10 % around the interval.
func TestSubsJitter(t *testing.T) {
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for range 2000 {
		d := jittered(30 * time.Minute)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 27*time.Minute || hi > 33*time.Minute || hi-lo < 4*time.Minute {
		t.Fatalf("jitter range %v–%v", lo, hi)
	}
}
