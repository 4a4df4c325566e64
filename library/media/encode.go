package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Encoding defaults, PeerTube's.
const (
	DefaultPreset       = "veryfast"
	DefaultCRF          = 23
	DefaultMaxFPS       = 60
	DefaultAudioBitrate = 128_000
)

// Job is one output file to produce.
type Job struct {
	Input  string
	Info   Info   // Probe's result for Input (streams, size and duration for progress)
	Output string // the final path; its directory must exist. Always an MP4 (.mp4 or .m4a)

	// Resolution is the shorter displayed side to produce (see OutputSize);
	// 0, or anything at or above the source's, keeps the source's size.
	Resolution int
	// Remux copies the streams into an MP4 with faststart instead of
	// encoding (Plan's Remux). It needs H.264 video and AAC audio;
	// Resolution and Still are then ignored.
	Remux bool
	// Still, for an audio-only input, is an image (e.g. the preview JPEG)
	// shown for the whole duration: the output is then a video. Without
	// it an audio-only input gives an audio-only MP4 (AAC).
	Still string

	Preset       string  // libx264 preset; "" means DefaultPreset
	CRF          int     // 0 means DefaultCRF
	MaxFPS       float64 // frame rate cap; 0 means DefaultMaxFPS
	AudioBitrate int     // bits/s when audio is encoded; 0 means DefaultAudioBitrate (AAC is copied)
	Threads      int     // ffmpeg -threads; 0 lets ffmpeg choose
}

// Progress is a snapshot of an encode, from ffmpeg's -progress stream.
type Progress struct {
	Fraction float64       // 0–1 of the input's duration
	OutTime  time.Duration // media time written so far
	Speed    float64       // × real time; 0 when ffmpeg does not know yet
	FPS      float64       // frames encoded per second
	Size     int64         // bytes written so far
	Done     bool          // the last report: the output is in place
}

// Encode is Tool.Encode on the zero Tool.
func Encode(ctx context.Context, job Job, progress func(Progress)) error {
	return defaultTool.Encode(ctx, job, progress)
}

// Encode produces job.Output: H.264 (libx264, yuv420p) + AAC in an MP4
// with faststart, scaled to job.Resolution without upscaling (square
// pixels, even sizes, rotation applied by ffmpeg's autorotate so the
// result needs none), at most MaxFPS, metadata and chapters stripped (no
// camera GPS or names leak into a publication). progress, if not nil, is
// called on Encode's goroutine about twice a second and once with Done;
// it should return quickly.
//
// ffmpeg writes to a hidden temporary file beside the output, renamed into
// place once complete and synced. On cancellation (ctx) ffmpeg is killed,
// the temporary file removed and the ctx error returned wrapped; on a full
// disk the error wraps ErrDiskFull; on any failure no file is left behind
// and an existing Output is untouched.
func (t *Tool) Encode(ctx context.Context, job Job, progress func(Progress)) error {
	if job.Input == "" || job.Output == "" {
		return errors.New("media: encode: Input and Output are required")
	}
	if job.Info.Duration <= 0 || (job.Info.Video == nil && job.Info.Audio == nil) {
		return errors.New("media: encode: Job.Info is empty: Probe the input first")
	}
	if job.Remux && !(webCodecs(job.Info) || job.Info.Video == nil && job.Info.Audio != nil && job.Info.Audio.Codec == "aac") {
		return errors.New("media: encode: remux needs H.264/AAC streams; transcode instead")
	}
	dir := filepath.Dir(job.Output)
	tmp, err := createTemp(dir, filepath.Base(job.Output))
	if err != nil {
		return fmt.Errorf("media: encode: %w", classifyWriteErr(err, dir))
	}
	args := encodeArgs(job, tmp)
	log := t.log().With("input", job.Input, "output", job.Output)
	log.Debug("encode", "args", args)
	start := time.Now()
	err = t.runEncode(ctx, args, job.Info.Duration, progress)
	if err == nil {
		var st os.FileInfo
		if st, err = os.Stat(tmp); err == nil && st.Size() == 0 {
			err = errors.New("ffmpeg wrote nothing")
		}
	}
	if err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			log.Info("encode canceled", "err", ctx.Err())
			return fmt.Errorf("media: encode %s canceled: %w", job.Output, ctx.Err())
		}
		err = classifyWriteErr(err, dir)
		log.Warn("encode failed", "err", err)
		return fmt.Errorf("media: encode %s: %w", job.Output, err)
	}
	if err := commit(tmp, job.Output); err != nil {
		return fmt.Errorf("media: encode %s: %w", job.Output, classifyWriteErr(err, dir))
	}
	log.Info("encoded", "took", time.Since(start).Round(time.Millisecond))
	if progress != nil {
		st, _ := os.Stat(job.Output)
		var size int64
		if st != nil {
			size = st.Size()
		}
		progress(Progress{Fraction: 1, OutTime: job.Info.Duration, Size: size, Done: true})
	}
	return nil
}

