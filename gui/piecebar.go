package gui

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// compressPieces folds a torrent's verified pieces into n columns: each
// column is the fraction of its pieces that are verified, in [0, 1]. With
// more columns than pieces, each column shows the piece under it. No
// pieces (metadata not there yet) gives n empty columns.
func compressPieces(pieces []bool, n int) []float64 {
	if n <= 0 {
		return nil
	}
	out := make([]float64, n)
	total := len(pieces)
	if total == 0 {
		return out
	}
	for c := range out {
		lo, hi := c*total/n, (c+1)*total/n
		if hi <= lo {
			hi = lo + 1
		}
		done := 0
		for _, ok := range pieces[lo:hi] {
			if ok {
				done++
			}
		}
		out[c] = float64(done) / float64(hi-lo)
	}
	return out
}

// pieceBar draws which pieces of a torrent are verified: one column per
// pixel, in the accent colour where all its pieces are there, the track
// colour where none are, and in between for a partly downloaded column.
type pieceBar struct {
	widget.BaseWidget
	pieces []bool
}

func newPieceBar() *pieceBar {
	b := &pieceBar{}
	b.ExtendBaseWidget(b)
	return b
}

// set shows pieces (the slice is copied: the caller may reuse its own).
func (b *pieceBar) set(pieces []bool) {
	if equalBools(b.pieces, pieces) {
		return
	}
	b.pieces = append(b.pieces[:0], pieces...)
	b.Refresh()
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// colors are the bar's two ends, from the theme.
func (b *pieceBar) colors() (track, fill color.Color) {
	th := b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	return th.Color(colorNameThumbBg, v), th.Color(theme.ColorNamePrimary, v)
}

// image draws the bar w×h pixels large.
func (b *pieceBar) image(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	track, fill := b.colors()
	cols := compressPieces(b.pieces, w)
	for x, f := range cols {
		c := mix(track, fill, f)
		for y := range h {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// mix blends a towards b by f in [0, 1].
func mix(a, b color.Color, f float64) color.NRGBA {
	ca, cb := color.NRGBAModel.Convert(a).(color.NRGBA), color.NRGBAModel.Convert(b).(color.NRGBA)
	lerp := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*f + 0.5) }
	return color.NRGBA{R: lerp(ca.R, cb.R), G: lerp(ca.G, cb.G), B: lerp(ca.B, cb.B), A: lerp(ca.A, cb.A)}
}

func (b *pieceBar) CreateRenderer() fyne.WidgetRenderer {
	r := &pieceBarRenderer{bar: b}
	r.raster = canvas.NewRaster(b.image)
	r.raster.ScaleMode = canvas.ImageScalePixels
	return r
}

type pieceBarRenderer struct {
	bar    *pieceBar
	raster *canvas.Raster
}

func (r *pieceBarRenderer) Layout(s fyne.Size)           { r.raster.Resize(s) }
func (r *pieceBarRenderer) MinSize() fyne.Size           { return fyne.NewSize(120, 10) }
func (r *pieceBarRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.raster} }
func (r *pieceBarRenderer) Destroy()                     {}
func (r *pieceBarRenderer) Refresh()                     { r.raster.Refresh() }

// progressLine is a thin progress bar for list rows (widget.ProgressBar
// is a tall button-sized block that would dominate a list of transfers).
type progressLine struct {
	widget.BaseWidget
	Value float64 // in [0, 1]
}

func newProgressLine() *progressLine {
	p := &progressLine{}
	p.ExtendBaseWidget(p)
	return p
}

// SetValue moves the bar (no refresh when it does not move).
func (p *progressLine) SetValue(v float64) {
	v = min(max(v, 0), 1)
	if v == p.Value {
		return
	}
	p.Value = v
	p.Refresh()
}

func (p *progressLine) CreateRenderer() fyne.WidgetRenderer {
	r := &progressLineRenderer{p: p, track: canvas.NewRectangle(nil), fill: canvas.NewRectangle(nil)}
	r.track.CornerRadius, r.fill.CornerRadius = 3, 3
	r.Refresh()
	return r
}

type progressLineRenderer struct {
	p           *progressLine
	track, fill *canvas.Rectangle
}

const progressLineHeight = 6

func (r *progressLineRenderer) Layout(s fyne.Size) {
	y := (s.Height - progressLineHeight) / 2
	r.track.Move(fyne.NewPos(0, y))
	r.track.Resize(fyne.NewSize(s.Width, progressLineHeight))
	r.fill.Move(fyne.NewPos(0, y))
	r.fill.Resize(fyne.NewSize(s.Width*float32(r.p.Value), progressLineHeight))
}

func (r *progressLineRenderer) MinSize() fyne.Size { return fyne.NewSize(60, progressLineHeight+4) }
func (r *progressLineRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.track, r.fill}
}
func (r *progressLineRenderer) Destroy() {}
func (r *progressLineRenderer) Refresh() {
	th := r.p.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.track.FillColor = th.Color(colorNameThumbBg, v)
	r.fill.FillColor = th.Color(theme.ColorNamePrimary, v)
	r.fill.Hidden = r.p.Value <= 0
	r.Layout(r.p.Size())
	r.track.Refresh()
	r.fill.Refresh()
}
