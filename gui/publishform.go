package gui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// The metadata fields of the form, named as library.FieldError names them.
var metaFields = []string{"title", "description", "tags", "category", "licence", "language", "privacy", "support", "channel"}

var privacyLabels = []string{"Public", "Unlisted", "Private"}

// noneLabel is a vocabulary select's "not said" choice.
const noneLabel = "Not specified"

// formEntry is an app entry that reports when it loses the keyboard (the
// form then checks the field the user left).
type formEntry struct {
	appEntry
	onBlur func()
}

func newFormEntry(u *UI, multiLine bool) *formEntry {
	e := &formEntry{}
	e.u = u
	if multiLine {
		e.MultiLine = true
		e.Wrapping = fyne.TextWrapWord
	}
	e.ExtendBaseWidget(e)
	return e
}

func (e *formEntry) FocusLost() {
	e.appEntry.FocusLost()
	if e.onBlur != nil {
		e.onBlur()
	}
}

// metaForm is the metadata form of Publish and of Edit in My videos. It
// checks the metadata with library.ValidateMetadata as the user types or
// leaves a field, and shows each field's message under it; a field's
// message shows once the user touched it, or every one after showAll.
type metaForm struct {
	u *UI

	title       *formEntry
	description *formEntry
	tags        *formEntry
	category    *widget.Select
	licence     *widget.Select
	language    *widget.Select
	privacy     *widget.Select
	nsfw        *widget.Check
	support     *formEntry
	channel     *formEntry

	fieldChecks

	categories, licences, languages []library.Choice

	// onSubmit runs on Enter in a one-line entry.
	onSubmit func()
	root     fyne.CanvasObject
}

func newMetaForm(u *UI) *metaForm {
	f := &metaForm{u: u, fieldChecks: newFieldChecks(metaFields),
		categories: library.Categories(), licences: library.Licences(), languages: library.Languages()}
	f.title = newFormEntry(u, false)
	f.title.PlaceHolder = "What the video is called (3 to 120 characters)"
	f.description = newFormEntry(u, true)
	f.description.PlaceHolder = "What it shows, in Markdown (optional)"
	f.description.SetMinRowsVisible(4)
	f.tags = newFormEntry(u, false)
	f.tags.PlaceHolder = "Up to 5, separated by commas: ants, nature"
	f.support = newFormEntry(u, false)
	f.support.PlaceHolder = "How viewers can support you (optional)"
	f.channel = newFormEntry(u, false)
	f.channel.PlaceHolder = library.DefaultChannel
	for name, e := range map[string]*formEntry{"title": f.title, "description": f.description, "tags": f.tags,
		"support": f.support, "channel": f.channel} {
		e.OnChanged = func(string) { f.touch(name) }
		e.onBlur = func() { f.touch(name) }
		if !e.MultiLine {
			e.OnSubmitted = func(string) { f.submit() }
		}
	}
	f.category = widget.NewSelect(choiceLabels(f.categories), func(string) { f.touch("category") })
	f.licence = widget.NewSelect(choiceLabels(f.licences), func(string) { f.touch("licence") })
	f.language = widget.NewSelect(choiceLabels(f.languages), func(string) { f.touch("language") })
	f.privacy = widget.NewSelect(privacyLabels, func(string) { f.touch("privacy") })
	f.nsfw = widget.NewCheck("Sensitive content", func(bool) { f.touch("nsfw") })
	for _, s := range []*widget.Select{f.category, f.licence, f.language} {
		s.SetSelectedIndex(0)
	}
	f.privacy.SetSelectedIndex(0)
	for _, name := range metaFields {
		l := widget.NewLabel("")
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		l.Hide()
		f.errs[name] = l
	}
	f.touched = map[string]bool{} // built: changes are checked from now on
	field := func(name, label string, o fyne.CanvasObject) fyne.CanvasObject {
		return container.NewVBox(fieldName(label), o, f.errs[name])
	}
	selects := container.NewGridWithColumns(3,
		field("category", "Category", f.category),
		field("licence", "Licence", f.licence),
		field("language", "Language", f.language))
	f.root = container.NewVBox(
		field("title", "Title", f.title),
		field("description", "Description", f.description),
		field("tags", "Tags", f.tags),
		selects,
		container.NewGridWithColumns(3,
			field("privacy", "Privacy", f.privacy),
			field("channel", "Channel", f.channel),
			container.NewVBox(layout.NewSpacer(), f.nsfw)),
		field("support", "Support", f.support),
	)
	f.check()
	return f
}

