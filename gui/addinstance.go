package gui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// addInstanceTimeout bounds the check of a new instance.
const addInstanceTimeout = 30 * time.Second

// addDialog asks for an instance, checks it through library.AddInstance
// and stays open showing the error when the check fails.
type addDialog struct {
	checkDialog
	entry  *widget.Entry
	add    *widget.Button
	cancel context.CancelFunc
	closed bool
}

// showAddInstance opens the "Add instance" dialog; onAdded runs (on the UI
// thread) with the instance once it is stored.
func (u *UI) showAddInstance(onAdded func(library.Instance)) {
	a := &addDialog{}
	help := newMutedText(theme.SizeNameText)
	help.Truncation = fyne.TextTruncateOff
	help.Wrapping = fyne.TextWrapWord
	setMutedText(help, "Enter the address of a PeerTube server. Fourmi checks that it really runs PeerTube before adding it.")
	a.entry = widget.NewEntry()
	a.entry.PlaceHolder = "framatube.org or https://peertube.example"
	a.checkDialog = newCheckDialog()
	content := withMinWidth(container.NewVBox(help, a.entry, a.progress, a.errLabel), 440)
	a.dlg = dialog.NewCustomWithoutButtons("Add a PeerTube instance", content, u.win)

	submit := func() {
		if a.cancel != nil { // already checking
			return
		}
		text := strings.TrimSpace(a.entry.Text)
		if text == "" {
			a.showError("Enter a host name (framatube.org) or an address (https://…).")
			return
		}
		a.busy(true, a.add)
		ctx, cancel := context.WithTimeout(u.ctx, addInstanceTimeout)
		a.cancel = cancel
		u.goRun(func(context.Context) {
			in, err := u.lib.AddInstance(ctx, text)
			cancel()
			u.do(func() {
				a.cancel = nil
				if a.closed {
					return
				}
				a.busy(false, a.add)
				if err != nil {
					u.log.Info("add instance", "input", text, "err", err)
					a.showError(errorText(err))
					return
				}
				a.dlg.Hide()
				if onAdded != nil {
					onAdded(in)
				}
				u.settings.reload()
			})
		})
	}
	a.entry.OnSubmitted = func(string) { submit() }
	a.add = widget.NewButtonWithIcon("Add", theme.ConfirmIcon(), submit)
	a.add.Importance = widget.HighImportance
	cancelBtn := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), a.dlg.Hide)
	a.dlg.SetButtons([]fyne.CanvasObject{cancelBtn, a.add})
	a.dlg.SetOnClosed(func() {
		a.closed = true
		if a.cancel != nil {
			a.cancel()
		}
	})
	u.addDlg = a
	a.dlg.Show()
	u.win.Canvas().Focus(a.entry)
}
