package gui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"slices"
	"strings"
	"time"

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

const screenSubs = "subscriptions"

// How the Subscriptions screen reads the feed.
const (
	feedLimit = 100
	// notifyBatch gathers the new videos that arrive together into one
	// desktop notification.
	notifyBatch = 600 * time.Millisecond
	// subsReloadEvery re-reads the feed and the subscriptions' states
	// while the screen shows (background polls change them silently).
	subsReloadEvery = 20 * time.Second
	avatarSize      = 40
)

// keepChoices are the "Keep latest N" options (0: off).
var keepChoices = []int{0, 1, 3, 5, 10, 25}

// subsScreen is the subscription feed: follow a channel by handle or
// URL, the videos of the followed channels newest first (unseen ones
// marked), and the list of subscriptions with their state, mirroring and
// Unsubscribe. Feed events arrive live (SubscribeFeed): new videos show
// at the top, with a badge on the sidebar and a desktop notification.
type subsScreen struct {
	u    *UI
	root fyne.CanvasObject

	entry        *appEntry
	subscribeBtn *widget.Button
	entryErr     *widget.Label
	busy         *widget.ProgressBarInfinite
	refreshBtn   *widget.Button
	seenBtn      *widget.Button
	importBtn    *widget.Button
	exportBtn    *widget.Button
	banner       *banner
	status       *widget.RichText
	feedScroll   *container.Scroll
	feedBox      *fyne.Container
	feedEmpty    *widget.RichText
	subsScroll   *container.Scroll
	subsBox      *fyne.Container
	subsEmpty    *widget.RichText
	badge        *countBadge

	items   []library.FeedItem
	subs    []library.Subscription
	unseen  int
	cards   []*resumeCard
	avatars map[string][]*canvas.Image // by avatar URL

	working    int // subscribe, refresh or import calls running
	reloadGen  int
	reloading  bool // a reload is in flight
	visible    bool
	tick       context.CancelFunc
	unsubFeed  func()
	newQueue   []library.FeedItem // new videos not notified yet
	notifyWait bool
}

func newSubsScreen(u *UI) *subsScreen {
	s := &subsScreen{u: u, avatars: map[string][]*canvas.Image{}}
	s.badge = newCountBadge()

	s.entry = newAppEntry(u)
	s.entry.SetPlaceHolder("Channel to follow: name@host or its address")
	s.entry.OnSubmitted = func(string) { s.subscribe() }
	s.subscribeBtn = widget.NewButtonWithIcon("Subscribe", theme.ContentAddIcon(), s.subscribe)
	s.subscribeBtn.Importance = widget.HighImportance
	s.entryErr = widget.NewLabel("")
	s.entryErr.Importance = widget.DangerImportance
	s.entryErr.Wrapping = fyne.TextWrapWord
	s.entryErr.Hide()

	s.refreshBtn = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), s.refresh)
	s.seenBtn = widget.NewButtonWithIcon("Mark all seen", theme.ConfirmIcon(), s.markSeen)
	s.importBtn = widget.NewButtonWithIcon("Import…", theme.FolderOpenIcon(), s.chooseImport)
	s.exportBtn = widget.NewButtonWithIcon("Export OPML…", theme.DocumentSaveIcon(), s.chooseExport)
	for _, b := range []*widget.Button{s.seenBtn, s.importBtn, s.exportBtn} {
		b.Importance = widget.LowImportance
	}
	s.busy = widget.NewProgressBarInfinite()
	s.busy.Stop()
	s.busy.Hide()
	s.banner = newBanner()
	s.status = newMutedText(theme.SizeNameText)
	s.status.Hide()

	s.feedBox = container.NewGridWrap(fyne.NewSize(thumbW+2*cardPad, 0))
	s.feedEmpty = paragraph("No videos yet. Follow a channel above (name@host, or the address of its page) — or press “Subscribe to this channel” on a video — and its new videos show here.")
	s.feedScroll = container.NewVScroll(container.NewVBox(s.feedEmpty, s.feedBox))

	s.subsBox = container.NewVBox()
	s.subsEmpty = paragraph("You follow no channel yet.")
	s.subsScroll = container.NewVScroll(container.NewVBox(section("Following"), s.subsEmpty, s.subsBox))

	top := container.NewVBox(
		heading("Subscriptions"),
		border(nil, nil, nil, s.subscribeBtn, s.entry),
		s.entryErr,
		container.NewHBox(s.refreshBtn, s.seenBtn, s.importBtn, s.exportBtn, container.NewCenter(withMinWidth(s.busy, 120))),
		s.banner.root, s.status,
	)
	right := container.NewPadded(withMinWidth(s.subsScroll, 290))
	s.root = border(container.NewPadded(top), nil, nil, right, s.feedScroll)
	s.root.Hide()
	s.banner.relayout = func() { relayout(s.root) }
	u.thumbs.listen(s.thumbLoaded)
	return s
}

