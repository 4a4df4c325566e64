package gui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

const screenInstance = "instance"

// instanceScreen is hosting: the personal mini-instance PeerTube servers
// follow. At the top a big switch turns it on and off, with its status
// (address, public URL, last error, reachability, port mapping); then the
// settings (address, account, channel, avatar); then the followers, with
// Approve and Reject for pending requests, the delivery queue, and whom
// the instance follows. Its status arrives live from library.SubscribeHost.
type instanceScreen struct {
	u      *UI
	root   fyne.CanvasObject
	scroll *container.Scroll
	banner *banner
	notice *widget.RichText

	// header
	toggle     *onOffSwitch
	stateTitle *widget.Label
	stateLine  *widget.Label
	stateBusy  *widget.ProgressBarInfinite
	urlLink    *widget.Hyperlink
	copyURL    *widget.Button
	urlRow     *fyne.Container
	errLine    *widget.Label
	reachLine  *widget.Label
	reachBtn   *widget.Button
	reachBusy  *widget.ProgressBarInfinite
	portLine   *widget.RichText
	status     library.HostStatus
	haveStatus bool
	switching  bool   // a start or stop is under way
	actionErr  string // why the last start or stop failed
	checking   bool

	// settings
	form    *hostForm
	saveBtn *widget.Button
	hint    *widget.RichText
	saving  bool
	loaded  bool

	// followers and following
	followers *followLists

	unsub func()
	gen   int // of the follower lists' loads
}

func newInstanceScreen(u *UI) *instanceScreen {
	s := &instanceScreen{u: u}
	s.banner = newBanner()
	s.notice = newMutedText(theme.SizeNameText)
	s.notice.Truncation = fyne.TextTruncateOff
	s.notice.Wrapping = fyne.TextWrapWord
	s.notice.Hide()

	s.toggle = newOnOffSwitch(s.switched)
	s.stateTitle = widget.NewLabelWithStyle("Hosting is off", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.stateTitle.SizeName = theme.SizeNameSubHeadingText
	s.stateLine = widget.NewLabel("")
	s.stateLine.Wrapping = fyne.TextWrapWord
	s.stateBusy = widget.NewProgressBarInfinite()
	s.stateBusy.Stop()
	s.stateBusy.Hide()
	s.urlLink = widget.NewHyperlink("", nil)
	s.urlLink.OnTapped = func() {
		if s.urlLink.URL != nil {
			if err := s.u.openURL(s.urlLink.URL); err != nil {
				s.showError("Could not open the link: " + errorText(err))
			}
		}
	}
	s.copyURL = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), s.copyPublicURL)
	s.copyURL.Importance = widget.LowImportance
	s.urlRow = container.NewHBox(fieldName("Public URL"), s.urlLink, s.copyURL)
	s.errLine = widget.NewLabel("")
	s.errLine.Importance = widget.DangerImportance
	s.errLine.Wrapping = fyne.TextWrapWord
	s.errLine.Hide()
	s.reachLine = widget.NewLabel("")
	s.reachLine.Wrapping = fyne.TextWrapWord
	s.reachBtn = widget.NewButtonWithIcon("Check reachability", theme.ViewRefreshIcon(), s.checkReachability)
	s.reachBusy = widget.NewProgressBarInfinite()
	s.reachBusy.Stop()
	s.reachBusy.Hide()
	s.portLine = newMutedText(theme.SizeNameText)
	s.portLine.Truncation = fyne.TextTruncateOff
	s.portLine.Wrapping = fyne.TextWrapWord

	s.form = newHostForm(u)
	s.form.onChange = s.updateSave
	s.form.onSubmit = s.save
	s.form.relayout = func() {
		if s.scroll != nil {
			s.relayout()
		}
	}
	s.saveBtn = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), s.save)
	s.saveBtn.Importance = widget.HighImportance
	s.hint = newMutedText(theme.SizeNameText)
	s.hint.Truncation = fyne.TextTruncateOff
	s.hint.Wrapping = fyne.TextWrapWord

	s.followers = newFollowLists(s)

	header := border(nil, nil, container.NewCenter(s.toggle), nil,
		container.NewVBox(s.stateTitle, s.stateLine, s.stateBusy))
	reach := border(nil, nil, nil, container.NewCenter(s.reachBtn), s.reachLine)
	content := container.NewVBox(
		heading("Instance"),
		paragraph("Your own small PeerTube instance, run by this computer: PeerTube servers and their users can follow your channel, and your published videos appear in their catalogs, streamed from here and from everyone who watches them."),
		s.banner.root, s.notice,
		header,
		s.urlRow,
		s.errLine,
		reach, s.reachBusy,
		s.portLine,
		widget.NewSeparator(),
		s.form.root,
		widget.NewSeparator(),
		container.NewHBox(s.saveBtn),
		s.hint,
		widget.NewSeparator(),
	)
	content.Objects = append(content.Objects, s.followers.content()...)
	s.scroll = container.NewVScroll(container.New(maxWidthLayout{w: 860}, container.NewPadded(content)))
	s.root = s.scroll
	s.root.Hide()
	s.banner.relayout = s.relayout
	s.render()
	s.updateSave()
	return s
}

