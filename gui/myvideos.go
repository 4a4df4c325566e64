package gui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// myVideos is the Library screen's "My videos": every video the creator
// published or is publishing, with its state (a progress bar while it
// runs) and Watch, Copy magnet, Edit, Delete and Show files.
type myVideos struct {
	u        *UI
	head     fyne.CanvasObject
	root     *fyne.Container
	errLabel *widget.Label
	empty    *widget.RichText
	box      *fyne.Container
	rows     map[string]*myVideoRow // by UUID
	order    []string
	loaded   bool
	gen      int
	edit     *editDialog // the Edit dialog while it shows
	confirm  dialog.Dialog
	// scrollPending: scroll to the section once listed (My videos button)
	scrollPending bool
}

func newMyVideos(u *UI) *myVideos {
	m := &myVideos{u: u, rows: map[string]*myVideoRow{}}
	m.errLabel = widget.NewLabel("")
	m.errLabel.Importance = widget.DangerImportance
	m.errLabel.Wrapping = fyne.TextWrapWord
	m.errLabel.Hide()
	m.empty = paragraph("Videos you publish show here. Press Publish (Ctrl+P), or drop a video file on the window.")
	m.box = container.NewVBox()
	pub := widget.NewButtonWithIcon("Publish a video…", theme.UploadIcon(), u.showPublish)
	pub.Importance = widget.LowImportance
	m.head = section("My videos")
	m.root = container.NewVBox(border(nil, nil, nil, pub, m.head), m.errLabel, m.empty, m.box)
	return m
}

func (m *myVideos) relayout() { m.u.library.relayout() }

// reload lists the videos again.
func (m *myVideos) reload() {
	m.gen++
	gen := m.gen
	m.u.goRun(func(ctx context.Context) {
		list, err := m.u.lib.MyVideos(ctx)
		m.u.do(func() {
			if gen == m.gen {
				m.setVideos(list, err)
			}
		})
	})
}

func (m *myVideos) showError(msg string) {
	m.errLabel.SetText(msg)
	setVisible(m.errLabel, msg != "")
	m.relayout()
}

// setVideos shows the list: rows are updated in place and the list is
// rebuilt only when videos come or go.
func (m *myVideos) setVideos(list []library.LocalVideo, err error) {
	if err != nil {
		m.u.log.Info("list my videos", "err", err)
		m.showError("Could not list your videos: " + errorText(err))
		return
	}
	if m.errLabel.Visible() && strings.HasPrefix(m.errLabel.Text, "Could not list") {
		m.showError("")
	}
	m.loaded = true
	order := make([]string, len(list))
	for i, v := range list {
		order[i] = v.UUID
		r := m.rows[v.UUID]
		if r == nil {
			r = newMyVideoRow(m, v)
			m.rows[v.UUID] = r
		}
		r.update(v)
	}
	if !slices.Equal(order, m.order) {
		for id := range m.rows {
			if !slices.Contains(order, id) {
				delete(m.rows, id)
			}
		}
		objs := make([]fyne.CanvasObject, len(order))
		for i, id := range order {
			objs[i] = m.rows[id].root
		}
		m.order = order
		m.box.Objects = objs
		m.box.Refresh()
	}
	setVisible(m.empty, len(order) == 0)
	m.relayout()
	if m.scrollPending {
		m.scrollPending = false
		m.u.library.scrollTo(m.head)
	}
}

// onProgress moves a row's bar; a new job or an ending one lists again.
func (m *myVideos) onProgress(p library.PublishProgress) {
	r := m.rows[p.UUID]
	if r == nil {
		if m.u.library.visible {
			m.reload()
		}
		return
	}
	prev := r.v.State
	r.v.Progress = p
	r.v.State = p.State
	r.update(r.v)
	if prev != p.State && (p.State == library.PublishDone || p.State == library.PublishFailed || p.State == library.PublishCancelled) {
		m.reload() // files, thumbnail and duration are known now
	}
}

// myVideoRow is one of My videos.
type myVideoRow struct {
	m      *myVideos
	v      library.LocalVideo
	root   *fyne.Container
	thumb  *canvas.Image
	title  *widget.Label
	state  *widget.Label
	bar    *progressLine
	info   *widget.RichText
	watch  *widget.Button
	copy   *widget.Button
	edit   *widget.Button
	remove *widget.Button
	files  *widget.Button
	busy   bool
}

