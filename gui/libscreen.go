package gui

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// How much of the history the Library screen lists.
const (
	continueLimit = 12
	historyLimit  = 100
)

// Small thumbnails of the history and transfer rows (16:9).
const (
	rowThumbW = 112
	rowThumbH = 63
)

// libraryScreen is "your library": videos to continue, the torrents
// downloading and seeding (refreshed once a second while it shows), and
// the watch history.
type libraryScreen struct {
	u    *UI
	root fyne.CanvasObject

	scroll        *container.Scroll
	banner        *banner
	notice        *widget.RichText
	resumeBox     *fyne.Container
	resumeScroll  *container.Scroll
	resumeEmpty   *widget.RichText
	transferBox   *fyne.Container
	transferEmpty *widget.RichText
	transferHead  fyne.CanvasObject
	limits        *widget.RichText
	seedToggle    *widget.Button // Pause seeding / Resume seeding, as in the tray
	historyBox    *fyne.Container
	historyEmpty  *widget.RichText
	mine          *myVideos

	resume  []library.HistoryEntry
	history []library.HistoryEntry
	cards   []*resumeCard
	rows    map[string]*transferRow // by info-hash
	order   []string                // info-hashes as listed
	loaded  bool                    // the transfers were listed once
	thumbs  map[string][]*canvas.Image

	visible    bool
	pollCancel context.CancelFunc
	histGen    int
	xferErr    bool   // the banner shows a listing error
	highlight  string // info-hash to scroll to once listed
}

func newLibraryScreen(u *UI) *libraryScreen {
	s := &libraryScreen{u: u, rows: map[string]*transferRow{}, thumbs: map[string][]*canvas.Image{}}
	s.banner = newBanner()
	s.notice = newMutedText(theme.SizeNameText)
	s.notice.Hide()

	s.resumeBox = container.NewHBox()
	s.resumeScroll = container.NewHScroll(s.resumeBox)
	s.resumeScroll.Hide()
	s.resumeEmpty = paragraph("Videos you start watching show here, so you can pick up where you stopped.")

	s.transferBox = container.NewVBox()
	s.transferEmpty = paragraph("Nothing downloading or seeding. Press Download on a video, or open a magnet link or a .torrent with Open link… (Ctrl+O). Videos you watch keep seeding here, within your limits, to give back to the people who share them.")
	s.limits = newMutedText(theme.SizeNameText)
	changeLimits := widget.NewButtonWithIcon("Change limits…", theme.SettingsIcon(), func() {
		u.showScreen(screenSettings)
		u.settings.showWatching()
	})
	changeLimits.Importance = widget.LowImportance
	s.seedToggle = widget.NewButtonWithIcon(pauseLabel(false), theme.MediaPauseIcon(), func() {
		if u.tray != nil {
			u.tray.togglePause()
		}
	})
	s.seedToggle.Importance = widget.LowImportance
	s.transferHead = section("Downloads & seeding")

	s.historyBox = container.NewVBox()
	s.historyEmpty = paragraph("Nothing watched yet. Find a video in Discover and press Play.")
	s.mine = newMyVideos(u)

	content := container.NewVBox(
		heading("Library"),
		s.banner.root, s.notice,
		section("Continue watching"),
		s.resumeEmpty, s.resumeScroll,
		widget.NewSeparator(),
		s.mine.root,
		widget.NewSeparator(),
		s.transferHead,
		border(nil, nil, nil, container.NewHBox(s.seedToggle, changeLimits), s.limits),
		s.transferEmpty, s.transferBox,
		widget.NewSeparator(),
		section("History"),
		s.historyEmpty, s.historyBox,
	)
	s.scroll = container.NewVScroll(container.NewPadded(content))
	s.root = s.scroll
	s.root.Hide()
	s.banner.relayout = s.relayout
	u.thumbs.listen(s.thumbLoaded)
	return s
}

func (s *libraryScreen) relayout() { relayoutScroll(s.scroll) }

