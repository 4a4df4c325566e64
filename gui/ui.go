package gui

import (
	"cmp"
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
	screenLibrary  = "library"
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
	notify  func(*fyne.Notification) // app.SendNotification
	quit    func()                   // app.Quit

	theme    *fourmiTheme
	thumbs   *thumbs
	discover *discover
	video    *videoScreen
	library  *libraryScreen
	settings *settingsScreen
	publish  *publishScreen
	instance *instanceScreen
	subs     *subsScreen
	tray     *tray
	addDlg   *addDialog  // the last "Add instance" dialog opened
	openDlg  *openDialog // the "Open link" dialog while it shows
	// dialogEscape closes the dialog that shows (Delete, Edit), when set
	dialogEscape func()
	unsubPublish func() // stops the publishing progress events

	sessions map[string]*session // playbacks by video UUID (or transferKey)

	screen      string
	videoFrom   string // the screen the Video screen was opened from
	navDiscover *widget.Button
	navLibrary  *widget.Button
	navPublish  *widget.Button
	navInstance *widget.Button
	navSettings *widget.Button
	navSubs     *widget.Button
	openBtn     *widget.Button
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
		notify: app.SendNotification, quit: app.Quit,
		sessions: map[string]*session{},
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
	u.library = newLibraryScreen(u)
	u.settings = newSettingsScreen(u)
	u.publish = newPublishScreen(u)
	u.instance = newInstanceScreen(u)
	u.subs = newSubsScreen(u)

	u.win.SetContent(u.layout())
	u.bindKeys()
	u.win.SetOnDropped(u.droppedFiles)
	u.showScreen(screenDiscover)
	u.setupTray()
	return u
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Show starts loading the catalogs (the first time) and shows the window.
func (u *UI) Show() {
	if !u.started {
		u.started = true
		u.discover.start()
		if u.lib != nil {
			u.unsubPublish = u.subscribePublish()
			u.instance.start()
			u.subs.start()
		}
	}
	u.win.Show()
}

// ShowAndRun shows the window and runs the app until it quits.
func (u *UI) ShowAndRun() {
	u.Show()
	u.app.Run()
}

// Close cancels every load in flight, closes the players it started and
// waits for their goroutines. Call it on the UI thread (after ShowAndRun
// returns), before closing the library.
func (u *UI) Close() {
	u.cancel()
	if u.unsubPublish != nil {
		u.unsubPublish()
	}
	u.instance.stop()
	u.subs.stop()
	u.stopAllSessions()
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
	u.navLibrary = widget.NewButtonWithIcon("Library", theme.StorageIcon(), func() { u.showScreen(screenLibrary) })
	u.navSubs = widget.NewButtonWithIcon("Subscriptions", theme.ListIcon(), func() { u.showScreen(screenSubs) })
	u.navPublish = widget.NewButtonWithIcon("Publish", theme.UploadIcon(), u.showPublish)
	u.navInstance = widget.NewButtonWithIcon("Instance", theme.ComputerIcon(), u.showInstance)
	u.navSettings = widget.NewButtonWithIcon("Settings", theme.SettingsIcon(), func() { u.showScreen(screenSettings) })
	u.openBtn = widget.NewButtonWithIcon("Open link…", theme.FolderOpenIcon(), func() { u.showOpen() })
	for _, b := range []*widget.Button{u.navDiscover, u.navSubs, u.navLibrary, u.navPublish, u.navInstance, u.navSettings, u.openBtn} {
		b.Alignment = widget.ButtonAlignLeading
	}
	u.openBtn.Importance = widget.LowImportance
	openHint := newMutedText(theme.SizeNameCaptionText)
	setMutedText(openHint, "Magnet, .torrent or PeerTube link  ·  Ctrl+O")
	openHint.Wrapping = fyne.TextWrapWord
	openHint.Truncation = fyne.TextTruncateOff
	brand := newBrand(name)
	side := container.NewVBox(
		container.NewPadded(container.NewVBox(brand, tagline)),
		u.navDiscover,
		// the unseen count, over the entry's right end
		container.NewStack(u.navSubs, container.NewHBox(layout.NewSpacer(),
			container.New(layout.NewCustomPaddedLayout(0, 0, 0, 8), container.NewCenter(u.subs.badge.root)))),
		u.navLibrary, u.navPublish, u.navInstance, u.navSettings,
		widget.NewSeparator(),
		u.openBtn, container.New(layout.NewCustomPaddedLayout(0, 0, 10, 4), openHint),
	)
	sidebar := container.NewStack(newThemedRect(colorNameSidebar, 0),
		container.NewPadded(withMinWidth(side, 170)))
	screens := container.NewStack(u.discover.root, u.video.root, u.subs.root, u.library.root, u.publish.root, u.instance.root, u.settings.root)
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

// showScreen switches the main area. The Video screen counts, in the
// sidebar, as the screen it was opened from; asking for that screen from
// the Video screen goes back to it.
func (u *UI) showScreen(s string) {
	if u.screen == screenVideo && s == u.videoFrom {
		u.closeVideo()
		return
	}
	prev := u.screen
	if prev == screenVideo && s != screenVideo {
		u.video.leave()
	}
	if prev == screenLibrary && s != screenLibrary {
		u.library.hide()
	}
	if prev == screenSubs && s != screenSubs {
		u.subs.hide()
	}
	u.screen = s
	setVisible(u.discover.root, s == screenDiscover)
	setVisible(u.video.root, s == screenVideo)
	setVisible(u.library.root, s == screenLibrary)
	setVisible(u.subs.root, s == screenSubs)
	setVisible(u.settings.root, s == screenSettings)
	setVisible(u.publish.root, s == screenPublish)
	setVisible(u.instance.root, s == screenInstance)
	switch {
	case s == screenSettings:
		u.settings.reload()
	case s == screenPublish && prev != screenPublish:
		u.publish.shown()
	case s == screenLibrary && prev != screenLibrary:
		u.library.show()
	case s == screenInstance && prev != screenInstance:
		u.instance.shown()
	case s == screenSubs && prev != screenSubs:
		u.subs.shown()
	}
	nav := s
	if s == screenVideo {
		nav = u.videoFrom
	}
	for _, b := range []struct {
		btn    *widget.Button
		screen string
	}{{u.navDiscover, screenDiscover}, {u.navSubs, screenSubs}, {u.navLibrary, screenLibrary}, {u.navPublish, screenPublish}, {u.navInstance, screenInstance}, {u.navSettings, screenSettings}} {
		imp := widget.LowImportance
		if b.screen == nav {
			imp = widget.HighImportance
		}
		if b.btn.Importance != imp {
			b.btn.Importance = imp
			b.btn.Refresh()
		}
	}
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
	if u.screen != screenVideo {
		u.videoFrom = cmp.Or(u.screen, screenDiscover)
		if u.screen == screenDiscover {
			u.discover.hadFocus = c.Focused() == fyne.Focusable(u.discover.grid)
		}
	}
	c.Unfocus()
	u.video.show(v)
	u.showScreen(screenVideo)
}

// openVideoByUUID shows the Video screen for v (which may only have its
// UUID and name) and plays it at resolution res (0: the default).
func (u *UI) openVideoByUUID(v library.Video, res int) {
	u.openVideo(v)
	u.video.picked = res
	u.video.renderWatch()
	u.video.resume()
}

// closeVideo goes back from the Video screen to where it was opened.
func (u *UI) closeVideo() {
	if u.screen != screenVideo {
		return
	}
	u.video.leave()
	from := cmp.Or(u.videoFrom, screenDiscover)
	u.screen = ""
	u.showScreen(from)
	if from == screenDiscover && u.discover.hadFocus {
		u.win.Canvas().Focus(u.discover.grid)
	}
}

// focusSearch is Ctrl+F: Discover's search entry gets the keyboard.
func (u *UI) focusSearch() {
	u.showScreen(screenDiscover)
	u.win.Canvas().Focus(u.discover.search)
}

// The window's keyboard shortcuts. Play is Ctrl+Enter on the Video screen
// (and Space there when no control has the keyboard).
var (
	shortcutFind     = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutBack     = &desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt}
	shortcutOpen     = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutPublish  = &desktop.CustomShortcut{KeyName: fyne.KeyP, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutInstance = &desktop.CustomShortcut{KeyName: fyne.KeyI, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSubs     = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutQuit     = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutPlay     = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutPlayKeys = &desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierShortcutDefault}
)

var windowShortcuts = []*desktop.CustomShortcut{shortcutFind, shortcutBack, shortcutOpen, shortcutPublish, shortcutInstance, shortcutSubs, shortcutQuit, shortcutPlay, shortcutPlayKeys}

// isWindowShortcut says whether s is one of the window's own shortcuts.
func (u *UI) isWindowShortcut(s *desktop.CustomShortcut) bool {
	for _, w := range windowShortcuts {
		if w.KeyName == s.KeyName && w.Modifier == s.Modifier {
			return true
		}
	}
	return false
}

func (u *UI) bindKeys() {
	c := u.win.Canvas()
	c.AddShortcut(shortcutFind, func(fyne.Shortcut) { u.focusSearch() })
	c.AddShortcut(shortcutBack, func(fyne.Shortcut) { u.closeVideo() })
	c.AddShortcut(shortcutOpen, func(fyne.Shortcut) { u.showOpen() })
	c.AddShortcut(shortcutPublish, func(fyne.Shortcut) { u.showPublish() })
	c.AddShortcut(shortcutInstance, func(fyne.Shortcut) { u.showInstance() })
	c.AddShortcut(shortcutSubs, func(fyne.Shortcut) { u.showSubs() })
	c.AddShortcut(shortcutQuit, func(fyne.Shortcut) { u.quit() })
	play := func(fyne.Shortcut) {
		switch {
		case u.openDlg != nil:
		case u.screen == screenVideo:
			u.video.doPlay()
		case u.screen == screenPublish && u.dialogEscape == nil:
			u.publish.submit() // Ctrl+Enter publishes, also from the description
		}
	}
	c.AddShortcut(shortcutPlay, play)
	c.AddShortcut(shortcutPlayKeys, play)
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch {
		case ev.Name == fyne.KeyEscape && u.openDlg != nil:
			u.openDlg.close()
		case ev.Name == fyne.KeyEscape && u.dialogEscape != nil:
			u.dialogEscape()
		case ev.Name == fyne.KeyEscape || ev.Name == fyne.KeyBackspace:
			u.closeVideo()
		case ev.Name == fyne.KeySpace && u.screen == screenVideo && u.openDlg == nil:
			u.video.doPlay()
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
