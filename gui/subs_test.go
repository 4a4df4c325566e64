package gui

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

// notifications records the desktop notifications the UI sends.
type notifications struct {
	mu   sync.Mutex
	sent []fyne.Notification
}

func (n *notifications) add(x *fyne.Notification) {
	n.mu.Lock()
	n.sent = append(n.sent, *x)
	n.mu.Unlock()
}

func (n *notifications) list() []fyne.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent)
}

// newSubsHarness is a harness on a library (not started: polls happen on
// Refresh) that polls the stand-in without the polite 2 s gap, with the
// notifications recorded.
func newSubsHarness(t *testing.T, srv *peertubetest.Server) (*harness, *notifications) {
	t.Helper()
	ctx := context.Background()
	lib, err := library.Open(ctx, library.Options{
		Dir: t.TempDir(), Logger: testLogger(), HTTPClient: &http.Client{Timeout: 10 * time.Second},
		DefaultInstances: []string{}, SearchIndexURL: srv.URL, SubscriptionRequestGap: time.Millisecond,
	})
	if err != nil {
		t.Fatalf("open library: %v", err)
	}
	t.Cleanup(func() { lib.Close() })
	if _, err := lib.AddInstance(ctx, srv.URL); err != nil {
		t.Fatalf("add the stand-in instance: %v", err)
	}
	h := newHarnessWith(t, srv, desktopSize, lib)
	n := &notifications{}
	h.ui.notify = n.add
	return h, n
}

// rootChannelVideo is a new video of the captured root_channel on s.
func rootChannelVideo(s *peertubetest.Server, k int, title string, published time.Time) peertube.VideoDetails {
	d := peertubetest.SyntheticVideo(s.URL, k)
	d.Name = title
	d.PublishedAt, d.CreatedAt, d.UpdatedAt = published, published, published
	d.Channel = peertube.Actor{ID: 1, Name: "root_channel", DisplayName: "Main root channel",
		URL: s.URL + "/video-channels/root_channel", Host: s.Host()}
	d.Account = peertube.Actor{ID: 2, Name: "root", DisplayName: "root", URL: s.URL + "/accounts/root", Host: s.Host()}
	return d
}

func (h *harness) feedNames() []string {
	var out []string
	for _, it := range h.ui.subs.items {
		out = append(out, it.Video.Name)
	}
	return out
}

// subsButton finds a button of the Subscriptions screen by its text.
func (h *harness) subsButton(text string) *widget.Button {
	h.t.Helper()
	b, ok := find(h.ui.subs.root, func(b *widget.Button) bool { return b.Text == text })
	if !ok {
		h.t.Fatalf("no %q button; screen: %q", text, h.screenTexts())
	}
	return b
}

func badgeText(u *UI) string {
	if !u.subs.badge.root.Visible() {
		return ""
	}
	return u.subs.badge.text.Text
}

