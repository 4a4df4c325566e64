package gui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

const screenPublish = "publish"

// publishExts are the files Publish takes (a drop of one goes there).
var publishExts = []string{".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".ogv", ".flac", ".mp3", ".m4a", ".ogg", ".wav"}

// publishResolutions are the extra heights offered (never above the source).
var publishResolutions = []int{1080, 720, 480, 360}

// isPublishable says whether a dropped file looks like a video or audio file.
func isPublishable(name string) bool {
	return slices.Contains(publishExts, strings.ToLower(filepath.Ext(name)))
}

// The Publish screen's views.
const (
	viewForm     = "form"
	viewProgress = "progress"
	viewResult   = "result"
)

// publishScreen turns a local file into a publication: the form (file,
// metadata, resolutions), then a progress bar per step with Cancel, then
// the result (thumbnail, magnet, Watch), or the error with Try again.
type publishScreen struct {
	u      *UI
	root   fyne.CanvasObject
	scroll *container.Scroll
	banner *banner
	notice *widget.RichText
	view   string

	// the form
	formView   *fyne.Container
	file       string
	fileLabel  *widget.Label
	fileErr    *widget.Label
	chooseBtn  *widget.Button
	form       *metaForm
	resChecks  []*widget.Check // as publishResolutions
	publishBtn *widget.Button
	hint       *widget.RichText
	submitting bool
	lastReq    library.PublishRequest

	// progress
	progView  *fyne.Container
	progTitle *widget.Label
	progState *widget.Label
	overall   *widget.ProgressBar
	stepsBox  *fyne.Container
	steps     map[string]*stepRow
	stepOrder []string
	cancelBtn *widget.Button
	failBox   *fyne.Container
	failMsg   *widget.Label
	job       string // UUID of the job the progress and result views show
	jobTitle  string
	progress  library.PublishProgress

	// result
	resultView *fyne.Container
	resThumb   *canvas.Image
	resTitle   *widget.Label
	resFiles   *widget.RichText
	resMagnet  *widget.Label
	copyBtn    *widget.Button
	watchBtn   *widget.Button
	anotherBtn *widget.Button
	result     library.LocalVideo
}

// stepRow is one line of the progress view.
type stepRow struct {
	root  fyne.CanvasObject
	name  *widget.Label
	bar   *widget.ProgressBar
	state *widget.Label
}

func newPublishScreen(u *UI) *publishScreen {
	s := &publishScreen{u: u, steps: map[string]*stepRow{}}
	s.banner = newBanner()
	s.notice = newMutedText(theme.SizeNameText)
	s.notice.Hide()

	// form
	s.fileLabel = widget.NewLabel("No file chosen. Choose one, or drop a video or audio file on the window.")
	s.fileLabel.Wrapping = fyne.TextWrapBreak
	s.fileErr = widget.NewLabel("")
	s.fileErr.Importance = widget.DangerImportance
	s.fileErr.Wrapping = fyne.TextWrapWord
	s.fileErr.Hide()
	s.chooseBtn = widget.NewButtonWithIcon("Choose file…", theme.FolderOpenIcon(), s.chooseFile)
	s.form = newMetaForm(u)
	s.form.onChange = s.updateButton
	s.form.onSubmit = s.submit
	s.form.relayout = func() {
		if s.scroll != nil {
			s.relayout()
		}
	}
	res := container.NewHBox()
	for _, h := range publishResolutions {
		c := widget.NewCheck(fmt.Sprintf("%dp", h), nil)
		s.resChecks = append(s.resChecks, c)
		res.Add(c)
	}
	s.publishBtn = widget.NewButtonWithIcon("Publish", theme.UploadIcon(), s.submit)
	s.publishBtn.Importance = widget.HighImportance
	s.hint = newMutedText(theme.SizeNameText)
	s.hint.Truncation = fyne.TextTruncateOff
	s.hint.Wrapping = fyne.TextWrapWord
	s.formView = container.NewVBox(
		section("File"),
		border(nil, nil, nil, s.chooseBtn, s.fileLabel),
		s.fileErr,
		widget.NewSeparator(),
		section("About the video"),
		s.form.root,
		widget.NewSeparator(),
		section("Resolutions"),
		paragraph("The file is published at its own resolution, made web-playable if it is not. Tick lower ones for viewers with slow connections; none above the file's own is made."),
		res,
		widget.NewSeparator(),
		container.NewHBox(s.publishBtn),
		s.hint,
	)

	// progress
	s.progTitle = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.progTitle.Truncation = fyne.TextTruncateEllipsis
	s.progState = widget.NewLabel("")
	s.overall = widget.NewProgressBar()
	s.stepsBox = container.NewVBox()
	s.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.cancel)
	s.failMsg = widget.NewLabel("")
	s.failMsg.Importance = widget.DangerImportance
	s.failMsg.Wrapping = fyne.TextWrapWord
	again := widget.NewButtonWithIcon("Try again", theme.ViewRefreshIcon(), s.tryAgain)
	again.Importance = widget.HighImportance
	edit := widget.NewButtonWithIcon("Back to the form", theme.NavigateBackIcon(), func() { s.showView(viewForm) })
	s.failBox = container.NewVBox(s.failMsg, container.NewHBox(again, edit))
	s.failBox.Hide()
	s.progView = container.NewVBox(
		border(nil, nil, nil, s.progState, s.progTitle),
		fieldName("Overall"), s.overall,
		widget.NewSeparator(),
		s.stepsBox,
		s.failBox,
		container.NewHBox(s.cancelBtn),
	)

	// result
	s.resThumb = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: 4}
	s.resThumb.SetMinSize(fyne.NewSize(280, 157))
	s.resTitle = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.resTitle.Wrapping = fyne.TextWrapWord
	s.resFiles = paragraph("")
	s.resMagnet = widget.NewLabel("")
	s.resMagnet.Selectable = true
	s.resMagnet.Wrapping = fyne.TextWrapBreak
	s.copyBtn = widget.NewButtonWithIcon("Copy magnet", theme.ContentCopyIcon(), s.copyMagnet)
	s.watchBtn = widget.NewButtonWithIcon("Watch", theme.MediaPlayIcon(), func() { s.u.watchLocal(s.result, s.showError) })
	s.watchBtn.Importance = widget.HighImportance
	s.anotherBtn = widget.NewButtonWithIcon("Publish another", theme.ContentAddIcon(), s.another)
	mine := widget.NewButtonWithIcon("My videos", theme.StorageIcon(), func() { s.u.showMyVideos() })
	thumbBox := container.NewStack(newThemedRect(colorNameThumbBg, 4), s.resThumb)
	s.resultView = container.NewVBox(
		border(nil, nil, container.NewVBox(thumbBox), nil,
			container.NewVBox(s.resTitle, s.resFiles, layout.NewSpacer())),
		fieldName("Magnet link"),
		s.resMagnet,
		container.NewHBox(s.watchBtn, s.copyBtn, s.anotherBtn, mine),
	)

	content := container.NewVBox(heading("Publish"), s.banner.root, s.notice,
		s.formView, s.progView, s.resultView)
	s.scroll = container.NewVScroll(container.New(maxWidthLayout{w: 860}, container.NewPadded(content)))
	s.root = s.scroll
	s.root.Hide()
	s.banner.relayout = s.relayout
	s.showView(viewForm)
	s.updateButton()
	return s
}

