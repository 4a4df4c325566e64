package gui

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// Preview size on the Video screen (16:9).
const (
	previewW = 640
	previewH = 360
)

// videoScreen shows one video: what the grid knew at once, then its
// details (full description, files) once fetched from its origin.
type videoScreen struct {
	u    *UI
	root fyne.CanvasObject

	back        *keyButton
	preview     *canvas.Image
	previewIcon *canvas.Image
	title       *widget.Label
	channel     *widget.Label
	moreChannel *keyButton
	stats       *widget.RichText
	copyLink    *keyButton
	openBrowser *keyButton
	notice      *widget.RichText
	banner      *banner
	progress    *widget.ProgressBarInfinite
	desc        *widget.RichText
	category    *widget.Label
	licence     *widget.Label
	language    *widget.Label
	tags        *widget.Label
	files       *fyne.Container
	scroll      *container.Scroll

	// watching
	play       *keyButton
	resPick    *widget.Select
	download   *keyButton
	copyStream *keyButton
	playNote   *widget.RichText
	panel      *statsPanel

	video      library.Video
	previewURL string
	gen        int
	cancel     context.CancelFunc

	resolutions []int  // the picker's options, best first
	picked      int    // resolution the user picked; 0 = the default
	maxRes      int    // the max-resolution setting
	starting    bool   // a Play or stream is starting
	startUUID   string // the video being started
}

func newVideoScreen(u *UI) *videoScreen {
	s := &videoScreen{u: u}
	s.back = newKeyButton("Back", theme.NavigateBackIcon(), u.closeVideo, u.closeVideo)
	s.back.Importance = widget.LowImportance

	s.preview = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: 8}
	s.previewIcon = canvas.NewImageFromResource(theme.NewDisabledResource(theme.MediaVideoIcon()))
	s.previewIcon.FillMode = canvas.ImageFillContain
	previewBox := container.New(minSizeLayout{min: fyne.NewSize(previewW, previewH)},
		newThemedRect(colorNameThumbBg, 8), container.NewCenter(withMinWidth(s.previewIcon, 72)), s.preview)

	s.title = widget.NewLabel("")
	s.title.SizeName = theme.SizeNameHeadingText
	s.title.TextStyle.Bold = true
	s.title.Wrapping = fyne.TextWrapWord
	s.channel = widget.NewLabel("")
	s.channel.TextStyle.Bold = true
	s.channel.Truncation = fyne.TextTruncateEllipsis
	s.stats = newMutedText(theme.SizeNameText)

	s.copyLink = newKeyButton("Copy link", theme.ContentCopyIcon(), s.doCopyLink, u.closeVideo)
	s.copyLink.Importance = widget.LowImportance
	s.openBrowser = newKeyButton("Open in browser", theme.ComputerIcon(), s.doOpenBrowser, u.closeVideo)
	s.openBrowser.Importance = widget.LowImportance
	s.moreChannel = newKeyButton("More from this channel", theme.ListIcon(), s.doMoreFromChannel, u.closeVideo)
	s.moreChannel.Importance = widget.LowImportance
	subscribe := newKeyButton("Subscribe to this channel", theme.ContentAddIcon(), s.doSubscribe, u.closeVideo)
	subscribe.Importance = widget.LowImportance
	s.play = newKeyButton("Play", theme.MediaPlayIcon(), s.doPlay, u.closeVideo)
	s.play.Importance = widget.HighImportance
	s.resPick = widget.NewSelect(nil, s.resolutionPicked)
	s.resPick.PlaceHolder = "Best quality"
	s.download = newKeyButton("Download", theme.DownloadIcon(), s.doDownload, u.closeVideo)
	s.copyStream = newKeyButton("Copy stream URL", theme.ContentCopyIcon(), s.doCopyStream, u.closeVideo)
	s.playNote = newMutedText(theme.SizeNameCaptionText)
	s.panel = newStatsPanel(s.doStop, u.closeVideo)
	s.maxRes = defaultMaxResolution
	s.notice = newMutedText(theme.SizeNameText)
	s.banner = newBanner()
	s.progress = widget.NewProgressBarInfinite()
	s.progress.Stop()
	s.progress.Hide()

	s.desc = widget.NewRichText()
	s.desc.Wrapping = fyne.TextWrapWord

	s.category, s.licence, s.language, s.tags = detailLabel(), detailLabel(), detailLabel(), detailLabel()
	form := container.New(layout.NewFormLayout(),
		fieldName("Category"), s.category,
		fieldName("Licence"), s.licence,
		fieldName("Language"), s.language,
		fieldName("Tags"), s.tags)
	s.files = container.NewVBox()

	watch := container.NewHBox(s.play, withMinWidth(s.resPick, 170), s.download, s.copyStream)
	actions := container.NewHBox(s.openBrowser, s.copyLink, s.moreChannel, subscribe, container.NewCenter(s.notice))
	left := container.NewVBox(
		container.NewHBox(previewBox),
		s.title, s.channel, s.stats,
		watch, s.playNote, s.panel.root, s.banner.root, s.progress, actions,
		widget.NewSeparator(), s.desc)
	right := container.NewVBox(
		heading("Details"), form,
		widget.NewSeparator(),
		heading("Files"), s.files)
	body := border(nil, nil, nil, container.NewPadded(withMinWidth(right, 300)), left)
	s.scroll = container.NewVScroll(container.NewPadded(body))
	s.root = border(container.NewHBox(s.back), nil, nil, nil, s.scroll)
	s.root.Hide()
	s.banner.relayout = s.relayout
	u.thumbs.listen(s.thumbLoaded)
	return s
}