// encodeArgs is ffmpeg's command line for job writing to out.
func encodeArgs(job Job, out string) []string {
	info := job.Info
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-nostats", "-progress", "pipe:1"}
	preset := orDefault(job.Preset, DefaultPreset)
	crf := job.CRF
	if crf <= 0 {
		crf = DefaultCRF
	}
	maxFPS := job.MaxFPS
	if maxFPS <= 0 {
		maxFPS = DefaultMaxFPS
	}
	abr := job.AudioBitrate
	if abr <= 0 {
		abr = DefaultAudioBitrate
	}
	x264 := []string{"-c:v", "libx264", "-preset", preset, "-crf", strconv.Itoa(crf)}
	audio := func(input int) []string {
		if info.Audio == nil {
			return []string{"-an"}
		}
		a := []string{"-map", fmt.Sprintf("%d:%d", input, info.Audio.Index)}
		if info.Audio.Codec == "aac" && job.AudioBitrate == 0 {
			return append(a, "-c:a", "copy")
		}
		return append(a, "-c:a", "aac", "-b:a", strconv.Itoa(abr))
	}

	switch {
	case job.Remux:
		args = append(args, "-i", ffPath(job.Input))
		if info.Video != nil {
			args = append(args, "-map", fmt.Sprintf("0:%d", info.Video.Index))
		}
		if info.Audio != nil {
			args = append(args, "-map", fmt.Sprintf("0:%d", info.Audio.Index))
		}
		args = append(args, "-c", "copy")

	case info.Video == nil && job.Still != "":
		// A still image for the length of the audio: one frame per second
		// is plenty, and x264 spends almost nothing on repeated frames.
		scale := "scale=trunc(iw/2)*2:trunc(ih/2)*2"
		if job.Resolution > 0 {
			scale = fmt.Sprintf("scale=-2:'min(%d,trunc(ih/2)*2)'", job.Resolution)
		}
		args = append(args, "-loop", "1", "-framerate", "1", "-i", ffPath(job.Still), "-i", ffPath(job.Input),
			"-map", "0:v:0", "-vf", scale+",setsar=1,format=yuv420p")
		args = append(args, x264...)
		args = append(args, "-tune", "stillimage", "-r", "1")
		args = append(args, audio(1)...)
		args = append(args, "-shortest", "-t", fmt.Sprintf("%.3f", info.Duration.Seconds()))

	case info.Video == nil:
		args = append(args, "-i", ffPath(job.Input), "-vn")
		args = append(args, audio(0)...)

	default:
		w, h := OutputSize(info, job.Resolution)
		vf := fmt.Sprintf("scale=%d:%d,setsar=1,format=yuv420p", w, h)
		if info.Video.FPS > maxFPS+0.01 {
			vf += fmt.Sprintf(",fps=%g", maxFPS)
		}
		args = append(args, "-i", ffPath(job.Input), "-map", fmt.Sprintf("0:%d", info.Video.Index), "-vf", vf)
		args = append(args, x264...)
		args = append(args, audio(0)...)
	}
	if job.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(job.Threads))
	}
	return append(args, "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
		"-max_muxing_queue_size", "1024", "-movflags", "+faststart", "-f", "mp4", ffPath(out))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// runEncode runs ffmpeg, turning its -progress stream into callbacks.
func (t *Tool) runEncode(ctx context.Context, args []string, total time.Duration, progress func(Progress)) error {
	cmd := command(ctx, t.ffmpeg(), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	errTail := &tailBuffer{max: 8192}
	cmd.Stderr = errTail
	if err := cmd.Start(); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("%w: %v", ErrNoTool, err)
		}
		return err
	}
	readProgress(stdout, total, progress)
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return &toolError{tool: "ffmpeg", err: err, stderr: errTail.String()}
	}
	return nil
}

// readProgress parses ffmpeg's "key=value" blocks, each ended by a
// "progress=continue|end" line.
func readProgress(r io.Reader, total time.Duration, progress func(Progress)) {
	sc := bufio.NewScanner(r)
	var p Progress
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "out_time_us":
			if us, err := strconv.ParseInt(val, 10, 64); err == nil && us >= 0 {
				p.OutTime = time.Duration(us) * time.Microsecond
			}
		case "fps":
			p.FPS, _ = strconv.ParseFloat(val, 64)
		case "total_size":
			p.Size, _ = strconv.ParseInt(val, 10, 64)
		case "speed":
			p.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(val, "x"), 64)
		case "progress":
			if total > 0 {
				p.Fraction = min(1, max(0, float64(p.OutTime)/float64(total)))
			}
			if progress != nil {
				progress(p)
			}
		}
	}
}

// classifyWriteErr turns "the disk is full" into ErrDiskFull, whether it
// came from our own writes or from ffmpeg's message or death by SIGXFSZ.
func classifyWriteErr(err error, dir string) error {
	if err == nil || errors.Is(err, ErrDiskFull) {
		return err
	}
	full := errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG)
	var te *toolError
	if errors.As(err, &te) {
		s := te.stderr
		full = full || strings.Contains(s, "No space left on device") || strings.Contains(s, "File too large")
		var ee *exec.ExitError
		full = full || errors.As(te.err, &ee) && killedByFileSizeLimit(ee)
	}
	if !full {
		if free, ok := freeSpace(dir); ok && free < 64<<10 {
			full = true
		}
	}
	if full {
		return fmt.Errorf("%w in %s (%v)", ErrDiskFull, dir, err)
	}
	return err
}