func (s *publishScreen) relayout() { relayoutScroll(s.scroll) }

func (s *publishScreen) showView(v string) {
	s.view = v
	setVisible(s.formView, v == viewForm)
	setVisible(s.progView, v == viewProgress)
	setVisible(s.resultView, v == viewResult)
	s.relayout()
	s.scroll.ScrollToTop()
}

func (s *publishScreen) showError(msg string) {
	s.banner.Show(msg, "", nil)
	s.relayout()
}

func (s *publishScreen) setNotice(text string) {
	setMutedText(s.notice, text)
	setVisible(s.notice, text != "")
	s.relayout()
}

// shown runs when the screen shows: the keyboard goes to the form.
func (s *publishScreen) shown() {
	c := s.u.win.Canvas()
	if s.view == viewForm && c.Focused() == nil {
		if s.file == "" {
			c.Focus(s.chooseBtn)
		} else {
			c.Focus(s.form.title)
		}
	}
}

// chooseFile is "Choose file…": a file dialog limited to video and audio.
func (s *publishScreen) chooseFile() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			s.showError("Could not open the file: " + errorText(err))
			return
		}
		if r == nil {
			return // cancelled
		}
		path := r.URI().Path()
		r.Close()
		s.setFile(path)
	}, s.u.win)
	d.SetFilter(storage.NewExtensionFileFilter(publishExts))
	if s.file != "" {
		if dir, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(s.file))); err == nil {
			d.SetLocation(dir)
		}
	}
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// setFile picks the file to publish; the title starts as its name.
func (s *publishScreen) setFile(path string) {
	if s.view != viewForm {
		s.showView(viewForm)
	}
	s.file = path
	s.fileLabel.SetText(path)
	msg := ""
	if st, err := os.Stat(path); err != nil {
		msg = "Cannot read this file: " + errorText(err)
	} else if st.IsDir() {
		msg = "This is a folder; choose a video or audio file."
	} else if st.Size() == 0 {
		msg = "This file is empty."
	}
	s.setFileError(msg)
	if strings.TrimSpace(s.form.title.Text) == "" {
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		s.form.title.SetText(strings.NewReplacer("_", " ", ".", " ").Replace(base))
	}
	s.updateButton()
	s.u.win.Canvas().Focus(s.form.title)
}

