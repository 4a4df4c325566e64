package gui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/library"
)

// someFile writes a file named name with a few bytes (the form only
// checks that it can be read; the library probes it when publishing).
func someFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	fatalIf(t, os.WriteFile(p, []byte("not really a video\n"), 0o644))
	return p
}

// Ctrl+P opens Publish (also from a focused entry); the sidebar shows
// it. Publish stays disabled, saying why, until a file is chosen and the
// form is valid; each field's message shows under it once touched: a
// short title, too many or too short tags, a bad channel; Enter in a
// field shows every message. A dropped video file goes to Publish with
// its name as the title; a missing file is said under the file.
func TestPublishFormValidation(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	u := h.ui
	c := u.win.Canvas()

	c.Focus(u.discover.search)
	h.shortcut(shortcutPublish)
	s := u.publish
	if u.screen != screenPublish || !s.root.Visible() || u.discover.root.Visible() {
		t.Fatalf("Ctrl+P: screen %q", u.screen)
	}
	if u.navPublish.Importance != widget.HighImportance || u.navDiscover.Importance != widget.LowImportance {
		t.Errorf("the sidebar does not highlight Publish")
	}
	if !s.publishBtn.Disabled() || !h.screenShows("Choose a video or audio file to publish.") {
		t.Fatalf("Publish without a file: disabled %v, screen %q", s.publishBtn.Disabled(), h.screenTexts())
	}
	if s.form.errorFor("title") != "" {
		t.Errorf("a message before the user typed: %q", s.form.errorFor("title"))
	}

	// a dropped video file: the title is its name, Publish is enabled
	file := someFile(t, "leafcutter_ants.mp4")
	test.Tap(u.navDiscover)
	u.droppedFiles(fyne.Position{}, []fyne.URI{storage.NewFileURI(file)})
	if u.screen != screenPublish || s.file != file || s.form.title.Text != "leafcutter ants" {
		t.Fatalf("drop: screen %q, file %q, title %q", u.screen, s.file, s.form.title.Text)
	}
	if c.Focused() != fyne.Focusable(s.form.title) {
		t.Errorf("after the drop the keyboard is on %T, want the title", c.Focused())
	}
	if s.publishBtn.Disabled() || s.hint.Visible() {
		t.Fatalf("a good form is not publishable: %q", mutedText(s.hint))
	}

	// bad fields, as the user types
	for _, tc := range []struct {
		entry      *formEntry
		text       string
		field, msg string
	}{
		{s.form.title, "ab", "title", "Title must be between 3 and 120 characters"},
		{s.form.title, strings.Repeat("a", 121), "title", "Title must be between 3 and 120 characters"},
		{s.form.tags, "ants, nature, macro, insects, colony, forest", "tags", "at most 5 tags"},
		{s.form.tags, "ants, x", "tags", "Each tag must be between 2 and 30 characters"},
		{s.form.tags, "ants, Ants", "tags", "given twice"},
		{s.form.channel, "My Channel", "channel", "Channel name must be"},
		{s.form.support, "x", "support", "Support text must be between"},
	} {
		old := tc.entry.Text
		tc.entry.SetText(tc.text)
		if got := s.form.errorFor(tc.field); !strings.Contains(got, tc.msg) {
			t.Errorf("%s = %q: message %q, want %q", tc.field, tc.text, got, tc.msg)
		}
		if !s.publishBtn.Disabled() || !strings.Contains(mutedText(s.hint), tc.field) {
			t.Errorf("%s = %q: Publish enabled %v, hint %q", tc.field, tc.text, !s.publishBtn.Disabled(), mutedText(s.hint))
		}
		tc.entry.SetText(old)
		if got := s.form.errorFor(tc.field); got != "" || s.publishBtn.Disabled() {
			t.Errorf("%s fixed: message %q, disabled %v", tc.field, got, s.publishBtn.Disabled())
		}
	}

	// Enter with a bad title shows its message and publishes nothing
	s.form.title.SetText("")
	s.form.reset()
	if s.form.errorFor("title") != "" {
		t.Fatal("reset left a message")
	}
	c.Focus(s.form.tags)
	s.form.tags.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !strings.Contains(s.form.errorFor("title"), "between 3 and 120") || s.view != viewForm || s.submitting {
		t.Errorf("Enter with no title: message %q, view %q", s.form.errorFor("title"), s.view)
	}

	// the vocabularies are offered; the choice goes in the metadata
	if len(s.form.category.Options) < 10 || len(s.form.licence.Options) < 5 || len(s.form.language.Options) < 20 {
		t.Errorf("vocabularies: %d categories, %d licences, %d languages", len(s.form.category.Options),
			len(s.form.licence.Options), len(s.form.language.Options))
	}
	s.form.title.SetText("Leafcutter ants")
	s.form.category.SetSelectedIndex(1)
	s.form.language.SetSelected("English")
	s.form.privacy.SetSelected("Unlisted")
	s.form.nsfw.SetChecked(true)
	s.form.tags.SetText("ants, nature ,")
	s.resChecks[1].SetChecked(true)
	req := s.request()
	m := req.Meta
	if m.Title != "Leafcutter ants" || m.Category != library.Categories()[0].ID || m.Language != "en" ||
		m.Privacy != library.PrivacyUnlisted || !m.NSFW || strings.Join(m.Tags, "|") != "ants|nature" ||
		fmt.Sprint(req.Resolutions) != "[720]" || req.File != file {
		t.Errorf("request: %+v", req)
	}

	// Tab walks the form in reading order, to Publish
	c.Focus(s.chooseBtn)
	order := []fyne.Focusable{s.chooseBtn}
	for range 40 {
		test.FocusNext(c)
		f := c.Focused()
		if f == nil || f == order[0] {
			break
		}
		order = append(order, f)
	}
	idx := func(f fyne.Focusable) int { return slices.Index(order, f) }
	seq := []int{idx(s.chooseBtn), idx(s.form.title), idx(s.form.description), idx(s.form.tags), idx(s.form.category),
		idx(s.form.licence), idx(s.form.language), idx(s.form.privacy), idx(s.form.channel), idx(s.form.nsfw),
		idx(s.form.support), idx(s.resChecks[0]), idx(s.resChecks[3]), idx(s.publishBtn)}
	for i, k := range seq {
		if k < 0 || (i > 0 && k <= seq[i-1]) {
			t.Fatalf("tab order positions %v", seq)
		}
	}

	// a file that is not there
	u.droppedFiles(fyne.Position{}, []fyne.URI{storage.NewFileURI(filepath.Join(t.TempDir(), "gone.webm"))})
	if !s.fileErr.Visible() || !strings.Contains(s.fileErr.Text, "Cannot read this file") || !s.publishBtn.Disabled() {
		t.Errorf("missing file: %q, disabled %v", s.fileErr.Text, s.publishBtn.Disabled())
	}
	// a torrent dropped still goes to Open link, not Publish
	u.droppedFiles(fyne.Position{}, []fyne.URI{storage.NewFileURI("/tmp/holiday.jpg")})
	if u.openDlg == nil || !strings.Contains(u.openDlg.errLabel.Text, "holiday.jpg is not one") {
		t.Errorf("a JPEG dropped: %q", h.screenTexts())
	}
}

