package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Info is what Probe learned about a file.
type Info struct {
	Path       string
	Container  string        // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
	Brand      string        // MP4 major brand from ftyp ("isom", "qt  ", ...); "" otherwise
	Duration   time.Duration // the container's duration
	Size       int64         // bytes
	Bitrate    int64         // overall, bits per second
	FastStart  bool          // MP4 with its index (moov) before the media data
	Fragmented bool          // fragmented MP4 (moof boxes), as PeerTube's HLS files
	Video      *VideoStream  // nil for audio-only files
	Audio      *AudioStream  // nil for silent videos
	// Cover is the stream index of an attached picture (cover art of an
	// audio file), -1 if none. It is never counted as video.
	Cover int
}

// VideoStream describes the first real video stream.
type VideoStream struct {
	Index   int    // ffprobe stream index
	Codec   string // "h264", "vp9", "hevc", ...
	Profile string // "High", "Main", ...
	Level   int    // H.264: 31 means 3.1; 0 if unknown
	Width   int    // coded width, before rotation and sample aspect
	Height  int
	// SAR is the sample (pixel) aspect ratio, 1 for square pixels.
	SAR    float64
	FPS    float64 // from avg_frame_rate, else r_frame_rate
	PixFmt string  // "yuv420p", ...
	// Rotation is the display rotation in degrees, normalised to 0, 90, 180
	// or 270 (from the display matrix side data or the legacy rotate tag;
	// the sign follows ffprobe's). Players and ffmpeg apply it when decoding.
	Rotation int
	Bitrate  int64 // bits per second; 0 if the container does not say
}

// AudioStream describes the first audio stream.
type AudioStream struct {
	Index      int
	Codec      string // "aac", "opus", "mp3", ...
	Profile    string // "LC", "HE-AAC", ...
	Channels   int
	SampleRate int
	Bitrate    int64
}

// DisplaySize is the size a player shows: square pixels, rotation applied.
func (v VideoStream) DisplaySize() (w, h int) {
	w, h = v.Width, v.Height
	if v.SAR > 0 && math.Abs(v.SAR-1) > 1e-3 {
		w = int(math.Round(float64(w) * v.SAR))
	}
	if v.Rotation == 90 || v.Rotation == 270 {
		w, h = h, w
	}
	return w, h
}

// Aspect is the displayed width over height, exactly (DisplaySize rounds).
func (v VideoStream) Aspect() float64 {
	if v.Width <= 0 || v.Height <= 0 {
		return 0
	}
	sar := v.SAR
	if sar <= 0 {
		sar = 1
	}
	a := float64(v.Width) * sar / float64(v.Height)
	if v.Rotation == 90 || v.Rotation == 270 {
		a = 1 / a
	}
	return a
}

// Resolution is PeerTube's notion of a video's resolution: the shorter
// displayed side (720 for 1280×720 and for a vertical 720×1280); 0 when
// there is no video.
func (i Info) Resolution() int {
	if i.Video == nil {
		return 0
	}
	w, h := i.Video.DisplaySize()
	return min(w, h)
}

// IsMP4 reports an ISO MP4 file (not QuickTime .mov, 3GP or Motion JPEG 2000,
// which share ffmpeg's demuxer but not browsers' trust).
func (i Info) IsMP4() bool {
	if !strings.Contains(i.Container, "mp4") {
		return false
	}
	b := strings.TrimSpace(i.Brand)
	return b != "qt" && !strings.HasPrefix(b, "3g") && !strings.HasPrefix(b, "mj")
}

// WebPlayable reports whether a browser plays the file as is, PeerTube's
// "web compatible" notion: an MP4 with faststart, H.264 in 8-bit 4:2:0
// (yuv420p) at a level browsers decode (≤ 5.2) and at most 60 fps, with
// AAC audio or none. Such a file is published without re-encoding. The
// bitrate is not judged (PeerTube caps it; Fourmi leaves that to the user).
func WebPlayable(i Info) bool {
	return i.IsMP4() && i.FastStart && webCodecs(i)
}

// webCodecs: the streams are fine for the web, whatever the container.
func webCodecs(i Info) bool {
	v := i.Video
	if v == nil || v.Codec != "h264" || v.PixFmt != "yuv420p" {
		return false
	}
	if v.Level <= 0 || v.Level > 52 || v.FPS <= 0 || v.FPS > 60.5 {
		return false
	}
	switch v.Profile {
	case "Baseline", "Constrained Baseline", "Main", "High", "":
	default:
		return false
	}
	return i.Audio == nil || i.Audio.Codec == "aac"
}

// audioOnlyWebPlayable: an MP4/M4A with faststart holding AAC only.
func audioOnlyWebPlayable(i Info) bool {
	return i.Video == nil && i.Audio != nil && i.Audio.Codec == "aac" && i.IsMP4() && i.FastStart
}