// showSeedingPause shows the Pause seeding state on the toggle (the tray
// calls it on every change).
func (s *libraryScreen) showSeedingPause(paused, busy bool) {
	s.seedToggle.SetText(pauseLabel(paused))
	icon := theme.MediaPauseIcon()
	if paused {
		icon = theme.MediaPlayIcon()
	}
	s.seedToggle.SetIcon(icon)
	setEnabled(s.seedToggle, !busy)
}

// show runs each time the screen shows: history and limits are read
// again, the transfers listed now and then once a second.
func (s *libraryScreen) show() {
	s.visible = true
	s.reloadHistory()
	s.mine.reload()
	s.startPolling()
}

// hide stops the polling when another screen shows.
func (s *libraryScreen) hide() {
	s.visible = false
	if s.pollCancel != nil {
		s.pollCancel()
		s.pollCancel = nil
	}
}

func (s *libraryScreen) startPolling() {
	if s.pollCancel != nil {
		s.pollCancel()
	}
	ctx, cancel := context.WithCancel(s.u.ctx)
	s.pollCancel = cancel
	s.u.goRun(func(context.Context) {
		t := time.NewTicker(statsInterval)
		defer t.Stop()
		for {
			list, err := s.u.lib.Transfers(ctx)
			if ctx.Err() != nil {
				return
			}
			s.u.do(func() {
				if ctx.Err() == nil {
					s.setTransfers(list, err)
				}
			})
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// changed lists the transfers again at once (after an action).
func (s *libraryScreen) changed() {
	if s.visible {
		s.startPolling()
	}
}

// setNotice shows (or hides, when "") a confirmation under the title.
func (s *libraryScreen) setNotice(text string) {
	setMutedText(s.notice, text)
	setVisible(s.notice, text != "")
	s.relayout()
}

func (s *libraryScreen) showError(msg string) {
	s.banner.Show(msg, "", nil)
	s.xferErr = false
	s.relayout()
}

// reloadHistory reads Continue watching, History and the seeding limits.
func (s *libraryScreen) reloadHistory() {
	s.histGen++
	gen := s.histGen
	s.u.goRun(func(ctx context.Context) {
		resume, rerr := s.u.lib.ContinueWatching(ctx, continueLimit)
		hist, herr := s.u.lib.History(ctx, historyLimit)
		lim, lerr := s.u.lib.SeedLimits(ctx)
		s.u.do(func() {
			if gen != s.histGen {
				return
			}
			if err := firstErr(rerr, herr); err != nil {
				s.u.log.Info("read history", "err", err)
				s.banner.Show("Could not read your history: "+errorText(err), "Retry", func() {
					s.banner.Hide()
					s.reloadHistory()
				})
				s.xferErr = false
			}
			if rerr == nil {
				s.setResume(resume)
			}
			if herr == nil {
				s.setHistory(hist)
			}
			if lerr == nil {
				setMutedText(s.limits, limitsText(lim))
			} else {
				setMutedText(s.limits, "Seeding limits: unknown ("+errorText(lerr)+")")
			}
			s.relayout()
		})
	})
}

// limitsText sums up the seeding limits in one line.
func limitsText(l library.SeedLimits) string {
	rate := func(r int64) string {
		if r <= 0 {
			return "unlimited"
		}
		return formatRate(float64(r))
	}
	ratio, days, disk := "no ratio target", "no time limit", "no disk budget"
	if l.RatioTarget > 0 {
		ratio = "until ratio " + formatNumber(l.RatioTarget)
	}
	if l.SeedFor > 0 {
		d := l.SeedFor.Hours() / 24
		days = "for " + formatNumber(d) + " days"
		if d == 1 {
			days = "for 1 day"
		}
	}
	if l.DiskBudget > 0 {
		disk = formatBytes(l.DiskBudget) + " of disk"
	}
	return fmt.Sprintf("Upload %s · download %s · seed %s, %s · %s", rate(l.UploadRate), rate(l.DownloadRate), ratio, days, disk)
}

// entryDuration is a history entry's length (from the player, or the catalog).
func entryDuration(e library.HistoryEntry) time.Duration {
	return cmp.Or(e.Duration, e.Video.Duration)
}

func (s *libraryScreen) setResume(list []library.HistoryEntry) {
	s.resume = list
	for len(s.cards) < len(list) {
		s.cards = append(s.cards, newResumeCard(s.u.now, s.openResume))
	}
	objs := make([]fyne.CanvasObject, len(list))
	for i, e := range list {
		c := s.cards[i]
		c.resume = 0
		if d := entryDuration(e); d > 0 {
			c.resume = min(float64(e.Position)/float64(d), 1)
		}
		c.metaText = resumeText(e)
		c.set(i, e.Video, s.u.thumbs.get(e.Video.ThumbnailURL))
		objs[i] = c
	}
	s.resumeBox.Objects = objs
	s.resumeBox.Refresh()
	setVisible(s.resumeScroll, len(list) > 0)
	setVisible(s.resumeEmpty, len(list) == 0)
}

// resumeText is "12:03 of 45:00" for a card.
func resumeText(e library.HistoryEntry) string {
	if d := entryDuration(e); d > 0 {
		return formatDuration(e.Position) + " of " + formatDuration(d)
	}
	return "Stopped at " + formatDuration(e.Position)
}

// openResume is a click on a Continue watching card: the Video screen
// opens and the video plays from where the user stopped.
func (s *libraryScreen) openResume(i int) {
	if i < 0 || i >= len(s.resume) {
		return
	}
	s.u.openVideo(s.resume[i].Video)
	s.u.video.resume()
}

func (s *libraryScreen) setHistory(list []library.HistoryEntry) {
	s.history = list
	s.dropThumbs(s.historyBox)
	rows := make([]fyne.CanvasObject, 0, len(list))
	for _, e := range list {
		rows = append(rows, s.historyRow(e))
	}
	s.historyBox.Objects = rows
	s.historyBox.Refresh()
	setVisible(s.historyEmpty, len(list) == 0)
}

func (s *libraryScreen) historyRow(e library.HistoryEntry) fyne.CanvasObject {
	v := e.Video
	title := widget.NewLabelWithStyle(v.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis
	status := "Watched"
	if !e.Watched {
		status = resumeText(e)
	}
	ch := cmp.Or(v.Channel.DisplayName, v.Channel.Name, v.Account.DisplayName)
	meta := newMutedText(theme.SizeNameText)
	setMutedText(meta, joinNonEmpty(" · ", ch, status, formatAge(e.UpdatedAt, s.u.now())))

	playLabel := "Resume"
	if e.Watched || e.Position <= 0 {
		playLabel = "Play"
	}
	play := widget.NewButtonWithIcon(playLabel, theme.MediaPlayIcon(), func() {
		s.u.openVideo(v)
		s.u.video.resume()
	})
	details := widget.NewButtonWithIcon("Details", theme.InfoIcon(), func() { s.u.openVideo(v) })
	remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { s.removeHistory(v) })
	for _, b := range []*widget.Button{play, details, remove} {
		b.Importance = widget.LowImportance
	}
	thumb := s.rowThumb(v.ThumbnailURL)
	// the texts take the width, centred vertically beside the thumbnail
	text := container.NewVBox(layout.NewSpacer(), title, meta, layout.NewSpacer())
	return border(nil, nil, thumb, container.NewCenter(container.NewHBox(play, details, remove)), text)
}

func (s *libraryScreen) removeHistory(v library.Video) {
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.RemoveFromHistory(ctx, v.UUID)
		s.u.do(func() {
			if err != nil {
				s.showError("Could not remove “" + v.Name + "” from the history: " + errorText(err))
				return
			}
			s.setNotice("Removed “" + v.Name + "” from the history")
			s.reloadHistory()
		})
	})
}

// rowThumb is a small thumbnail, filled in when the image loads.
func (s *libraryScreen) rowThumb(url string) fyne.CanvasObject {
	img := &canvas.Image{FillMode: canvas.ImageFillCover, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: 4}
	img.Image = s.u.thumbs.get(url)
	img.Hidden = img.Image == nil // an empty cover image cannot be painted
	if url != "" {
		s.thumbs[url] = append(s.thumbs[url], img)
	}
	icon := canvas.NewImageFromResource(theme.NewDisabledResource(theme.MediaVideoIcon()))
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSize(28, 28))
	return container.NewCenter(container.New(minSizeLayout{min: fyne.NewSize(rowThumbW, rowThumbH)},
		newThemedRect(colorNameThumbBg, 4), container.NewCenter(icon), img))
}

// dropThumbs forgets the thumbnails of rows under box that go away.
func (s *libraryScreen) dropThumbs(box *fyne.Container) {
	gone := map[*canvas.Image]bool{}
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *canvas.Image:
			gone[x] = true
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(box)
	for url, imgs := range s.thumbs {
		imgs = slices.DeleteFunc(imgs, func(i *canvas.Image) bool { return gone[i] })
		if len(imgs) == 0 {
			delete(s.thumbs, url)
		} else {
			s.thumbs[url] = imgs
		}
	}
}

func (s *libraryScreen) thumbLoaded(url string, img image.Image) {
	for _, i := range s.thumbs[url] {
		i.Image = img
		i.Show()
		i.Refresh()
	}
	for _, c := range s.cards {
		if c.video.ThumbnailURL == url && c.img == nil {
			c.img = img
			c.Refresh()
		}
	}
}

// setTransfers shows the listed transfers: rows are updated in place,
// and the list is only rebuilt when transfers come or go.
func (s *libraryScreen) setTransfers(list []library.Transfer, err error) {
	if err != nil {
		s.u.log.Info("list transfers", "err", err)
		if !s.banner.Visible() || s.xferErr {
			s.banner.Show("Could not list the downloads: "+errorText(err), "", nil)
			s.xferErr = true
			s.relayout()
		}
		return
	}
	if s.xferErr {
		s.banner.Hide()
		s.xferErr = false
	}
	s.loaded = true
	order := make([]string, len(list))
	for i, t := range list {
		order[i] = t.InfoHash
		row := s.rows[t.InfoHash]
		if row == nil {
			row = newTransferRow(s, t)
			s.rows[t.InfoHash] = row
		}
		row.update(t)
	}
	if !slices.Equal(order, s.order) {
		for h, row := range s.rows {
			if !slices.Contains(order, h) {
				s.dropThumbs(row.root)
				delete(s.rows, h)
			}
		}
		objs := make([]fyne.CanvasObject, len(order))
		for i, h := range order {
			objs[i] = s.rows[h].root
		}
		s.order = order
		s.transferBox.Objects = objs
		setVisible(s.transferEmpty, len(order) == 0)
		s.relayout()
	}
	if s.highlight != "" && s.rows[s.highlight] != nil {
		s.scrollTo(s.rows[s.highlight].root)
		s.highlight = ""
	}
}

// showTransfer scrolls to a transfer (just opened) once it is listed.
func (s *libraryScreen) showTransfer(infoHash string) {
	s.highlight = infoHash
	if row := s.rows[infoHash]; row != nil {
		s.scrollTo(row.root)
		s.highlight = ""
		return
	}
	s.scrollTo(s.transferHead)
}

// scrollTo scrolls so that o is at the top of the screen.
func (s *libraryScreen) scrollTo(o fyne.CanvasObject) {
	s.relayout()
	scrollToObject(s.scroll, o)
}

// sessionChanged updates the Play/Stop button of the transfer that plays.
func (s *libraryScreen) sessionChanged(*session) {
	for _, row := range s.rows {
		row.updateActions()
	}
}

// sessionEnded updates the buttons and, as the resume position changed,
// reads the history again.
func (s *libraryScreen) sessionEnded(sess *session) {
	s.sessionChanged(sess)
	if s.visible {
		s.reloadHistory()
	}
}

// transferRow is one torrent of Downloads & seeding.
type transferRow struct {
	s      *libraryScreen
	t      library.Transfer
	root   *fyne.Container
	name   *widget.Label
	state  *widget.Label
	bar    *progressLine
	info   *widget.RichText
	pause  *widget.Button
	play   *widget.Button
	remove *widget.Button
	busy   bool
}

func newTransferRow(s *libraryScreen, t library.Transfer) *transferRow {
	r := &transferRow{s: s, t: t}
	r.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.state = widget.NewLabel("")
	r.bar = newProgressLine()
	r.info = newMutedText(theme.SizeNameText)
	r.pause = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), r.togglePause)
	r.play = widget.NewButtonWithIcon("Play", theme.MediaPlayIcon(), r.doPlay)
	r.remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), r.confirmRemove)
	for _, b := range []*widget.Button{r.pause, r.play, r.remove} {
		b.Importance = widget.LowImportance
	}
	text := container.NewVBox(border(nil, nil, nil, r.state, r.name), r.bar, r.info)
	actions := container.NewCenter(container.NewHBox(r.play, r.pause, r.remove))
	r.root = container.NewPadded(border(nil, nil, s.rowThumb(t.ThumbnailURL), actions, text))
	return r
}

