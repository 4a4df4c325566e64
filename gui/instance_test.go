package gui

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

// loopbackHostConfig is a hosting configuration on a free 127.0.0.1 port,
// with a loopback public URL (private networks allowed, no port mapping):
// nothing leaves the machine.
func loopbackHostConfig(t *testing.T, account, channel string) library.HostConfig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	fatalIf(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return library.HostConfig{
		Listen:               fmt.Sprintf("127.0.0.1:%d", port),
		PublicURL:            fmt.Sprintf("http://127.0.0.1:%d", port),
		AccountName:          account,
		AccountDisplayName:   strings.ToUpper(account[:1]) + account[1:],
		ChannelName:          channel,
		ChannelDisplayName:   "Videos of " + account,
		ChannelDescription:   "Home-made videos.",
		AllowPrivateNetworks: true,
	}
}

// newInstanceHarness opens the UI on the Instance screen with its settings
// read.
func newInstanceHarness(t *testing.T) *harness {
	t.Helper()
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.shortcut(shortcutInstance)
	s := h.ui.instance
	h.waitFor("the settings and the status", func() bool { return s.loaded && s.haveStatus })
	return h
}

// fill types c into the Instance form.
func (h *harness) fill(c library.HostConfig) {
	f := h.ui.instance.form
	f.listen.SetText(c.Listen)
	f.publicURL.SetText(c.PublicURL)
	f.domain.SetText(c.Domain)
	f.accountName.SetText(c.AccountName)
	f.accountDisp.SetText(c.AccountDisplayName)
	f.channelName.SetText(c.ChannelName)
	f.channelDisp.SetText(c.ChannelDisplayName)
	f.channelDesc.SetText(c.ChannelDescription)
	f.manual.SetChecked(c.ManualApproval)
	f.portMap.SetChecked(c.PortMapping)
	f.private.SetChecked(c.AllowPrivateNetworks)
	if c.AvatarPath != f.avatarPath {
		f.setAvatar(c.AvatarPath)
	}
}

// hostOn turns hosting on with the switch and waits for it to run.
func (h *harness) hostOn() library.HostStatus {
	h.t.Helper()
	s := h.ui.instance
	test.Tap(s.toggle)
	h.waitFor("hosting to run", func() bool { return !s.switching && s.status.Running })
	return s.status
}

// A bad public URL shows its message under the field and Save is off;
// Enter saves nothing; fixing it brings Save back, and Save stores it.
func TestInstanceValidation(t *testing.T) {
	h := newInstanceHarness(t)
	s := h.ui.instance
	f := s.form
	ctx := context.Background()
	before, err := h.lib.HostConfig(ctx)
	fatalIf(t, err)
	if f.publicURL.Text != before.PublicURL || f.channelName.Text != before.ChannelName || f.errorFor("public_url") != "" {
		t.Fatalf("form not filled from the library: %q %q", f.publicURL.Text, f.channelName.Text)
	}

	test.Type(f.publicURL, "videos.example.org/me")
	msg := f.errorFor("public_url")
	if msg == "" || !h.screenShows(msg) || !strings.Contains(msg, "https://") {
		t.Fatalf("no inline message for a bad public URL: %q", msg)
	}
	if !s.saveBtn.Disabled() || !s.hint.Visible() {
		t.Fatal("Save is enabled with a bad public URL")
	}
	f.channelName.SetText("Bad Name")
	if m := f.errorFor("channel_name"); m == "" {
		t.Fatal("no message for an upper-case channel name")
	}
	f.publicURL.OnSubmitted(f.publicURL.Text) // Enter
	h.settle(100 * time.Millisecond)
	if got, _ := h.lib.HostConfig(ctx); got != before {
		t.Fatalf("Enter stored a bad configuration: %+v", got)
	}

	c := loopbackHostConfig(t, "alice", "alice_videos")
	c.ManualApproval = true
	h.fill(c)
	if f.errorFor("public_url") != "" || f.errorFor("channel_name") != "" || s.saveBtn.Disabled() {
		t.Fatalf("fixed form still refused: %q %q", f.errorFor("public_url"), s.form.problem())
	}
	test.Tap(s.saveBtn)
	h.waitFor("the save", func() bool { return !s.saving && s.notice.Visible() })
	if s.banner.Visible() || !strings.Contains(mutedText(s.notice), "Saved") {
		t.Fatalf("save: banner %q, notice %q", s.banner.Text(), mutedText(s.notice))
	}
	if got, _ := h.lib.HostConfig(ctx); got != c {
		t.Fatalf("stored %+v, want %+v", got, c)
	}
	if f.dirty() {
		t.Fatal("the form differs from what was just saved")
	}

	// An avatar that is not a JPEG is refused by name; a JPEG shows and
	// is saved.
	f.setAvatar("instance_test.go")
	if m := f.errorFor("avatar"); !strings.Contains(m, "JPEG") || !s.saveBtn.Disabled() || f.avatarImg.File != "" {
		t.Fatalf("a Go file as avatar: %q, save disabled %v", m, s.saveBtn.Disabled())
	}
	jpg := writeAvatar(t)
	f.setAvatar(jpg)
	if f.errorFor("avatar") != "" || s.saveBtn.Disabled() || f.avatarImg.File != jpg || !h.screenShows("avatar.jpg") {
		t.Fatalf("a JPEG avatar: %q, preview %q", f.errorFor("avatar"), f.avatarImg.File)
	}
	test.Tap(s.saveBtn)
	h.waitFor("the save", func() bool { return !s.saving && !f.dirty() })
	if got, _ := h.lib.HostConfig(ctx); got.AvatarPath != jpg {
		t.Fatalf("avatar stored as %q", got.AvatarPath)
	}
	test.Tap(f.avatarClear)
	if f.avatarPath != "" || f.avatarClear.Visible() || !f.dirty() {
		t.Fatal("Remove did not clear the avatar")
	}
}