// The progress view shows a bar per step of the job it follows, fed by
// the publishing events (other jobs' events change nothing).
func TestPublishProgressView(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	s := h.ui.publish
	h.shortcut(shortcutPublish)
	s.job = "job-1"
	s.showView(viewProgress)
	p := library.PublishProgress{UUID: "job-1", State: library.PublishRunning, Overall: 0.4, Steps: []library.StepStatus{
		{Step: library.StepProbe, Done: true, Fraction: 1},
		{Step: library.StepThumbnails, Done: true, Fraction: 1},
		{Step: library.StepEncode, Resolution: 720, Fraction: 0.5},
		{Step: library.StepEncode, Resolution: 360},
		{Step: library.StepHash, Resolution: 720},
		{Step: library.StepHash, Resolution: 360},
		{Step: library.StepSeed},
	}}
	s.onProgress(p)
	if len(s.stepsBox.Objects) != 7 || s.overall.Value != 0.4 || s.progState.Text != "Publishing" {
		t.Fatalf("%d rows, overall %v, state %q", len(s.stepsBox.Objects), s.overall.Value, s.progState.Text)
	}
	for _, want := range []string{"Reading the file", "Thumbnails", "Encoding 720p", "Encoding 360p", "Hashing 360p", "Seeding", "Cancel"} {
		if !h.screenShows(want) {
			t.Errorf("the progress view does not show %q: %q", want, h.screenTexts())
		}
	}
	enc := s.steps["encode/720"]
	if enc.bar.Value != 0.5 || enc.state.Text != "Working" || s.steps["probe/0"].state.Text != "Done" {
		t.Errorf("encode 720p: %v %q", enc.bar.Value, enc.state.Text)
	}
	// updated in place
	p.Steps[2] = library.StepStatus{Step: library.StepEncode, Resolution: 720, Fraction: 1, Done: true}
	p.Steps[3].Fraction = 0.25
	s.onProgress(p)
	if s.steps["encode/720"] != enc || enc.bar.Value != 1 || s.steps["encode/360"].bar.Value != 0.25 {
		t.Errorf("after an update: %v %v", enc.bar.Value, s.steps["encode/360"].bar.Value)
	}
	other := p
	other.UUID = "job-2"
	other.Overall = 0.9
	s.onProgress(other)
	if s.overall.Value != 0.4 {
		t.Errorf("another job's progress moved the bar to %v", s.overall.Value)
	}
}