// choiceLabels are a vocabulary's labels after "Not specified".
func choiceLabels(cs []library.Choice) []string {
	out := []string{noneLabel}
	for _, c := range cs {
		out = append(out, c.Label)
	}
	return out
}

// parseTags reads "a, b,c" as [a b c], dropping empty ones.
func parseTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// meta is what the form says.
func (f *metaForm) meta() library.Metadata {
	m := library.Metadata{
		Title:       strings.TrimSpace(f.title.Text),
		Description: strings.TrimSpace(f.description.Text),
		Tags:        parseTags(f.tags.Text),
		Privacy:     library.Privacy(f.privacy.SelectedIndex() + 1),
		NSFW:        f.nsfw.Checked,
		Support:     strings.TrimSpace(f.support.Text),
		Channel:     strings.TrimSpace(f.channel.Text),
	}
	if i := f.category.SelectedIndex(); i > 0 {
		m.Category = f.categories[i-1].ID
	}
	if i := f.licence.SelectedIndex(); i > 0 {
		m.Licence = f.licences[i-1].ID
	}
	if i := f.language.SelectedIndex(); i > 0 {
		m.Language = f.languages[i-1].Code
	}
	return m
}

// set fills the form with m (Edit); no message shows until a change.
func (f *metaForm) set(m library.Metadata) {
	f.title.SetText(m.Title)
	f.description.SetText(m.Description)
	f.tags.SetText(strings.Join(m.Tags, ", "))
	f.support.SetText(m.Support)
	f.channel.SetText(m.Channel)
	f.nsfw.SetChecked(m.NSFW)
	pick := func(s *widget.Select, cs []library.Choice, match func(library.Choice) bool) {
		for i, c := range cs {
			if match(c) {
				s.SetSelectedIndex(i + 1)
				return
			}
		}
		s.SetSelectedIndex(0)
	}
	pick(f.category, f.categories, func(c library.Choice) bool { return c.ID == m.Category })
	pick(f.licence, f.licences, func(c library.Choice) bool { return c.ID == m.Licence })
	pick(f.language, f.languages, func(c library.Choice) bool { return m.Language != "" && c.Code == m.Language })
	p := m.Privacy
	if p < library.PrivacyPublic || p > library.PrivacyPrivate {
		p = library.PrivacyPublic
	}
	f.privacy.SetSelectedIndex(int(p) - 1)
	f.reset()
}

// reset hides every message (a new video).
func (f *metaForm) reset() {
	f.touched = map[string]bool{}
	f.all = false
	f.check()
}

// clear empties the form (Publish another).
func (f *metaForm) clear() {
	f.set(library.Metadata{})
}

func (f *metaForm) touch(field string) {
	if f.touched == nil {
		return // still building
	}
	f.touched[field] = true
	f.check()
}

// showAll shows every field's message (the user tried to submit).
func (f *metaForm) showAll() {
	f.all = true
	f.check()
}

func (f *metaForm) submit() {
	f.showAll()
	if f.onSubmit != nil {
		f.onSubmit()
	}
}

// check validates the form and shows the messages of touched fields.
func (f *metaForm) check() { f.show(library.ValidateMetadata(f.meta())) }

// showErrors shows the messages of a ValidationError from the library
// (Publish, UpdateMyVideo) under every field it names.
func (f *metaForm) showErrors(ve library.ValidationError) {
	f.all = true
	f.last = ve
	for _, name := range metaFields {
		f.setError(name, ve.For(name))
	}
	if f.relayout != nil {
		f.relayout()
	}
}

// problem is why the metadata cannot be used, in a sentence, or "".
func (f *metaForm) problem() string {
	switch {
	case f.valid:
		return ""
	case f.other != nil:
		return "Cannot check the form: " + errorText(f.other)
	case len(f.last) > 0:
		return "Fix the fields marked in red: " + f.last[0].Field + " — " + f.last[0].Message
	}
	return ""
}