func (s *instanceScreen) relayout() {
	if s.scroll != nil { // nil while building
		relayoutScroll(s.scroll)
	}
}

func (s *instanceScreen) showError(msg string) {
	s.banner.Show(msg, "", nil)
	s.relayout()
}

func (s *instanceScreen) setNotice(text string) {
	setMutedText(s.notice, text)
	setVisible(s.notice, text != "")
	s.relayout()
}

// start listens to the hosting status (UI.Show); stop ends that (Close).
func (s *instanceScreen) start() {
	if s.u.lib == nil || s.unsub != nil {
		return
	}
	ctx := s.u.ctx
	s.unsub = s.u.lib.SubscribeHost(func(st library.HostStatus) {
		if ctx.Err() != nil {
			return
		}
		s.u.do(func() { s.setStatus(st) })
	})
}

func (s *instanceScreen) stop() {
	if s.unsub != nil {
		s.unsub()
		s.unsub = nil
	}
}

// shown runs each time the screen shows: the settings are read (unless
// the user has changes not saved yet) and the keyboard goes to the switch.
func (s *instanceScreen) shown() {
	if !s.loaded || !s.form.dirty() {
		s.loadConfig()
	}
	s.followers.reload()
	c := s.u.win.Canvas()
	if c.Focused() == nil {
		c.Focus(s.toggle)
	}
}

// loadConfig reads the stored settings into the form.
func (s *instanceScreen) loadConfig() {
	s.u.goRun(func(ctx context.Context) {
		c, err := s.u.lib.HostConfig(ctx)
		s.u.do(func() {
			if err != nil {
				s.showError("Could not read the hosting settings: " + errorText(err))
				return
			}
			s.loaded = true
			s.form.set(c)
			s.relayout()
		})
	})
}

// setStatus shows st (from SubscribeHost, which reports every change,
// the delivery queue's included, or after an action).
func (s *instanceScreen) setStatus(st library.HostStatus) {
	s.status, s.haveStatus = st, true
	s.render()
	s.followers.statusChanged(st)
}

