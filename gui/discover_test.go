package gui

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

var desktopSize = fyne.NewSize(1280, 800)

// The captured PeerTube catalog shows as cards with their titles, channel,
// duration and views; the status line says it is fresh.
func TestDiscoverShowsCapturedCatalog(t *testing.T) {
	srv := peertubetest.NewCaptured(t)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the first catalog")

	d := h.ui.discover
	if src, _ := d.currentSource(); src.Kind != library.SourceInstance || src.Host != srv.Host() {
		t.Fatalf("selected source = %+v, want the stand-in instance %s", src, srv.Host())
	}
	if got := h.itemNames(); !slices.Equal(got, []string{"Interop test video"}) {
		t.Fatalf("items = %q", got)
	}
	card := h.card(0)
	r := test.WidgetRenderer(card).(*cardRenderer)
	if r.title1.Text != "Interop test video" || r.channel.Text != "Main root channel" || r.badge.Text != "0:10" {
		t.Errorf("card shows title %q, channel %q, duration %q", r.title1.Text, r.channel.Text, r.badge.Text)
	}
	if !strings.Contains(r.meta.Text, "views") || !strings.Contains(r.meta.Text, "ago") {
		t.Errorf("card meta line %q lacks views and age", r.meta.Text)
	}
	if s := mutedText(d.status); !strings.Contains(s, "1 video") || !strings.Contains(s, "Updated just now") {
		t.Errorf("status = %q", s)
	}
	if d.empty.Visible() || d.progress.Visible() || d.banner.Visible() {
		t.Errorf("empty %v, progress %v, banner %v after a good load", d.empty.Visible(), d.progress.Visible(), d.banner.Visible())
	}
	h.waitFor("the card's thumbnail", func() bool { return h.card(0).img != nil })
}

// Typing a search runs it once typing pauses (one query for the whole
// word), offers Relevance, and shows only matching cards; a search with no
// match says so; clearing the search lists the catalog again.
func TestDiscoverSearch(t *testing.T) {
	srv := peertubetest.NewSynthetic(60)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the first catalog")
	d := h.ui.discover
	gen := d.gen

	test.Type(d.search, "volcanoes")
	h.waitFor("search results", func() bool { return d.query.Search == "volcanoes" && !d.loading && len(d.items) > 0 })
	if d.gen != gen+1 {
		t.Errorf("typing one word ran %d queries, want 1 (debounced)", d.gen-gen)
	}
	var want []string
	for k := range 60 {
		v := peertubetest.SyntheticVideo(srv.URL, k)
		if strings.Contains(strings.ToLower(v.Name+" "+v.Description+" "+v.Channel.DisplayName), "volcanoes") {
			want = append(want, v.Name)
		}
	}
	got := h.itemNames()
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("search results = %q, want %q", got, want)
	}
	if d.sort.Selected != "Relevance" || !slices.Contains(d.sort.Options, "Relevance") {
		t.Errorf("sort while searching = %q of %q, want Relevance offered and picked", d.sort.Selected, d.sort.Options)
	}
	if !h.screenShows(want[0]) {
		t.Errorf("the grid does not show %q: %q", want[0], h.screenTexts())
	}

	d.search.SetText("zzzz nothing")
	d.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.waitLoaded("an empty search")
	if len(d.items) != 0 || !d.empty.Visible() || !strings.Contains(d.empty.Text, "No videos match") {
		t.Errorf("empty search: %d items, empty label %v %q", len(d.items), d.empty.Visible(), d.empty.Text)
	}

	d.search.SetText("")
	d.submit()
	h.waitFor("the catalog again", func() bool { return d.query.Search == "" && !d.loading && len(d.items) == library.DefaultPageSize })
	if slices.Contains(d.sort.Options, "Relevance") || d.sort.Selected != "Recent" {
		t.Errorf("after clearing the search, sort = %q of %q", d.sort.Selected, d.sort.Options)
	}
}