func heading(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameSubHeadingText
	l.TextStyle.Bold = true
	return l
}

func fieldName(text string) *widget.RichText {
	rt := newMutedText(theme.SizeNameText)
	rt.Truncation = fyne.TextTruncateOff
	setMutedText(rt, text)
	return rt
}

func detailLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	return l
}

// show displays v at once and fetches its details in the background.
func (s *videoScreen) show(v library.Video) {
	s.leave()
	s.video = v
	s.picked = 0
	s.resolutions = nil
	s.banner.Hide()
	setMutedText(s.notice, "")
	s.scroll.ScrollToTop()
	s.render()
	s.showSession()
	s.fetch()
}

// leave stops the details fetch (going back, or another video).
func (s *videoScreen) leave() {
	s.gen++
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
}

func (s *videoScreen) fetch() {
	s.leave()
	gen, uuid := s.gen, s.video.UUID
	ctx, cancel := context.WithCancel(s.u.ctx)
	s.cancel = cancel
	s.progress.Show()
	s.progress.Start()
	s.u.goRun(func(context.Context) {
		maxRes := readMaxResolution(ctx, s.u.lib)
		s.u.do(func() {
			if gen == s.gen && maxRes != s.maxRes {
				s.maxRes = maxRes
				s.renderWatch()
			}
		})
		if cached, err := s.u.lib.Video(ctx, uuid); err == nil {
			s.u.do(func() {
				if gen == s.gen && (!cached.DetailsAt.IsZero() || s.video.DetailsAt.IsZero()) {
					s.video = mergeVideo(s.video, cached)
					s.render()
				}
			})
		}
		full, err := s.u.lib.FetchVideo(ctx, uuid)
		s.u.do(func() {
			if gen != s.gen || ctx.Err() != nil {
				return
			}
			s.progress.Stop()
			s.progress.Hide()
			if err != nil {
				s.u.log.Info("fetch video details", "uuid", uuid, "err", err)
				s.banner.Show("Could not load the details: "+errorText(err), "Retry", func() {
					s.banner.Hide()
					s.fetch()
				})
				s.render()
				return
			}
			s.video = mergeVideo(s.video, full)
			s.render()
		})
	})
}

// mergeVideo takes b, keeping what a knew that b lacks (a cached row can
// be older than what the grid shows, but never emptier).
func mergeVideo(a, b library.Video) library.Video {
	if b.Name == "" {
		b.Name = a.Name
	}
	if len(b.Description) < len(a.Description) && b.DetailsAt.IsZero() {
		b.Description = a.Description
	}
	if b.ThumbnailURL == "" {
		b.ThumbnailURL = a.ThumbnailURL
	}
	if b.PreviewURL == "" {
		b.PreviewURL = a.PreviewURL
	}
	if b.Channel.DisplayName == "" && b.Channel.Name == "" {
		b.Channel = a.Channel
	}
	return b
}

// markdownImage matches an image in markdown: the description is shown
// with links instead, so opening a video never loads third-party images.
var markdownImage = regexp.MustCompile(`!\[([^\]]*)\]\(`)

// bareURL matches a web address written as plain text, which PeerTube
// shows as a link but Fyne's markdown (no autolinks) would not.
var bareURL = regexp.MustCompile(`(?m)(^|\s)(https?://[^\s<>\[\]()]*[^\s<>\[\]().,;:!?'"])`)

// descriptionMarkdown prepares a PeerTube description for RichText.
func descriptionMarkdown(desc string) string {
	desc = strings.TrimSpace(desc)
	if desc == "" {
		return "*No description.*"
	}
	desc = markdownImage.ReplaceAllString(desc, "[$1](")
	return bareURL.ReplaceAllString(desc, "$1[$2]($2)")
}

