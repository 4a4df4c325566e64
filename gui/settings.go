package gui

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

var themeLabels = []string{"System", "Light", "Dark"}

func themeLabel(mode string) string {
	switch mode {
	case themeLight:
		return "Light"
	case themeDark:
		return "Dark"
	}
	return "System"
}

// settingsScreen holds the preferences: theme, the global search index,
// the instances browsed.
type settingsScreen struct {
	u    *UI
	root fyne.CanvasObject

	themeRadio *widget.RadioGroup
	indexEntry *appEntry
	indexSave  *widget.Button
	indexNote  *widget.RichText
	instances  *fyne.Container
	removeBtns map[string]*widget.Button // by host
	banner     *banner
	scroll     *container.Scroll
	watch      *watchSettings
	gen        int
}

func newSettingsScreen(u *UI) *settingsScreen {
	s := &settingsScreen{u: u, removeBtns: map[string]*widget.Button{}}
	s.banner = newBanner()

	s.themeRadio = widget.NewRadioGroup(themeLabels, func(label string) {
		switch label {
		case "Light":
			u.setTheme(themeLight)
		case "Dark":
			u.setTheme(themeDark)
		case "System":
			u.setTheme(themeSystem)
		}
	})
	s.themeRadio.Horizontal = true
	s.themeRadio.Required = true
	s.themeRadio.SetSelected(themeLabel(u.theme.mode))

	s.indexEntry = newAppEntry(u)
	s.indexEntry.PlaceHolder = "https://sepiasearch.org"
	s.indexEntry.OnSubmitted = func(string) { s.saveIndex() }
	s.indexSave = widget.NewButton("Save", s.saveIndex)
	s.indexNote = newMutedText(theme.SizeNameText)
	s.indexNote.Hide()

	s.instances = container.NewVBox()
	add := widget.NewButtonWithIcon("Add instance…", theme.ContentAddIcon(), func() {
		u.showAddInstance(func(library.Instance) { u.discover.loadSources("") })
	})

	s.watch = newWatchSettings(s)
	content := container.NewVBox(
		heading("Settings"),
		s.banner.root,
		section("Appearance"),
		border(nil, nil, withMinWidth(fieldName("Theme"), 120), nil, s.themeRadio),
		widget.NewSeparator())
	content.Objects = append(content.Objects, s.watch.content()...)
	content.Objects = append(content.Objects,
		widget.NewSeparator(),
		section("Global search"),
		paragraph("Global search asks a Sepia Search index, which lists the videos of thousands of PeerTube instances. Leave empty for the default."),
		border(nil, nil, nil, s.indexSave, s.indexEntry),
		s.indexNote,
		widget.NewSeparator(),
		section("Instances"),
		paragraph("The PeerTube instances whose catalogs you browse. Removing one keeps the videos you have seen searchable on this computer."),
		s.instances,
		container.NewHBox(add),
	)
	s.scroll = container.NewVScroll(container.New(maxWidthLayout{w: 760}, container.NewPadded(content)))
	s.root = s.scroll
	s.root.Hide()
	s.banner.relayout = s.relayout
	return s
}

func (s *settingsScreen) relayout() { relayoutScroll(s.scroll) }

// showWatching scrolls to "Watching & seeding".
func (s *settingsScreen) showWatching() {
	s.relayout()
	scrollToObject(s.scroll, s.watch.head)
}

func section(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.TextStyle.Bold = true
	return l
}

func paragraph(text string) *widget.RichText {
	rt := newMutedText(theme.SizeNameText)
	rt.Truncation = fyne.TextTruncateOff
	rt.Wrapping = fyne.TextWrapWord
	setMutedText(rt, text)
	return rt
}

// note shows (or hides, when "") the line under the search index entry.
func (s *settingsScreen) note(text string) {
	setMutedText(s.indexNote, text)
	setVisible(s.indexNote, text != "")
	relayoutScroll(s.scroll)
}