// Scrolling to the end of the grid loads the next page (cache first, then
// network), without duplicates and in catalog order, until the total.
func TestDiscoverInfiniteScroll(t *testing.T) {
	srv := peertubetest.NewSynthetic(60)
	t.Cleanup(srv.Close)
	// a small window: the first page more than fills it
	h := newHarness(t, srv, fyne.NewSize(1000, 600))
	h.waitLoaded("page 1")
	d := h.ui.discover
	h.settle(200 * time.Millisecond)
	if len(d.items) != library.DefaultPageSize || len(d.pages) != 1 {
		t.Fatalf("before scrolling: %d items in %d pages, want one page of %d", len(d.items), len(d.pages), library.DefaultPageSize)
	}
	if d.total != 60 {
		t.Fatalf("total = %d, want 60", d.total)
	}
	for want := 48; want <= 60; want += 12 {
		d.grid.ScrollToBottom()
		n := min(want, 60)
		h.waitFor("the next page", func() bool { return len(d.items) >= n && !d.loading })
	}
	d.grid.ScrollToBottom()
	h.settle(300 * time.Millisecond)
	if len(d.items) != 60 || len(d.pages) != 3 || d.hasMore() {
		t.Fatalf("at the end: %d items in %d pages, hasMore %v; want 60 in 3 and no more", len(d.items), len(d.pages), d.hasMore())
	}
	seen := map[string]bool{}
	for i, v := range d.items {
		if seen[v.UUID] {
			t.Fatalf("item %d (%s) is a duplicate", i, v.Name)
		}
		seen[v.UUID] = true
		if want := peertubetest.SyntheticVideo(srv.URL, i).Name; v.Name != want {
			t.Fatalf("item %d = %q, want %q (catalog order)", i, v.Name, want)
		}
	}
	// the last cards are on screen
	if !h.screenShows(d.items[59].Name) {
		t.Errorf("the last video is not shown after scrolling to the bottom")
	}
}