// start listens to the feed events and reads the feed once (Show).
func (s *subsScreen) start() {
	s.unsubFeed = s.u.lib.SubscribeFeed(func(ev library.FeedEvent) {
		s.u.do(func() { s.event(ev) })
	})
	s.reload()
}

func (s *subsScreen) stop() {
	if s.unsubFeed != nil {
		s.unsubFeed()
		s.unsubFeed = nil
	}
	s.hide()
}

// shown runs when the screen shows: the feed is read again, and again
// now and then while it shows.
func (s *subsScreen) shown() {
	s.visible = true
	s.reload()
	if s.tick != nil {
		s.tick()
	}
	ctx, cancel := context.WithCancel(s.u.ctx)
	s.tick = cancel
	s.u.goRun(func(context.Context) {
		t := time.NewTicker(subsReloadEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.u.do(s.reload)
			}
		}
	})
}

func (s *subsScreen) hide() {
	s.visible = false
	if s.tick != nil {
		s.tick()
		s.tick = nil
	}
}

// reload reads the feed, the subscriptions and the unseen count.
func (s *subsScreen) reload() {
	if s.u.lib == nil {
		return
	}
	s.reloadGen++
	s.reloading = true
	gen := s.reloadGen
	s.u.goRun(func(ctx context.Context) {
		items, err := s.u.lib.Feed(ctx, feedLimit)
		var subs []library.Subscription
		if err == nil {
			subs, err = s.u.lib.Subscriptions(ctx)
		}
		unseen := 0
		if err == nil {
			unseen, err = s.u.lib.UnseenCount(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		s.u.do(func() {
			if gen != s.reloadGen {
				return
			}
			s.reloading = false
			if err != nil {
				s.u.log.Warn("read the feed", "err", err)
				s.banner.Show("Could not read the subscriptions: "+errorText(err), "Retry", s.reload)
				return
			}
			s.items, s.subs = items, subs
			s.setUnseen(unseen)
			s.renderFeed()
			s.renderSubs()
		})
	})
}

// event applies a feed change (on the UI thread).
func (s *subsScreen) event(ev library.FeedEvent) {
	if s.reloading {
		// what the reload in flight read may predate this change
		defer s.reload()
	}
	s.setUnseen(ev.Unseen)
	uuid := ev.Item.Video.UUID
	i := slices.IndexFunc(s.items, func(it library.FeedItem) bool { return it.Video.UUID == uuid })
	switch ev.Kind {
	case library.FeedNew:
		if i < 0 {
			s.items = slices.Insert(s.items, 0, ev.Item)
			s.renderFeed()
		}
		s.newQueue = append(s.newQueue, ev.Item)
		if !s.notifyWait {
			s.notifyWait = true
			time.AfterFunc(notifyBatch, func() { s.u.do(s.flushNotify) })
		}
	case library.FeedUpdated:
		if i < 0 {
			s.reload()
			return
		}
		s.items[i].Video = ev.Item.Video
		s.renderFeed()
	case library.FeedRemoved:
		if i >= 0 {
			s.items = slices.Delete(s.items, i, i+1)
			s.renderFeed()
		}
	case library.FeedSeen:
		for i := range s.items {
			s.items[i].Unseen = false
		}
		s.renderFeed()
	case library.FeedSubscriptions:
		s.reload()
	}
}

// flushNotify sends one desktop notification for the new videos that
// arrived together.
func (s *subsScreen) flushNotify() {
	s.notifyWait = false
	q := s.newQueue
	s.newQueue = nil
	if len(q) == 0 || s.u.ctx.Err() != nil {
		return
	}
	s.u.notify(feedNotification(q))
}

// feedNotification says what arrived: the video and its channel, or how
// many videos from which channels.
func feedNotification(q []library.FeedItem) *fyne.Notification {
	if len(q) == 1 {
		return fyne.NewNotification("New video from "+channelName(q[0]), q[0].Video.Name)
	}
	var names []string
	for _, it := range q {
		if n := channelName(it); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	from := strings.Join(names, ", ")
	if len(names) > 3 {
		from = strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return fyne.NewNotification(fmt.Sprintf("%d new videos", len(q)), "From "+from)
}

func channelName(it library.FeedItem) string {
	for _, n := range []string{it.Video.Channel.DisplayName, it.Subscription.DisplayName, it.Video.Channel.Name, it.Subscription.Name} {
		if n != "" {
			return n
		}
	}
	return it.Subscription.Handle()
}

// setUnseen updates the sidebar badge.
func (s *subsScreen) setUnseen(n int) {
	s.unseen = n
	s.badge.set(n)
	if n == 0 {
		s.seenBtn.Disable()
	} else {
		s.seenBtn.Enable()
	}
}

// renderFeed shows s.items as cards, newest first.
func (s *subsScreen) renderFeed() {
	for len(s.cards) < len(s.items) {
		c := newResumeCard(s.u.now, s.open)
		s.cards = append(s.cards, c)
	}
	objs := make([]fyne.CanvasObject, len(s.items))
	for i, it := range s.items {
		c := s.cards[i]
		c.metaText = feedMeta(it, s.u.now())
		c.set(i, it.Video, s.u.thumbs.get(it.Video.ThumbnailURL))
		objs[i] = c
	}
	if len(objs) > 0 {
		s.feedBox.Layout = layout.NewGridWrapLayout(s.cards[0].MinSize())
	}
	s.feedBox.Objects = objs
	s.feedBox.Refresh()
	setVisible(s.feedEmpty, len(objs) == 0)
	s.feedScroll.Refresh()
}

// feedMeta is a feed card's last line: the unseen marker and the date.
func feedMeta(it library.FeedItem, now time.Time) string {
	when := it.Video.PublishedAt
	if when.IsZero() {
		when = it.FirstSeen
	}
	host := it.Video.Origin
	if host == "" {
		host = it.Subscription.Host
	}
	mark := ""
	if it.Unseen {
		mark = "● New"
	}
	return joinNonEmpty(" · ", mark, formatAge(when, now), host)
}

// open shows feed item i on the Video screen.
func (s *subsScreen) open(i int) {
	if i < 0 || i >= len(s.items) {
		return
	}
	s.u.openVideo(s.items[i].Video)
}

func (s *subsScreen) thumbLoaded(url string, img image.Image) {
	for i, it := range s.items {
		if i < len(s.cards) && it.Video.ThumbnailURL == url {
			s.cards[i].set(i, it.Video, img)
		}
	}
	for _, im := range s.avatars[url] {
		im.Image = img
		im.Show()
		im.Refresh()
	}
}

// setWorking shows the progress bar while a subscribe, refresh or import
// runs, and keeps the buttons that would start another from being pressed.
func (s *subsScreen) setWorking(on bool) {
	if on {
		s.working++
	} else {
		s.working--
	}
	if s.working > 0 {
		s.busy.Show()
		s.busy.Start()
		s.refreshBtn.Disable()
		s.importBtn.Disable()
		s.subscribeBtn.Disable()
	} else {
		s.busy.Stop()
		s.busy.Hide()
		s.refreshBtn.Enable()
		s.importBtn.Enable()
		s.subscribeBtn.Enable()
	}
}

func (s *subsScreen) setStatus(text string) {
	setMutedText(s.status, text)
	setVisible(s.status, text != "")
	relayout(s.root)
}

func (s *subsScreen) showEntryError(msg string) {
	s.entryErr.SetText(msg)
	setVisible(s.entryErr, msg != "")
	relayout(s.root)
}

// subscribe follows what the entry names.
func (s *subsScreen) subscribe() {
	if s.working > 0 {
		return
	}
	target := strings.TrimSpace(s.entry.Text)
	if target == "" {
		s.showEntryError("Type the channel to follow: name@host (as PeerTube shows it) or the address of its page.")
		return
	}
	s.showEntryError("")
	s.setWorking(true)
	s.u.goRun(func(ctx context.Context) {
		sub, err := s.u.lib.Subscribe(ctx, target)
		s.u.do(func() {
			s.setWorking(false)
			if err != nil {
				s.showEntryError("Could not follow “" + target + "”: " + errorText(err))
				return
			}
			if s.entry.Text == target {
				s.entry.SetText("")
			}
			s.setStatus("Following " + subName(sub) + ". Its new videos will show here.")
			s.reload()
		})
	})
}

// subscribeTo follows a video's channel (the Video screen's button);
// done hears the outcome on the UI thread.
func (s *subsScreen) subscribeTo(ch library.Actor, done func(library.Subscription, error)) {
	target := ch.URL
	if ch.Name != "" && ch.Host != "" {
		target = ch.Name + "@" + ch.Host
	}
	s.u.goRun(func(ctx context.Context) {
		sub, err := s.u.lib.Subscribe(ctx, target)
		s.u.do(func() {
			if err == nil {
				s.reload()
			}
			done(sub, err)
		})
	})
}

func subName(sub library.Subscription) string {
	if sub.DisplayName != "" {
		return sub.DisplayName + " (" + sub.Handle() + ")"
	}
	return sub.Handle()
}

// refresh checks every subscription now.
func (s *subsScreen) refresh() {
	if s.working > 0 {
		return
	}
	s.setWorking(true)
	s.banner.Hide()
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.RefreshSubscriptions(ctx)
		s.u.do(func() {
			s.setWorking(false)
			if err != nil {
				s.banner.Show("Some channels could not be checked: "+errorText(err), "", nil)
			} else {
				s.setStatus("Checked at " + s.u.now().Format("15:04") + ".")
			}
			s.reload()
		})
	})
}

func (s *subsScreen) markSeen() {
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.MarkFeedSeen(ctx)
		if err != nil {
			s.u.do(func() { s.banner.Show("Could not mark the videos seen: "+errorText(err), "", nil) })
		}
	})
}

