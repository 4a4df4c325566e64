package gui

import (
	"path/filepath"
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

// The fields of the hosting settings, named as library.ValidateHostConfig
// names them.
var hostFields = []string{"listen", "public_url", "domain", "account_name", "account_display_name",
	"channel_name", "channel_display_name", "channel_description", "avatar"}

// hostForm is the Instance screen's settings form. Like the Publish form
// it checks what it says with library.ValidateHostConfig as the user
// types or leaves a field and shows each field's message under it, once
// the field was touched (or all of them after a Save).
type hostForm struct {
	u *UI

	listen      *formEntry
	publicURL   *formEntry
	domain      *formEntry
	accountName *formEntry
	accountDisp *formEntry
	channelName *formEntry
	channelDisp *formEntry
	channelDesc *formEntry
	avatarPath  string
	avatarLabel *widget.Label
	avatarImg   *canvas.Image
	avatarBtn   *widget.Button
	avatarClear *widget.Button
	manual      *widget.Check
	portMap     *widget.Check
	private     *widget.Check

	loaded library.HostConfig // as stored (Enabled follows the library)
	fieldChecks
	onSubmit func() // Enter in a one-line entry
	root     fyne.CanvasObject
}

func newHostForm(u *UI) *hostForm {
	f := &hostForm{u: u, fieldChecks: newFieldChecks(hostFields)}
	one := func(placeholder string) *formEntry {
		e := newFormEntry(u, false)
		e.PlaceHolder = placeholder
		return e
	}
	f.listen = one(library.DefaultHostListen)
	f.publicURL = one("https://videos.example.org")
	f.domain = one("videos.example.org (optional)")
	f.accountName = one("me")
	f.accountDisp = one("Your name")
	f.channelName = one(library.DefaultChannel)
	f.channelDisp = one("My channel")
	f.channelDesc = newFormEntry(u, true)
	f.channelDesc.PlaceHolder = "What the channel is about (optional)"
	f.channelDesc.SetMinRowsVisible(3)
	for name, e := range f.entries() {
		e.OnChanged = func(string) { f.touch(name) }
		e.onBlur = func() { f.touch(name) }
		if !e.MultiLine {
			e.OnSubmitted = func(string) { f.submit() }
		}
	}
	f.avatarLabel = widget.NewLabel("")
	f.avatarLabel.Truncation = fyne.TextTruncateEllipsis
	f.avatarImg = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: 32}
	f.avatarImg.SetMinSize(fyne.NewSize(64, 64))
	f.avatarBtn = widget.NewButtonWithIcon("Choose JPEG…", theme.FolderOpenIcon(), f.chooseAvatar)
	f.avatarClear = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { f.setAvatar("") })
	f.avatarClear.Importance = widget.LowImportance
	f.manual = widget.NewCheck("Approve each follower myself", func(bool) { f.touch("") })
	f.portMap = widget.NewCheck("Open the port on my router (UPnP)", func(bool) { f.touch("") })
	f.private = widget.NewCheck("Allow instances on private networks (LAN, this computer)", func(bool) { f.touch("") })
	for _, name := range hostFields {
		l := widget.NewLabel("")
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		l.Hide()
		f.errs[name] = l
	}
	field := func(name, label string, o fyne.CanvasObject) fyne.CanvasObject {
		return container.NewVBox(fieldName(label), o, f.errs[name])
	}
	avatarThumb := container.NewStack(newThemedRect(colorNameThumbBg, 32), f.avatarImg)
	f.root = container.NewVBox(
		section("Address"),
		field("public_url", "Public URL", f.publicURL),
		paragraph("How PeerTube servers reach this instance. Every link to your videos is built from it: changing it later loses your followers."),
		container.NewGridWithColumns(2,
			field("listen", "Listen on", f.listen),
			field("domain", "Domain for HTTPS (Let's Encrypt)", f.domain)),
		f.portMap,
		f.private,
		paragraph("Only for a LAN or for tests: on the Internet, other servers could make your instance reach into your home network."),
		widget.NewSeparator(),
		section("Account and channel"),
		container.NewGridWithColumns(2,
			field("account_name", "Account name", f.accountName),
			field("account_display_name", "Account display name", f.accountDisp)),
		container.NewGridWithColumns(2,
			field("channel_name", "Channel name", f.channelName),
			field("channel_display_name", "Channel display name", f.channelDisp)),
		field("channel_description", "Channel description", f.channelDesc),
		fieldName("Avatar"),
		border(nil, nil, container.NewCenter(avatarThumb), container.NewCenter(container.NewHBox(f.avatarBtn, f.avatarClear)),
			container.NewVBox(layout.NewSpacer(), f.avatarLabel, layout.NewSpacer())),
		f.errs["avatar"],
		f.manual,
	)
	f.set(library.HostConfig{})
	return f
}