// render shows the header for the status and what is under way.
func (s *instanceScreen) render() {
	st := s.status
	setEnabled(s.toggle, s.u.lib != nil && !s.switching)
	if !s.switching {
		s.toggle.SetOn(st.Running)
	}
	title, line := "Hosting is off", "Turn it on to let PeerTube servers follow your channel."
	imp := widget.MediumImportance
	switch {
	case s.switching && s.toggle.On:
		title, line = "Starting…", ""
	case s.switching:
		title, line = "Stopping…", ""
	case st.Running:
		title = "Hosting is on"
		line = "Running at " + st.ListenAddr
		imp = widget.SuccessImportance
	case !s.haveStatus:
		line = "Reading the status…"
	}
	setLabel(s.stateTitle, title)
	if s.stateLine.Importance != imp {
		s.stateLine.Importance = imp
		s.stateLine.Refresh()
	}
	setLabel(s.stateLine, line)
	setVisible(s.stateLine, line != "")
	busy(s.stateBusy, s.switching)

	if st.PublicURL != "" {
		if s.urlLink.Text != st.PublicURL {
			s.urlLink.SetText(st.PublicURL)
			u, _ := url.Parse(st.PublicURL)
			s.urlLink.SetURL(u)
		}
		s.urlRow.Show()
	} else {
		s.urlRow.Hide()
	}

	errText := s.actionErr
	if errText == "" && st.LastError != "" {
		errText = "Last error: " + trimLibrary(st.LastError)
	}
	setLabel(s.errLine, errText)
	setVisible(s.errLine, errText != "")

	r := st.Reachability
	reach, rimp := "", widget.MediumImportance
	switch {
	case s.checking:
		reach = "Checking that " + st.PublicURL + " leads here…"
	case !st.Running:
		reach = "Reachability is checked while hosting runs."
	case r.Checked.IsZero():
		reach = "Reachability not checked yet."
	case r.OK:
		reach = "Reachable through " + st.PublicURL + " · checked " + r.Checked.Local().Format("15:04:05")
		rimp = widget.SuccessImportance
	default:
		reach = "Not reachable (checked " + r.Checked.Local().Format("15:04:05") + "): " + trimLibrary(r.Error)
		rimp = widget.DangerImportance
	}
	if s.reachLine.Importance != rimp {
		s.reachLine.Importance = rimp
		s.reachLine.Refresh()
	}
	setLabel(s.reachLine, reach)
	setEnabled(s.reachBtn, st.Running && !s.checking && !s.switching)
	busy(s.reachBusy, s.checking)

	port := "Port mapping: off"
	if st.PortMapping != "" && st.PortMapping != "off" {
		port = "Port mapping: " + st.PortMapping
	}
	setMutedText(s.portLine, port)
	setVisible(s.portLine, st.Running)
	s.relayout()
}

// busy shows and runs an infinite progress bar, or stops and hides it.
func busy(p *widget.ProgressBarInfinite, on bool) {
	if on == p.Visible() && on == p.Running() {
		return
	}
	if on {
		p.Show()
		p.Start()
	} else {
		p.Stop()
		p.Hide()
	}
}

// trimLibrary drops the "library: " prefix of an error message.
func trimLibrary(msg string) string {
	const p = "library: "
	for len(msg) > len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
	}
	return msg
}

// switched is the switch: hosting on (with the form's changes saved first,
// when it has some) or off.
func (s *instanceScreen) switched(on bool) {
	if s.switching || s.u.lib == nil {
		return
	}
	s.banner.Hide()
	s.setNotice("")
	var cfg *library.HostConfig
	if on && s.form.dirty() {
		if !s.form.valid {
			s.form.all = true
			s.form.check()
			s.toggle.SetOn(false)
			s.showError("Hosting cannot start yet: fix the settings marked in red.")
			return
		}
		c := s.form.config()
		cfg = &c
	}
	s.switching = true
	s.actionErr = ""
	s.render()
	s.u.goRun(func(ctx context.Context) {
		var saveErr, err error
		if cfg != nil {
			saveErr = s.u.lib.SetHostConfig(ctx, *cfg)
			err = saveErr
		}
		if err == nil && on {
			err = s.u.lib.StartHosting(ctx)
		} else if err == nil {
			err = s.u.lib.StopHosting(ctx)
		}
		stored, cerr := s.u.lib.HostConfig(ctx)
		st, serr := s.u.lib.HostStatus(ctx)
		s.u.do(func() {
			s.switching = false
			if cerr == nil {
				if (cfg != nil && saveErr == nil) || !s.form.dirty() {
					s.form.set(stored) // what was saved, as stored
				} else {
					s.form.loaded.Enabled = stored.Enabled
				}
				s.updateSave()
			}
			if err != nil {
				s.u.log.Info("hosting switch", "on", on, "err", err)
				var ve library.ValidationError
				if errors.As(err, &ve) {
					s.form.showErrors(ve)
					s.showError("Hosting cannot start yet: fix the settings marked in red.")
				} else if on {
					s.actionErr = "Could not start hosting: " + errorText(err)
				} else {
					s.actionErr = "Could not stop hosting: " + errorText(err)
				}
			}
			if serr == nil {
				s.setStatus(st)
			} else {
				s.render()
			}
			if err == nil && on && cfg != nil {
				s.setNotice("Saved the settings and started hosting.")
			}
		})
	})
}

