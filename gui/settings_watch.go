package gui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// The max-resolution choices, best first, as stored ("1080").
var maxResolutions = []int{2160, 1440, 1080, 720, 480, 360}

func maxResLabel(r int) string {
	if r == 2160 {
		return "2160p (4K)"
	}
	return fmt.Sprintf("%dp", r)
}

// The player choices and their setting values.
var players = []struct{ label, value string }{
	{"Automatic (mpv, then VLC)", ""},
	{"mpv", "mpv"},
	{"VLC", "vlc"},
	{"System default", "default"},
}

// Units of the rate limits.
var rateUnits = []struct {
	label string
	mult  float64
}{{"KB/s", kib}, {"MB/s", mib}}

// numField is a number entry with an optional unit and an inline error.
type numField struct {
	entry    *appEntry
	unit     *widget.Select // nil: no unit choice
	err      *widget.Label
	row      fyne.CanvasObject
	max      float64 // the largest value accepted, in the field's base unit
	what     string  // "an upload limit"
	unitName string  // " GB", " days" (rates have their unit picker)
}

// parseLimit reads a limit the user typed: a number ≥ 0 (0 means no
// limit), with a decimal point or comma. The error is the inline message.
func parseLimit(text string) (float64, error) {
	t := strings.ReplaceAll(strings.TrimSpace(text), ",", ".")
	if t == "" {
		return 0, errors.New("Enter a number (0 means no limit)")
	}
	x, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("“%s” is not a number", strings.TrimSpace(text))
	}
	if x < 0 {
		return 0, errors.New("Must be 0 or more (0 means no limit)")
	}
	return x, nil
}

// value is the field's number in its base unit (bytes, days, ratio).
func (f *numField) value() (float64, error) {
	x, err := parseLimit(f.entry.Text)
	if err != nil {
		return 0, err
	}
	if f.unit != nil {
		x *= f.unitMult()
	}
	if x > f.max {
		return 0, fmt.Errorf("That is more than any computer needs: at most %s", f.format(f.max))
	}
	return x, nil
}

func (f *numField) unitMult() float64 {
	for _, u := range rateUnits {
		if u.label == f.unit.Selected {
			return u.mult
		}
	}
	return 1
}

func (f *numField) format(x float64) string {
	if f.unit != nil {
		return formatRate(x)
	}
	return formatNumber(x) + f.unitName
}

// check shows or hides the inline error; it says whether the field is good.
func (f *numField) check() bool {
	_, err := f.value()
	if err != nil {
		setLabel(f.err, err.Error())
		f.err.Show()
		return false
	}
	f.err.Hide()
	return true
}

// watchSettings is the "Watching & seeding" part of Settings.
type watchSettings struct {
	s        *settingsScreen
	head     fyne.CanvasObject
	maxRes   *widget.Select
	player   *widget.Select
	onClose  *widget.Select // what closing the window does (settingCloseAction)
	up, down *numField
	ratio    *numField
	days     *numField
	disk     *numField
	save     *widget.Button
	note     *widget.RichText
	loading  bool // the pickers are set by code
	edited   bool // the limits changed since read
}

func newWatchSettings(s *settingsScreen) *watchSettings {
	w := &watchSettings{s: s}
	labels := make([]string, len(maxResolutions))
	for i, r := range maxResolutions {
		labels[i] = maxResLabel(r)
	}
	w.maxRes = widget.NewSelect(labels, func(string) { w.saveMaxRes() })
	plabels := make([]string, len(players))
	for i, p := range players {
		plabels[i] = p.label
	}
	w.player = widget.NewSelect(plabels, func(string) { w.savePlayer() })
	clabels := make([]string, len(closeActions))
	for i, c := range closeActions {
		clabels[i] = c.label
	}
	w.onClose = widget.NewSelect(clabels, func(string) { w.saveCloseAction() })

	w.up = w.newField("an upload limit", true, 100*gib)
	w.down = w.newField("a download limit", true, 100*gib)
	w.ratio = w.newField("a ratio", false, 1000)
	w.days = w.newField("days", false, 3650)
	w.days.unitName = " days"
	w.disk = w.newField("a disk budget", false, 1<<20)
	w.disk.unitName = " GB"
	w.save = widget.NewButtonWithIcon("Save limits", theme.DocumentSaveIcon(), w.saveLimits)
	w.save.Importance = widget.HighImportance
	w.note = newMutedText(theme.SizeNameText)
	w.note.Hide()
	w.head = section("Watching & seeding")
	return w
}