func newMyVideoRow(m *myVideos, v library.LocalVideo) *myVideoRow {
	r := &myVideoRow{m: m, v: v}
	r.thumb = &canvas.Image{FillMode: canvas.ImageFillCover, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: 4}
	r.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.state = widget.NewLabel("")
	r.bar = newProgressLine()
	r.info = newMutedText(theme.SizeNameText)
	r.watch = widget.NewButtonWithIcon("Watch", theme.MediaPlayIcon(), func() {
		m.u.watchLocal(r.v, func(msg string) { m.showError(msg) })
	})
	r.copy = widget.NewButtonWithIcon("Copy magnet", theme.ContentCopyIcon(), r.copyMagnet)
	r.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { m.showEdit(r.v) })
	r.remove = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), r.confirmDelete)
	r.files = widget.NewButtonWithIcon("", theme.FolderOpenIcon(), r.showFiles)
	for _, b := range []*widget.Button{r.watch, r.copy, r.edit, r.remove, r.files} {
		b.Importance = widget.LowImportance
	}
	icon := canvas.NewImageFromResource(theme.NewDisabledResource(theme.MediaVideoIcon()))
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSize(28, 28))
	thumb := container.NewCenter(container.New(minSizeLayout{min: fyne.NewSize(rowThumbW, rowThumbH)},
		newThemedRect(colorNameThumbBg, 4), container.NewCenter(icon), r.thumb))
	text := container.NewVBox(layout.NewSpacer(), border(nil, nil, nil, r.state, r.title), r.bar, r.info, layout.NewSpacer())
	actions := container.NewCenter(container.NewHBox(r.watch, r.copy, r.edit, r.remove, r.files))
	r.root = container.NewPadded(border(nil, nil, thumb, actions, text))
	return r
}

// myVideoInfo is a row's second line: duration, files, privacy, errors.
func myVideoInfo(v library.LocalVideo) string {
	var res []string
	for _, f := range sortedFiles(v) {
		res = append(res, resolutionText(f.Resolution))
	}
	var size int64
	for _, f := range v.Files {
		size += f.Size
	}
	dur := ""
	if v.Duration > 0 {
		dur = formatDuration(v.Duration)
	}
	sz := ""
	if size > 0 {
		sz = formatBytes(size)
	}
	parts := []string{dur, strings.Join(res, ", "), sz, v.Meta.Privacy.String()}
	switch v.State {
	case library.PublishRunning, library.PublishQueued:
		parts = append(parts, formatPercent(v.Progress.Overall))
	case library.PublishFailed:
		parts = append(parts, v.Progress.Error)
	}
	return joinNonEmpty(" · ", parts...)
}

func (r *myVideoRow) update(v library.LocalVideo) {
	r.v = v
	setLabel(r.title, v.Meta.Title)
	text, imp := publishStateText(v.State)
	if r.state.Importance != imp {
		r.state.Importance = imp
		r.state.Refresh()
	}
	setLabel(r.state, text)
	running := v.State == library.PublishQueued || v.State == library.PublishRunning
	setVisible(r.bar, running)
	if running {
		r.bar.SetValue(v.Progress.Overall)
	}
	setMutedText(r.info, myVideoInfo(v))
	if r.thumb.File != v.Thumbnail {
		setImageFile(r.thumb, v.Thumbnail)
	}
	done := v.State == library.PublishDone
	setVisible(r.watch, done)
	setVisible(r.copy, done && v.Best() != nil)
	setVisible(r.files, len(v.Files) > 0 || v.Thumbnail != "")
	setEnabled(r.edit, !r.busy)
	setEnabled(r.remove, !r.busy)
}

func (r *myVideoRow) copyMagnet() {
	if b := r.v.Best(); b != nil {
		r.m.u.app.Clipboard().SetContent(b.Magnet)
		r.m.u.library.setNotice("Copied the magnet link of “" + r.v.Meta.Title + "”")
	}
}

// showFiles opens the video's folder in the file manager.
func (r *myVideoRow) showFiles() {
	path := r.v.Thumbnail
	if b := r.v.Best(); b != nil {
		path = b.Path
	}
	if path == "" {
		return
	}
	dir, err := storage.Parent(storage.NewFileURI(path))
	if err == nil {
		var u *url.URL
		u, err = url.Parse(dir.String())
		if err == nil {
			err = r.m.u.openURL(u)
		}
	}
	if err != nil {
		r.m.showError("Could not show the files: " + errorText(err))
	}
}

func (r *myVideoRow) confirmDelete() {
	v := r.v
	msg := paragraph("Fourmi stops seeding it and deletes its encoded files, thumbnails and torrents. Your original file is kept.")
	m := r.m
	var d *dialog.CustomDialog
	cancel := newKeyButton("Cancel", theme.CancelIcon(), func() { d.Hide() }, func() { d.Hide() })
	del := newKeyButton("Delete", theme.DeleteIcon(), func() {
		d.Hide()
		r.doDelete()
	}, func() { d.Hide() })
	del.Importance = widget.DangerImportance
	d = dialog.NewCustomWithoutButtons("Delete “"+v.Meta.Title+"”?", withMinWidth(msg, 420), m.u.win)
	d.SetButtons([]fyne.CanvasObject{cancel, del})
	d.SetOnClosed(func() {
		if m.confirm == d {
			m.confirm = nil
			m.u.dialogEscape = nil
		}
	})
	m.confirm = d
	m.u.dialogEscape = d.Hide
	d.Show()
	m.u.win.Canvas().Focus(cancel)
}