// The Subscriptions screen end to end against the PeerTube stand-in: a
// bad handle is refused with a message under the entry; a channel
// followed by handle is listed and, after Refresh, its videos are in the
// feed; new videos arrive at the top, unseen, with the badge counting
// them and one notification per batch; a card opens the Video screen;
// Mark all seen clears the badge; export, unsubscribe (with a confirm)
// and import work.
func TestSubsScreen(t *testing.T) {
	srv := peertubetest.NewCaptured(t)
	srv.ServeChannel("root_channel")
	h, notes := newSubsHarness(t, srv)
	u, s := h.ui, h.ui.subs
	ctx := context.Background()

	// Ctrl+S opens the screen with the keyboard in the entry
	h.shortcut(shortcutSubs)
	if u.screen != screenSubs || u.win.Canvas().Focused() != fyne.Focusable(s.entry) {
		t.Fatalf("Ctrl+S: screen %q, focus %T", u.screen, u.win.Canvas().Focused())
	}
	if u.navSubs.Importance != widget.HighImportance {
		t.Error("the sidebar does not mark Subscriptions")
	}
	h.waitFor("the empty feed", func() bool { return h.screenShows("You follow no channel yet.") })

	// nothing typed, a bad handle, a channel that does not exist
	h.key(fyne.KeyReturn)
	if !s.entryErr.Visible() || !strings.Contains(s.entryErr.Text, "name@host") {
		t.Fatalf("empty entry: %q", s.entryErr.Text)
	}
	for _, bad := range []string{"not a handle", "nobody@" + srv.Host()} {
		s.entry.SetText(bad)
		h.key(fyne.KeyReturn)
		h.waitFor("the error for "+bad, func() bool {
			return s.working == 0 && strings.Contains(s.entryErr.Text, "Could not follow “"+bad+"”")
		})
		if s.entry.Text != bad {
			t.Errorf("the entry lost what was typed: %q", s.entry.Text)
		}
	}
	if subs, _ := h.lib.Subscriptions(ctx); len(subs) != 0 {
		t.Fatalf("a bad handle was followed: %+v", subs)
	}

	// follow by handle: listed, the error gone, the entry cleared
	s.entry.SetText("root_channel@" + srv.Host())
	h.key(fyne.KeyReturn)
	h.waitFor("the subscription", func() bool { return len(s.subs) == 1 && h.screenShows("Main root channel") })
	if s.entryErr.Visible() || s.entry.Text != "" || !strings.Contains(mutedText(s.status), "Following Main root channel") {
		t.Fatalf("after subscribing: error %q, entry %q, status %q", s.entryErr.Text, s.entry.Text, mutedText(s.status))
	}
	if !h.screenShows("root_channel@"+srv.Host()) || !h.screenShows("Not checked yet.") {
		t.Errorf("subscription row: %q", h.screenTexts())
	}

	// Refresh: the channel's video is in the feed (the backlog is not news)
	test.Tap(h.subsButton("Refresh"))
	if !s.busy.Visible() || !s.refreshBtn.Disabled() {
		t.Error("no progress while refreshing")
	}
	h.waitFor("the feed", func() bool { return s.working == 0 && len(s.items) == 1 })
	if s.items[0].Video.UUID != peertubetest.CapturedUUID || s.banner.Visible() || s.busy.Visible() {
		t.Fatalf("feed %q, banner %q", h.feedNames(), s.banner.Text())
	}
	if badgeText(u) != "" || len(notes.list()) != 0 || strings.Contains(s.cards[0].metaText, "New") {
		t.Fatalf("the backlog counted as new: badge %q, notes %v, meta %q", badgeText(u), notes.list(), s.cards[0].metaText)
	}
	h.waitFor("the checked state", func() bool { return h.screenShows("Checked ") })

	// two new videos in one poll: at the top, unseen, badge 2, one notification
	srv.AddVideo(rootChannelVideo(srv, 1, "Ants at dawn", time.Now().Add(-time.Hour)))
	srv.AddVideo(rootChannelVideo(srv, 2, "Ants at noon", time.Now().Add(-time.Minute)))
	test.Tap(h.subsButton("Refresh"))
	h.waitFor("two new videos", func() bool { return len(s.items) == 3 && badgeText(u) == "2" })
	h.waitFor("the notification", func() bool { return len(notes.list()) > 0 })
	h.settle(2 * notifyBatch)
	if n := notes.list(); len(n) != 1 || n[0].Title != "2 new videos" || n[0].Content != "From Main root channel" {
		t.Fatalf("notifications: %+v", n)
	}
	if got := h.feedNames(); got[0] != "Ants at noon" || got[1] != "Ants at dawn" {
		t.Fatalf("feed order: %q", got)
	}
	for i := range 2 {
		if !s.items[i].Unseen || !strings.HasPrefix(s.cards[i].metaText, "● New") {
			t.Errorf("card %d not marked new: %q", i, s.cards[i].metaText)
		}
	}
	// one more: its own notification naming it
	srv.AddVideo(rootChannelVideo(srv, 3, "Ants at dusk", time.Now()))
	test.Tap(h.subsButton("Refresh"))
	h.waitFor("the third", func() bool { return len(notes.list()) == 2 })
	if n := notes.list()[1]; n.Title != "New video from Main root channel" || n.Content != "Ants at dusk" || badgeText(u) != "3" {
		t.Fatalf("notification %+v, badge %q", n, badgeText(u))
	}
	h.waitFor("the third at the top", func() bool { return h.feedNames()[0] == "Ants at dusk" })

	// a card opens the Video screen; Escape comes back
	test.Tap(s.cards[1])
	if u.screen != screenVideo || u.video.video.Name != "Ants at noon" {
		t.Fatalf("card: screen %q, video %q", u.screen, u.video.video.Name)
	}
	h.key(fyne.KeyEscape)
	if u.screen != screenSubs {
		t.Fatalf("back: %q", u.screen)
	}

	// the keyboard reaches the cards: Enter on a focused card opens it
	u.win.Canvas().Focus(s.cards[0])
	h.key(fyne.KeyReturn)
	if u.screen != screenVideo || u.video.video.Name != "Ants at dusk" {
		t.Fatalf("Enter on a card: %q %q", u.screen, u.video.video.Name)
	}
	h.key(fyne.KeyEscape)

	// Mark all seen: the badge goes, the marks go
	test.Tap(h.subsButton("Mark all seen"))
	h.waitFor("seen", func() bool { return badgeText(u) == "" && !s.items[0].Unseen })
	if n, _ := h.lib.UnseenCount(ctx); n != 0 || !s.seenBtn.Disabled() || strings.Contains(s.cards[0].metaText, "New") {
		t.Fatalf("after Mark all seen: unseen %d, meta %q", n, s.cards[0].metaText)
	}

	// Keep latest N is saved
	sel, ok := find(s.subsBox, func(x *widget.Select) bool { return true })
	if !ok || sel.Selected != "Keep none" {
		t.Fatalf("keep select: %v %q", ok, sel.Selected)
	}
	sel.SetSelected("Keep latest 3")
	h.waitFor("the mirror setting", func() bool {
		subs, _ := h.lib.Subscriptions(ctx)
		return len(subs) == 1 && subs[0].MirrorLatest == 3
	})

	// export as OPML
	out := filepath.Join(t.TempDir(), "subs.opml")
	f, err := os.Create(out)
	fatalIf(t, err)
	s.exportTo(f, "subs.opml")
	h.waitFor("the export", func() bool { return strings.Contains(mutedText(s.status), "Saved 1 subscription to subs.opml") })
	b, err := os.ReadFile(out)
	fatalIf(t, err)
	if !strings.Contains(string(b), "<opml") || !strings.Contains(string(b), srv.URL+"/video-channels/root_channel") {
		t.Fatalf("export: %s", b)
	}

	// Unsubscribe asks first; Cancel keeps it
	test.Tap(h.subsButton("Unsubscribe"))
	test.Tap(h.overlayButton("Cancel"))
	h.settle(100 * time.Millisecond)
	if subs, _ := h.lib.Subscriptions(ctx); len(subs) != 1 {
		t.Fatal("Cancel unsubscribed")
	}
	test.Tap(h.subsButton("Unsubscribe"))
	test.Tap(h.overlayButton("Unsubscribe"))
	h.waitFor("unsubscribed", func() bool { return len(s.subs) == 0 && len(s.items) == 0 })
	if !h.screenShows("You follow no channel yet.") || !s.feedEmpty.Visible() {
		t.Errorf("after unsubscribing: %q", h.screenTexts())
	}

	// import the export: followed again
	f2, err := os.Open(out)
	fatalIf(t, err)
	s.importFrom(f2)
	h.waitFor("the import", func() bool { return len(s.subs) == 1 && strings.Contains(mutedText(s.status), "Imported 1 channel") })

	// a file that is no subscription list is refused, nothing followed
	junk := filepath.Join(t.TempDir(), "junk.opml")
	fatalIf(t, os.WriteFile(junk, []byte("hello"), 0o644))
	f3, err := os.Open(junk)
	fatalIf(t, err)
	s.importFrom(f3)
	h.waitFor("the import error", func() bool { return s.working == 0 && s.banner.Visible() })
	if !strings.HasPrefix(s.banner.Text(), "Could not import: ") {
		t.Errorf("import error: %q", s.banner.Text())
	}
	if subs, _ := h.lib.Subscriptions(ctx); len(subs) != 1 {
		t.Errorf("after a bad import: %d subscriptions", len(subs))
	}
}

