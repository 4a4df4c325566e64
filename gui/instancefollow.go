package gui

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// followLists is the lower part of the Instance screen: who follows the
// instance (pending requests with Approve and Reject, accepted followers
// with Remove), the delivery queue, and whom the instance's account
// follows, with an entry to follow one more.
type followLists struct {
	s *instanceScreen

	count     *widget.Label
	queue     *widget.RichText
	list      *fyne.Container
	approve   map[string]*widget.Button // by actor IRI, pending only
	reject    map[string]*widget.Button // by actor IRI
	answering map[string]bool
	followers []library.HostFollower

	target     *appEntry
	followBtn  *widget.Button
	followBusy *widget.ProgressBarInfinite
	followErr  *widget.Label
	following  *fyne.Container
	followHint *widget.RichText
	entries    []library.FollowingEntry
	sending    bool

	gen      int
	lastKey  string // the status the lists were last read for
	shownKey string // what the rows show (rebuilt only when it changes)
}

func newFollowLists(s *instanceScreen) *followLists {
	f := &followLists{s: s, approve: map[string]*widget.Button{}, reject: map[string]*widget.Button{},
		answering: map[string]bool{}}
	f.count = widget.NewLabel("")
	f.queue = newMutedText(theme.SizeNameText)
	f.list = container.NewVBox()
	f.target = newAppEntry(s.u)
	f.target.PlaceHolder = "channel@videos.example.org, or the channel's URL"
	f.target.OnSubmitted = func(string) { f.follow() }
	f.target.OnChanged = func(string) { f.updateFollow() }
	f.followBtn = widget.NewButtonWithIcon("Follow", theme.ContentAddIcon(), f.follow)
	f.followBusy = widget.NewProgressBarInfinite()
	f.followBusy.Stop()
	f.followBusy.Hide()
	f.followErr = widget.NewLabel("")
	f.followErr.Importance = widget.DangerImportance
	f.followErr.Wrapping = fyne.TextWrapWord
	f.followErr.Hide()
	f.followHint = newMutedText(theme.SizeNameText)
	f.followHint.Truncation = fyne.TextTruncateOff
	f.followHint.Wrapping = fyne.TextWrapWord
	f.following = container.NewVBox()
	f.render()
	return f
}

// content is the objects the screen stacks.
func (f *followLists) content() []fyne.CanvasObject {
	return []fyne.CanvasObject{
		section("Followers"),
		f.count,
		f.queue,
		f.list,
		widget.NewSeparator(),
		section("Following"),
		paragraph("Follow a PeerTube channel or account: its new videos arrive here and show in Discover."),
		border(nil, nil, nil, f.followBtn, f.target),
		f.followBusy,
		f.followErr,
		f.followHint,
		f.following,
	}
}

// statusChanged reads the lists again when the status says something
// changed in them (followers, queue) — or at each status, which is rare.
func (f *followLists) statusChanged(st library.HostStatus) {
	key := fmt.Sprint(st.Running, st.Followers, len(st.Pending), st.Queue)
	for _, p := range st.Pending {
		key += p.Actor
	}
	f.renderCounts()
	f.updateFollow()
	if key != f.lastKey {
		f.lastKey = key
		f.reload()
	}
}

// reload reads the followers and the following list.
func (f *followLists) reload() {
	u := f.s.u
	if u.lib == nil {
		return
	}
	f.gen++
	gen := f.gen
	u.goRun(func(ctx context.Context) {
		fs, ferr := u.lib.HostFollowers(ctx)
		es, eerr := u.lib.Following(ctx)
		u.do(func() {
			if gen != f.gen {
				return
			}
			if err := firstErr(ferr, eerr); err != nil {
				f.s.showError("Could not read the followers: " + errorText(err))
				return
			}
			f.followers, f.entries = fs, es
			f.render()
		})
	})
}

// renderCounts shows the number of followers and the delivery queue.
func (f *followLists) renderCounts() {
	st := f.s.status
	accepted, pending := 0, 0
	for _, x := range f.followers {
		if x.State == library.FollowerPending {
			pending++
		} else {
			accepted++
		}
	}
	if f.followers == nil { // not read yet: the status counts
		accepted, pending = st.Followers, len(st.Pending)
	}
	count := plural(accepted, "follower", "followers")
	if pending > 0 {
		count += " · " + plural(pending, "request", "requests") + " to answer"
	}
	setLabel(f.count, count)
	setMutedText(f.queue, queueText(st.Queue))
}