// Save, then the switch: the instance runs on the bound address, the
// reachability check through the loopback public URL says OK, and the
// switch turns it off again.
func TestInstanceHostingOnOff(t *testing.T) {
	h := newInstanceHarness(t)
	s := h.ui.instance
	ctx := context.Background()
	c := loopbackHostConfig(t, "alice", "alice_videos")
	h.fill(c)
	test.Tap(s.saveBtn)
	h.waitFor("the save", func() bool { return !s.saving && !s.form.dirty() })

	st := h.hostOn()
	if st.ListenAddr != c.Listen || !s.toggle.On || s.toggle.Disabled() {
		t.Fatalf("status %+v, switch on %v", st, s.toggle.On)
	}
	if want := "Running at " + c.Listen; s.stateLine.Text != want || !h.screenShows(want) {
		t.Fatalf("state line %q, want %q", s.stateLine.Text, want)
	}
	if !s.urlRow.Visible() || s.urlLink.Text != c.PublicURL {
		t.Fatalf("public URL shown: %q", s.urlLink.Text)
	}
	test.Tap(s.copyURL)
	if got := h.app.Clipboard().Content(); got != c.PublicURL {
		t.Fatalf("copied %q", got)
	}
	// The instance really answers on that address.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.PublicURL+"/video-channels/alice_videos", nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	fatalIf(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the channel actor: %s", resp.Status)
	}

	h.waitFor("Check reachability to be usable", func() bool { return !s.reachBtn.Disabled() })
	test.Tap(s.reachBtn)
	if !s.checking || !s.reachBusy.Visible() || !s.reachBtn.Disabled() {
		t.Fatal("no progress while checking")
	}
	h.waitFor("the check", func() bool { return !s.checking })
	if r := s.status.Reachability; !r.OK || r.Checked.IsZero() || !strings.HasPrefix(s.reachLine.Text, "Reachable through "+c.PublicURL) {
		t.Fatalf("reachability %+v, line %q", r, s.reachLine.Text)
	}
	if !s.portLine.Visible() || mutedText(s.portLine) != "Port mapping: off" {
		t.Fatalf("port line %q", mutedText(s.portLine))
	}

	// A change while running applies at once.
	s.form.channelDisp.SetText("Alice's otters")
	test.Tap(s.saveBtn)
	h.waitFor("the save", func() bool { return !s.saving && s.notice.Visible() })
	if !strings.Contains(mutedText(s.notice), "uses the new settings") {
		t.Fatalf("notice %q", mutedText(s.notice))
	}

	test.Tap(s.toggle)
	h.waitFor("hosting to stop", func() bool { return !s.switching && !s.status.Running })
	if s.toggle.On || s.stateTitle.Text != "Hosting is off" || !s.reachBtn.Disabled() {
		t.Fatalf("after off: switch %v, title %q", s.toggle.On, s.stateTitle.Text)
	}
	if st, _ := h.lib.HostStatus(ctx); st.Running {
		t.Fatal("the library still hosts")
	}
	if got, _ := h.lib.HostConfig(ctx); got.Enabled || got.ChannelDisplayName != "Alice's otters" {
		t.Fatalf("stored after off: %+v", got)
	}
}

