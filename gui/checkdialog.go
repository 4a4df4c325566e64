package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// checkDialog is what a dialog that checks its input in the background
// ("Add instance", "Open link") shows while it works and when the check
// fails: a progress bar and an error line; the dialog stays open.
type checkDialog struct {
	dlg      *dialog.CustomDialog // set once the content is built
	errLabel *widget.Label
	progress *widget.ProgressBarInfinite
}

// newCheckDialog builds the progress bar and the error line, both hidden.
func newCheckDialog() checkDialog {
	c := checkDialog{errLabel: widget.NewLabel(""), progress: widget.NewProgressBarInfinite()}
	c.errLabel.Importance = widget.DangerImportance
	c.errLabel.Wrapping = fyne.TextWrapWord
	c.errLabel.Hide()
	c.progress.Stop()
	c.progress.Hide()
	return c
}

func (c *checkDialog) showError(msg string) {
	c.errLabel.SetText(msg)
	c.errLabel.Show()
	c.dlg.Refresh() // the dialog grows to fit the message
}

// busy shows the progress bar and disables the dialog's button while a
// check runs (hiding the last error), and undoes that when it ends.
func (c *checkDialog) busy(on bool, button fyne.Disableable) {
	if on {
		c.errLabel.Hide()
		button.Disable()
		c.progress.Show()
		c.progress.Start()
	} else {
		button.Enable()
		c.progress.Stop()
		c.progress.Hide()
	}
	c.dlg.Refresh()
}