// stateText names a transfer's state for the row.
func stateText(t library.Transfer) (string, widget.Importance) {
	switch t.State {
	case library.StateFetchingInfo:
		return "Getting info…", widget.MediumImportance
	case library.StateDownloading:
		return "Downloading", widget.HighImportance
	case library.StateSeeding:
		return "Seeding", widget.SuccessImportance
	case library.StatePaused:
		return "Paused", widget.WarningImportance
	case library.StateFinished:
		return "Done: limits reached", widget.MediumImportance
	case library.StateError:
		return "Error", widget.DangerImportance
	}
	return string(t.State), widget.MediumImportance
}

// infoText is the row's numbers: sizes, speeds, peers, ratio.
func infoText(t library.Transfer) string {
	st := t.Stats
	var size string
	switch {
	case st.Size <= 0:
		size = "size unknown yet"
	case st.Completed >= st.Size:
		size = formatBytes(st.Size)
	default:
		size = formatPercent(st.Progress()) + " · " + formatBytes(st.Completed) + " of " + formatBytes(st.Size)
	}
	res := ""
	if t.Resolution > 0 {
		res = fmt.Sprintf("%dp", t.Resolution)
	}
	parts := []string{res, size}
	if t.State == library.StateDownloading || t.State == library.StateFetchingInfo {
		parts = append(parts, "↓ "+formatRate(st.DownloadRate))
	}
	if t.State == library.StateDownloading || t.State == library.StateSeeding {
		parts = append(parts, "↑ "+formatRate(st.UploadRate), peersLabel(st.Peers))
	}
	parts = append(parts, "ratio "+formatRatio(st.Ratio()))
	if st.Error != "" { // a failed transfer, or a paused write (full disk)
		parts = append(parts, st.Error)
	}
	return joinNonEmpty(" · ", parts...)
}