func (r *myVideoRow) doDelete() {
	uuid, title := r.v.UUID, r.v.Meta.Title
	m := r.m
	if sess := m.u.sessions[uuid]; sess != nil {
		m.u.stopSession(sess)
	}
	r.busy = true
	r.update(r.v)
	m.u.goRun(func(ctx context.Context) {
		err := m.u.lib.DeleteMyVideo(ctx, uuid)
		m.u.do(func() {
			r.busy = false
			r.update(r.v)
			if err != nil {
				m.u.log.Info("delete my video", "uuid", uuid, "err", err)
				m.showError("Could not delete “" + title + "”: " + errorText(err))
				return
			}
			m.u.library.setNotice("Deleted “" + title + "”")
			m.reload()
			m.u.library.changed() // its transfer goes
		})
	})
}

// editDialog is Edit on a row: the Publish form, filled in, with Save.
type editDialog struct {
	m    *myVideos
	uuid string
	form *metaForm
	dlg  *dialog.CustomDialog
	save *keyButton
	err  *widget.Label
	busy bool
}

func (m *myVideos) showEdit(v library.LocalVideo) {
	e := &editDialog{m: m, uuid: v.UUID, form: newMetaForm(m.u)}
	e.form.set(v.Meta)
	e.form.onSubmit = e.submit
	e.form.onChange = e.updateButton
	for _, en := range []*formEntry{e.form.title, e.form.description, e.form.tags, e.form.support, e.form.channel} {
		en.onEscape = e.close
	}
	e.err = widget.NewLabel("")
	e.err.Importance = widget.DangerImportance
	e.err.Wrapping = fyne.TextWrapWord
	e.err.Hide()
	e.save = newKeyButton("Save", theme.DocumentSaveIcon(), e.submit, e.close)
	e.save.Importance = widget.HighImportance
	cancel := newKeyButton("Cancel", theme.CancelIcon(), e.close, e.close)
	scroll := container.NewVScroll(container.NewPadded(e.form.root))
	e.form.relayout = func() {
		relayoutScroll(scroll)
		if e.dlg != nil {
			e.dlg.Refresh()
		}
	}
	size := m.u.win.Canvas().Size()
	scroll.SetMinSize(fyne.NewSize(min(720, size.Width-80), min(520, size.Height-200)))
	e.dlg = dialog.NewCustomWithoutButtons("Edit “"+v.Meta.Title+"”", container.NewVBox(scroll, e.err), m.u.win)
	e.dlg.SetButtons([]fyne.CanvasObject{cancel, e.save})
	e.dlg.SetOnClosed(func() {
		if m.edit == e {
			m.edit = nil
			m.u.dialogEscape = nil
		}
	})
	m.edit = e
	m.u.dialogEscape = e.close
	e.updateButton()
	e.dlg.Show()
	m.u.win.Canvas().Focus(e.form.title)
}

func (e *editDialog) close() { e.dlg.Hide() }

func (e *editDialog) updateButton() {
	if e.save != nil {
		setEnabled(e.save, e.form.valid && !e.busy)
	}
}

// submit saves the metadata (Save, Enter in a field).
func (e *editDialog) submit() {
	e.form.showAll()
	if !e.form.valid || e.busy {
		return
	}
	meta := e.form.meta()
	e.busy = true
	e.updateButton()
	u := e.m.u
	u.goRun(func(ctx context.Context) {
		v, err := u.lib.UpdateMyVideo(ctx, e.uuid, meta)
		u.do(func() {
			e.busy = false
			e.updateButton()
			if err != nil {
				var ve library.ValidationError
				if errors.As(err, &ve) {
					e.form.showErrors(ve)
				}
				u.log.Info("update my video", "uuid", e.uuid, "err", err)
				e.err.SetText("Could not save: " + errorText(err))
				e.err.Show()
				e.dlg.Refresh()
				return
			}
			e.close()
			u.library.setNotice(fmt.Sprintf("Saved “%s”", v.Meta.Title))
			e.m.reload()
		})
	})
}

// showMyVideos shows Library scrolled to My videos.
func (u *UI) showMyVideos() {
	u.showScreen(screenLibrary)
	u.library.mine.scrollPending = true
	u.library.scrollTo(u.library.mine.head)
}