// entries are the form's text entries by field.
func (f *hostForm) entries() map[string]*formEntry {
	return map[string]*formEntry{"listen": f.listen, "public_url": f.publicURL, "domain": f.domain,
		"account_name": f.accountName, "account_display_name": f.accountDisp, "channel_name": f.channelName,
		"channel_display_name": f.channelDisp, "channel_description": f.channelDesc}
}

// config is what the form says (Enabled as stored).
func (f *hostForm) config() library.HostConfig {
	tr := strings.TrimSpace
	return library.HostConfig{
		Enabled:              f.loaded.Enabled,
		Listen:               tr(f.listen.Text),
		PublicURL:            tr(f.publicURL.Text),
		Domain:               tr(f.domain.Text),
		AccountName:          tr(f.accountName.Text),
		AccountDisplayName:   tr(f.accountDisp.Text),
		ChannelName:          tr(f.channelName.Text),
		ChannelDisplayName:   tr(f.channelDisp.Text),
		ChannelDescription:   tr(f.channelDesc.Text),
		AvatarPath:           f.avatarPath,
		ManualApproval:       f.manual.Checked,
		PortMapping:          f.portMap.Checked,
		AllowPrivateNetworks: f.private.Checked,
	}
}

// dirty says whether the form differs from what is stored.
func (f *hostForm) dirty() bool { return f.config() != f.loaded }

// set fills the form with c (as stored); no message shows until a change.
func (f *hostForm) set(c library.HostConfig) {
	f.touched = nil
	f.loaded = c
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
	f.showAvatar(c.AvatarPath)
	f.touched = map[string]bool{}
	f.all = false
	f.check()
}

func (f *hostForm) touch(field string) {
	if f.touched == nil {
		return // filling the form
	}
	if field != "" {
		f.touched[field] = true
	}
	f.check()
}

// submit is Enter in a field: every message shows, then onSubmit.
func (f *hostForm) submit() {
	f.all = true
	f.check()
	if f.onSubmit != nil {
		f.onSubmit()
	}
}

// check validates the form and shows the messages of touched fields.
func (f *hostForm) check() { f.show(library.ValidateHostConfig(f.config())) }

// showErrors shows a ValidationError from the library under the fields
// it names.
func (f *hostForm) showErrors(ve library.ValidationError) {
	f.all = true
	f.last = ve
	f.valid = false
	for _, name := range hostFields {
		f.setError(name, ve.For(name))
	}
	if f.relayout != nil {
		f.relayout()
	}
	if f.onChange != nil {
		f.onChange()
	}
}

// problem is why the settings cannot be saved, in a sentence, or "".
func (f *hostForm) problem() string {
	switch {
	case f.valid:
		return ""
	case f.other != nil:
		return "Cannot check the settings: " + errorText(f.other)
	case len(f.last) > 0:
		return "Fix the settings marked in red (" + strings.ReplaceAll(f.last[0].Field, "_", " ") + ": " + f.last[0].Message + ")"
	}
	return ""
}

// chooseAvatar is "Choose JPEG…".
func (f *hostForm) chooseAvatar() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			f.setError("avatar", "Could not open the image: "+errorText(err))
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		f.setAvatar(path)
	}, f.u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".jpg", ".jpeg", ".JPG", ".JPEG"}))
	if f.avatarPath != "" {
		if dir, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(f.avatarPath))); err == nil {
			d.SetLocation(dir)
		}
	}
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// setAvatar picks the avatar image ("" for none) and checks the form.
func (f *hostForm) setAvatar(path string) {
	f.showAvatar(path)
	f.touch("avatar")
}

func (f *hostForm) showAvatar(path string) {
	f.avatarPath = path
	if path == "" {
		f.avatarLabel.SetText("No avatar: PeerTube shows its default one.")
		f.avatarImg.File = ""
		f.avatarImg.Image = nil
		f.avatarImg.Resource = theme.AccountIcon()
		f.avatarImg.Refresh()
		f.avatarClear.Hide()
		return
	}
	f.avatarLabel.SetText(filepath.Base(path))
	f.avatarImg.Resource = nil
	f.avatarImg.Image = nil
	f.avatarImg.File = ""
	if library.ValidateHostConfig(library.HostConfig{AccountName: "a", ChannelName: "b", AccountDisplayName: "a",
		ChannelDisplayName: "b", AvatarPath: path}) == nil {
		f.avatarImg.File = path // only a JPEG is decoded
	} else {
		f.avatarImg.Resource = theme.BrokenImageIcon()
	}
	f.avatarImg.Refresh()
	f.avatarClear.Show()
}
