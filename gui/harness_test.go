package gui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

// uiLoop plays Fyne's main loop in tests. The test driver runs fyne.Do's
// function at once on the calling goroutine, which would make the UI's
// background loads race with the test reading widgets; instead the UI's
// do posts here and the test goroutine runs the queue while it waits, so
// every widget is only ever touched by the test goroutine, as it is by
// the main goroutine in the app.
type uiLoop struct {
	mu sync.Mutex
	q  []func()
}

func (l *uiLoop) post(f func()) {
	l.mu.Lock()
	l.q = append(l.q, f)
	l.mu.Unlock()
}

func (l *uiLoop) drain() {
	for {
		l.mu.Lock()
		q := l.q
		l.q = nil
		l.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

type harness struct {
	t    *testing.T
	app  fyne.App
	lib  *library.Library
	ui   *UI
	loop *uiLoop
	srv  *peertubetest.Server
}

const waitLimit = 15 * time.Second

func testLogger() *slog.Logger {
	if os.Getenv("FOURMI_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openLibrary opens a real library in a temporary directory that knows
// srv as its only instance (and as its global search index).
func openLibrary(t *testing.T, srv *peertubetest.Server) *library.Library {
	t.Helper()
	return openLibraryAt(t, srv, t.TempDir(), false)
}

// openLibraryAt opens the library in dir; watch also starts BitTorrent on
// loopback only, with headless mpv (playback tests).
func openLibraryAt(t *testing.T, srv *peertubetest.Server, dir string, watch bool) *library.Library {
	t.Helper()
	ctx := context.Background()
	opt := library.Options{
		Dir:              dir,
		Logger:           testLogger(),
		HTTPClient:       &http.Client{Timeout: 10 * time.Second},
		DefaultInstances: []string{},
		SearchIndexURL:   srv.URL,
	}
	if watch {
		opt.LoopbackOnly = true
		opt.PlayerHeadless = true
		opt.PlayerPrefer = "mpv"
		opt.SeedCheckInterval = 200 * time.Millisecond
		opt.PositionSaveInterval = 300 * time.Millisecond
	}
	lib, err := library.Open(ctx, opt)
	if err != nil {
		t.Fatalf("open library: %v", err)
	}
	t.Cleanup(func() { lib.Close() })
	if watch {
		if err := lib.Start(ctx); err != nil {
			t.Fatalf("start the library: %v", err)
		}
	}
	if _, err := lib.AddInstance(ctx, srv.URL); err != nil {
		t.Fatalf("add the stand-in instance: %v", err)
	}
	return lib
}

// newHarness builds the UI on a test app against srv, with a window of
// the given size, and shows it (which starts loading).
func newHarness(t *testing.T, srv *peertubetest.Server, size fyne.Size) *harness {
	t.Helper()
	return newHarnessWith(t, srv, size, openLibrary(t, srv))
}

// newWatchHarness is newHarness on a started library (BitTorrent on
// loopback, headless mpv): Play, Download and the transfers work.
func newWatchHarness(t *testing.T, srv *peertubetest.Server, size fyne.Size) *harness {
	t.Helper()
	return newHarnessWith(t, srv, size, openLibraryAt(t, srv, t.TempDir(), true))
}

func newHarnessWith(t *testing.T, srv *peertubetest.Server, size fyne.Size, lib *library.Library) *harness {
	t.Helper()
	app := test.NewTempApp(t)
	h := &harness{t: t, app: app, lib: lib, loop: &uiLoop{}, srv: srv}
	h.ui = New(app, lib, testLogger())
	h.ui.do = h.loop.post
	h.ui.win.Resize(size)
	t.Cleanup(func() {
		h.ui.Close()
		h.loop.drain()
		h.ui.win.Close()
	})
	h.ui.Show()
	return h
}

// waitFor runs the UI loop until cond holds, failing after waitLimit.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	h.waitWithin(waitLimit, what, cond)
}

// waitWithin is waitFor with its own limit, for real transfers: under a
// loaded machine anacrolix may set a web seed aside for a minute after a
// failed request before it tries it again.
func (h *harness) waitWithin(limit time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		h.loop.drain()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %v waiting for %s\nscreen: %q", limit, what, h.screenTexts())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle runs the UI loop for d (to see that nothing more happens).
func (h *harness) settle(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		h.loop.drain()
		time.Sleep(10 * time.Millisecond)
	}
	h.loop.drain()
}

// screenTexts is every text visible in the window, dialogs included.
func (h *harness) screenTexts() []string {
	c := h.ui.win.Canvas()
	out := visibleTexts(c.Content(), nil)
	for _, o := range c.Overlays().List() {
		out = visibleTexts(o, out)
	}
	return out
}

func (h *harness) screenShows(s string) bool {
	for _, t := range h.screenTexts() {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func visibleTexts(o fyne.CanvasObject, out []string) []string {
	if o == nil || !o.Visible() {
		return out
	}
	switch x := o.(type) {
	case *widget.Label:
		return append(out, x.Text)
	case *widget.RichText:
		return append(out, x.String())
	case *widget.Button:
		return append(out, x.Text)
	case *keyButton:
		return append(out, x.Text)
	case *widget.Entry:
		return append(out, x.Text)
	case *appEntry:
		return append(out, x.Text)
	case *widget.Check:
		return append(out, x.Text)
	case *widget.Select:
		return append(out, x.Selected)
	case *canvas.Text:
		return append(out, x.Text)
	case *videoCard:
		return append(out, x.video.Name)
	case *fyne.Container:
		for _, c := range x.Objects {
			out = visibleTexts(c, out)
		}
		return out
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = visibleTexts(c, out)
		}
	}
	return out
}

// find returns the first visible object under o that match accepts.
func find[T fyne.CanvasObject](o fyne.CanvasObject, match func(T) bool) (T, bool) {
	var zero T
	if o == nil || !o.Visible() {
		return zero, false
	}
	if x, ok := o.(T); ok && match(x) {
		return x, true
	}
	var children []fyne.CanvasObject
	switch x := o.(type) {
	case *fyne.Container:
		children = x.Objects
	case fyne.Widget:
		children = test.WidgetRenderer(x).Objects()
	}
	for _, c := range children {
		if r, ok := find(c, match); ok {
			return r, true
		}
	}
	return zero, false
}

// card returns the grid's card showing item i.
func (h *harness) card(i int) *videoCard {
	h.t.Helper()
	c, ok := find(h.ui.discover.grid, func(c *videoCard) bool { return c.index == i && c.video.UUID != "" })
	if !ok {
		h.t.Fatalf("no card shows item %d", i)
	}
	return c
}

// overlayButton finds a button in the top dialog by its text.
func (h *harness) overlayButton(text string) *widget.Button {
	h.t.Helper()
	top := h.ui.win.Canvas().Overlays().Top()
	b, ok := find(top, func(b *widget.Button) bool { return b.Text == text })
	if !ok {
		h.t.Fatalf("no %q button in the dialog; screen: %q", text, h.screenTexts())
	}
	return b
}

// key sends a key press the way the window does: to the focused object,
// or to the canvas when nothing has focus.
func (h *harness) key(name fyne.KeyName) {
	c := h.ui.win.Canvas()
	ev := &fyne.KeyEvent{Name: name}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
	} else if k := c.OnTypedKey(); k != nil {
		k(ev)
	}
}

// shortcut sends a keyboard shortcut the way the window does.
func (h *harness) shortcut(s fyne.Shortcut) {
	c := h.ui.win.Canvas()
	if f, ok := c.Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(s)
		return
	}
	c.(fyne.Shortcutable).TypedShortcut(s)
}

func (h *harness) itemNames() []string {
	var out []string
	for _, v := range h.ui.discover.items {
		out = append(out, v.Name)
	}
	return out
}

// waitLoaded waits until the catalog on screen is fetched (not loading).
func (h *harness) waitLoaded(what string) {
	h.t.Helper()
	h.waitFor(what, func() bool {
		d := h.ui.discover
		return d.gen > 0 && !d.loading && (d.statusKind == statusUpdated || d.banner.Visible())
	})
}

func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