// Live feed events change the screen in place: an update renames a card,
// a removal takes it away, a new video goes to the top; the badge follows
// the unseen count they carry.
func TestSubsLiveEvents(t *testing.T) {
	srv := peertubetest.NewCaptured(t)
	srv.ServeChannel("root_channel")
	h, notes := newSubsHarness(t, srv)
	u, s := h.ui, h.ui.subs
	ctx := context.Background()
	if _, err := h.lib.Subscribe(ctx, "root_channel@"+srv.Host()); err != nil {
		t.Fatal(err)
	}
	fatalIf(t, h.lib.RefreshSubscriptions(ctx))
	u.showScreen(screenSubs)
	h.waitFor("the feed", func() bool { return len(s.items) == 1 })
	it := s.items[0]

	up := it
	up.Video.Name = "A new title"
	s.event(library.FeedEvent{Kind: library.FeedUpdated, Item: up})
	if s.cards[0].video.Name != "A new title" || !h.screenShows("A new title") {
		t.Fatalf("update: %q", s.cards[0].video.Name)
	}
	s.event(library.FeedEvent{Kind: library.FeedRemoved, Item: library.FeedItem{Video: library.Video{UUID: it.Video.UUID}}})
	if len(s.items) != 0 || !s.feedEmpty.Visible() || h.screenShows("A new title") {
		t.Fatalf("removal: %q", h.feedNames())
	}
	nv := it
	nv.Video.UUID, nv.Video.Name, nv.Unseen = "0b7a5c4e-0000-4000-8000-000000000001", "Fresh ants", true
	s.event(library.FeedEvent{Kind: library.FeedNew, Item: nv, Unseen: 1})
	s.event(library.FeedEvent{Kind: library.FeedNew, Item: nv, Unseen: 1}) // twice: shown once
	if got := h.feedNames(); len(got) != 1 || got[0] != "Fresh ants" || badgeText(u) != "1" {
		t.Fatalf("new: %q, badge %q", got, badgeText(u))
	}
	h.waitFor("the notification", func() bool { return len(notes.list()) == 1 })
	s.event(library.FeedEvent{Kind: library.FeedSeen, Unseen: 0})
	if badgeText(u) != "" || s.items[0].Unseen {
		t.Fatal("seen")
	}
}