// render shows the lists as last read.
func (f *followLists) render() {
	st := f.s.status
	f.renderCounts()
	f.updateFollow()
	key := fmt.Sprint(st.Running, f.followers, f.entries, len(f.answering), f.s.form.loaded.ChannelName, st.PublicURL,
		f.s.u.now().Truncate(time.Minute))
	for a := range f.answering {
		key += a
	}
	if key == f.shownKey {
		return // the same rows: the keyboard stays where it is
	}
	f.shownKey = key
	f.approve = map[string]*widget.Button{}
	f.reject = map[string]*widget.Button{}
	var rows []fyne.CanvasObject
	now := f.s.u.now()
	for _, x := range f.followers {
		name := widget.NewLabelWithStyle(x.Handle, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		name.Truncation = fyne.TextTruncateEllipsis
		info := newMutedText(theme.SizeNameCaptionText)
		var buttons *fyne.Container
		actor := x.Actor
		busy := f.answering[actor] || !st.Running
		if x.State == library.FollowerPending {
			setMutedText(info, joinNonEmpty(" · ", "wants to follow "+localName(x.Local), "asked "+formatAge(x.Since, now)))
			ok := widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() { f.answer(actor, true) })
			ok.Importance = widget.HighImportance
			no := widget.NewButtonWithIcon("Reject", theme.CancelIcon(), func() { f.answer(actor, false) })
			setEnabled(ok, !busy)
			setEnabled(no, !busy)
			f.approve[actor], f.reject[actor] = ok, no
			buttons = container.NewHBox(ok, no)
		} else {
			setMutedText(info, joinNonEmpty(" · ", "follows "+localName(x.Local), "since "+formatAge(x.Since, now)))
			rm := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { f.answer(actor, false) })
			rm.Importance = widget.LowImportance
			setEnabled(rm, !busy)
			f.reject[actor] = rm
			buttons = container.NewHBox(rm)
		}
		rows = append(rows, border(nil, nil, nil, container.NewCenter(buttons), container.NewVBox(name, info)))
	}
	if len(rows) == 0 {
		rows = append(rows, paragraph("No one follows this instance yet. Share its public URL with PeerTube admins and users: they follow your channel as "+f.channelHandle()+"."))
	} else if !st.Running && len(f.followers) > 0 {
		rows = append(rows, paragraph("Turn hosting on to answer follow requests."))
	}
	f.list.Objects = rows
	f.list.Refresh()

	var frows []fyne.CanvasObject
	for _, e := range f.entries {
		name := widget.NewLabelWithStyle(actorHandle(e.Actor), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		name.Truncation = fyne.TextTruncateEllipsis
		info := newMutedText(theme.SizeNameCaptionText)
		setMutedText(info, joinNonEmpty(" · ", followingState(e.State), formatAge(e.Since, now)))
		frows = append(frows, container.NewVBox(name, info))
	}
	if len(frows) == 0 {
		frows = append(frows, paragraph("The instance follows no one yet."))
	}
	f.following.Objects = frows
	f.following.Refresh()
	f.s.relayout()
}

// channelHandle is the instance's channel as name@host ("" parts unknown).
func (f *followLists) channelHandle() string {
	c := f.s.form.loaded
	if u, err := url.Parse(f.s.status.PublicURL); err == nil && u.Host != "" && c.ChannelName != "" {
		return c.ChannelName + "@" + u.Host
	}
	return "name@your-host"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// localName says which local actor a follower follows.
func localName(iri string) string {
	switch {
	case strings.Contains(iri, "/video-channels/"):
		return "the channel"
	case strings.HasSuffix(iri, "/accounts/peertube"):
		return "the instance"
	case strings.Contains(iri, "/accounts/"):
		return "the account"
	}
	return "this instance"
}

// actorHandle is name@host for an actor IRI (PeerTube's /accounts/NAME
// and /video-channels/NAME), or the IRI.
func actorHandle(iri string) string {
	u, err := url.Parse(iri)
	if err != nil || u.Host == "" {
		return iri
	}
	p := strings.TrimSuffix(u.Path, "/")
	name := p[strings.LastIndex(p, "/")+1:]
	if name == "" {
		return u.Host
	}
	return name + "@" + u.Host
}

func followingState(s string) string {
	switch s {
	case library.FollowingPending:
		return "waiting for an answer"
	case library.FollowingAccepted:
		return "following"
	case library.FollowingRejected:
		return "refused"
	}
	return s
}

// answer approves or rejects (removes) a follower.
func (f *followLists) answer(actor string, approve bool) {
	if f.answering[actor] {
		return
	}
	f.answering[actor] = true
	f.render()
	u := f.s.u
	u.goRun(func(ctx context.Context) {
		var err error
		if approve {
			err = u.lib.ApproveFollower(ctx, actor)
		} else {
			err = u.lib.RejectFollower(ctx, actor)
		}
		u.do(func() {
			delete(f.answering, actor)
			if err != nil {
				u.log.Info("answer follower", "actor", actor, "approve", approve, "err", err)
				verb := "reject"
				if approve {
					verb = "approve"
				}
				f.s.showError(fmt.Sprintf("Could not %s %s: %s", verb, actorHandle(actor), errorText(err)))
			}
			f.reload()
		})
	})
}

// updateFollow enables Follow when there is whom to follow and hosting runs.
func (f *followLists) updateFollow() {
	running := f.s.status.Running
	hint := ""
	if !running {
		hint = "Turn hosting on to follow: the other server answers your instance."
	}
	setEnabled(f.followBtn, running && !f.sending && strings.TrimSpace(f.target.Text) != "")
	setMutedText(f.followHint, hint)
	setVisible(f.followHint, hint != "")
}

// follow is Follow (and Enter in the entry).
func (f *followLists) follow() {
	target := strings.TrimSpace(f.target.Text)
	if f.sending || target == "" || !f.s.status.Running {
		return
	}
	f.sending = true
	f.followErr.Hide()
	busy(f.followBusy, true)
	f.updateFollow()
	f.s.relayout()
	u := f.s.u
	u.goRun(func(ctx context.Context) {
		e, err := u.lib.FollowRemote(ctx, target)
		u.do(func() {
			f.sending = false
			busy(f.followBusy, false)
			if err != nil {
				u.log.Info("follow remote", "target", target, "err", err)
				f.followErr.SetText("Could not follow " + target + ": " + errorText(err))
				f.followErr.Show()
			} else {
				f.target.SetText("")
				f.s.setNotice("Asked to follow " + actorHandle(e.Actor) + "; it shows as following once the server accepts.")
			}
			f.updateFollow()
			f.reload()
		})
	})
}