func (w *watchSettings) newField(what string, rate bool, maxValue float64) *numField {
	f := &numField{entry: newAppEntry(w.s.u), what: what, max: maxValue}
	f.err = widget.NewLabel("")
	f.err.Importance = widget.DangerImportance
	f.err.Wrapping = fyne.TextWrapWord
	f.err.Hide()
	f.entry.OnChanged = func(string) { w.changed(f) }
	f.entry.OnSubmitted = func(string) { w.saveLimits() }
	field := withMinWidth(f.entry, 140)
	if rate {
		f.unit = widget.NewSelect([]string{rateUnits[0].label, rateUnits[1].label}, nil)
		f.unit.SetSelected("MB/s")
		f.unit.OnChanged = func(string) { w.changed(f) }
		field = container.NewHBox(field, withMinWidth(f.unit, 96))
	} else {
		field = container.NewHBox(field)
	}
	f.row = container.New(layout.NewCustomPaddedVBoxLayout(0), field, f.err)
	return f
}

func (w *watchSettings) fields() []*numField {
	return []*numField{w.up, w.down, w.ratio, w.days, w.disk}
}

// content is the section's widgets, for the Settings column.
func (w *watchSettings) content() []fyne.CanvasObject {
	unitHint := func(text string) fyne.CanvasObject {
		t := newMutedText(theme.SizeNameText)
		t.Truncation = fyne.TextTruncateOff
		setMutedText(t, text)
		return t
	}
	form := container.New(layout.NewFormLayout(),
		fieldName("Best quality up to"), container.NewHBox(withMinWidth(w.maxRes, 160)),
		fieldName("Player"), container.NewHBox(withMinWidth(w.player, 240)),
		fieldName("Closing the window"), container.NewHBox(withMinWidth(w.onClose, 240)),
		fieldName("Upload limit"), w.up.row,
		fieldName("Download limit"), w.down.row,
		fieldName("Share ratio target"), container.NewHBox(w.ratio.row, container.NewCenter(unitHint("× the video's size"))),
		fieldName("Seed for"), container.NewHBox(w.days.row, container.NewCenter(unitHint("days after it completes"))),
		fieldName("Disk budget"), container.NewHBox(w.disk.row, container.NewCenter(unitHint("GB; the least recently watched go first"))),
	)
	return []fyne.CanvasObject{
		w.head,
		paragraph("Fourmi plays videos over BitTorrent from the instance and from other viewers, and keeps sharing what you watched, within these limits. 0 means no limit."),
		form,
		container.NewHBox(w.save, container.NewCenter(w.note)),
	}
}

// changed validates the field the user edited, and the Save button.
func (w *watchSettings) changed(f *numField) {
	if w.loading {
		return
	}
	w.edited = true
	f.check()
	w.updateSave()
	w.setNote("")
}

func (w *watchSettings) updateSave() {
	ok := true
	for _, f := range w.fields() {
		if _, err := f.value(); err != nil {
			ok = false
		}
	}
	setEnabled(w.save, ok)
}

func (w *watchSettings) setNote(text string) {
	setMutedText(w.note, text)
	setVisible(w.note, text != "")
}

// load shows what the library has (limits left alone while being edited).
func (w *watchSettings) load(lim library.SeedLimits, limErr error, maxRes, player string) {
	w.loading = true
	defer func() { w.loading = false }()
	r, err := strconv.Atoi(maxRes)
	if err != nil || r <= 0 {
		r = defaultMaxResolution
	}
	label := maxResLabel(r)
	if !slices.Contains(w.maxRes.Options, label) {
		w.maxRes.SetOptions(append(w.maxRes.Options, label))
	}
	w.maxRes.SetSelected(label)
	for _, p := range players {
		if p.value == player {
			w.player.SetSelected(p.label)
		}
	}
	if limErr != nil || w.edited {
		return
	}
	setRate(w.up, lim.UploadRate)
	setRate(w.down, lim.DownloadRate)
	w.ratio.entry.SetText(formatNumber(lim.RatioTarget))
	w.days.entry.SetText(formatNumber(lim.SeedFor.Hours() / 24))
	w.disk.entry.SetText(formatNumber(float64(lim.DiskBudget) / gib))
	for _, f := range w.fields() {
		f.check()
	}
	w.updateSave()
}

