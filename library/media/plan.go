package media

import (
	"math"
	"slices"
)

// DefaultLadder is PeerTube's usual set of resolutions.
var DefaultLadder = []int{1080, 720, 480, 360}

// Mode says how a Target is produced.
type Mode int

const (
	// Keep: the source file is published as it is.
	Keep Mode = iota
	// Remux: the streams are copied into an MP4 with faststart (seconds,
	// no quality loss): web codecs in the wrong container or order.
	Remux
	// Transcode: encoded to H.264/AAC.
	Transcode
)

func (m Mode) String() string {
	switch m {
	case Keep:
		return "keep"
	case Remux:
		return "remux"
	case Transcode:
		return "transcode"
	}
	return "unknown"
}

// Target is one file to publish.
type Target struct {
	// Resolution is PeerTube's resolution id: the shorter displayed side;
	// 0 for an audio-only file.
	Resolution int
	// Width and Height are the displayed size of the result (0 for audio).
	Width, Height int
	Mode          Mode
}

// PlanOptions tune Plan.
type PlanOptions struct {
	// ReencodeOriginal transcodes the source resolution even when the file
	// is web playable (or only needs a remux).
	ReencodeOriginal bool
}

// Plan chooses the files to publish for a probed source: first the source
// resolution (kept as is when WebPlayable, remuxed when only the container
// or the box order is wrong, transcoded otherwise), then each ladder
// resolution strictly below the source's, highest first. Nothing is ever
// upscaled; duplicates and non-positive ladder entries are ignored. An
// audio-only source gives one Resolution-0 target (Keep for AAC in a
// faststart MP4, Remux for AAC elsewhere, else Transcode); a caller that
// wants a still-image video instead sets Job.Still and transcodes.
func Plan(info Info, ladder []int, opt PlanOptions) []Target {
	if info.Video == nil {
		if info.Audio == nil {
			return nil
		}
		mode := Transcode
		switch {
		case opt.ReencodeOriginal:
		case audioOnlyWebPlayable(info):
			mode = Keep
		case info.Audio.Codec == "aac":
			mode = Remux
		}
		return []Target{{Mode: mode}}
	}
	src := info.Resolution()
	first := Target{Resolution: src, Mode: Transcode}
	switch {
	case opt.ReencodeOriginal:
	case WebPlayable(info):
		first.Mode = Keep
	case webCodecs(info):
		first.Mode = Remux
	}
	if first.Mode == Transcode {
		first.Width, first.Height = OutputSize(info, src)
		first.Resolution = min(first.Width, first.Height)
	} else {
		first.Width, first.Height = info.Video.DisplaySize()
	}
	targets := []Target{first}
	rungs := slices.Clone(ladder)
	slices.Sort(rungs)
	slices.Reverse(rungs)
	rungs = slices.Compact(rungs)
	for _, r := range rungs {
		if r <= 0 || r >= src {
			continue
		}
		w, h := OutputSize(info, r)
		if min(w, h) >= first.Resolution {
			continue // an odd source rounded down to this rung already
		}
		targets = append(targets, Target{Resolution: min(w, h), Width: w, Height: h, Mode: Transcode})
	}
	return targets
}

// OutputSize is the displayed size Encode produces for a resolution
// (shorter side) request: never above the source, the shorter side rounded
// down to even, the longer one keeping the displayed aspect ratio and
// rounded to even (H.264 4:2:0 needs even sizes). resolution ≤ 0 means the
// source's own. Audio-only sources give 0×0.
func OutputSize(info Info, resolution int) (w, h int) {
	if info.Video == nil {
		return 0, 0
	}
	dw, dh := info.Video.DisplaySize()
	if dw <= 0 || dh <= 0 {
		return 0, 0
	}
	short, long := min(dw, dh), max(dw, dh)
	ratio := info.Video.Aspect() // long over short
	if ratio < 1 {
		ratio = 1 / ratio
	}
	target := short
	if resolution > 0 && resolution < short {
		target = resolution
	}
	outShort := max(2, target&^1)
	outLong := int(math.Round(float64(outShort)*ratio/2)) * 2
	outLong = max(2, min(outLong, long&^1))
	if dw >= dh {
		return outLong, outShort
	}
	return outShort, outLong
}
