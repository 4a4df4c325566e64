package gui

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// Screens of the main window.
const (
	screenDiscover = "discover"
	screenVideo    = "video"
	screenSettings = "settings"
)

// UI is Fourmi's main window and everything shown in it.
//
// Every field below belongs to the UI (main) thread. Goroutines talk to
// the library and hand their results back with u.do, which is fyne.Do.
type UI struct {
	app fyne.App
	lib *library.Library
	log *slog.Logger
	win fyne.Window

	ctx    context.Context // cancelled by Close; parent of every load
	cancel context.CancelFunc
	wg     sync.WaitGroup

	do      func(func()) // fyne.Do (tests run their own UI loop)
	now     func() time.Time
	openURL func(*url.URL) error

	theme    *fourmiTheme
	thumbs   *thumbs
	discover *discover
	video    *videoScreen
	settings *settingsScreen
	addDlg   *addDialog // the last "Add instance" dialog opened

	screen      string
	navDiscover *widget.Button
	navSettings *widget.Button
	started     bool
}

// New builds the main window for lib; logger is the GUI's component
// logger. It starts nothing: Show (or ShowAndRun) starts loading the
// catalogs, Close stops them and waits.
func New(app fyne.App, lib *library.Library, logger *slog.Logger) *UI {
	if logger == nil {
		logger = slog.Default().With("component", "gui")
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{
		app: app, lib: lib, log: logger,
		ctx: ctx, cancel: cancel,
		do: fyne.Do, now: time.Now, openURL: app.OpenURL,
	}
	u.win = app.NewWindow("Fourmi")
	u.win.Resize(fyne.NewSize(1200, 780))
	u.win.SetMaster()
	u.win.SetPadded(false) // the sidebar goes to the edges

	mode := themeSystem
	if lib != nil {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		if v, err := lib.Theme(rctx); err == nil {
			mode = v
		} else {
			u.log.Warn("read theme setting", "err", err)
		}
		rcancel()
	}
	u.theme = newTheme(mode)
	app.Settings().SetTheme(u.theme)

	u.thumbs = newThumbs(u)
	u.discover = newDiscover(u)
	u.video = newVideoScreen(u)
	u.settings = newSettingsScreen(u)

	u.win.SetContent(u.layout())
	u.bindKeys()
	u.showScreen(screenDiscover)
	return u
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Show starts loading the catalogs (the first time) and shows the window.
func (u *UI) Show() {
	if !u.started {
		u.started = true
		u.discover.start()
	}
	u.win.Show()
}

// ShowAndRun shows the window and runs the app until it quits.
func (u *UI) ShowAndRun() {
	u.Show()
	u.app.Run()
}

// Close cancels every load in flight and waits for their goroutines.
func (u *UI) Close() {
	u.cancel()
	u.wg.Wait()
}

// goRun runs f on a goroutine that Close waits for.
func (u *UI) goRun(f func(ctx context.Context)) {
	if u.ctx.Err() != nil {
		return
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		f(u.ctx)
	}()
}

func (u *UI) layout() fyne.CanvasObject {
	name := canvas.NewText("Fourmi", theme.Color(theme.ColorNamePrimary))
	name.TextSize = 22
	name.TextStyle.Bold = true
	tagline := newMutedText(theme.SizeNameCaptionText)
	setMutedText(tagline, "PeerTube, peer to peer")
	u.navDiscover = widget.NewButtonWithIcon("Discover", theme.SearchIcon(), func() { u.showScreen(screenDiscover) })
	u.navSettings = widget.NewButtonWithIcon("Settings", theme.SettingsIcon(), func() { u.showScreen(screenSettings) })
	for _, b := range []*widget.Button{u.navDiscover, u.navSettings} {
		b.Alignment = widget.ButtonAlignLeading
	}
	brand := newBrand(name)
	side := container.NewVBox(
		container.NewPadded(container.NewVBox(brand, tagline)),
		u.navDiscover, u.navSettings,
	)
	sidebar := container.NewStack(newThemedRect(colorNameSidebar, 0),
		container.NewPadded(withMinWidth(side, 170)))
	screens := container.NewStack(u.discover.root, u.video.root, u.settings.root)
	main := container.New(layout.NewCustomPaddedLayout(10, 6, 14, 14), screens)
	return border(nil, nil, sidebar, nil, main)
}

// brand is the app name in the accent colour, following theme changes.
type brand struct {
	widget.BaseWidget
	text *canvas.Text
}

func newBrand(t *canvas.Text) *brand {
	b := &brand{text: t}
	b.ExtendBaseWidget(b)
	return b
}

func (b *brand) CreateRenderer() fyne.WidgetRenderer { return &brandRenderer{b} }

type brandRenderer struct{ b *brand }

func (r *brandRenderer) Layout(s fyne.Size)           { r.b.text.Resize(s) }
func (r *brandRenderer) MinSize() fyne.Size           { return r.b.text.MinSize() }
func (r *brandRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.b.text} }
func (r *brandRenderer) Destroy()                     {}
func (r *brandRenderer) Refresh() {
	r.b.text.Color = r.b.Theme().Color(theme.ColorNamePrimary, fyne.CurrentApp().Settings().ThemeVariant())
	r.b.text.Refresh()
}

// showScreen switches the main area; the Video screen counts as Discover
// in the sidebar (it is opened from there).
func (u *UI) showScreen(s string) {
	if s == screenDiscover && u.screen == screenVideo {
		u.closeVideo()
		return
	}
	u.screen = s
	setVisible(u.discover.root, s == screenDiscover)
	setVisible(u.video.root, s == screenVideo)
	setVisible(u.settings.root, s == screenSettings)
	if s == screenSettings {
		u.settings.reload()
	}
	u.navDiscover.Importance, u.navSettings.Importance = widget.LowImportance, widget.LowImportance
	if s == screenSettings {
		u.navSettings.Importance = widget.HighImportance
	} else {
		u.navDiscover.Importance = widget.HighImportance
	}
	u.navDiscover.Refresh()
	u.navSettings.Refresh()
}

func setVisible(o fyne.CanvasObject, visible bool) {
	if visible {
		o.Show()
	} else {
		o.Hide()
	}
}

// openVideo shows the Video screen for v.
func (u *UI) openVideo(v library.Video) {
	c := u.win.Canvas()
	u.discover.hadFocus = c.Focused() == fyne.Focusable(u.discover.grid)
	c.Unfocus()
	u.video.show(v)
	u.showScreen(screenVideo)
}

// closeVideo goes back from the Video screen to Discover, where it was.
func (u *UI) closeVideo() {
	if u.screen != screenVideo {
		return
	}
	u.video.leave()
	u.screen = ""
	u.showScreen(screenDiscover)
	if u.discover.hadFocus {
		u.win.Canvas().Focus(u.discover.grid)
	}
}

// focusSearch is Ctrl+F: Discover's search entry gets the keyboard.
func (u *UI) focusSearch() {
	u.showScreen(screenDiscover)
	u.win.Canvas().Focus(u.discover.search)
}

var (
	shortcutFind = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutBack = &desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt}
)

func (u *UI) bindKeys() {
	c := u.win.Canvas()
	c.AddShortcut(shortcutFind, func(fyne.Shortcut) { u.focusSearch() })
	c.AddShortcut(shortcutBack, func(fyne.Shortcut) { u.closeVideo() })
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape || ev.Name == fyne.KeyBackspace {
			u.closeVideo()
		}
	})
}

// setTheme applies a theme mode at once and saves it.
func (u *UI) setTheme(mode string) {
	if mode == u.theme.mode {
		return
	}
	u.theme = newTheme(mode)
	u.app.Settings().SetTheme(u.theme)
	mode = u.theme.mode
	if r := u.settings.themeRadio; r.Selected != themeLabel(mode) {
		r.SetSelected(themeLabel(mode)) // calls back here: a no-op now
	}
	u.goRun(func(ctx context.Context) {
		if err := u.lib.SetTheme(ctx, mode); err != nil {
			u.log.Warn("save theme", "err", err)
			u.do(func() { u.settings.banner.Show("Could not save the theme: "+errorText(err), "", nil) })
		}
	})
}