func (s *videoScreen) render() {
	v := s.video
	s.title.SetText(v.Name)
	ch := cmp.Or(v.Channel.DisplayName, v.Channel.Name, v.Account.DisplayName, v.Account.Name)
	s.channel.SetText(joinNonEmpty("  ·  ", ch, cmp.Or(v.Origin, v.Channel.Host)))
	dur := formatDuration(v.Duration)
	if v.IsLive {
		dur = "Live"
	}
	pub := ""
	if !v.PublishedAt.IsZero() {
		pub = "Published " + formatDate(v.PublishedAt)
	}
	setMutedText(s.stats, joinNonEmpty("  ·  ", formatViews(v.Views), pub, dur))

	s.desc.ParseMarkdown(descriptionMarkdown(v.Description))

	dash := func(x string) string { return cmp.Or(x, "—") }
	s.category.SetText(dash(v.Category))
	s.licence.SetText(dash(v.Licence))
	s.language.SetText(dash(v.Language))
	s.tags.SetText(dash(strings.Join(v.Tags, ", ")))
	s.renderFiles()

	url := cmp.Or(v.PreviewURL, v.ThumbnailURL)
	if url != s.previewURL || s.preview.Image == nil {
		s.previewURL = url
		s.setPreview(s.u.thumbs.get(url))
	}
}

func (s *videoScreen) setPreview(img image.Image) {
	s.preview.Image = img
	setVisible(s.preview, img != nil)
	setVisible(s.previewIcon, img == nil)
	s.preview.Refresh()
}

func (s *videoScreen) thumbLoaded(url string, img image.Image) {
	if url == s.previewURL {
		s.setPreview(img)
	}
}

func (s *videoScreen) renderFiles() {
	v := s.video
	var rows []fyne.CanvasObject
	files := slices.Clone(v.Files)
	slices.SortStableFunc(files, func(a, b library.VideoFile) int {
		if a.Resolution != b.Resolution {
			return b.Resolution - a.Resolution
		}
		return cmp.Compare(boolInt(b.HLS), boolInt(a.HLS))
	})
	for _, f := range files {
		rows = append(rows, s.fileRow(f))
	}
	if len(rows) == 0 {
		msg := "Loading…"
		switch {
		case v.IsLive:
			msg = "A live stream has no files to download."
		case !v.DetailsAt.IsZero():
			msg = "This video has no downloadable files."
		case s.banner.Visible():
			msg = "Unknown until the details load."
		}
		rows = append(rows, fieldName(msg))
	}
	s.files.Objects = rows
	s.renderWatch()
	s.relayout()
}

// relayout lays the screen out again after texts or lists changed size.
func (s *videoScreen) relayout() {
	relayout(s.root)
	relayoutScroll(s.scroll)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fileLabel(f library.VideoFile) string {
	switch {
	case f.Label != "":
		return f.Label
	case f.Resolution == 0:
		return "Audio only"
	}
	return fmt.Sprintf("%dp", f.Resolution)
}

func fileKind(f library.VideoFile) string {
	if f.HLS {
		return "HLS"
	}
	return "Web video"
}

func (s *videoScreen) fileRow(f library.VideoFile) fyne.CanvasObject {
	res := widget.NewLabelWithStyle(fileLabel(f), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	info := newMutedText(theme.SizeNameText)
	setMutedText(info, joinNonEmpty(" · ", formatSize(f.Size), fileKind(f)))
	magnet := newKeyButton("Copy magnet", theme.ContentCopyIcon(), func() {
		s.u.app.Clipboard().SetContent(f.MagnetURI)
		s.setNotice("Magnet link for " + fileLabel(f) + " copied")
	}, s.u.closeVideo)
	magnet.Importance = widget.LowImportance
	if f.MagnetURI == "" {
		magnet.Disable()
	}
	return border(nil, nil, withMinWidth(res, 64), magnet, info)
}

func (s *videoScreen) doCopyLink() {
	if s.video.URL == "" {
		return
	}
	s.u.app.Clipboard().SetContent(s.video.URL)
	s.setNotice("Link copied")
}

// doMoreFromChannel shows the video's channel catalog in Discover.
func (s *videoScreen) doMoreFromChannel() {
	ch := s.video.Channel
	if ch.Name == "" || ch.Host == "" {
		return
	}
	s.u.closeVideo()
	s.u.showScreen(screenDiscover)
	s.u.discover.browseSource(library.ChannelSource(ch))
}

func (s *videoScreen) setNotice(text string) {
	setMutedText(s.notice, text)
	s.relayout()
}

func (s *videoScreen) doOpenBrowser() {
	u, err := url.Parse(s.video.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		s.banner.Show(fmt.Sprintf("This video has no web address to open (%q).", s.video.URL), "", nil)
		return
	}
	if err := s.u.openURL(u); err != nil {
		s.banner.Show("Could not open the browser: "+err.Error(), "", nil)
	}
}