// reload reads the settings and the instances (each time the screen shows).
func (s *settingsScreen) reload() {
	s.gen++
	gen := s.gen
	s.u.goRun(func(ctx context.Context) {
		insts, ierr := s.u.lib.Instances(ctx)
		index, _, serr := s.u.lib.Setting(ctx, library.SettingSearchIndexURL)
		inUse, _ := s.u.lib.SearchIndexURL(ctx)
		maxRes, _, merr := s.u.lib.Setting(ctx, library.SettingMaxResolution)
		player, _, perr := s.u.lib.Setting(ctx, library.SettingPlayer)
		closeAction, _, _ := s.u.lib.Setting(ctx, settingCloseAction)
		lim, lerr := s.u.lib.SeedLimits(ctx)
		s.u.do(func() {
			if gen != s.gen {
				return
			}
			if err := firstErr(ierr, serr, merr, perr); err != nil {
				s.banner.Show("Could not read the settings: "+errorText(err), "Retry", s.reload)
			} else if lerr != nil {
				s.banner.Show("Could not read the seeding limits: "+errorText(lerr), "Retry", s.reload)
			}
			s.watch.load(lim, lerr, maxRes, player)
			s.watch.loadCloseAction(closeAction)
			if inUse != "" && index == "" {
				s.indexEntry.SetPlaceHolder(inUse + "  (default)")
			}
			if serr == nil && s.u.win.Canvas().Focused() != s.indexEntry {
				s.indexEntry.SetText(index)
			}
			if ierr == nil {
				s.showInstances(insts)
			}
		})
	})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *settingsScreen) showInstances(insts []library.Instance) {
	s.removeBtns = map[string]*widget.Button{}
	var rows []fyne.CanvasObject
	for _, in := range insts {
		name := widget.NewLabelWithStyle(in.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		name.Truncation = fyne.TextTruncateEllipsis
		ver := ""
		if in.Version != "" {
			ver = "PeerTube " + in.Version
		}
		checked := ""
		if !in.CheckedAt.IsZero() {
			checked = "checked " + formatAge(in.CheckedAt, s.u.now())
		}
		info := newMutedText(theme.SizeNameCaptionText)
		setMutedText(info, joinNonEmpty(" · ", in.Host, ver, checked))
		remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { s.confirmRemove(in) })
		remove.Importance = widget.DangerImportance
		s.removeBtns[in.Host] = remove
		rows = append(rows, border(nil, nil, nil, container.NewCenter(remove),
			container.NewVBox(name, info)))
	}
	if len(rows) == 0 {
		rows = append(rows, paragraph("No instances yet."))
	}
	s.instances.Objects = rows
	relayoutScroll(s.scroll)
}

func (s *settingsScreen) confirmRemove(in library.Instance) {
	d := dialog.NewConfirm("Remove "+in.Name+"?",
		fmt.Sprintf("Fourmi will stop listing %s's catalog.", in.Host),
		func(ok bool) {
			if ok {
				s.remove(in.Host)
			}
		}, s.u.win)
	d.SetConfirmText("Remove")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (s *settingsScreen) remove(host string) {
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.RemoveInstance(ctx, host)
		s.u.do(func() {
			if err != nil {
				s.banner.Show("Could not remove "+host+": "+errorText(err), "", nil)
				return
			}
			s.reload()
			s.u.discover.loadSources("")
		})
	})
}

// saveIndex checks and stores the global search index URL ("" = default).
func (s *settingsScreen) saveIndex() {
	text := strings.TrimSpace(s.indexEntry.Text)
	if text != "" {
		u, err := url.Parse(text)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			s.note("")
			s.banner.Show(fmt.Sprintf("“%s” is not a web address: write it like https://sepiasearch.org", text), "", nil)
			return
		}
		text = strings.TrimRight(u.String(), "/")
	}
	s.banner.Hide()
	s.u.goRun(func(ctx context.Context) {
		err := s.u.lib.SetSearchIndexURL(ctx, text)
		s.u.do(func() {
			if err != nil {
				s.banner.Show("Could not save the search index: "+errorText(err), "", nil)
				return
			}
			if text == "" {
				s.note("Saved: global search uses the default index.")
			} else {
				s.note("Saved: global search uses " + text + ".")
			}
			s.indexEntry.SetText(text)
			s.reload()
			s.u.discover.loadSources("")
		})
	})
}