// The Video screen's "Subscribe to this channel" follows the video's channel.
func TestSubsFromVideo(t *testing.T) {
	srv := peertubetest.NewCaptured(t)
	srv.ServeChannel("root_channel")
	h, _ := newSubsHarness(t, srv)
	u := h.ui
	ctx := context.Background()
	h.waitLoaded("the catalog")
	v, err := h.lib.Video(ctx, peertubetest.CapturedUUID)
	fatalIf(t, err)
	u.openVideo(v)
	b, ok := find(u.video.root, func(b *keyButton) bool { return b.Text == "Subscribe to this channel" })
	if !ok {
		t.Fatalf("no Subscribe button: %q", h.screenTexts())
	}
	test.Tap(b)
	h.waitFor("subscribed", func() bool { return strings.HasPrefix(mutedText(u.video.notice), "Subscribed to Main root channel") })
	if sub, err := h.lib.SubscriptionByHandle(ctx, "root_channel@"+srv.Host()); err != nil || sub.Kind != library.SubscriptionChannel {
		t.Fatalf("subscription: %+v %v", sub, err)
	}
	h.waitFor("listed", func() bool { return len(u.subs.subs) == 1 })
}

func TestFeedNotificationText(t *testing.T) {
	item := func(ch, title string) library.FeedItem {
		return library.FeedItem{Video: library.Video{Name: title, Channel: library.Actor{DisplayName: ch}}}
	}
	for _, c := range []struct {
		items          []library.FeedItem
		title, content string
	}{
		{[]library.FeedItem{item("Ants", "Queen")}, "New video from Ants", "Queen"},
		{[]library.FeedItem{item("Ants", "a"), item("Bees", "b"), item("Ants", "c")}, "3 new videos", "From Ants, Bees"},
		{[]library.FeedItem{item("A", "1"), item("B", "2"), item("C", "3"), item("D", "4"), item("E", "5")},
			"5 new videos", "From A, B, C and 2 more"},
	} {
		n := feedNotification(c.items)
		if n.Title != c.title || n.Content != c.content {
			t.Errorf("%d items: %q / %q, want %q / %q", len(c.items), n.Title, n.Content, c.title, c.content)
		}
	}
}