func (s *publishScreen) setFileError(msg string) {
	s.fileErr.SetText(msg)
	setVisible(s.fileErr, msg != "")
	s.relayout()
}

// problem is why Publish is not possible now, or "".
func (s *publishScreen) problem() string {
	switch {
	case s.file == "":
		return "Choose a video or audio file to publish."
	case s.fileErr.Visible():
		return s.fileErr.Text
	case s.submitting:
		return "Starting…"
	}
	return s.form.problem()
}

// updateButton enables Publish only when the file and the form are good.
func (s *publishScreen) updateButton() {
	if s.publishBtn == nil {
		return // still building
	}
	p := s.problem()
	setEnabled(s.publishBtn, p == "")
	setMutedText(s.hint, p)
	setVisible(s.hint, p != "")
}

// request is what the form asks for.
func (s *publishScreen) request() library.PublishRequest {
	req := library.PublishRequest{File: s.file, Meta: s.form.meta()}
	for i, c := range s.resChecks {
		if c.Checked {
			req.Resolutions = append(req.Resolutions, publishResolutions[i])
		}
	}
	return req
}

// submit is Publish (the button, Enter in a field, Ctrl+Enter): every
// field's message shows; when all is good the job starts.
func (s *publishScreen) submit() {
	if s.view != viewForm || s.submitting {
		return
	}
	s.form.all = true
	s.form.check() // shows every message, calls updateButton
	if s.problem() != "" {
		return
	}
	s.start(s.request())
}

// tryAgain publishes the failed request again.
func (s *publishScreen) tryAgain() {
	s.showView(viewForm)
	s.start(s.lastReq)
}

func (s *publishScreen) start(req library.PublishRequest) {
	s.submitting = true
	s.lastReq = req
	s.banner.Hide()
	s.setNotice("")
	s.updateButton()
	s.u.goRun(func(ctx context.Context) {
		v, err := s.u.lib.Publish(ctx, req)
		s.u.do(func() {
			s.submitting = false
			s.updateButton()
			if err != nil {
				s.u.log.Info("publish", "file", req.File, "err", err)
				var ve library.ValidationError
				if errors.As(err, &ve) {
					s.form.showErrors(ve)
					s.setFileError(ve.For("file"))
					s.updateButton()
					s.showError("The video cannot be published yet: fix the fields marked in red.")
					return
				}
				s.showError("Could not publish: " + errorText(err))
				return
			}
			s.follow(v)
		})
	})
}

// follow shows the progress of job v until it ends.
func (s *publishScreen) follow(v library.LocalVideo) {
	s.job, s.jobTitle = v.UUID, v.Meta.Title
	s.progTitle.SetText(v.Meta.Title)
	s.failBox.Hide()
	s.cancelBtn.Show()
	s.cancelBtn.Enable()
	s.steps = map[string]*stepRow{}
	s.stepOrder = nil
	s.stepsBox.RemoveAll()
	p := v.Progress
	p.UUID = v.UUID
	if p.State == "" {
		p.State = v.State
	}
	s.setProgress(p)
	s.showView(viewProgress)
	uuid := v.UUID
	s.u.goRun(func(ctx context.Context) {
		done, err := s.u.lib.WaitPublished(ctx, uuid)
		if ctx.Err() != nil {
			return
		}
		s.u.do(func() { s.finished(uuid, done, err) })
	})
}

