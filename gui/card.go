package gui

import (
	"image"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// Card geometry: a 16:9 thumbnail and four lines of text under it.
const (
	cardPad = 6
	thumbW  = 240
	thumbH  = 135
)

// videoCard is one cell of the Discover grid. The grid reuses cards:
// set() points one at another video.
type videoCard struct {
	widget.BaseWidget
	index int
	video library.Video
	img   image.Image // nil shows the placeholder
	now   func() time.Time
	onTap func(index int)

	// Continue watching: how far the user got (0 hides the bar), the
	// line shown instead of views and age, and the keyboard focus.
	resume   float64
	metaText string
	focused  bool
}

func newVideoCard(now func() time.Time, onTap func(int)) *videoCard {
	c := &videoCard{now: now, onTap: onTap}
	c.ExtendBaseWidget(c)
	return c
}

func (c *videoCard) set(index int, v library.Video, img image.Image) {
	c.index, c.video, c.img = index, v, img
	c.Refresh()
}

// Tapped opens the card's video.
func (c *videoCard) Tapped(*fyne.PointEvent) {
	if c.onTap != nil {
		c.onTap(c.index)
	}
}

func (c *videoCard) CreateRenderer() fyne.WidgetRenderer {
	r := &cardRenderer{
		card:    c,
		thumbBg: canvas.NewRectangle(nil),
		icon:    canvas.NewImageFromResource(theme.MediaVideoIcon()),
		thumb:   &canvas.Image{FillMode: canvas.ImageFillCover, ScaleMode: canvas.ImageScaleSmooth},
		badgeBg: canvas.NewRectangle(color.NRGBA{A: 0xC0}),
		badge:   canvas.NewText("", color.White),
		title1:  canvas.NewText("", nil),
		title2:  canvas.NewText("", nil),
		channel: canvas.NewText("", nil),
		meta:    canvas.NewText("", nil),
		track:   canvas.NewRectangle(color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0x50}),
		fill:    canvas.NewRectangle(nil),
		ring:    canvas.NewRectangle(color.Transparent),
	}
	r.ring.StrokeWidth, r.ring.CornerRadius = 2, 8
	r.thumbBg.CornerRadius, r.thumb.CornerRadius, r.badgeBg.CornerRadius = 6, 6, 4
	r.icon.FillMode = canvas.ImageFillContain
	r.badge.TextStyle.Bold = true
	r.title1.TextStyle.Bold, r.title2.TextStyle.Bold = true, true
	r.objects = []fyne.CanvasObject{r.thumbBg, r.icon, r.thumb, r.badgeBg, r.badge, r.track, r.fill,
		r.title1, r.title2, r.channel, r.meta, r.ring}
	r.Refresh()
	return r
}

type cardRenderer struct {
	card                          *videoCard
	thumbBg                       *canvas.Rectangle
	icon                          *canvas.Image
	thumb                         *canvas.Image
	badgeBg                       *canvas.Rectangle
	badge                         *canvas.Text
	title1, title2, channel, meta *canvas.Text
	track, fill                   *canvas.Rectangle // resume position on the thumbnail
	ring                          *canvas.Rectangle // keyboard focus
	objects                       []fyne.CanvasObject
}

// text sizes relative to the theme's body size
func (r *cardRenderer) sizes() (title, channel, meta float32) {
	t := r.card.Theme().Size(theme.SizeNameText)
	return t, t - 1, t - 2
}

func lineHeight(size float32, style fyne.TextStyle) float32 {
	return fyne.MeasureText("Ág", size, style).Height
}

func (r *cardRenderer) MinSize() fyne.Size {
	ts, cs, ms := r.sizes()
	h := cardPad + thumbH + 6 + 2*lineHeight(ts, fyne.TextStyle{Bold: true}) + 4 +
		lineHeight(cs, fyne.TextStyle{}) + 1 + lineHeight(ms, fyne.TextStyle{}) + cardPad
	return fyne.NewSize(thumbW+2*cardPad, h)
}