func peersLabel(n int) string {
	if n == 1 {
		return "1 peer"
	}
	return fmt.Sprintf("%d peers", n)
}

func (r *transferRow) update(t library.Transfer) {
	r.t = t
	setLabel(r.name, t.Name)
	text, imp := stateText(t)
	if r.state.Importance != imp {
		r.state.Importance = imp
		r.state.Refresh()
	}
	setLabel(r.state, text)
	if p := t.Stats.Progress(); r.bar.Value != p {
		r.bar.SetValue(p)
	}
	setMutedText(r.info, infoText(t))
	r.updateActions()
}

// complete says the whole file is on disk.
func (r *transferRow) complete() bool {
	st := r.t.Stats
	return st.Size > 0 && st.Completed >= st.Size
}

// session is the playback of this transfer, if it plays.
func (r *transferRow) session() *session {
	if r.t.VideoUUID != "" {
		if s := r.s.u.sessions[r.t.VideoUUID]; s != nil {
			return s
		}
	}
	return r.s.u.sessions[transferKey(r.t.InfoHash)]
}

func (r *transferRow) updateActions() {
	paused := r.t.State == library.StatePaused || r.t.State == library.StateFinished
	label, icon := "Pause", theme.MediaPauseIcon()
	if paused {
		label, icon = "Resume", theme.MediaPlayIcon()
	}
	if r.pause.Text != label {
		r.pause.SetText(label)
		r.pause.SetIcon(icon)
	}
	playing := r.session()
	switch {
	case playing != nil:
		if r.play.Text != "Stop" {
			r.play.SetText("Stop")
			r.play.SetIcon(theme.MediaStopIcon())
		}
		r.play.Show()
	case r.complete() || r.t.VideoUUID == "":
		if r.play.Text != "Play" {
			r.play.SetText("Play")
			r.play.SetIcon(theme.MediaPlayIcon())
		}
		r.play.Show()
	default:
		r.play.Hide()
	}
	setEnabled(r.pause, !r.busy && r.t.State != library.StateError)
	setEnabled(r.remove, !r.busy)
	setEnabled(r.play, !r.busy && (playing == nil || !playing.stopBy))
}

