package gui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// Ctrl+F gives the search entry the keyboard, from Discover and from the
// Video screen.
func TestCtrlFFocusesSearch(t *testing.T) {
	srv := peertubetest.NewSynthetic(8)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	c := h.ui.win.Canvas()
	ctrlF := &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}

	c.Unfocus()
	h.shortcut(ctrlF)
	if c.Focused() != h.ui.discover.search {
		t.Fatalf("focused = %T after Ctrl+F, want the search entry", c.Focused())
	}
	h.ui.discover.open(1)
	if h.ui.screen != screenVideo {
		t.Fatal("the video did not open")
	}
	h.shortcut(ctrlF)
	if h.ui.screen != screenDiscover || c.Focused() != h.ui.discover.search {
		t.Fatalf("Ctrl+F on the Video screen: screen %q, focused %T", h.ui.screen, c.Focused())
	}
}

// The arrows move the selection in the grid, Enter opens the selected
// card, Escape comes back to the grid with the same card selected.
func TestKeyboardGrid(t *testing.T) {
	srv := peertubetest.NewSynthetic(20)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	d := h.ui.discover
	c := h.ui.win.Canvas()
	cols := d.grid.ColumnCount()
	if cols < 2 {
		t.Fatalf("%d columns at %v", cols, desktopSize)
	}

	c.Focus(d.grid)
	if d.grid.cursor != 0 || !h.selected(0) {
		t.Fatalf("focusing the grid: cursor %d", d.grid.cursor)
	}
	h.key(fyne.KeyRight)
	h.key(fyne.KeyRight)
	h.key(fyne.KeyDown)
	h.key(fyne.KeyLeft)
	want := cols + 1
	if d.grid.cursor != want || !h.selected(want) {
		t.Fatalf("after →→↓←: cursor %d, want %d", d.grid.cursor, want)
	}
	h.key(fyne.KeyUp)
	h.key(fyne.KeyUp) // already on the first row: stays
	if d.grid.cursor != 1 {
		t.Fatalf("after ↑↑: cursor %d, want 1", d.grid.cursor)
	}
	h.key(fyne.KeyDown)
	h.key(fyne.KeyReturn)
	if h.ui.screen != screenVideo || h.ui.video.video.UUID != d.items[want].UUID {
		t.Fatalf("Enter opened %q (screen %q), want %q", h.ui.video.video.Name, h.ui.screen, d.items[want].Name)
	}
	h.key(fyne.KeyEscape)
	if h.ui.screen != screenDiscover || c.Focused() != fyne.Focusable(d.grid) || d.grid.cursor != want {
		t.Fatalf("back: screen %q, focused %T, cursor %d", h.ui.screen, c.Focused(), d.grid.cursor)
	}
	h.key(fyne.KeyEnd)
	if d.grid.cursor != len(d.items)-1 {
		t.Errorf("End: cursor %d", d.grid.cursor)
	}
}

func (h *harness) selected(i int) bool {
	c := h.card(i)
	return c != nil && h.ui.discover.grid.cursor == i
}

// Tab walks the controls in reading order: navigation, Open link, source,
// sort, search, Add instance, then the grid.
func TestTabOrder(t *testing.T) {
	srv := peertubetest.NewSynthetic(4)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	d := h.ui.discover
	c := h.ui.win.Canvas()
	c.Unfocus()
	var order []fyne.Focusable
	for range 16 {
		test.FocusNext(c)
		f := c.Focused()
		if f == nil || slices.Contains(order, f) {
			break
		}
		order = append(order, f)
	}
	idx := func(f fyne.Focusable) int { return slices.Index(order, f) }
	seq := []int{idx(h.ui.navDiscover), idx(h.ui.navLibrary), idx(h.ui.navSettings), idx(h.ui.openBtn),
		idx(d.source), idx(d.sort), idx(d.search), idx(d.addBtn), idx(d.grid)}
	for i, k := range seq {
		if k < 0 || (i > 0 && k <= seq[i-1]) {
			t.Fatalf("tab order positions %v (Discover, Library, Settings, Open link, source, sort, search, add, grid); order %T", seq, order)
		}
	}
}