// Changes not saved yet are saved by the switch before it starts; a
// listen address in use is an error on the screen and hosting stays off.
func TestInstanceStartErrors(t *testing.T) {
	h := newInstanceHarness(t)
	s := h.ui.instance
	c := loopbackHostConfig(t, "alice", "alice_videos")
	busyLn, err := net.Listen("tcp", c.Listen)
	fatalIf(t, err)
	defer busyLn.Close()
	h.fill(c)
	test.Tap(s.toggle)
	h.waitFor("the start to fail", func() bool { return !s.switching })
	if s.status.Running || s.toggle.On {
		t.Fatal("hosting runs on a busy port")
	}
	if !s.errLine.Visible() || !strings.Contains(s.errLine.Text, "Could not start hosting") ||
		!strings.Contains(s.errLine.Text, c.Listen) || !h.screenShows(s.errLine.Text) {
		t.Fatalf("error line %q", s.errLine.Text)
	}
	if got, _ := h.lib.HostConfig(context.Background()); got.PublicURL != c.PublicURL || s.form.dirty() {
		t.Fatalf("the switch did not save the form first: %+v", got)
	}

	// The port is free again: the switch works, the error goes.
	busyLn.Close()
	h.hostOn()
	if s.errLine.Visible() {
		t.Fatalf("error still shown: %q", s.errLine.Text)
	}

	// No public URL: the switch refuses, with the field's message.
	test.Tap(s.toggle)
	h.waitFor("hosting to stop", func() bool { return !s.switching && !s.status.Running })
	s.form.publicURL.SetText("")
	test.Tap(s.toggle)
	h.settle(50 * time.Millisecond)
	if s.toggle.On || s.form.errorFor("public_url") == "" || !s.banner.Visible() {
		t.Fatalf("started without a public URL: on %v, message %q", s.toggle.On, s.form.errorFor("public_url"))
	}
}

// A second Fourmi instance on loopback asks to follow the channel; the
// request shows with Approve, and approving it makes it a follower (the
// other instance hears the Accept). Then the first follows the second
// from the Following entry.
func TestInstanceFollowers(t *testing.T) {
	h := newInstanceHarness(t)
	s := h.ui.instance
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ca := loopbackHostConfig(t, "alice", "alice_videos")
	ca.ManualApproval = true
	h.fill(ca)
	h.hostOn()

	b := openLibrary(t, h.srv)
	cb := loopbackHostConfig(t, "bob", "bob_channel")
	fatalIf(t, b.SetHostConfig(ctx, cb))
	fatalIf(t, b.StartHosting(ctx))
	hostA := strings.TrimPrefix(ca.PublicURL, "http://")
	hostB := strings.TrimPrefix(cb.PublicURL, "http://")
	if _, err := b.FollowRemote(ctx, "alice_videos@"+hostA); err != nil {
		t.Fatalf("FollowRemote: %v", err)
	}
	bob := cb.PublicURL + "/accounts/bob"
	fl := s.followers
	h.waitFor("the follow request", func() bool { return fl.approve[bob] != nil })
	if !h.screenShows("bob@"+hostB) || !h.screenShows("1 request to answer") || !h.screenShows("0 followers") {
		t.Fatalf("pending request not shown: %q", h.screenTexts())
	}
	if len(s.status.Pending) != 1 {
		t.Fatalf("status pending %+v", s.status.Pending)
	}
	test.Tap(fl.approve[bob])
	h.waitFor("the follower to be accepted", func() bool {
		return fl.approve[bob] == nil && fl.reject[bob] != nil && s.status.Followers == 1
	})
	if !h.screenShows("1 follower") || h.screenShows("to answer") || fl.reject[bob].Text != "Remove" {
		t.Fatalf("after Approve: %q", h.screenTexts())
	}
	fs, err := h.lib.HostFollowers(ctx)
	if err != nil || len(fs) != 1 || fs[0].State != library.FollowerAccepted {
		t.Fatalf("followers %+v %v", fs, err)
	}
	waitUntil(t, "B to hear the Accept", func() bool {
		es, _ := b.Following(ctx)
		return len(es) == 1 && es[0].State == library.FollowingAccepted
	}, h)
	h.waitFor("the queue to drain", func() bool {
		return s.status.Queue.Pending == 0 && strings.Contains(mutedText(fl.queue), "all sent")
	})

	// A follows B's channel from the entry.
	if !fl.followBtn.Disabled() {
		t.Fatal("Follow enabled with an empty entry")
	}
	test.Type(fl.target, "bob_channel@"+hostB)
	test.Tap(fl.followBtn)
	h.waitFor("the follow", func() bool { return !fl.sending && len(fl.entries) == 1 })
	if fl.followErr.Visible() || fl.target.Text != "" {
		t.Fatalf("follow: error %q, entry %q", fl.followErr.Text, fl.target.Text)
	}
	h.waitFor("B's Accept", func() bool {
		fl.reload()
		h.settle(50 * time.Millisecond)
		return len(fl.entries) == 1 && fl.entries[0].State == library.FollowingAccepted
	})
	if !h.screenShows("bob_channel@" + hostB) {
		t.Fatalf("following list: %q", h.screenTexts())
	}

	// Remove: bob is no longer a follower.
	test.Tap(fl.reject[bob])
	h.waitFor("the removal", func() bool { return fl.reject[bob] == nil && s.status.Followers == 0 })
	if !h.screenShows("No one follows this instance yet") {
		t.Fatalf("after Remove: %q", h.screenTexts())
	}

	// Someone unknown: the error shows under the entry.
	test.Type(fl.target, "nobody@"+hostB)
	fl.target.OnSubmitted(fl.target.Text)
	h.waitFor("the failure", func() bool { return !fl.sending })
	if !fl.followErr.Visible() || !strings.Contains(fl.followErr.Text, "nobody@"+hostB) {
		t.Fatalf("follow error %q", fl.followErr.Text)
	}
}

