package gui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// searchDebounce is how long typing must pause before a search runs.
const searchDebounce = 300 * time.Millisecond

var sortLabels = map[library.Sort]string{
	library.SortRecent:     "Recent",
	library.SortTrending:   "Trending",
	library.SortMostViewed: "Most viewed",
	library.SortRelevance:  "Relevance",
}

var (
	listSorts   = []library.Sort{library.SortRecent, library.SortTrending, library.SortMostViewed}
	searchSorts = []library.Sort{library.SortRelevance, library.SortRecent, library.SortTrending, library.SortMostViewed}
)

func labelsOf(sorts []library.Sort) []string {
	out := make([]string, len(sorts))
	for i, s := range sorts {
		out[i] = sortLabels[s]
	}
	return out
}

// What the status line says about the catalog on screen.
const (
	statusNone     = iota
	statusLoading  // nothing yet, fetching
	statusUpdating // the cached copy shows, fetching
	statusUpdated  // fresh from the network
	statusOffline  // network failed: the cached copy shows
	statusStale    // the source answered an error: the cached copy shows
)

// discover is the Discover screen: a source's catalog or search results
// in a grid of cards, loaded from the cache at once and then refreshed
// from the network, page by page as the grid scrolls.
type discover struct {
	u    *UI
	root fyne.CanvasObject

	source   *widget.Select
	sort     *widget.Select
	search   *appEntry
	addBtn   *widget.Button
	grid     *cardGrid
	empty    *widget.Label
	status   *widget.RichText
	progress *widget.ProgressBarInfinite
	banner   *banner

	sources  []library.Source
	suppress bool // set while the pickers are changed by code
	started  bool
	hadFocus bool // the grid had the keyboard when a video was opened
	debounce *time.Timer
	cards    map[*videoCard]struct{} // cards the grid has bound to items

	// the catalog on screen; gen changes with every new query and
	// results of an older one are dropped
	gen        int
	ctx        context.Context
	cancel     context.CancelFunc
	query      library.Query // page 0 of the catalog on screen
	pages      [][]library.Video
	items      []library.Video // pages, without duplicates
	total      int
	loading    bool // a page is being fetched
	failedPage int  // page whose fetch failed (no automatic retry), or -1
	morePosted bool // loading the next page is queued
	noSources  bool

	statusKind int
	statusAt   time.Time
}

func newDiscover(u *UI) *discover {
	d := &discover{u: u, failedPage: -1, cards: map[*videoCard]struct{}{}}
	d.source = widget.NewSelect(nil, func(string) { d.pickerChanged() })
	d.source.PlaceHolder = "Source"
	d.sort = widget.NewSelect(labelsOf(listSorts), func(string) { d.pickerChanged() })
	d.sort.SetSelected(sortLabels[library.SortRecent])
	d.search = newAppEntry(u)
	d.search.PlaceHolder = "Search videos  (Ctrl+F)"
	d.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	d.search.OnChanged = d.typed
	d.search.OnSubmitted = func(string) { d.submit() }
	d.addBtn = widget.NewButtonWithIcon("Add instance…", theme.ContentAddIcon(), func() {
		u.showAddInstance(func(in library.Instance) {
			d.loadSources(library.Source{Kind: library.SourceInstance, Host: in.Host}.Key())
		})
	})

	d.grid = newCardGrid(func() int { return len(d.items) }, d.createCard, d.updateCard, d.open)
	d.empty = widget.NewLabel("")
	d.empty.Alignment = fyne.TextAlignCenter
	d.empty.Wrapping = fyne.TextWrapWord
	d.status = newMutedText(theme.SizeNameCaptionText)
	d.progress = widget.NewProgressBarInfinite()
	d.progress.Stop()
	d.progress.Hide()
	d.banner = newBanner()

	pickers := container.NewHBox(withMinWidth(d.source, 240), withMinWidth(d.sort, 150))
	toolbar := border(nil, nil, pickers, d.addBtn, d.search)
	statusRow := border(nil, nil, nil, withMinWidth(d.progress, 160), d.status)
	top := container.NewVBox(toolbar, d.banner.root, statusRow)
	emptyBox := container.NewCenter(withMinWidth(d.empty, 420))
	d.root = border(top, nil, nil, nil, container.NewStack(d.grid, emptyBox))
	d.banner.relayout = d.relayout
	u.thumbs.listen(d.thumbLoaded)
	return d
}