// chooseImport asks for an OPML file (or PeerTube's following.json).
func (s *subsScreen) chooseImport() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			s.banner.Show("Could not open the file: "+errorText(err), "", nil)
			return
		}
		if r != nil {
			s.importFrom(r)
		}
	}, s.u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".opml", ".xml", ".json"}))
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// importFrom follows the channels listed in r, and closes it.
func (s *subsScreen) importFrom(r io.ReadCloser) {
	s.setWorking(true)
	s.banner.Hide()
	s.u.goRun(func(ctx context.Context) {
		res, err := s.u.lib.ImportSubscriptions(ctx, r)
		r.Close()
		s.u.do(func() {
			s.setWorking(false)
			s.reload()
			if err != nil {
				s.banner.Show("Could not import: "+errorText(err), "", nil)
				return
			}
			s.setStatus("Imported " + plural(len(res.Added), "channel", "channels") + ".")
			if len(res.Failed) > 0 {
				var lines []string
				for _, f := range res.Failed {
					lines = append(lines, f.Entry+": "+errorText(f.Err))
				}
				s.banner.Show(fmt.Sprintf("%d could not be followed: %s", len(res.Failed), strings.Join(lines, "; ")), "", nil)
			}
		})
	})
}

// chooseExport asks where to save the subscriptions as OPML.
func (s *subsScreen) chooseExport() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			s.banner.Show("Could not save the file: "+errorText(err), "", nil)
			return
		}
		if w != nil {
			s.exportTo(w, w.URI().Name())
		}
	}, s.u.win)
	d.SetFileName("fourmi-subscriptions.opml")
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// exportTo writes the subscriptions as OPML to w, and closes it.
func (s *subsScreen) exportTo(w io.WriteCloser, name string) {
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.ExportSubscriptions(ctx, w, library.FormatOPML)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		s.u.do(func() {
			if err != nil {
				s.banner.Show("Could not export the subscriptions: "+errorText(err), "", nil)
				return
			}
			s.setStatus("Saved " + plural(len(s.subs), "subscription", "subscriptions") + " to " + name + ".")
		})
	})
}