// setRate shows a rate in MB/s when that writes it exactly ("1.5"), else
// in KB/s.
func setRate(f *numField, r int64) {
	for _, u := range []struct {
		label string
		mult  float64
	}{{"MB/s", mib}, {"KB/s", kib}} {
		text := formatNumber(float64(r) / u.mult)
		if x, err := strconv.ParseFloat(text, 64); err == nil && int64(x*u.mult) == r {
			f.unit.SetSelected(u.label)
			f.entry.SetText(text)
			return
		}
	}
	f.unit.SetSelected("KB/s")
	f.entry.SetText(formatNumber(float64(r) / kib))
}

// limits reads the fields into SeedLimits.
func (w *watchSettings) limits() (library.SeedLimits, bool) {
	var v [5]float64
	ok := true
	for i, f := range w.fields() {
		x, err := f.value()
		if err != nil {
			ok = false
		}
		f.check()
		v[i] = x
	}
	return library.SeedLimits{
		UploadRate:   int64(v[0]),
		DownloadRate: int64(v[1]),
		RatioTarget:  v[2],
		SeedFor:      time.Duration(v[3] * float64(24*time.Hour)),
		DiskBudget:   int64(v[4] * gib),
	}, ok
}

func (w *watchSettings) saveLimits() {
	lim, ok := w.limits()
	w.updateSave()
	if !ok {
		w.setNote("")
		return
	}
	w.save.Disable()
	u := w.s.u
	u.goRun(func(ctx context.Context) {
		err := u.lib.SetSeedLimits(ctx, lim)
		u.do(func() {
			w.updateSave()
			if err != nil {
				u.log.Warn("save seeding limits", "err", err)
				w.s.banner.Show("Could not save the limits: "+errorText(err), "", nil)
				w.s.relayout()
				return
			}
			w.edited = false
			w.setNote("Saved.")
			w.s.reload() // shows what the library stored
		})
	})
}

func (w *watchSettings) saveMaxRes() {
	if w.loading {
		return
	}
	i := w.maxRes.SelectedIndex()
	if i < 0 || i >= len(maxResolutions) {
		return
	}
	w.saveSetting(library.SettingMaxResolution, strconv.Itoa(maxResolutions[i]), "the maximum resolution")
}

func (w *watchSettings) savePlayer() {
	if w.loading {
		return
	}
	i := w.player.SelectedIndex()
	if i < 0 {
		return
	}
	w.saveSetting(library.SettingPlayer, players[i].value, "the player")
}

// closeActions are the choices for closing the window.
var closeActions = []struct{ label, value string }{
	{"Ask", ""},
	{"Keeps seeding in the tray", closeToTray},
	{"Quits Fourmi", closeQuits},
}

// loadCloseAction shows the saved choice.
func (w *watchSettings) loadCloseAction(value string) {
	w.loading = true
	defer func() { w.loading = false }()
	for _, c := range closeActions {
		if c.value == value {
			w.onClose.SetSelected(c.label)
		}
	}
}

func (w *watchSettings) saveCloseAction() {
	if w.loading {
		return
	}
	i := w.onClose.SelectedIndex()
	if i < 0 {
		return
	}
	w.saveSetting(settingCloseAction, closeActions[i].value, "what closing the window does")
}

func (w *watchSettings) saveSetting(key, value, what string) {
	u := w.s.u
	u.goRun(func(ctx context.Context) {
		err := u.lib.SetSetting(ctx, key, value)
		u.do(func() {
			if err != nil {
				u.log.Warn("save setting", "key", key, "err", err)
				w.s.banner.Show("Could not save "+what+": "+errorText(err), "", nil)
				w.s.relayout()
			}
		})
	})
}