// start loads the sources, then the first one's catalog, and keeps the
// status line's "Updated 5 minutes ago" current.
func (d *discover) start() {
	d.started = true
	d.loadSources("")
	d.u.goRun(func(ctx context.Context) {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.u.do(d.showStatus)
			}
		}
	})
}

// loadSources lists the sources and selects the one with key selectKey
// ("" keeps the current one, or the first).
func (d *discover) loadSources(selectKey string) {
	d.u.goRun(func(ctx context.Context) {
		srcs, err := d.u.lib.Sources(ctx)
		d.u.do(func() {
			if err != nil {
				d.banner.Show("Could not list the sources: "+errorText(err), "Retry", func() { d.loadSources(selectKey) })
				return
			}
			d.setSources(srcs, selectKey)
		})
	})
}

func (d *discover) setSources(srcs []library.Source, key string) {
	if key == "" {
		key = d.query.Source.Key()
	}
	d.sources = srcs
	idx := 0
	for i, s := range srcs {
		if s.Key() == key {
			idx = i
		}
	}
	d.suppress = true
	d.source.SetOptions(sourceLabels(srcs))
	if len(srcs) > 0 {
		d.source.SetSelectedIndex(idx)
	} else {
		d.source.ClearSelected()
	}
	d.suppress = false
	d.noSources = len(srcs) == 0
	if d.noSources {
		d.updateEmpty()
		return
	}
	if d.gen == 0 || srcs[idx].Key() != d.query.Source.Key() {
		d.runQuery()
	}
}

// browseSource switches to src (a channel or an account catalog), adding it
// to the picker until the sources are listed again. Those catalogs list and
// do not search, so the search entry is cleared.
func (d *discover) browseSource(src library.Source) {
	srcs := slices.Clone(d.sources)
	if !slices.ContainsFunc(srcs, func(s library.Source) bool { return s.Key() == src.Key() }) {
		srcs = append(srcs, src)
	}
	if d.debounce != nil {
		d.debounce.Stop()
	}
	d.search.SetText("")
	if d.debounce != nil {
		d.debounce.Stop()
	}
	d.setSources(srcs, src.Key())
}

// sourceLabels names the sources for the picker, adding the host where
// two share a name.
func sourceLabels(srcs []library.Source) []string {
	count := map[string]int{}
	for _, s := range srcs {
		count[sourceName(s)]++
	}
	out := make([]string, len(srcs))
	for i, s := range srcs {
		out[i] = sourceName(s)
		if count[out[i]] > 1 && s.Host != "" {
			out[i] += " (" + s.Host + ")"
		}
	}
	return out
}

func sourceName(s library.Source) string {
	switch {
	case s.Kind == library.SourceChannel:
		return "Channel: " + cmp.Or(s.Name, s.Actor)
	case s.Kind == library.SourceAccount:
		return "Account: " + cmp.Or(s.Name, s.Actor)
	case s.Name != "":
		return s.Name
	case s.Kind == library.SourceLocal:
		return "On this computer"
	case s.Kind == library.SourceGlobal:
		return "Global search"
	}
	return s.Host
}

func (d *discover) currentSource() (library.Source, bool) {
	i := d.source.SelectedIndex()
	if i < 0 || i >= len(d.sources) {
		return library.Source{}, false
	}
	return d.sources[i], true
}

func (d *discover) currentSort() library.Sort {
	for s, l := range sortLabels {
		if l == d.sort.Selected {
			return s
		}
	}
	return library.SortRecent
}

func (d *discover) pickerChanged() {
	if d.suppress || !d.started {
		return
	}
	d.runQuery()
}

// typed runs the search once typing pauses.
func (d *discover) typed(string) {
	if d.debounce != nil {
		d.debounce.Stop()
	}
	d.debounce = time.AfterFunc(searchDebounce, func() {
		d.u.do(func() {
			if strings.TrimSpace(d.search.Text) != d.query.Search {
				d.runQuery()
			}
		})
	})
}

// submit is Enter in the search entry: search (or reload) now.
func (d *discover) submit() {
	if d.debounce != nil {
		d.debounce.Stop()
	}
	d.runQuery()
}

