package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// onOffSwitch is a big on/off switch: a rounded track with a knob. A tap,
// or Space or Enter while it has the keyboard, flips it and calls
// OnChanged; SetOn changes it without calling back (the state it shows
// follows the library's).
type onOffSwitch struct {
	widget.DisableableWidget
	On        bool
	OnChanged func(on bool)
	focused   bool
}

func newOnOffSwitch(changed func(bool)) *onOffSwitch {
	s := &onOffSwitch{OnChanged: changed}
	s.ExtendBaseWidget(s)
	return s
}

// SetOn shows on without calling OnChanged.
func (s *onOffSwitch) SetOn(on bool) {
	if s.On != on {
		s.On = on
		s.Refresh()
	}
}

func (s *onOffSwitch) flip() {
	if s.Disabled() {
		return
	}
	s.On = !s.On
	s.Refresh()
	if s.OnChanged != nil {
		s.OnChanged(s.On)
	}
}

func (s *onOffSwitch) Tapped(*fyne.PointEvent) {
	if !s.Disabled() && !s.focused {
		if c := fyne.CurrentApp().Driver().CanvasForObject(s); c != nil {
			c.Focus(s)
		}
	}
	s.flip()
}

func (s *onOffSwitch) Cursor() desktop.Cursor { return desktop.PointerCursor }

func (s *onOffSwitch) FocusGained() { s.focused = true; s.Refresh() }
func (s *onOffSwitch) FocusLost()   { s.focused = false; s.Refresh() }
func (s *onOffSwitch) TypedRune(r rune) {
	if r == ' ' {
		s.flip()
	}
}

func (s *onOffSwitch) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		s.flip()
	}
}

// AcceptsTab lets Tab move the keyboard on.
func (s *onOffSwitch) AcceptsTab() bool { return false }

func (s *onOffSwitch) CreateRenderer() fyne.WidgetRenderer {
	r := &switchRenderer{s: s, track: canvas.NewRectangle(nil), knob: canvas.NewCircle(nil)}
	r.Refresh()
	return r
}

type switchRenderer struct {
	s     *onOffSwitch
	track *canvas.Rectangle
	knob  *canvas.Circle
}

const (
	switchWidth  = 64
	switchHeight = 34
	switchInset  = 4
)

func (r *switchRenderer) MinSize() fyne.Size { return fyne.NewSize(switchWidth, switchHeight) }

func (r *switchRenderer) Layout(size fyne.Size) {
	y := (size.Height - switchHeight) / 2
	r.track.Move(fyne.NewPos(0, y))
	r.track.Resize(fyne.NewSize(switchWidth, switchHeight))
	d := float32(switchHeight - 2*switchInset)
	x := float32(switchInset)
	if r.s.On {
		x = switchWidth - switchInset - d
	}
	r.knob.Move(fyne.NewPos(x, y+switchInset))
	r.knob.Resize(fyne.NewSize(d, d))
}

func (r *switchRenderer) Refresh() {
	th := r.s.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	track := th.Color(theme.ColorNameInputBorder, v)
	if r.s.On {
		track = th.Color(theme.ColorNamePrimary, v)
	}
	knob := color.Color(color.White)
	if r.s.Disabled() {
		track = th.Color(theme.ColorNameDisabledButton, v)
		knob = th.Color(theme.ColorNameDisabled, v)
	}
	r.track.FillColor = track
	r.track.CornerRadius = switchHeight / 2
	r.track.StrokeWidth = 0
	if r.s.focused {
		r.track.StrokeColor = th.Color(theme.ColorNameFocus, v)
		r.track.StrokeWidth = 3
	}
	r.knob.FillColor = knob
	r.Layout(r.s.Size())
	r.track.Refresh()
	r.knob.Refresh()
}

func (r *switchRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.track, r.knob} }
func (r *switchRenderer) Destroy()                     {}
