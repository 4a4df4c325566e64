package gui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// themedRect is a rectangle whose colour follows the theme (a plain
// canvas.Rectangle keeps the colour it was given when the theme changes).
type themedRect struct {
	widget.BaseWidget
	color  fyne.ThemeColorName
	radius float32
}

func newThemedRect(c fyne.ThemeColorName, radius float32) *themedRect {
	r := &themedRect{color: c, radius: radius}
	r.ExtendBaseWidget(r)
	return r
}

func (r *themedRect) CreateRenderer() fyne.WidgetRenderer {
	rect := canvas.NewRectangle(nil)
	rr := &themedRectRenderer{r: r, rect: rect}
	rr.Refresh()
	return rr
}

type themedRectRenderer struct {
	r    *themedRect
	rect *canvas.Rectangle
}

func (rr *themedRectRenderer) Layout(s fyne.Size)           { rr.rect.Resize(s) }
func (rr *themedRectRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (rr *themedRectRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{rr.rect} }
func (rr *themedRectRenderer) Destroy()                     {}
func (rr *themedRectRenderer) Refresh() {
	th := rr.r.Theme()
	rr.rect.FillColor = th.Color(rr.r.color, fyne.CurrentApp().Settings().ThemeVariant())
	rr.rect.CornerRadius = rr.r.radius
	rr.rect.Refresh()
}

// minSizeLayout gives its objects (stacked) at least the given size.
type minSizeLayout struct{ min fyne.Size }

func (l minSizeLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.Position{})
		o.Resize(s)
	}
}

func (l minSizeLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := l.min
	for _, o := range objs {
		m = m.Max(fyne.NewSize(0, o.MinSize().Height))
	}
	return m
}

// withMinWidth makes o at least w wide.
func withMinWidth(o fyne.CanvasObject, w float32) fyne.CanvasObject {
	return container.New(minSizeLayout{min: fyne.NewSize(w, 0)}, o)
}

// keyButton is a button that also reports Escape (which a focused plain
// button swallows), so "back" works wherever the keyboard focus is.
type keyButton struct {
	widget.Button
	onEscape func()
}

func newKeyButton(label string, icon fyne.Resource, tapped, escape func()) *keyButton {
	b := &keyButton{onEscape: escape}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && b.onEscape != nil {
		b.onEscape()
		return
	}
	b.Button.TypedKey(ev)
}

// banner is a visible error message with a dismiss button and an optional
// action ("Retry").
type banner struct {
	root     *fyne.Container
	msg      *widget.Label
	action   *widget.Button
	onAct    func()
	relayout func() // lays the screen out again when the banner shows or hides
}

func newBanner() *banner {
	b := &banner{msg: widget.NewLabel("")}
	b.msg.Wrapping = fyne.TextWrapWord
	b.msg.Importance = widget.DangerImportance
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
	b.action = widget.NewButton("Retry", func() {
		if b.onAct != nil {
			b.onAct()
		}
	})
	b.action.Importance = widget.LowImportance
	closeBtn := widget.NewButtonWithIcon("", theme.CancelIcon(), b.Hide)
	closeBtn.Importance = widget.LowImportance
	row := border(nil, nil, icon, container.NewHBox(b.action, closeBtn), b.msg)
	b.root = container.NewStack(newThemedRect(colorNameBanner, 6), container.NewPadded(row))
	b.root.Hide()
	return b
}

// Show displays msg; action, when not nil, is offered as actionLabel.
func (b *banner) Show(msg, actionLabel string, action func()) {
	b.msg.SetText(msg)
	b.onAct = action
	if action != nil {
		b.action.SetText(actionLabel)
		b.action.Show()
	} else {
		b.action.Hide()
	}
	b.root.Show()
}

func (b *banner) Hide()         { b.root.Hide() }
func (b *banner) Visible() bool { return b.root.Visible() }
func (b *banner) Text() string  { return b.msg.Text }

// clampLines word-wraps text into at most maxLines lines no wider than
// width, ending the last one with "…" when text does not fit.
func clampLines(text string, width, size float32, style fyne.TextStyle, maxLines int) []string {
	words := strings.Fields(text)
	var lines []string
	for i := 0; i < len(words) && len(lines) < maxLines; {
		if len(lines) == maxLines-1 { // the last line takes the rest
			return append(lines, ellipsize(strings.Join(words[i:], " "), width, size, style))
		}
		cur := words[i]
		i++
		for i < len(words) && fyne.MeasureText(cur+" "+words[i], size, style).Width <= width {
			cur += " " + words[i]
			i++
		}
		lines = append(lines, ellipsize(cur, width, size, style))
	}
	return lines
}