func (r *cardRenderer) Layout(fyne.Size) {
	ts, cs, ms := r.sizes()
	x, y := float32(cardPad), float32(cardPad)
	r.thumbBg.Move(fyne.NewPos(x, y))
	r.thumbBg.Resize(fyne.NewSize(thumbW, thumbH))
	r.thumb.Move(fyne.NewPos(x, y))
	r.thumb.Resize(fyne.NewSize(thumbW, thumbH))
	const iconSize = 40
	r.icon.Move(fyne.NewPos(x+(thumbW-iconSize)/2, y+(thumbH-iconSize)/2))
	r.icon.Resize(fyne.NewSize(iconSize, iconSize))

	bs := fyne.MeasureText(r.badge.Text, r.badge.TextSize, r.badge.TextStyle)
	bw, bh := bs.Width+10, bs.Height+2
	r.badgeBg.Move(fyne.NewPos(x+thumbW-bw-6, y+thumbH-bh-6))
	r.badgeBg.Resize(fyne.NewSize(bw, bh))
	r.badge.Move(fyne.NewPos(x+thumbW-bw-6+5, y+thumbH-bh-6+1))
	r.badge.Resize(bs)

	const barH = 4
	r.track.Move(fyne.NewPos(x, y+thumbH-barH))
	r.track.Resize(fyne.NewSize(thumbW, barH))
	r.fill.Move(fyne.NewPos(x, y+thumbH-barH))
	r.fill.Resize(fyne.NewSize(thumbW*float32(min(max(r.card.resume, 0), 1)), barH))
	r.ring.Move(fyne.NewPos(1, 1))
	r.ring.Resize(r.card.Size().SubtractWidthHeight(2, 2))

	y += thumbH + 6
	// the channel and meta lines follow the title, one or two lines long
	tl := lineHeight(ts, fyne.TextStyle{Bold: true})
	for _, t := range []*canvas.Text{r.title1, r.title2} {
		t.Move(fyne.NewPos(x, y))
		t.Resize(fyne.NewSize(thumbW, tl))
		if t.Text != "" {
			y += tl
		}
	}
	y += 4
	r.channel.Move(fyne.NewPos(x, y))
	r.channel.Resize(fyne.NewSize(thumbW, lineHeight(cs, fyne.TextStyle{})))
	y += lineHeight(cs, fyne.TextStyle{}) + 1
	r.meta.Move(fyne.NewPos(x, y))
	r.meta.Resize(fyne.NewSize(thumbW, lineHeight(ms, fyne.TextStyle{})))
}

func (r *cardRenderer) Refresh() {
	c := r.card
	th := c.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	ts, cs, ms := r.sizes()
	fg, muted := th.Color(theme.ColorNameForeground, v), th.Color(colorNameMuted, v)

	r.thumbBg.FillColor = th.Color(colorNameThumbBg, v)
	r.icon.Resource = theme.NewDisabledResource(theme.MediaVideoIcon())
	if c.img != nil {
		r.thumb.Image = c.img
		r.thumb.Show()
		r.icon.Hide()
	} else {
		r.thumb.Image = nil
		r.thumb.Hide()
		r.icon.Show()
	}

	vid := c.video
	switch {
	case vid.IsLive:
		r.badge.Text = "LIVE"
		r.badgeBg.FillColor = th.Color(theme.ColorNameError, v)
	case vid.Duration > 0:
		r.badge.Text = formatDuration(vid.Duration)
		r.badgeBg.FillColor = color.NRGBA{A: 0xC0}
	default:
		r.badge.Text = ""
	}
	r.badge.TextSize = ms
	r.badge.Hidden, r.badgeBg.Hidden = r.badge.Text == "", r.badge.Text == ""

	lines := clampLines(vid.Name, thumbW, ts, fyne.TextStyle{Bold: true}, 2)
	r.title1.Text, r.title2.Text = "", ""
	if len(lines) > 0 {
		r.title1.Text = lines[0]
	}
	if len(lines) > 1 {
		r.title2.Text = lines[1]
	}
	ch := vid.Channel.DisplayName
	if ch == "" {
		ch = vid.Channel.Name
	}
	if ch == "" {
		ch = vid.Account.DisplayName
	}
	r.channel.Text = ellipsize(ch, thumbW, cs, fyne.TextStyle{})
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	host := vid.Origin
	if host == "" {
		host = vid.Channel.Host
	}
	meta := joinNonEmpty(" · ", formatViews(vid.Views), formatAge(vid.PublishedAt, now()), host)
	if c.metaText != "" {
		meta = c.metaText
	}
	r.meta.Text = ellipsize(meta, thumbW, ms, fyne.TextStyle{})
	r.fill.FillColor = th.Color(theme.ColorNamePrimary, v)
	r.track.Hidden, r.fill.Hidden = c.resume <= 0, c.resume <= 0
	r.ring.StrokeColor = th.Color(theme.ColorNameFocus, v)
	r.ring.Hidden = !c.focused

	r.title1.TextSize, r.title2.TextSize, r.channel.TextSize, r.meta.TextSize = ts, ts, cs, ms
	r.title1.Color, r.title2.Color, r.channel.Color, r.meta.Color = fg, fg, fg, muted
	r.Layout(c.Size())
	for _, o := range r.objects {
		o.Refresh()
	}
}