// ffprobe's JSON, the parts we read.
type probeJSON struct {
	Streams []struct {
		Index       int    `json:"index"`
		CodecName   string `json:"codec_name"`
		CodecType   string `json:"codec_type"`
		Profile     string `json:"profile"`
		Level       int    `json:"level"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		SAR         string `json:"sample_aspect_ratio"`
		PixFmt      string `json:"pix_fmt"`
		RFrameRate  string `json:"r_frame_rate"`
		AvgRate     string `json:"avg_frame_rate"`
		BitRate     string `json:"bit_rate"`
		Duration    string `json:"duration"`
		Channels    int    `json:"channels"`
		SampleRate  string `json:"sample_rate"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
			StillImage  int `json:"still_image"`
		} `json:"disposition"`
		Tags         map[string]string `json:"tags"`
		SideDataList []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		StartTime  string `json:"start_time"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

// Probe describes the file at path with ffprobe and checks that it is whole.
//
// Errors: ErrNotMedia (not audio/video, a still image, zero-length),
// ErrTruncated (an MP4 box or Matroska segment runs past the end of the
// file, or an MP4 without its index), ErrDurationMismatch (the packets near
// the claimed end of the file do not match the claimed duration: found by
// reading only the last seconds, not by decoding the whole file), a
// wrapped fs error when the file cannot be read, ErrNoTool. With
// ErrTruncated or ErrDurationMismatch the returned Info holds what ffprobe
// reported, if it could.
func (t *Tool) Probe(ctx context.Context, path string) (Info, error) {
	info := Info{Path: path, Cover: -1}
	f, err := os.Open(path)
	if err != nil {
		return info, fmt.Errorf("media: probe: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return info, fmt.Errorf("media: probe: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return info, fmt.Errorf("media: probe %s: %w: not a regular file", path, ErrNotMedia)
	}
	info.Size = st.Size()
	if info.Size == 0 {
		f.Close()
		return info, fmt.Errorf("media: probe %s: %w: the file is empty", path, ErrNotMedia)
	}
	lay, err := readLayout(f, info.Size)
	f.Close()
	if err != nil {
		return info, fmt.Errorf("media: probe: %w", err)
	}
	info.Brand, info.FastStart, info.Fragmented = lay.brand, lay.fastStart, lay.fragmented

	out, err := t.run(ctx, t.ffprobe(), "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", ffPath(path))
	if err != nil {
		if ctx.Err() != nil {
			return info, fmt.Errorf("media: probe %s: %w", path, err)
		}
		if lay.truncated != "" {
			return info, fmt.Errorf("media: probe %s: %w: %s", path, ErrTruncated, lay.truncated)
		}
		if errors.Is(err, ErrNoTool) {
			return info, fmt.Errorf("media: probe: %w", err)
		}
		return info, fmt.Errorf("media: probe %s: %w (%v)", path, ErrNotMedia, err)
	}
	var pj probeJSON
	if err := json.Unmarshal(out, &pj); err != nil {
		return info, fmt.Errorf("media: probe %s: reading ffprobe output: %w", path, err)
	}
	start, err := fillInfo(&info, &pj)
	if err != nil {
		if lay.truncated != "" {
			return info, fmt.Errorf("media: probe %s: %w: %s", path, ErrTruncated, lay.truncated)
		}
		return info, fmt.Errorf("media: probe %s: %w: %v", path, ErrNotMedia, err)
	}
	if lay.truncated != "" {
		return info, fmt.Errorf("media: probe %s: %w: %s", path, ErrTruncated, lay.truncated)
	}
	if err := t.checkTail(ctx, path, info, start); err != nil {
		return info, fmt.Errorf("media: probe %s: %w", path, err)
	}
	t.log().Debug("probed", "path", path, "container", info.Container, "duration", info.Duration,
		"resolution", info.Resolution(), "web_playable", WebPlayable(info))
	return info, nil
}

// fillInfo copies ffprobe's answer into info and rejects what is not a
// playable audio/video file. It returns the container's start time.
func fillInfo(info *Info, pj *probeJSON) (time.Duration, error) {
	fm := pj.Format
	info.Container = fm.FormatName
	switch {
	case fm.FormatName == "tty":
		return 0, errors.New("plain text")
	case fm.FormatName == "image2" || strings.HasSuffix(fm.FormatName, "_pipe"):
		return 0, fmt.Errorf("a still image (%s)", fm.FormatName)
	}
	for _, s := range pj.Streams {
		switch s.CodecType {
		case "video":
			if s.Disposition.AttachedPic == 1 {
				if info.Cover < 0 {
					info.Cover = s.Index
				}
				continue
			}
			if info.Video != nil || s.Width <= 0 || s.Height <= 0 {
				continue
			}
			v := &VideoStream{
				Index: s.Index, Codec: s.CodecName, Profile: s.Profile, Level: s.Level,
				Width: s.Width, Height: s.Height, SAR: parseRatio(s.SAR), PixFmt: s.PixFmt,
				Bitrate: parseInt(s.BitRate),
			}
			if v.SAR <= 0 {
				v.SAR = 1
			}
			if v.FPS = parseRatio(s.AvgRate); v.FPS <= 0 || v.FPS > 1000 {
				v.FPS = parseRatio(s.RFrameRate)
			}
			v.Rotation = rotation(s.Tags["rotate"])
			for _, sd := range s.SideDataList {
				if sd.Type == "Display Matrix" {
					v.Rotation = normRotation(sd.Rotation)
				}
			}
			info.Video = v
		case "audio":
			if info.Audio != nil {
				continue
			}
			info.Audio = &AudioStream{
				Index: s.Index, Codec: s.CodecName, Profile: s.Profile, Channels: s.Channels,
				SampleRate: int(parseInt(s.SampleRate)), Bitrate: parseInt(s.BitRate),
			}
		}
	}
	if info.Video == nil && info.Audio == nil {
		return 0, errors.New("no audio or video stream")
	}
	dur := parseSeconds(fm.Duration)
	if dur <= 0 {
		for _, s := range pj.Streams {
			if s.Disposition.AttachedPic == 0 {
				dur = max(dur, parseSeconds(s.Duration))
			}
		}
	}
	if dur <= 0 {
		return 0, errors.New("no duration")
	}
	info.Duration = dur
	if fs := parseInt(fm.Size); fs > 0 {
		info.Size = fs
	}
	info.Bitrate = parseInt(fm.BitRate)
	if info.Bitrate <= 0 {
		info.Bitrate = int64(float64(info.Size*8) / dur.Seconds())
	}
	return parseSeconds(fm.StartTime), nil
}

// checkTail reads the audio and video packets around the claimed end (no
// decoding) and compares where they stop with the claimed duration. It
// catches headers that lie in either direction, and truncation where the
// container's own structure cannot tell (MPEG-TS, AVI, Ogg, ...). The end
// is the latest of the streams: a video track may stop before the audio.
func (t *Tool) checkTail(ctx context.Context, path string, info Info, start time.Duration) error {
	keep := map[int]bool{}
	if info.Video != nil {
		keep[info.Video.Index] = true
	}
	if info.Audio != nil {
		keep[info.Audio.Index] = true
	}
	tol := max(2*time.Second, info.Duration/20)
	from := max(0, info.Duration+start-5*time.Second)
	span := 5*time.Second + 2*tol
	out, runErr := t.run(ctx, t.ffprobe(), "-v", "error",
		"-read_intervals", fmt.Sprintf("%.3f%%+%.3f", from.Seconds(), span.Seconds()),
		"-show_entries", "packet=stream_index,pts_time,dts_time,duration_time", "-of", "json", ffPath(path))
	if runErr != nil && ctx.Err() != nil {
		return runErr
	}
	// A read error near the end is itself a sign of damage, but judge by
	// the packets that did come out.
	var pj struct {
		Packets []struct {
			StreamIndex int    `json:"stream_index"`
			PTS         string `json:"pts_time"`
			DTS         string `json:"dts_time"`
			Duration    string `json:"duration_time"`
		} `json:"packets"`
	}
	_ = json.Unmarshal(out, &pj) // on a failed run: no packets
	var end time.Duration
	found := false
	for _, p := range pj.Packets {
		if !keep[p.StreamIndex] {
			continue
		}
		ts := p.PTS
		if ts == "" || ts == "N/A" {
			ts = p.DTS
		}
		end = max(end, parseSeconds(ts)+max(0, parseSeconds(p.Duration)))
		found = true
	}
	claimed := info.Duration + start
	switch {
	case !found && runErr != nil:
		return fmt.Errorf("%w: cannot read near the claimed end (%s): %v", ErrDurationMismatch,
			info.Duration.Round(time.Millisecond), runErr)
	case !found:
		return fmt.Errorf("%w: no packets near the claimed end (%s)", ErrDurationMismatch, info.Duration.Round(time.Millisecond))
	case end < claimed-tol:
		return fmt.Errorf("%w: claims %s, content stops at %s", ErrDurationMismatch,
			info.Duration.Round(time.Millisecond), (end - start).Round(time.Millisecond))
	case end > claimed+tol:
		return fmt.Errorf("%w: claims %s, content runs past %s", ErrDurationMismatch,
			info.Duration.Round(time.Millisecond), (end - start).Round(time.Millisecond))
	}
	return nil
}

func parseInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func parseSeconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// parseRatio reads "30000/1001" or "1:1" (0 when undefined, like "0/0").
func parseRatio(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		num, den, ok = strings.Cut(s, ":")
	}
	if !ok {
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0
	}
	return n / d
}

func rotation(tag string) int {
	if tag == "" {
		return 0
	}
	f, err := strconv.ParseFloat(tag, 64)
	if err != nil {
		return 0
	}
	return normRotation(f)
}

// normRotation rounds to a quarter turn in [0, 360).
func normRotation(deg float64) int {
	q := int(math.Round(deg/90)) % 4
	if q < 0 {
		q += 4
	}
	return q * 90
}