// renderSubs lists the subscriptions with their state and controls.
func (s *subsScreen) renderSubs() {
	clear(s.avatars)
	rows := make([]fyne.CanvasObject, 0, len(s.subs))
	for _, sub := range s.subs {
		rows = append(rows, s.subRow(sub))
	}
	s.subsBox.Objects = rows
	s.subsBox.Refresh()
	setVisible(s.subsEmpty, len(rows) == 0)
	s.subsScroll.Refresh()
}

func (s *subsScreen) subRow(sub library.Subscription) fyne.CanvasObject {
	avatar := &canvas.Image{FillMode: canvas.ImageFillCover, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: avatarSize / 2}
	if sub.AvatarURL != "" {
		avatar.Image = s.u.thumbs.get(sub.AvatarURL)
		s.avatars[sub.AvatarURL] = append(s.avatars[sub.AvatarURL], avatar)
	}
	avatar.Hidden = avatar.Image == nil // the software painter cannot draw a nil image
	pic := container.New(minSizeLayout{min: fyne.NewSize(avatarSize, avatarSize)},
		newThemedRect(colorNameThumbBg, avatarSize/2), avatar)

	name := widget.NewLabel(cmpOr(sub.DisplayName, sub.Name))
	name.TextStyle.Bold = true
	name.Truncation = fyne.TextTruncateEllipsis
	handle := newMutedText(theme.SizeNameCaptionText)
	setMutedText(handle, sub.Handle())
	state := widget.NewLabel(subState(sub, s.u.now()))
	state.Wrapping = fyne.TextWrapWord
	state.SizeName = theme.SizeNameCaptionText
	switch sub.State {
	case library.SubscriptionError:
		state.Importance = widget.WarningImportance
	case library.SubscriptionGone:
		state.Importance = widget.DangerImportance
	}

	keep := widget.NewSelect(keepOptions(sub.MirrorLatest), nil)
	keep.SetSelected(keepLabel(sub.MirrorLatest))
	id := sub.ID
	keep.OnChanged = func(v string) { s.setKeep(id, v) }
	unsub := widget.NewButtonWithIcon("Unsubscribe", theme.DeleteIcon(), func() { s.confirmUnsubscribe(sub) })
	unsub.Importance = widget.LowImportance

	info := container.NewVBox(name, handle, state)
	top := border(nil, nil, container.NewCenter(pic), nil, info)
	return container.NewVBox(top, container.NewHBox(withMinWidth(keep, 140), unsub), widget.NewSeparator())
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// subState is a subscription's state in words, with its reason.
func subState(sub library.Subscription, now time.Time) string {
	switch sub.State {
	case library.SubscriptionError:
		return "Last check failed: " + sub.Error + " — trying again later."
	case library.SubscriptionGone:
		return "Gone: " + cmpOr(sub.Error, "the channel no longer exists") + "."
	}
	if sub.LastPoll.IsZero() {
		return "Not checked yet."
	}
	return "Checked " + formatAge(sub.LastPoll, now) + "."
}

func keepLabel(n int) string {
	if n == 0 {
		return "Keep none"
	}
	return fmt.Sprintf("Keep latest %d", n)
}

func keepOptions(current int) []string {
	var out []string
	for _, n := range keepChoices {
		out = append(out, keepLabel(n))
	}
	if !slices.Contains(keepChoices, current) {
		out = append(out, keepLabel(current))
	}
	return out
}

func parseKeep(label string) int {
	var n int
	if _, err := fmt.Sscanf(label, "Keep latest %d", &n); err == nil {
		return n
	}
	return 0
}

// setKeep changes how many of a subscription's videos are mirrored.
func (s *subsScreen) setKeep(id int64, label string) {
	n := parseKeep(label)
	i := slices.IndexFunc(s.subs, func(x library.Subscription) bool { return x.ID == id })
	if i < 0 || s.subs[i].MirrorLatest == n {
		return
	}
	s.subs[i].MirrorLatest = n
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.SetMirrorLatest(ctx, id, n)
		s.u.do(func() {
			if err != nil {
				s.banner.Show("Could not change what is kept: "+errorText(err), "", nil)
				s.reload()
			}
		})
	})
}