// onProgress hears every job's progress (from SubscribePublish).
func (s *publishScreen) onProgress(p library.PublishProgress) {
	if p.UUID == s.job && s.view == viewProgress {
		s.setProgress(p)
	}
}

func stepKey(st library.StepStatus) string { return fmt.Sprintf("%s/%d", st.Step, st.Resolution) }

// stepName is a step as the progress view names it.
func stepName(st library.StepStatus) string {
	res := ""
	if st.Resolution > 0 {
		res = fmt.Sprintf(" %dp", st.Resolution)
	}
	switch st.Step {
	case library.StepProbe:
		return "Reading the file"
	case library.StepThumbnails:
		return "Thumbnails"
	case library.StepEncode:
		return "Encoding" + res
	case library.StepHash:
		return "Hashing" + res
	case library.StepSeed:
		return "Seeding"
	}
	return string(st.Step) + res
}

// publishStateText names a job's state.
func publishStateText(st library.PublishState) (string, widget.Importance) {
	switch st {
	case library.PublishQueued:
		return "Waiting", widget.MediumImportance
	case library.PublishRunning:
		return "Publishing", widget.HighImportance
	case library.PublishDone:
		return "Published", widget.SuccessImportance
	case library.PublishFailed:
		return "Failed", widget.DangerImportance
	case library.PublishCancelled:
		return "Cancelled", widget.WarningImportance
	}
	return string(st), widget.MediumImportance
}

// setProgress shows p: a row per step, updated in place.
func (s *publishScreen) setProgress(p library.PublishProgress) {
	s.progress = p
	text, imp := publishStateText(p.State)
	if s.progState.Importance != imp {
		s.progState.Importance = imp
		s.progState.Refresh()
	}
	setLabel(s.progState, text)
	s.overall.SetValue(min(max(p.Overall, 0), 1))
	keys := make([]string, len(p.Steps))
	for i, st := range p.Steps {
		keys[i] = stepKey(st)
	}
	if !slices.Equal(keys, s.stepOrder) {
		s.stepsBox.RemoveAll()
		s.steps = map[string]*stepRow{}
		for _, st := range p.Steps {
			r := &stepRow{name: widget.NewLabel(stepName(st)), bar: widget.NewProgressBar(), state: widget.NewLabel("")}
			r.root = border(nil, nil, withMinWidth(r.name, 170), withMinWidth(r.state, 90), r.bar)
			s.steps[stepKey(st)] = r
			s.stepsBox.Add(r.root)
		}
		s.stepOrder = keys
		s.relayout()
	}
	for _, st := range p.Steps {
		r := s.steps[stepKey(st)]
		f := min(max(st.Fraction, 0), 1)
		if st.Done {
			f = 1
		}
		if r.bar.Value != f {
			r.bar.SetValue(f)
		}
		state := ""
		switch {
		case st.Done:
			state = "Done"
		case st.Fraction > 0:
			state = "Working"
		}
		setLabel(r.state, state)
	}
}

// finished shows how job uuid ended: the result, the form again after a
// cancel, or the error with Try again.
func (s *publishScreen) finished(uuid string, v library.LocalVideo, err error) {
	s.u.library.mine.reload()
	if uuid != s.job || s.view != viewProgress {
		return
	}
	switch {
	case err == nil:
		s.showResult(v)
	case errors.Is(err, library.ErrPublishCancelled):
		s.showView(viewForm)
		s.setNotice("Publishing “" + s.jobTitle + "” was cancelled; nothing was kept. The form is as you left it.")
		s.updateButton()
	default:
		s.u.log.Info("publishing failed", "uuid", uuid, "err", err)
		p := s.progress
		p.State = library.PublishFailed
		s.setProgress(p)
		s.failMsg.SetText("Publishing failed: " + errorText(err))
		s.failBox.Show()
		s.cancelBtn.Hide()
		s.relayout()
	}
}

// cancel is Cancel on the progress view.
func (s *publishScreen) cancel() {
	uuid := s.job
	s.cancelBtn.Disable()
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.CancelPublish(ctx, uuid)
		s.u.do(func() {
			if err != nil && uuid == s.job {
				s.cancelBtn.Enable()
				s.showError("Could not cancel: " + errorText(err))
			}
		})
	})
}