func (r *cardRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *cardRenderer) Destroy()                     {}

// cardGrid is a GridWrap whose keyboard cursor is its selection: arrows
// move the selection (GridWrap v2.7.1 only moves a private focus marker
// that nothing can read), Enter, Return or Space opens the selected card.
type cardGrid struct {
	widget.GridWrap
	cursor int
	onOpen func(int)
}

func newCardGrid(length func() int, create func() fyne.CanvasObject, update func(int, fyne.CanvasObject), onOpen func(int)) *cardGrid {
	g := &cardGrid{onOpen: onOpen}
	g.Length, g.CreateItem, g.UpdateItem = length, create, update
	g.OnSelected = func(id int) { g.cursor = id }
	g.ExtendBaseWidget(g)
	return g
}

func (g *cardGrid) count() int {
	if g.Length == nil {
		return 0
	}
	return g.Length()
}

// moveTo selects item i and scrolls it into view.
func (g *cardGrid) moveTo(i int) {
	n := g.count()
	if n == 0 {
		return
	}
	i = min(max(i, 0), n-1)
	g.cursor = i
	g.Select(i)
}

// reset forgets the selection and scrolls back to the top (new catalog).
func (g *cardGrid) reset() {
	g.UnselectAll()
	g.cursor = 0
	g.ScrollToOffset(0) // ScrollToTop would crash before the first render
}

// TypedKey moves the selection with the arrows and opens it with Enter.
func (g *cardGrid) TypedKey(ev *fyne.KeyEvent) {
	n := g.count()
	if n == 0 {
		return
	}
	cols := max(g.ColumnCount(), 1)
	switch ev.Name {
	case fyne.KeyLeft:
		g.moveTo(g.cursor - 1)
	case fyne.KeyRight:
		g.moveTo(g.cursor + 1)
	case fyne.KeyUp:
		if g.cursor >= cols {
			g.moveTo(g.cursor - cols)
		}
	case fyne.KeyDown:
		if g.cursor/cols < (n-1)/cols {
			g.moveTo(g.cursor + cols)
		}
	case fyne.KeyHome:
		g.moveTo(0)
	case fyne.KeyEnd:
		g.moveTo(n - 1)
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeySpace:
		g.moveTo(g.cursor)
		if g.onOpen != nil {
			g.onOpen(g.cursor)
		}
	}
}

// FocusGained shows where the keyboard is by selecting the cursor's card.
// GridWrap's own hover-style focus marker is not used.
func (g *cardGrid) FocusGained() {
	g.moveTo(g.cursor)
}

// FocusLost keeps the selection, so coming back finds the same card.
func (g *cardGrid) FocusLost() {}

// resumeCard is a Continue watching card: a video card with the resume
// position on its thumbnail, that takes the keyboard (Tab reaches it;
// Enter, Return or Space opens it).
type resumeCard struct {
	videoCard
}

func newResumeCard(now func() time.Time, onTap func(int)) *resumeCard {
	c := &resumeCard{}
	c.now, c.onTap = now, onTap
	c.ExtendBaseWidget(c)
	return c
}

func (c *resumeCard) FocusGained()   { c.focused = true; c.Refresh() }
func (c *resumeCard) FocusLost()     { c.focused = false; c.Refresh() }
func (c *resumeCard) TypedRune(rune) {}

func (c *resumeCard) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeySpace:
		c.Tapped(nil)
	}
}
