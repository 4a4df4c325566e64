package gui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
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

	paused   []string // info-hashes that Pause seeding paused
	isPaused bool
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

// togglePause is "Pause seeding": every seeding torrent pauses; "Resume
// seeding" resumes those (torrents the user paused stay paused).
func (t *tray) togglePause() {
	if t.busy || t.u.lib == nil {
		return
	}
	t.busy = true
	t.pause.Disabled = true
	t.menu.Refresh()
	if t.isPaused {
		hashes := t.paused
		t.u.goRun(func(ctx context.Context) {
			left, err := resumeSeeding(ctx, t.u.lib, hashes)
			t.u.do(func() {
				t.paused = left
				t.done(len(left) > 0, "resume", err)
			})
		})
		return
	}
	t.u.goRun(func(ctx context.Context) {
		paused, err := pauseSeeding(ctx, t.u.lib)
		t.u.do(func() {
			t.paused = append(t.paused, paused...)
			t.done(len(t.paused) > 0 || err == nil, "pause", err)
		})
	})
}

func (t *tray) done(paused bool, what string, err error) {
	t.busy = false
	t.isPaused = paused
	t.pause.Label = "Pause seeding"
	if paused {
		t.pause.Label = "Resume seeding"
	}
	t.pause.Disabled = false
	t.menu.Refresh()
	if err != nil {
		t.u.log.Warn(what+" seeding", "err", err)
		t.u.notify(fyne.NewNotification("Could not "+what+" seeding", errorText(err)))
	}
}

// pauseSeeding pauses every torrent that seeds, and returns their
// info-hashes. The library has no "pause all": each is paused in turn.
func pauseSeeding(ctx context.Context, lib *library.Library) ([]string, error) {
	ts, err := lib.Transfers(ctx)
	if err != nil {
		return nil, err
	}
	var paused []string
	var errs []error
	for _, tr := range ts {
		if tr.State != library.StateSeeding {
			continue
		}
		if err := lib.PauseTransfer(ctx, tr.InfoHash); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", tr.Name, err))
			continue
		}
		paused = append(paused, tr.InfoHash)
	}
	return paused, errors.Join(errs...)
}

// resumeSeeding resumes the torrents pauseSeeding paused, and returns
// those it could not resume.
func resumeSeeding(ctx context.Context, lib *library.Library, hashes []string) ([]string, error) {
	var left []string
	var errs []error
	for _, h := range hashes {
		err := lib.ResumeTransfer(ctx, h)
		if errors.Is(err, library.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			left = append(left, h)
			errs = append(errs, err)
		}
	}
	return left, errors.Join(errs...)
}