// act runs a transfer action off the UI thread; the list is read again after.
func (r *transferRow) act(what string, f func(ctx context.Context) error) {
	r.busy = true
	r.updateActions()
	r.s.u.goRun(func(ctx context.Context) {
		err := f(ctx)
		r.s.u.do(func() {
			r.busy = false
			r.updateActions()
			if err != nil {
				r.s.u.log.Info(what, "hash", r.t.InfoHash, "err", err)
				r.s.showError(fmt.Sprintf("Could not %s “%s”: %s", what, r.t.Name, errorText(err)))
				return
			}
			r.s.changed()
		})
	})
}

func (r *transferRow) togglePause() {
	hash := r.t.InfoHash
	if r.t.State == library.StatePaused || r.t.State == library.StateFinished {
		r.act("resume", func(ctx context.Context) error { return r.s.u.lib.ResumeTransfer(ctx, hash) })
		return
	}
	r.act("pause", func(ctx context.Context) error { return r.s.u.lib.PauseTransfer(ctx, hash) })
}

func (r *transferRow) confirmRemove() {
	t := r.t
	del := widget.NewCheck("Also delete the downloaded file", nil)
	if t.Stats.Completed > 0 {
		del.Text = fmt.Sprintf("Also delete the downloaded file (%s)", formatBytes(t.Stats.Completed))
	}
	msg := paragraph("Fourmi will stop downloading and seeding it. Without deleting, the file stays in Fourmi's data folder.")
	d := dialog.NewCustomConfirm("Remove “"+t.Name+"”?", "Remove", "Cancel",
		withMinWidth(container.NewVBox(msg, del), 420), func(ok bool) {
			if ok {
				r.doRemove(del.Checked)
			}
		}, r.s.u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (r *transferRow) doRemove(deleteData bool) {
	hash := r.t.InfoHash
	if sess := r.session(); sess != nil {
		r.s.u.stopSession(sess)
	}
	r.act("remove", func(ctx context.Context) error { return r.s.u.lib.RemoveTransfer(ctx, hash, deleteData) })
}

// doPlay plays (or stops) the transfer: a video's through the Video
// screen, a bare torrent's largest file directly.
func (r *transferRow) doPlay() {
	if sess := r.session(); sess != nil {
		r.s.u.stopSession(sess)
		return
	}
	t := r.t
	if t.VideoUUID != "" {
		v := library.Video{UUID: t.VideoUUID, Name: t.Name, ThumbnailURL: t.ThumbnailURL}
		r.s.u.openVideoByUUID(v, t.Resolution)
		return
	}
	r.busy = true
	r.updateActions()
	r.s.u.startSession(transferKey(t.InfoHash), t.Name, func(ctx context.Context) (library.Playback, error) {
		return r.s.u.lib.PlayTransfer(ctx, t.InfoHash, "")
	}, func(_ *session, err error) {
		r.busy = false
		r.updateActions()
		if err != nil {
			r.s.u.log.Info("play transfer", "hash", t.InfoHash, "err", err)
			msg := "Could not play “" + t.Name + "”: " + errorText(err)
			if isNoPlayer(err) {
				msg = "No video player found: install mpv (or VLC)."
			}
			r.s.showError(msg)
		}
	})
}