// checkReachability is "Check reachability".
func (s *instanceScreen) checkReachability() {
	if s.checking || !s.status.Running {
		return
	}
	s.checking = true
	s.render()
	s.u.goRun(func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		r, err := s.u.lib.CheckReachability(cctx)
		cancel()
		s.u.do(func() {
			s.checking = false
			if err != nil {
				if errors.Is(err, library.ErrNotHosting) {
					s.status.Running = false
				}
				s.showError("Could not check: " + errorText(err))
			} else {
				s.status.Reachability = r
			}
			s.render()
		})
	})
}

func (s *instanceScreen) copyPublicURL() {
	s.u.app.Clipboard().SetContent(s.status.PublicURL)
	s.setNotice("Copied " + s.status.PublicURL)
}

// updateSave enables Save only while the form is valid.
func (s *instanceScreen) updateSave() {
	if s.saveBtn == nil {
		return // still building
	}
	p := s.form.problem()
	if p == "" && s.saving {
		p = "Saving…"
	}
	setEnabled(s.saveBtn, p == "" && s.u.lib != nil)
	setMutedText(s.hint, p)
	setVisible(s.hint, p != "")
}

// save is Save (and Enter in a field): the settings are checked, stored,
// and applied at once while hosting runs.
func (s *instanceScreen) save() {
	if s.saving || s.u.lib == nil {
		return
	}
	s.form.all = true
	s.form.check()
	if !s.form.valid {
		return
	}
	c := s.form.config()
	s.saving = true
	s.banner.Hide()
	s.setNotice("")
	s.updateSave()
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.SetHostConfig(ctx, c)
		stored, cerr := s.u.lib.HostConfig(ctx)
		s.u.do(func() {
			s.saving = false
			if err != nil {
				s.updateSave()
				s.u.log.Info("save hosting settings", "err", err)
				var ve library.ValidationError
				if errors.As(err, &ve) {
					s.form.showErrors(ve)
					s.showError("The settings cannot be saved yet: fix the fields marked in red.")
					return
				}
				s.showError("Could not save the settings: " + errorText(err))
				return
			}
			if cerr == nil {
				s.form.set(stored)
			}
			s.updateSave()
			msg := "Saved."
			if s.status.Running {
				msg = "Saved: the instance uses the new settings."
			}
			s.setNotice(msg)
		})
	})
}

// showInstance is Ctrl+I and the sidebar's Instance.
func (u *UI) showInstance() {
	u.showScreen(screenInstance)
	u.win.Canvas().Focus(u.instance.toggle)
}

// queueText says how the delivery queue is doing.
func queueText(q library.HostQueue) string {
	switch {
	case q.Pending == 0 && q.Failed == 0:
		return "Deliveries: all sent"
	case q.Failed == 0:
		return fmt.Sprintf("Deliveries: %d waiting", q.Pending)
	}
	return fmt.Sprintf("Deliveries: %d waiting · %d failed (given up after the retries)", q.Pending, q.Failed)
}