// ellipsize shortens s with "…" until it fits width.
func ellipsize(s string, width, size float32, style fyne.TextStyle) string {
	if fyne.MeasureText(s, size, style).Width <= width {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // binary search the longest prefix that fits with "…"
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fyne.MeasureText(strings.TrimRight(string(r[:mid]), " ")+"…", size, style).Width <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return strings.TrimRight(string(r[:lo]), " ,.;:-") + "…"
}

// newMutedText is a one-line secondary text (status lines, counts).
func newMutedText(size fyne.ThemeSizeName) *widget.RichText {
	rt := widget.NewRichText(&widget.TextSegment{Style: widget.RichTextStyle{
		ColorName: colorNameMuted, SizeName: size, Inline: true}})
	rt.Truncation = fyne.TextTruncateEllipsis
	return rt
}

// setMutedText changes a newMutedText's text.
func setMutedText(rt *widget.RichText, s string) {
	seg := rt.Segments[0].(*widget.TextSegment)
	if seg.Text == s {
		return
	}
	seg.Text = s
	rt.Refresh()
}

// mutedText reads a newMutedText's text.
func mutedText(rt *widget.RichText) string {
	return rt.Segments[0].(*widget.TextSegment).Text
}

// maxWidthLayout keeps its objects (stacked) no wider than w, on the left,
// so forms stay readable in a wide window.
type maxWidthLayout struct{ w float32 }

func (l maxWidthLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	s.Width = min(s.Width, l.w)
	for _, o := range objs {
		o.Move(fyne.Position{})
		o.Resize(s)
	}
}

func (l maxWidthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var m fyne.Size
	for _, o := range objs {
		m = m.Max(o.MinSize())
	}
	return m
}

// border is container.NewBorder with its objects in reading order (top,
// left, center, right, bottom), which is the order Tab walks them in;
// container.NewBorder puts the center first.
func border(top, bottom, left, right, center fyne.CanvasObject) *fyne.Container {
	var objs []fyne.CanvasObject
	for _, o := range []fyne.CanvasObject{top, left, center, right, bottom} {
		if o != nil {
			objs = append(objs, o)
		}
	}
	return container.New(layout.NewBorderLayout(top, bottom, left, right), objs...)
}

// relayout lays out o's containers again, all the way down to the widgets.
// A container only lays out when its size changes, so a child that grew,
// shrank, showed or hid inside one of unchanged size would overlap its
// neighbours; this is the fix, done after such a change.
func relayout(o fyne.CanvasObject) {
	c, ok := o.(*fyne.Container)
	if !ok {
		return
	}
	if c.Layout != nil {
		c.Layout.Layout(c.Objects, c.Size())
	}
	for _, ch := range c.Objects {
		relayout(ch)
	}
	canvas.Refresh(c)
}

// relayoutScroll lays out a scroll container's content again (its min
// size may have changed).
func relayoutScroll(s *container.Scroll) {
	s.Refresh()
	relayout(s.Content)
}

// scrollToObject scrolls s so that o (a descendant of its content,
// through containers) is at the top.
func scrollToObject(s *container.Scroll, o fyne.CanvasObject) {
	var y float32
	for p := o; p != nil && p != s.Content; p = parentOf(s.Content, p) {
		y += p.Position().Y
	}
	s.ScrollToOffset(fyne.NewPos(0, max(y-8, 0)))
}

// parentOf finds o's container under root (nil when none).
func parentOf(root, o fyne.CanvasObject) fyne.CanvasObject {
	c, ok := root.(*fyne.Container)
	if !ok {
		return nil
	}
	for _, ch := range c.Objects {
		if ch == o {
			return c
		}
		if p := parentOf(ch, o); p != nil {
			return p
		}
	}
	return nil
}

// appEntry is a text entry that lets the window's own shortcuts through
// (a focused plain Entry swallows Ctrl+O, Ctrl+F…), and reports Escape
// when onEscape is set (to close the dialog it is in).
type appEntry struct {
	widget.Entry
	u        *UI
	onEscape func()
}

func newAppEntry(u *UI) *appEntry {
	e := &appEntry{u: u}
	e.ExtendBaseWidget(e)
	return e
}

func (e *appEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(ev)
}

func (e *appEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && e.u != nil && e.u.isWindowShortcut(cs) {
		e.u.win.Canvas().(fyne.Shortcutable).TypedShortcut(s)
		return
	}
	e.Entry.TypedShortcut(s)
}