// A new query cancels the one in flight and its late answer is dropped.
func TestDiscoverDropsStaleResults(t *testing.T) {
	srv := peertubetest.NewSynthetic(30)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the first catalog")
	d := h.ui.discover

	var cancelled atomic.Bool
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	srv.Handle("/api/v1/search/videos", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("search") == "slow" {
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
				cancelled.Store(true)
				return
			case <-release:
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"total":1,"data":[]}`))
			return
		}
		srv.Handle("/api/v1/search/videos", nil) // the normal answer from now on
		http.Redirect(w, r, r.URL.String(), http.StatusTemporaryRedirect)
	})
	d.search.SetText("slow")
	d.submit()
	h.waitFor("the slow search to reach the server", func() bool {
		select {
		case <-arrived:
			return true
		default:
			return false
		}
	})
	d.search.SetText("bread")
	d.submit()
	h.waitFor("the second search", func() bool { return d.query.Search == "bread" && !d.loading })
	close(release)
	deadline := time.Now().Add(waitLimit)
	for !cancelled.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !cancelled.Load() {
		t.Errorf("the first search's request was not cancelled")
	}
	h.settle(200 * time.Millisecond)
	if d.query.Search != "bread" || len(d.items) == 0 {
		t.Fatalf("after the stale answer: query %q with %d items", d.query.Search, len(d.items))
	}
	for _, v := range d.items {
		if !strings.Contains(strings.ToLower(v.Name+v.Description), "bread") {
			t.Errorf("item %q does not match the current search", v.Name)
		}
	}
}

// An instance that answers HTML is refused with the error in the dialog,
// which stays open; a real one is added and selected.
func TestAddInstanceErrors(t *testing.T) {
	srv := peertubetest.NewSynthetic(3)
	t.Cleanup(srv.Close)
	html := peertubetest.NewSynthetic(0)
	t.Cleanup(html.Close)
	html.Handle("/api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><html><body>Welcome to nginx</body></html>"))
	})
	other := peertubetest.NewSynthetic(5)
	t.Cleanup(other.Close)

	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the first catalog")
	d := h.ui.discover

	test.Tap(d.addBtn)
	a := h.ui.addDlg
	if a == nil || h.ui.win.Canvas().Overlays().Top() == nil {
		t.Fatal("the Add instance dialog did not open")
	}
	if h.ui.win.Canvas().Focused() != a.entry {
		t.Errorf("the dialog's entry does not have the keyboard")
	}
	test.Tap(a.add)
	if !a.errLabel.Visible() || !strings.Contains(a.errLabel.Text, "Enter a host") {
		t.Errorf("empty input: error label %v %q", a.errLabel.Visible(), a.errLabel.Text)
	}

	test.Type(a.entry, html.URL)
	a.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.waitFor("the error", func() bool {
		return a.errLabel.Visible() && a.cancel == nil && strings.Contains(a.errLabel.Text, "not a PeerTube instance")
	})
	if h.ui.win.Canvas().Overlays().Top() == nil {
		t.Fatal("the dialog closed on error")
	}
	if !h.screenShows("not a PeerTube instance") {
		t.Errorf("the error is not on screen: %q", h.screenTexts())
	}

	a.entry.SetText(other.URL)
	test.Tap(a.add)
	h.waitFor("the new instance selected", func() bool {
		src, _ := d.currentSource()
		return src.Host == other.Host() && d.query.Source.Host == other.Host() && !d.loading && len(d.items) == 5
	})
	if h.ui.win.Canvas().Overlays().Top() != nil {
		t.Errorf("the dialog is still open after success")
	}
	if !slices.Contains(d.source.Options, "Demo PeerTube ("+other.Host()+")") {
		t.Errorf("source options %q do not name the new instance with its host", d.source.Options)
	}
}

// When the instance starts answering HTML, the banner says so, the cached
// catalog stays, and the status line tells it is not fresh; when it cannot
// be reached at all, the status line says offline.
func TestDiscoverFetchErrors(t *testing.T) {
	srv := peertubetest.NewSynthetic(10)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the first catalog")
	d := h.ui.discover
	srv.Handle("/api/v1/videos", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Maintenance</body></html>"))
	})
	d.submit()
	h.waitLoaded("the failed refresh")
	if !d.banner.Visible() || !strings.Contains(d.banner.Text(), "not a PeerTube instance") || !strings.Contains(d.banner.Text(), srv.Host()) {
		t.Fatalf("banner %v %q, want the host and 'not a PeerTube instance'", d.banner.Visible(), d.banner.Text())
	}
	if len(d.items) != 10 {
		t.Errorf("the cached catalog is gone: %d items", len(d.items))
	}
	if s := mutedText(d.status); !strings.HasPrefix(s, "Could not update — showing the catalog from") {
		t.Errorf("status = %q", s)
	}

	srv.Close()
	d.submit()
	h.waitLoaded("the offline refresh")
	if s := mutedText(d.status); !strings.HasPrefix(s, "Offline — showing the catalog from") {
		t.Errorf("status = %q, banner %q", s, d.banner.Text())
	}
	if len(d.items) != 10 || !d.banner.Visible() {
		t.Errorf("offline: %d items, banner %v", len(d.items), d.banner.Visible())
	}
	// Retry from the banner tries again (and fails again, visibly)
	gen := d.gen
	test.Tap(d.banner.action)
	h.waitLoaded("the retry")
	if d.gen != gen+1 || !d.banner.Visible() {
		t.Errorf("retry: gen %d→%d, banner %v", gen, d.gen, d.banner.Visible())
	}
}

// A catalog seen before shows at once from the cache while the network
// answers; "On this computer" lists the cached videos with no network.
func TestDiscoverCacheFirstAndLocal(t *testing.T) {
	srv := peertubetest.NewSynthetic(10)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the first catalog")
	d := h.ui.discover

	srv.SetDelay(2 * time.Second)
	d.submit()
	if len(d.items) != 0 {
		t.Fatalf("a new query kept %d old items", len(d.items))
	}
	h.waitFor("the cached catalog", func() bool { return len(d.items) == 10 })
	if !d.loading || !strings.HasPrefix(mutedText(d.status), "Showing the catalog from") || !d.progress.Visible() {
		t.Errorf("while fetching: loading %v, progress %v, status %q", d.loading, d.progress.Visible(), mutedText(d.status))
	}
	h.waitLoaded("the fresh catalog")
	if s := mutedText(d.status); !strings.Contains(s, "Updated just now") {
		t.Errorf("status = %q", s)
	}

	srv.Close()
	d.source.SetSelected("On this computer")
	h.waitLoaded("the local catalog")
	if src, _ := d.currentSource(); src.Kind != library.SourceLocal || len(d.items) != 10 || d.banner.Visible() {
		t.Fatalf("local: source %+v, %d items, banner %q", src, len(d.items), d.banner.Text())
	}
	test.Type(d.search, "part 3")
	h.waitFor("a local search", func() bool { return d.query.Search == "part 3" && !d.loading })
	if names := h.itemNames(); len(names) == 0 || !strings.Contains(names[0], "part 3") {
		t.Errorf("local search results = %q", names)
	}
}