// waitUntil polls cond (library state) while running the UI loop.
func waitUntil(t *testing.T, what string, cond func() bool, h *harness) {
	t.Helper()
	h.waitFor(what, func() bool {
		ok := cond()
		if !ok {
			time.Sleep(20 * time.Millisecond)
		}
		return ok
	})
}

// Ctrl+I opens the Instance screen with the keyboard on the switch, Space
// flips it, Tab walks the form in reading order, Enter in a field saves,
// and a live status change from the library shows without a reload.
func TestInstanceKeyboard(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	c := h.ui.win.Canvas()
	c.Focus(h.ui.discover.search)
	h.shortcut(shortcutInstance) // from a focused entry too
	s := h.ui.instance
	if h.ui.screen != screenInstance || c.Focused() != fyne.Focusable(s.toggle) {
		t.Fatalf("Ctrl+I: screen %q, focused %T", h.ui.screen, c.Focused())
	}
	if h.ui.navInstance.Importance != widget.HighImportance {
		t.Fatal("the sidebar does not mark Instance")
	}
	h.waitFor("the settings", func() bool { return s.loaded && s.haveStatus })

	var order []fyne.Focusable
	for range 40 {
		test.FocusNext(c)
		f := c.Focused()
		if f == nil || slices.Contains(order, f) {
			break
		}
		order = append(order, f)
	}
	f := s.form
	idx := func(o fyne.Focusable) int { return slices.Index(order, o) }
	seq := []int{idx(f.publicURL), idx(f.listen), idx(f.domain), idx(f.portMap), idx(f.private),
		idx(f.accountName), idx(f.accountDisp), idx(f.channelName), idx(f.channelDisp), idx(f.channelDesc),
		idx(f.avatarBtn), idx(f.manual), idx(s.saveBtn)}
	for i, k := range seq {
		if k < 0 || (i > 0 && k <= seq[i-1]) {
			t.Fatalf("tab order positions %v; order %T", seq, order)
		}
	}

	cfg := loopbackHostConfig(t, "carol", "carol_tv")
	h.fill(cfg)
	c.Focus(f.channelDisp)
	h.key(fyne.KeyReturn)
	h.waitFor("the save", func() bool { return !s.saving && !f.dirty() })
	if got, _ := h.lib.HostConfig(context.Background()); got != cfg {
		t.Fatalf("Enter saved %+v", got)
	}

	c.Focus(s.toggle)
	s.toggle.TypedRune(' ')
	h.waitFor("hosting to run", func() bool { return !s.switching && s.status.Running })
	// A change made behind the screen's back (the library stops hosting)
	// arrives through SubscribeHost.
	fatalIf(t, h.lib.StopHosting(context.Background()))
	h.waitFor("the live status", func() bool { return !s.status.Running && !s.toggle.On })
	if s.stateTitle.Text != "Hosting is off" {
		t.Fatalf("title %q", s.stateTitle.Text)
	}
}