// adjustSorts offers Relevance while searching (and picks it when a search
// starts), and takes it away again when the search is cleared.
func (d *discover) adjustSorts(searching bool) {
	hasRelevance := len(d.sort.Options) == len(searchSorts)
	d.suppress = true
	defer func() { d.suppress = false }()
	switch {
	case searching && !hasRelevance:
		d.sort.SetOptions(labelsOf(searchSorts))
		d.sort.SetSelected(sortLabels[library.SortRelevance])
	case !searching && hasRelevance:
		was := d.sort.Selected
		d.sort.SetOptions(labelsOf(listSorts))
		if was == sortLabels[library.SortRelevance] {
			was = sortLabels[library.SortRecent]
		}
		d.sort.Selected = "" // force the refresh of the shown label
		d.sort.SetSelected(was)
	}
}

// runQuery shows the catalog the pickers and the search entry ask for,
// dropping whatever was loading.
func (d *discover) runQuery() {
	src, ok := d.currentSource()
	if !ok {
		return
	}
	text := strings.TrimSpace(d.search.Text)
	d.adjustSorts(text != "")
	if d.cancel != nil {
		d.cancel()
	}
	d.gen++
	d.ctx, d.cancel = context.WithCancel(d.u.ctx)
	d.query = library.Query{Source: src, Search: text, Sort: d.currentSort(), PageSize: library.DefaultPageSize}
	d.grid.reset() // before the items go: it scrolls to the top
	d.pages, d.items, d.total = nil, nil, 0
	d.loading, d.failedPage = false, -1
	d.banner.Hide()
	d.grid.Refresh()
	d.setStatus(statusLoading, time.Time{})
	d.loadPage(0)
}

// loadPage shows page p from the cache at once, then fetches it.
func (d *discover) loadPage(p int) {
	d.loading = true
	d.progress.Show()
	d.progress.Start()
	d.updateEmpty()
	gen, ctx, q := d.gen, d.ctx, d.query
	q.Page = p
	d.u.goRun(func(context.Context) {
		cached, cerr := d.u.lib.Cached(ctx, q)
		if cerr != nil && ctx.Err() == nil {
			d.u.log.Warn("read cached page", "source", q.Source.Key(), "page", p, "err", cerr)
		}
		haveCache := cerr == nil && len(cached.Videos) > 0
		if haveCache {
			d.u.do(func() {
				if gen != d.gen {
					return
				}
				d.setPage(p, cached)
				if p == 0 {
					d.setStatus(statusUpdating, cached.FetchedAt)
				}
			})
		}
		fresh, err := d.u.lib.Fetch(ctx, q)
		d.u.do(func() {
			if gen != d.gen || ctx.Err() != nil {
				return
			}
			d.loading = false
			d.progress.Stop()
			d.progress.Hide()
			d.relayout()
			if err != nil {
				d.fetchFailed(p, haveCache, cached.FetchedAt, err)
				return
			}
			d.setPage(p, fresh)
			if p == 0 {
				d.banner.Hide()
				d.setStatus(statusUpdated, fresh.FetchedAt)
			}
			d.updateEmpty()
		})
	})
}

func (d *discover) fetchFailed(p int, haveCache bool, cachedAt time.Time, err error) {
	d.u.log.Info("fetch catalog", "source", d.query.Source.Key(), "page", p, "err", err)
	msg := errorText(err)
	if p == 0 {
		switch {
		case !haveCache:
			d.setStatus(statusNone, time.Time{})
		case isNetworkError(err):
			d.setStatus(statusOffline, cachedAt)
		default:
			d.setStatus(statusStale, cachedAt)
		}
		d.banner.Show(msg, "Retry", d.runQuery)
	} else if !haveCache {
		d.failedPage = p
		d.banner.Show(msg, "Retry", func() {
			d.failedPage = -1
			d.banner.Hide()
			d.loadPage(p)
		})
	}
	d.updateEmpty()
}

// isNetworkError tells "could not reach it" from "it answered wrong".
func isNetworkError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}

// setPage puts page p's videos in place and updates the grid: a new
// length refreshes the grid, otherwise only the cards that changed.
func (d *discover) setPage(p int, page library.Page) {
	for len(d.pages) <= p {
		d.pages = append(d.pages, nil)
	}
	d.pages[p] = page.Videos
	d.total = page.Total
	seen := make(map[string]bool, len(d.items)+len(page.Videos))
	items := make([]library.Video, 0, len(d.items)+len(page.Videos))
	for _, pg := range d.pages {
		for _, v := range pg {
			if !seen[v.UUID] {
				seen[v.UUID] = true
				items = append(items, v)
			}
		}
	}
	grew := len(items) != len(d.items)
	d.items = items
	if grew {
		d.grid.Refresh()
	} else {
		for c := range d.cards {
			if c.index < len(items) && !sameCard(c.video, items[c.index]) {
				d.bind(c, c.index)
			}
		}
	}
	d.updateEmpty()
}