func (s *subsScreen) confirmUnsubscribe(sub library.Subscription) {
	msg := paragraph("Its videos leave the feed, and the copies kept for it stop being kept.")
	d := dialog.NewCustomConfirm("Unsubscribe from "+cmpOr(sub.DisplayName, sub.Handle())+"?", "Unsubscribe", "Cancel",
		withMinWidth(msg, 420), func(ok bool) {
			s.u.dialogEscape = nil
			if ok {
				s.unsubscribe(sub)
			}
		}, s.u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	s.u.dialogEscape = d.Hide
	d.Show()
}

func (s *subsScreen) unsubscribe(sub library.Subscription) {
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.Unsubscribe(ctx, sub.ID)
		s.u.do(func() {
			if err != nil {
				s.banner.Show("Could not unsubscribe: "+errorText(err), "", nil)
				return
			}
			s.setStatus("No longer following " + subName(sub) + ".")
			s.reload()
		})
	})
}

// countBadge is the unseen count on the sidebar's Subscriptions entry
// (hidden at zero).
type countBadge struct {
	root *fyne.Container
	text *canvas.Text
	n    int
}

func newCountBadge() *countBadge {
	b := &countBadge{text: canvas.NewText("", color.White)}
	b.text.TextStyle.Bold = true
	b.text.TextSize = 11
	b.text.Alignment = fyne.TextAlignCenter
	bg := newThemedRect(theme.ColorNamePrimary, 9)
	b.root = container.NewStack(bg, container.New(layout.NewCustomPaddedLayout(1, 1, 6, 6), b.text))
	b.root.Hide()
	return b
}

func (b *countBadge) set(n int) {
	b.n = n
	switch {
	case n <= 0:
		b.text.Text = ""
	case n > 99:
		b.text.Text = "99+"
	default:
		b.text.Text = fmt.Sprint(n)
	}
	b.text.Refresh()
	setVisible(b.root, n > 0)
	b.root.Refresh()
}

// showSubs is Ctrl+S: the Subscriptions screen, the keyboard in its entry.
func (u *UI) showSubs() {
	u.showScreen(screenSubs)
	u.win.Canvas().Focus(u.subs.entry)
}

// doSubscribe is the Video screen's "Subscribe to this channel".
func (s *videoScreen) doSubscribe() {
	ch := s.video.Channel
	if (ch.Name == "" || ch.Host == "") && ch.URL == "" {
		s.setNotice("This video's channel is not known")
		return
	}
	s.setNotice("Subscribing…")
	uuid := s.video.UUID
	s.u.subs.subscribeTo(ch, func(sub library.Subscription, err error) {
		if s.video.UUID != uuid {
			return
		}
		if err != nil {
			s.setNotice("")
			s.banner.Show("Could not subscribe: "+errorText(err), "", nil)
			return
		}
		s.setNotice("Subscribed to " + subName(sub))
	})
}
