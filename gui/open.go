package gui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// openTimeout bounds resolving a link (a PeerTube page, a .torrent URL).
const openTimeout = time.Minute

// openDialog is "Open link…": a magnet, a .torrent URL or path, or a
// PeerTube video address, resolved by library.OpenURL. It stays open
// showing the error when the link cannot be opened.
type openDialog struct {
	checkDialog
	u      *UI
	entry  *appEntry
	open   *keyButton
	cancel context.CancelFunc
	gen    int
	closed bool
}

// Open opens what the user gave Fourmi on the command line (`fourmi URL`),
// or dropped, or pasted: a PeerTube video opens on the Video screen, a
// magnet or .torrent goes to Library's Downloads. It shows the "Open link"
// dialog while it resolves the link, with the error if that fails.
//
// Call it on the UI thread: before Show/ShowAndRun (from main), or inside
// fyne.Do once the app runs.
func (u *UI) Open(input string) {
	d := u.showOpen()
	d.entry.SetText(strings.TrimSpace(input))
	d.submit()
}

// showOpen shows the "Open link" dialog (the one already open, if any).
func (u *UI) showOpen() *openDialog {
	if d := u.openDlg; d != nil && !d.closed {
		u.win.Canvas().Focus(d.entry)
		return d
	}
	d := &openDialog{u: u}
	help := paragraph("Paste a PeerTube video address, a magnet link or the address of a .torrent file. You can also drop .torrent files on the window.")
	d.entry = newAppEntry(u)
	d.entry.PlaceHolder = "https://peertube.example/w/… or magnet:?xt=…"
	d.entry.OnSubmitted = func(string) { d.submit() }
	d.entry.onEscape = d.close
	d.checkDialog = newCheckDialog()
	content := withMinWidth(container.NewVBox(help, d.entry, d.progress, d.errLabel), 520)
	d.dlg = dialog.NewCustomWithoutButtons("Open link", content, u.win)
	d.open = newKeyButton("Open", theme.ConfirmIcon(), d.submit, d.close)
	d.open.Importance = widget.HighImportance
	cancel := newKeyButton("Cancel", theme.CancelIcon(), d.close, d.close)
	d.dlg.SetButtons([]fyne.CanvasObject{cancel, d.open})
	d.dlg.SetOnClosed(func() {
		d.closed = true
		if d.cancel != nil {
			d.cancel()
		}
		if u.openDlg == d {
			u.openDlg = nil
		}
	})
	u.openDlg = d
	d.dlg.Show()
	u.win.Canvas().Focus(d.entry)
	return d
}

func (d *openDialog) close() { d.dlg.Hide() }

// submit resolves the entry's text; a newer submit replaces an older one.
func (d *openDialog) submit() {
	text := strings.TrimSpace(d.entry.Text)
	if text == "" {
		d.showError("Paste a PeerTube video address, a magnet link or a .torrent address first.")
		return
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.gen++
	gen := d.gen
	d.busy(true, d.open)
	u := d.u
	ctx, cancel := context.WithTimeout(u.ctx, openTimeout)
	d.cancel = cancel
	u.goRun(func(context.Context) {
		res, err := u.lib.OpenURL(ctx, text)
		cancel()
		u.do(func() {
			if d.closed || gen != d.gen {
				return
			}
			d.cancel = nil
			d.busy(false, d.open)
			if err == nil && res.Video == nil && res.Transfer == nil {
				err = fmt.Errorf("nothing to open at %q", text)
			}
			if err != nil {
				u.log.Info("open link", "input", text, "err", err)
				d.showError(errorText(err))
				return
			}
			d.close()
			u.opened(res)
		})
	})
}

// opened shows what a link turned out to be.
func (u *UI) opened(res library.OpenResult) {
	switch {
	case res.Video != nil:
		u.openVideo(*res.Video)
	case res.Transfer != nil:
		t := res.Transfer
		u.showScreen(screenLibrary)
		u.library.setNotice("Added “" + t.Name + "” to Downloads & seeding")
		u.library.showTransfer(t.InfoHash)
	}
}

// dropped opens the .torrent files (and links) dropped on the window.
func (u *UI) dropped(_ fyne.Position, uris []fyne.URI) {
	var inputs, refused []string
	for _, uri := range uris {
		switch {
		case uri.Scheme() == "file" && strings.EqualFold(uri.Extension(), ".torrent"):
			inputs = append(inputs, uri.Path())
		case uri.Scheme() == "magnet" || uri.Scheme() == "https" || uri.Scheme() == "http":
			inputs = append(inputs, uri.String())
		default:
			refused = append(refused, uri.Name())
		}
	}
	switch {
	case len(refused) > 0 && len(inputs) == 0:
		d := u.showOpen()
		d.showError(fmt.Sprintf("Fourmi opens .torrent files, magnet links and PeerTube video addresses; %s is not one.",
			strings.Join(refused, ", ")))
	case len(inputs) == 1:
		u.Open(inputs[0])
	case len(inputs) > 1:
		u.openMany(inputs)
	}
}

// openMany adds several dropped torrents and shows them in Library.
func (u *UI) openMany(inputs []string) {
	u.goRun(func(ctx context.Context) {
		var added int
		var failed []string
		for _, in := range inputs {
			octx, cancel := context.WithTimeout(ctx, openTimeout)
			_, err := u.lib.OpenURL(octx, in)
			cancel()
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %s", in, errorText(err)))
				continue
			}
			added++
		}
		u.do(func() {
			u.showScreen(screenLibrary)
			u.library.setNotice(fmt.Sprintf("Added %d of %d torrents to Downloads & seeding", added, len(inputs)))
			u.library.scrollTo(u.library.transferHead)
			if len(failed) > 0 {
				u.library.showError("Could not open " + strings.Join(failed, "; "))
			}
		})
	})
}