// showResult is the result view of a published video.
func (s *publishScreen) showResult(v library.LocalVideo) {
	s.result = v
	s.resTitle.SetText(v.Meta.Title)
	setImageFile(s.resThumb, v.Thumbnail)
	var lines []string
	for _, f := range sortedFiles(v) {
		lines = append(lines, joinNonEmpty(" · ", resolutionText(f.Resolution), formatBytes(f.Size), fmt.Sprintf("%d×%d", f.Width, f.Height)))
	}
	setMutedText(s.resFiles, joinNonEmpty(" · ", formatDuration(v.Duration), v.Meta.Privacy.String(),
		fmt.Sprintf("%d file(s)", len(v.Files)))+"\n"+strings.Join(lines, "\n"))
	magnet := ""
	if b := v.Best(); b != nil {
		magnet = b.Magnet
	}
	s.resMagnet.SetText(magnet)
	setEnabled(s.copyBtn, magnet != "")
	s.setNotice("Published and seeding. Anyone with the magnet link can watch it from you.")
	s.showView(viewResult)
	s.u.win.Canvas().Focus(s.watchBtn)
}

func (s *publishScreen) copyMagnet() {
	s.u.app.Clipboard().SetContent(s.resMagnet.Text)
	s.setNotice("Copied the magnet link")
}

// another empties the form for the next video.
func (s *publishScreen) another() {
	s.file = ""
	s.fileLabel.SetText("No file chosen. Choose one, or drop a video or audio file on the window.")
	s.setFileError("")
	s.form.clear()
	for _, c := range s.resChecks {
		c.SetChecked(false)
	}
	s.job = ""
	s.banner.Hide()
	s.setNotice("")
	s.showView(viewForm)
	s.updateButton()
	s.u.win.Canvas().Focus(s.chooseBtn)
}

// setImageFile shows the local JPEG at path (hidden when there is none).
func setImageFile(img *canvas.Image, path string) {
	img.File = path
	img.Image = nil
	img.Resource = nil
	setVisible(img, path != "")
	img.Refresh()
}

// sortedFiles are a video's files, highest resolution first.
func sortedFiles(v library.LocalVideo) []library.LocalFile {
	fs := slices.Clone(v.Files)
	slices.SortFunc(fs, func(a, b library.LocalFile) int { return b.Resolution - a.Resolution })
	return fs
}

func resolutionText(res int) string {
	if res == 0 {
		return "audio"
	}
	return fmt.Sprintf("%dp", res)
}

// showPublish is Ctrl+P and the sidebar's Publish.
func (u *UI) showPublish() {
	u.showScreen(screenPublish)
}

// watchLocal plays one of the creator's videos; a failure goes to onErr.
func (u *UI) watchLocal(v library.LocalVideo, onErr func(string)) {
	uuid := v.UUID
	u.startSession(uuid, v.Meta.Title, func(ctx context.Context) (library.Playback, error) {
		return u.lib.Play(ctx, library.PlayRequest{UUID: uuid})
	}, func(_ *session, err error) {
		if err != nil {
			u.log.Info("play my video", "uuid", uuid, "err", err)
			msg := "Could not play “" + v.Meta.Title + "”: " + errorText(err)
			if isNoPlayer(err) {
				msg = "No video player found: install mpv (or VLC)."
			}
			onErr(msg)
		}
	})
}

// droppedFiles routes what is dropped on the window: a video or audio
// file goes to Publish, the rest (torrents, links) to Open link.
func (u *UI) droppedFiles(pos fyne.Position, uris []fyne.URI) {
	var media, rest []fyne.URI
	for _, uri := range uris {
		if uri.Scheme() == "file" && isPublishable(uri.Name()) {
			media = append(media, uri)
		} else {
			rest = append(rest, uri)
		}
	}
	if len(media) > 0 {
		u.showScreen(screenPublish)
		u.publish.setFile(media[0].Path())
		if len(media) > 1 {
			u.publish.setNotice(fmt.Sprintf("Dropped %d files: publishing %s first; drop the others one at a time.", len(media), media[0].Name()))
		}
	}
	if len(rest) > 0 {
		u.dropped(pos, rest)
	}
}

// subscribePublish hands every job's progress to the screens that show
// it, on the UI thread; the returned func stops that.
func (u *UI) subscribePublish() func() {
	return u.lib.SubscribePublish(func(p library.PublishProgress) {
		u.do(func() {
			u.publish.onProgress(p)
			u.library.mine.onProgress(p)
		})
	})
}