func sameCard(a, b library.Video) bool {
	return a.UUID == b.UUID && a.Name == b.Name && a.Views == b.Views && a.Duration == b.Duration &&
		a.ThumbnailURL == b.ThumbnailURL && a.Channel.DisplayName == b.Channel.DisplayName &&
		a.PublishedAt.Equal(b.PublishedAt) && a.IsLive == b.IsLive && a.Origin == b.Origin
}

// hasMore says whether scrolling on should load another page.
func (d *discover) hasMore() bool {
	return !d.loading && d.failedPage < 0 && len(d.pages) > 0 &&
		len(d.pages[len(d.pages)-1]) > 0 && len(d.pages)*d.pageSize() < d.total
}

func (d *discover) pageSize() int {
	if d.query.PageSize > 0 {
		return d.query.PageSize
	}
	return library.DefaultPageSize
}

func (d *discover) createCard() fyne.CanvasObject {
	return newVideoCard(d.u.now, d.tapCard)
}

func (d *discover) updateCard(id int, o fyne.CanvasObject) {
	c := o.(*videoCard)
	d.cards[c] = struct{}{}
	if id >= len(d.items) {
		return
	}
	d.bind(c, id)
	// two rows before the end, fetch the next page, once the grid is
	// done laying out (loading shows the progress bar)
	if id >= len(d.items)-2*max(d.grid.ColumnCount(), 1) && d.hasMore() && !d.morePosted {
		d.morePosted = true
		gen := d.gen
		d.u.do(func() {
			d.morePosted = false
			if gen == d.gen && d.hasMore() {
				d.loadPage(len(d.pages))
			}
		})
	}
}

func (d *discover) bind(c *videoCard, id int) {
	v := d.items[id]
	c.set(id, v, d.u.thumbs.get(v.ThumbnailURL))
}

// thumbLoaded puts a newly loaded thumbnail on the cards showing it; only
// those cards refresh (GridWrap.RefreshItem in Fyne 2.7 re-binds every
// visible item, so the bound card is updated directly).
func (d *discover) thumbLoaded(url string, img image.Image) {
	for c := range d.cards {
		if c.index < len(d.items) && c.video.ThumbnailURL == url && c.img == nil {
			c.img = img
			c.Refresh()
		}
	}
}

// tapCard is a click on a card: select it, give the grid the keyboard and
// open the video.
func (d *discover) tapCard(i int) {
	d.grid.moveTo(i)
	if c := d.u.win.Canvas(); c != nil {
		c.Focus(d.grid)
	}
	d.open(i)
}

func (d *discover) open(i int) {
	if i < 0 || i >= len(d.items) {
		return
	}
	d.u.openVideo(d.items[i])
}

func (d *discover) setStatus(kind int, at time.Time) {
	d.statusKind, d.statusAt = kind, at
	d.showStatus()
}

func (d *discover) showStatus() {
	age := formatAge(d.statusAt, d.u.now())
	from := "the catalog from " + age
	if d.statusAt.IsZero() {
		from = "the saved catalog"
	}
	var s string
	switch d.statusKind {
	case statusLoading:
		s = "Loading…"
	case statusUpdating:
		s = "Showing " + from + " — updating…"
	case statusUpdated:
		count := fmt.Sprintf("%d videos", d.total)
		if d.total == 1 {
			count = "1 video"
		}
		s = count + " · Updated " + age
		if d.statusAt.IsZero() {
			s = count
		}
	case statusOffline:
		s = "Offline — showing " + from
	case statusStale:
		s = "Could not update — showing " + from
	}
	setMutedText(d.status, s)
}

func (d *discover) updateEmpty() {
	var s string
	switch {
	case d.noSources:
		s = "No sources yet. Add a PeerTube instance to start browsing."
	case len(d.items) > 0 || d.loading:
		s = ""
	case d.banner.Visible():
		s = "Nothing to show: this catalog could not be loaded."
	case d.query.Search != "":
		s = fmt.Sprintf("No videos match “%s”.", d.query.Search)
	default:
		s = "No videos here yet."
	}
	d.empty.SetText(s)
	setVisible(d.empty, s != "")
	d.relayout()
}

// relayout lays the screen out again after a part showed, hid or changed
// size (the grid itself is not touched).
func (d *discover) relayout() { relayout(d.root.(*fyne.Container)) }