// makeVideo encodes a test video with ffmpeg in a temporary directory.
func makeVideo(t *testing.T, name string, w, h, seconds int) string {
	t.Helper()
	testkit.Video(t, testkit.SmallVideo) // skips without ffmpeg
	p := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=25", w, h), "-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-y", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

// publishVideo fills the form for file and presses Publish.
func (h *harness) publishVideo(file, title, tags string) {
	h.t.Helper()
	u := h.ui
	u.droppedFiles(fyne.Position{}, []fyne.URI{storage.NewFileURI(file)})
	s := u.publish
	s.form.title.SetText(title)
	s.form.tags.SetText(tags)
	if s.publishBtn.Disabled() {
		h.t.Fatalf("Publish disabled: %q", mutedText(s.hint))
	}
	test.Tap(s.publishBtn)
	h.waitFor("the progress view", func() bool { return s.view != viewForm || s.banner.Visible() })
	if s.banner.Visible() {
		h.t.Fatalf("Publish: %q", s.banner.Text())
	}
}

// The whole flow with the real library: publish a small video, see the
// steps and the result (thumbnail, magnet, Copy magnet, Watch), find it
// in My videos, edit its title, delete it (Escape first cancels the
// confirmation); then a file that is no video fails with the reason and
// Try again; Cancel stops a job and brings the form back.
func TestPublishEndToEnd(t *testing.T) {
	testkit.NeedMPV(t)
	file := testkit.Video(t, testkit.SmallVideo)
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newWatchHarness(t, srv, desktopSize)
	u := h.ui
	s := u.publish
	ctx := context.Background()

	h.publishVideo(file, "Ants at work", "ants, nature")
	h.waitFor("the steps", func() bool { return len(s.stepOrder) >= 4 || s.view == viewResult })
	h.waitFor("the result", func() bool { return s.view == viewResult || s.failBox.Visible() })
	if s.view != viewResult {
		t.Fatalf("publishing failed: %q", s.failMsg.Text)
	}
	v := s.result
	if v.State != library.PublishDone || !strings.HasPrefix(s.resMagnet.Text, "magnet:?xt=urn:btih:") ||
		s.resTitle.Text != "Ants at work" || v.Thumbnail == "" || s.resThumb.File != v.Thumbnail || !s.resThumb.Visible() {
		t.Fatalf("result: state %s, magnet %q, title %q, thumbnail %q", v.State, s.resMagnet.Text, s.resTitle.Text, s.resThumb.File)
	}
	if _, err := os.Stat(v.Thumbnail); err != nil {
		t.Errorf("thumbnail: %v", err)
	}
	if !strings.Contains(mutedText(s.resFiles), "120p") || !strings.Contains(mutedText(s.resFiles), "0:08") {
		t.Errorf("files: %q", mutedText(s.resFiles))
	}
	test.Tap(s.copyBtn)
	if got := h.app.Clipboard().Content(); got != v.Best().Magnet {
		t.Errorf("clipboard %q, want the magnet", got)
	}
	// Watch plays it (headless mpv)
	test.Tap(s.watchBtn)
	h.waitFor("the playback", func() bool { return u.sessions[v.UUID] != nil || s.banner.Visible() })
	if s.banner.Visible() {
		t.Fatalf("Watch: %q", s.banner.Text())
	}
	u.stopSession(u.sessions[v.UUID])
	h.waitFor("stopped", func() bool { return u.sessions[v.UUID] == nil })

	// My videos lists it
	b, ok := find(s.resultView, func(b *widget.Button) bool { return b.Text == "My videos" })
	if !ok {
		t.Fatal("no My videos button")
	}
	test.Tap(b)
	mine := u.library.mine
	var row *myVideoRow
	h.waitFor("the row", func() bool { row = mine.rows[v.UUID]; return row != nil && row.root.Visible() })
	if u.screen != screenLibrary || row.title.Text != "Ants at work" || row.state.Text != "Published" ||
		!row.watch.Visible() || !row.copy.Visible() || row.bar.Visible() || !strings.Contains(mutedText(row.info), "0:08 · 120p") {
		t.Errorf("row: screen %q, %q %q %q", u.screen, row.title.Text, row.state.Text, mutedText(row.info))
	}
	if mine.empty.Visible() {
		t.Error("My videos says it is empty")
	}

	// Edit: Escape closes it; a bad title is refused, a good one saved
	test.Tap(row.edit)
	if mine.edit == nil || u.win.Canvas().Focused() != fyne.Focusable(mine.edit.form.title) {
		t.Fatalf("Edit: the keyboard is on %T", u.win.Canvas().Focused())
	}
	h.key(fyne.KeyEscape)
	if mine.edit != nil || u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Escape did not close Edit")
	}
	test.Tap(row.edit)
	e := mine.edit
	if e == nil || e.form.title.Text != "Ants at work" || e.form.tags.Text != "ants, nature" {
		t.Fatalf("edit dialog: %+v", e)
	}
	e.form.title.SetText("no")
	if !e.save.Disabled() || !strings.Contains(e.form.errorFor("title"), "between 3 and 120") {
		t.Errorf("bad title in Edit: save enabled %v, %q", !e.save.Disabled(), e.form.errorFor("title"))
	}
	e.form.title.SetText("Ants at work, edited")
	test.Tap(e.save)
	h.waitFor("saved", func() bool { return mine.edit == nil && row.title.Text == "Ants at work, edited" })
	got, err := h.lib.MyVideo(ctx, v.UUID)
	fatalIf(t, err)
	if got.Meta.Title != "Ants at work, edited" || strings.Join(got.Meta.Tags, ",") != "ants,nature" {
		t.Errorf("stored after Edit: %+v", got.Meta)
	}

	// Delete: Escape cancels the confirmation, Delete deletes
	test.Tap(row.remove)
	if mine.confirm == nil || !h.screenShows("Delete “Ants at work, edited”?") {
		t.Fatalf("no confirmation: %q", h.screenTexts())
	}
	h.key(fyne.KeyEscape)
	if mine.confirm != nil || u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Escape did not close the confirmation")
	}
	u.win.Canvas().Unfocus()
	test.Tap(row.remove)
	del, ok := find(u.win.Canvas().Overlays().Top(), func(b *keyButton) bool { return b.Text == "Delete" })
	if !ok {
		t.Fatal("no Delete button in the confirmation")
	}
	test.Tap(del)
	h.waitFor("the row gone", func() bool { return mine.rows[v.UUID] == nil && mine.empty.Visible() })
	if _, err := h.lib.MyVideo(ctx, v.UUID); err == nil {
		t.Error("the library still has the deleted video")
	}
	if _, err := os.Stat(v.Best().Path); !os.IsNotExist(err) {
		t.Errorf("the deleted video's file: %v", err)
	}

	// a file that is no video: the failure is said, with Try again
	test.Tap(u.navPublish)
	if s.view != viewResult {
		t.Fatalf("view %q", s.view)
	}
	test.Tap(s.anotherBtn)
	if s.view != viewForm || s.file != "" || s.form.title.Text != "" || !s.publishBtn.Disabled() {
		t.Fatalf("Publish another: view %q, file %q, title %q", s.view, s.file, s.form.title.Text)
	}
	// (published with Ctrl+Enter from the description)
	u.droppedFiles(fyne.Position{}, []fyne.URI{storage.NewFileURI(someFile(t, "notes.mp4"))})
	s.form.title.SetText("My notes")
	u.win.Canvas().Focus(s.form.description)
	h.shortcut(shortcutPlay)
	h.waitFor("the progress view", func() bool { return s.view == viewProgress })
	h.waitFor("the failure", func() bool { return s.failBox.Visible() })
	if !strings.Contains(s.failMsg.Text, "Publishing failed: ") || s.cancelBtn.Visible() || s.progState.Text != "Failed" {
		t.Errorf("failure: %q, cancel shown %v, state %q", s.failMsg.Text, s.cancelBtn.Visible(), s.progState.Text)
	}
	failed := s.job
	again, _ := find(s.failBox, func(b *widget.Button) bool { return b.Text == "Try again" })
	test.Tap(again)
	h.waitFor("failing again", func() bool { return s.job != failed && s.failBox.Visible() })

	// Cancel: a job that encodes (480p → 360p) is stopped, the form is back
	big := makeVideo(t, "crossing.mp4", 854, 480, 10)
	back, _ := find(s.failBox, func(b *widget.Button) bool { return b.Text == "Back to the form" })
	test.Tap(back)
	s.resChecks[3].SetChecked(true)
	h.publishVideo(big, "Crossing the river", "")
	test.Tap(s.cancelBtn)
	h.waitFor("the form after Cancel", func() bool { return s.view == viewForm || s.view == viewResult })
	if s.view != viewForm || !strings.Contains(mutedText(s.notice), "was cancelled") || s.form.title.Text != "Crossing the river" {
		t.Fatalf("after Cancel: view %q, notice %q", s.view, mutedText(s.notice))
	}
	cv, err := h.lib.MyVideo(ctx, s.job)
	if err == nil && cv.State != library.PublishCancelled {
		t.Errorf("cancelled job: %s", cv.State)
	}
}