// TestScreenshotsSubs renders only the Subscriptions screen's PNGs (go
// test -run TestScreenshotsSubs with FOURMI_SCREENSHOTS set).
func TestScreenshotsSubs(t *testing.T) {
	dir := os.Getenv("FOURMI_SCREENSHOTS")
	if dir == "" {
		t.Skip("set FOURMI_SCREENSHOTS=<dir> to write the screenshots")
	}
	fatalIf(t, os.MkdirAll(dir, 0o755))
	srv := peertubetest.NewSynthetic(24)
	t.Cleanup(srv.Close)
	h, _ := newSubsHarness(t, srv)
	h.ui.win.Resize(fyne.NewSize(1280, 800))
	h.waitLoaded("the catalog")
	c := h.ui.win.Canvas()
	subsScreenshots(t, h, func(name string) {
		t.Helper()
		c.Unfocus()
		h.settle(50e6)
		writePNG(t, filepath.Join(dir, name), c.Capture())
	})
}

// subsScreenshots follows two channels of the synthetic catalog, then
// two new videos arrive: the feed with its unseen marks and the badge.
func subsScreenshots(t *testing.T, h *harness, shoot func(string)) {
	t.Helper()
	ctx := context.Background()
	first := peertubetest.SyntheticVideo(h.srv.URL, 0)
	second := peertubetest.SyntheticVideo(h.srv.URL, 1)
	for _, ch := range []peertube.Actor{first.Channel, second.Channel} {
		h.srv.ServeChannel(ch.Name)
		_, err := h.lib.Subscribe(ctx, ch.Name+"@"+h.srv.Host())
		fatalIf(t, err)
	}
	fatalIf(t, h.lib.RefreshSubscriptions(ctx))
	now := time.Now()
	for i, title := range []string{"Leafcutter ants at night", "How ants build bridges"} {
		d := peertubetest.SyntheticVideo(h.srv.URL, 900+i)
		d.Name = title
		d.Channel, d.Account = first.Channel, first.Account
		d.PublishedAt = now.Add(-time.Duration(i+1) * 40 * time.Minute)
		d.CreatedAt, d.UpdatedAt = d.PublishedAt, d.PublishedAt
		h.srv.AddVideo(d)
	}
	fatalIf(t, h.lib.RefreshSubscriptions(ctx))
	h.shortcut(shortcutSubs)
	s := h.ui.subs
	h.waitFor("the feed", func() bool { return len(s.subs) == 2 && len(s.items) > 6 && s.unseen == 2 })
	h.waitFor("the thumbnails", func() bool {
		for _, c := range s.cards[:min(8, len(s.items))] {
			if c.img == nil {
				return false
			}
		}
		return true
	})
	s.entry.SetText("")
	h.ui.setTheme(themeLight)
	shoot("subscriptions-light.png")
	h.ui.setTheme(themeDark)
	shoot("subscriptions-dark.png")
	h.ui.setTheme(themeLight)
}
