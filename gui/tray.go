package gui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// tray is the system tray menu: Show Fourmi, Pause seeding (Resume
// seeding once paused) and Quit. With a tray, closing the window hides
// it and seeding goes on; Quit (or Ctrl+Q) ends the app.
type tray struct {
	u *UI

	menu   *fyne.Menu
	show   *fyne.MenuItem
	pause  *fyne.MenuItem
	quit   *fyne.MenuItem
	active bool // the app has a system tray: closing the window hides it

	isPaused bool // seeding is paused (the library's stored state)
	busy     bool // a pause or resume runs
	told     bool // the user was told the window went to the tray
}

// newTray builds the menu; setupTray installs it when the app has a tray.
func newTray(u *UI) *tray {
	t := &tray{u: u}
	t.show = fyne.NewMenuItem("Show Fourmi", t.showWindow)
	t.pause = fyne.NewMenuItem("Pause seeding", t.togglePause)
	t.quit = fyne.NewMenuItem("Quit", func() { u.quit() })
	t.quit.IsQuit = true
	t.menu = fyne.NewMenu("Fourmi", t.show, t.pause, fyne.NewMenuItemSeparator(), t.quit)
	return t
}

// setupTray puts the menu in the system tray when the app has one
// (desktop drivers), and makes closing the window hide it.
func (u *UI) setupTray() {
	u.tray = newTray(u)
	if u.lib != nil {
		u.tray.loadPause()
	}
	desk, ok := u.app.(desktop.App)
	if !ok {
		return // the test driver, mobile: closing the window quits
	}
	if icon := u.app.Icon(); icon != nil {
		desk.SetSystemTrayIcon(icon)
	}
	desk.SetSystemTrayMenu(u.tray.menu)
	u.tray.active = true
	u.win.SetCloseIntercept(u.tray.onClose)
}

// settingCloseAction is what closing the window does: "" asks the first
// time, closeToTray hides it (seeding goes on), closeQuits quits. Some
// Linux desktops show no tray area although the driver claims one, so
// hiding is never the silent default.
const (
	settingCloseAction = "ui.close_action"
	closeToTray        = "tray"
	closeQuits         = "quit"
)

// onClose is the window's close button when there is a tray.
func (t *tray) onClose() {
	u := t.u
	if u.lib == nil {
		u.quit()
		return
	}
	u.goRun(func(ctx context.Context) {
		action, _, err := u.lib.Setting(ctx, settingCloseAction)
		u.do(func() {
			switch {
			case err == nil && action == closeToTray:
				t.hideWindow()
			case err == nil && action == closeQuits:
				u.quit()
			default:
				t.askOnClose()
			}
		})
	})
}

// askOnClose asks once whether closing should keep Fourmi seeding in the
// tray; the answer is saved (Settings → Watching & seeding changes it).
func (t *tray) askOnClose() {
	u := t.u
	msg := paragraph("Fourmi can stay in the system tray and keep sharing the videos you watched, so others can watch them too. You can change this later in Settings.")
	d := dialog.NewCustomConfirm("Keep seeding after closing the window?", "Keep seeding in the tray", "Quit Fourmi",
		withMinWidth(msg, 420), func(keep bool) {
			action := closeQuits
			if keep {
				action = closeToTray
			}
			u.goRun(func(ctx context.Context) {
				if err := u.lib.SetSetting(ctx, settingCloseAction, action); err != nil {
					u.log.Warn("save setting", "key", settingCloseAction, "err", err)
				}
				u.do(func() {
					if keep {
						t.hideWindow()
					} else {
						u.quit()
					}
				})
			})
		}, u.win)
	d.SetConfirmImportance(widget.HighImportance)
	d.Show()
}

// showWindow is "Show Fourmi".
func (t *tray) showWindow() {
	t.u.win.Show()
	t.u.win.RequestFocus()
}

// hideWindow is the window's close button when there is a tray.
func (t *tray) hideWindow() {
	t.u.win.Hide()
	if !t.told {
		t.told = true
		t.u.notify(fyne.NewNotification("Fourmi keeps seeding",
			"Fourmi is in the system tray. Quit it from the tray menu or with Ctrl+Q."))
	}
}

// loadPause reads the stored Pause seeding state (the label shows it from
// the start) and follows its changes.
func (t *tray) loadPause() {
	u := t.u
	ctx, cancel := context.WithTimeout(u.ctx, 2*time.Second)
	paused, err := u.lib.SeedingPaused(ctx)
	cancel()
	if err != nil {
		u.log.Warn("read the seeding pause", "err", err)
	}
	t.isPaused = paused
	t.refresh()
	unsub := u.lib.SubscribeSeedingPaused(func(paused bool) {
		if u.ctx.Err() != nil {
			return
		}
		u.do(func() {
			t.isPaused = paused
			t.refresh()
		})
	})
	context.AfterFunc(u.ctx, unsub)
}

// togglePause is "Pause seeding" (no torrent uploads, kept across
// restarts) and "Resume seeding" (the torrents the pause stopped seed
// again; those the user paused stay paused). The Library screen's button
// does the same.
func (t *tray) togglePause() {
	u := t.u
	if t.busy || u.lib == nil {
		return
	}
	t.busy = true
	t.refresh()
	pause := !t.isPaused
	what := "resume"
	if pause {
		what = "pause"
	}
	u.goRun(func(ctx context.Context) {
		var err error
		if pause {
			err = u.lib.PauseSeeding(ctx)
		} else {
			err = u.lib.ResumeSeeding(ctx)
		}
		paused, rerr := u.lib.SeedingPaused(ctx)
		u.do(func() {
			t.busy = false
			if rerr == nil {
				t.isPaused = paused
			}
			t.refresh()
			if err != nil {
				u.log.Warn(what+" seeding", "err", err)
				u.notify(fyne.NewNotification("Could not "+what+" seeding", errorText(err)))
			}
		})
	})
}

// pauseLabel is the toggle's label for the state.
func pauseLabel(paused bool) string {
	if paused {
		return "Resume seeding"
	}
	return "Pause seeding"
}

// refresh shows the state in the menu and on the Library screen.
func (t *tray) refresh() {
	t.pause.Label = pauseLabel(t.isPaused)
	t.pause.Disabled = t.busy
	t.menu.Refresh()
	if t.u.library != nil {
		t.u.library.showSeedingPause(t.isPaused, t.busy)
	}
}
