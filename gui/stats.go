package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// statsPanel shows a playback's live numbers on the Video screen: what
// plays where, a bar of the verified pieces, progress, speeds, peers,
// where the bytes came from and the share ratio, with Stop.
type statsPanel struct {
	root     *fyne.Container
	status   *widget.Label
	stop     *keyButton
	bar      *pieceBar
	progress *widget.RichText
	values   map[string]*widget.Label // by name: "down", "up", "peers", "web", "peer", "ratio"
}

func newStatsPanel(onStop, onEscape func()) *statsPanel {
	p := &statsPanel{values: map[string]*widget.Label{}}
	p.status = widget.NewLabel("")
	p.status.TextStyle.Bold = true
	p.status.Truncation = fyne.TextTruncateEllipsis
	p.stop = newKeyButton("Stop", theme.MediaStopIcon(), onStop, onEscape)
	p.bar = newPieceBar()
	p.progress = newMutedText(theme.SizeNameText)

	grid := container.NewGridWithColumns(6)
	for _, f := range []struct{ key, name string }{
		{"down", "Download"}, {"up", "Upload"}, {"peers", "Peers"},
		{"web", "From web seed"}, {"peer", "From peers"}, {"ratio", "Ratio"},
	} {
		name := newMutedText(theme.SizeNameCaptionText)
		setMutedText(name, f.name)
		v := widget.NewLabel("—")
		v.TextStyle.Bold = true
		v.Truncation = fyne.TextTruncateEllipsis
		p.values[f.key] = v
		grid.Add(container.New(layout.NewCustomPaddedVBoxLayout(0), name, v))
	}
	body := container.NewVBox(
		border(nil, nil, nil, p.stop, p.status),
		withMinHeight(p.bar, 12),
		p.progress,
		grid)
	p.root = container.NewStack(newThemedRect(colorNameThumbBg, 8), container.NewPadded(body))
	p.root.Hide()
	return p
}

// show puts a session's numbers on screen.
func (p *statsPanel) show(s *session) {
	st := s.stats
	var status string
	switch {
	case s.stopBy:
		status = "Stopping…"
	case s.streamOnly():
		status = "Streaming — the address is in the clipboard for your player"
	default:
		status = "Playing in " + playerName(s.pb.Player())
		if s.pos > 0 {
			status += " · " + formatDuration(s.pos)
		}
	}
	setLabel(p.status, status)
	if s.stopBy {
		p.stop.Disable()
	} else {
		p.stop.Enable()
	}
	p.bar.set(st.Pieces)
	setMutedText(p.progress, progressText(st))
	setLabel(p.values["down"], formatRate(st.DownloadRate))
	setLabel(p.values["up"], formatRate(st.UploadRate))
	setLabel(p.values["peers"], peersText(st))
	setLabel(p.values["web"], formatBytes(st.FromWebSeed))
	setLabel(p.values["peer"], formatBytes(st.FromPeers))
	setLabel(p.values["ratio"], formatRatio(st.Ratio()))
}

// progressText is "36 % · 12.3 MB of 34 MB", or what is missing.
func progressText(st library.TransferStats) string {
	switch {
	case st.Size <= 0:
		return "Getting the torrent's details…"
	case st.Completed >= st.Size:
		return "Complete · " + formatBytes(st.Size) + " on disk, seeding"
	}
	return fmt.Sprintf("%s · %s of %s", formatPercent(st.Progress()), formatBytes(st.Completed), formatBytes(st.Size))
}

// peersText is "3 (1 seeder)".
func peersText(st library.TransferStats) string {
	switch {
	case st.Peers == 0:
		return "none yet"
	case st.Seeders == 1:
		return fmt.Sprintf("%d (1 seeder)", st.Peers)
	case st.Seeders > 1:
		return fmt.Sprintf("%d (%d seeders)", st.Peers, st.Seeders)
	}
	return fmt.Sprint(st.Peers)
}

// playerName is how a player is called in the UI.
func playerName(kind string) string {
	switch kind {
	case "mpv":
		return "mpv"
	case "vlc":
		return "VLC"
	case "default":
		return "your video player"
	}
	return kind
}

// setLabel changes a label's text only when it differs (no refresh churn
// when polled numbers stay the same).
func setLabel(l *widget.Label, text string) {
	if l.Text != text {
		l.SetText(text)
	}
}

// withMinHeight makes o at least h high.
func withMinHeight(o fyne.CanvasObject, h float32) fyne.CanvasObject {
	return container.New(minSizeLayout{min: fyne.NewSize(0, h)}, o)
}
