package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PeerTube's image sizes.
const (
	ThumbnailWidth  = 280
	ThumbnailHeight = 157
	PreviewWidth    = 850
	PreviewHeight   = 480
)

// Names of the files Thumbnails writes in its output directory.
const (
	ThumbnailName = "thumbnail.jpg"
	PreviewName   = "preview.jpg"
)

// minLuma is the mean luma (0–255) below which a frame counts as black.
const minLuma = 24

// Thumbnails is Tool.Thumbnails on the zero Tool.
func Thumbnails(ctx context.Context, path string, info Info, outDir string) (thumb, preview string, err error) {
	return defaultTool.Thumbnails(ctx, path, info, outDir)
}

// Thumbnails writes outDir/thumbnail.jpg (280×157) and outDir/preview.jpg
// (850×480) for the probed file at path, replacing older ones.
//
// The frame: ffmpeg seeks to 10% of the duration and its thumbnail filter
// picks the most representative frame of the next second or so; a frame
// whose mean luma is below 24/255 (black, a fade) is rejected and the
// search moves on to 30%, 50% and 70%; if every candidate is dark the
// brightest is used. The images are cropped to fill (the frame scaled to
// cover the size, its centre kept), as PeerTube does, so pixels are square
// and there are no bars. An audio file gets its cover art when it has one,
// else a generated gradient, so every publication has images. Both files
// are written to temporary names and renamed when complete.
func (t *Tool) Thumbnails(ctx context.Context, path string, info Info, outDir string) (thumb, preview string, err error) {
	thumb = filepath.Join(outDir, ThumbnailName)
	preview = filepath.Join(outDir, PreviewName)
	tmpT, err := createTemp(outDir, ThumbnailName)
	if err != nil {
		return "", "", fmt.Errorf("media: thumbnails: %w", err)
	}
	tmpP, err := createTemp(outDir, PreviewName)
	if err != nil {
		os.Remove(tmpT)
		return "", "", fmt.Errorf("media: thumbnails: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.Remove(tmpT)
			os.Remove(tmpP)
		}
	}()

	switch {
	case info.Video != nil:
		err = t.videoFrames(ctx, path, info, tmpT, tmpP)
	case info.Cover >= 0:
		err = t.extract(ctx, path, info.Cover, 0, 0, 1, 1, tmpT, tmpP)
		if err == nil {
			_, err = jpegLuma(tmpP) // ffmpeg may succeed without an image
		}
		if err != nil {
			t.log().Info("cover art unusable, drawing a still", "path", path, "err", err)
			err = writeStills(tmpT, tmpP)
		}
	default:
		err = writeStills(tmpT, tmpP)
	}
	if err != nil {
		return "", "", fmt.Errorf("media: thumbnails of %s: %w", path, classifyWriteErr(err, outDir))
	}
	if err := commit(tmpT, thumb); err != nil {
		return "", "", fmt.Errorf("media: thumbnails: %w", err)
	}
	if err := commit(tmpP, preview); err != nil {
		return "", "", fmt.Errorf("media: thumbnails: %w", err)
	}
	done = true
	return thumb, preview, nil
}

// videoFrames tries candidate positions until a frame is bright enough.
// A position that yields no frame (past the end of a video track shorter
// than the audio, a damaged stretch) is skipped; if none does, the first
// frames are used.
func (t *Tool) videoFrames(ctx context.Context, path string, info Info, tmpT, tmpP string) error {
	v := info.Video
	aspect := v.Aspect()
	window := 25
	if v.FPS > 0 {
		window = max(5, min(60, int(math.Round(v.FPS))))
	}
	bestLuma := -1.0
	var best [2][]byte
	var lastErr error
	for _, frac := range []float64{0.10, 0.30, 0.50, 0.70} {
		at := time.Duration(float64(info.Duration) * frac)
		luma, err := t.candidate(ctx, path, v.Index, at, window, aspect, tmpT, tmpP)
		if err != nil {
			if ctx.Err() != nil || errors.Is(classifyWriteErr(err, filepath.Dir(tmpT)), ErrDiskFull) {
				return err
			}
			t.log().Debug("thumbnail candidate failed", "path", path, "at", at, "err", err)
			lastErr = err
			continue
		}
		t.log().Debug("thumbnail candidate", "path", path, "at", at, "luma", luma)
		if luma >= minLuma {
			return nil
		}
		if luma > bestLuma {
			bestLuma = luma
			if best[0], err = os.ReadFile(tmpT); err != nil {
				return err
			}
			if best[1], err = os.ReadFile(tmpP); err != nil {
				return err
			}
		}
	}
	if bestLuma < 0 {
		// No candidate gave a frame: take the start of the video.
		if _, err := t.candidate(ctx, path, v.Index, 0, window, aspect, tmpT, tmpP); err != nil {
			return errors.Join(lastErr, err)
		}
		return nil
	}
	// All dark: keep the brightest.
	if err := os.WriteFile(tmpT, best[0], 0o644); err != nil {
		return err
	}
	return os.WriteFile(tmpP, best[1], 0o644)
}

// candidate extracts the images at one position and returns their luma.
func (t *Tool) candidate(ctx context.Context, path string, idx int, at time.Duration, window int,
	aspect float64, tmpT, tmpP string) (float64, error) {
	if err := t.extract(ctx, path, idx, at, window, aspect, 0, tmpT, tmpP); err != nil {
		return 0, err
	}
	return jpegLuma(tmpP)
}

// extract writes both JPEGs from stream idx of path: seeked to at, the
// thumbnail filter over window frames (0: the first frame), cropped to fill.
// aspect is the displayed aspect ratio of the stream; for a cover (aspect
// unknown) pass aspect 1 and cover 1 to let ffmpeg compute it.
func (t *Tool) extract(ctx context.Context, path string, idx int, at time.Duration, window int,
	aspect float64, cover int, tmpT, tmpP string) error {
	fill := func(w, h int) string {
		if cover == 1 {
			return fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=increase,format=yuvj422p,crop=%d:%d,setsar=1", w, h, w, h)
		}
		// 4:2:2 before the crop: with 4:2:0 the crop would round 157 down to 156.
		sw, sh := coverSize(aspect, w, h)
		return fmt.Sprintf("scale=%d:%d,format=yuvj422p,crop=%d:%d,setsar=1", sw, sh, w, h)
	}
	pick := "null"
	if window > 0 {
		// Score small frames: the filter keeps window frames in memory.
		pick = fmt.Sprintf("scale=%s,thumbnail=%d", fitWithin(aspect, PreviewWidth*2, PreviewHeight*2), window)
	}
	graph := fmt.Sprintf("[0:%d]%s,split=2[a][b];[a]%s[t];[b]%s[p]",
		idx, pick, fill(ThumbnailWidth, ThumbnailHeight), fill(PreviewWidth, PreviewHeight))
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}
	if at > 0 {
		args = append(args, "-ss", fmt.Sprintf("%.3f", at.Seconds()))
	}
	args = append(args, "-i", ffPath(path), "-filter_complex", graph,
		"-map", "[t]", "-frames:v", "1", "-q:v", "3", "-f", "mjpeg", ffPath(tmpT),
		"-map", "[p]", "-frames:v", "1", "-q:v", "3", "-f", "mjpeg", ffPath(tmpP))
	if _, err := t.run(ctx, t.ffmpeg(), args...); err != nil {
		return err
	}
	for _, p := range []string{tmpT, tmpP} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			return fmt.Errorf("ffmpeg wrote no frame at %s", at)
		}
	}
	return nil
}

// coverSize is the size to scale a frame of the given aspect to so that it
// covers w×h; the excess is cropped.
func coverSize(aspect float64, w, h int) (sw, sh int) {
	if aspect <= 0 {
		return w, h
	}
	if aspect > float64(w)/float64(h) {
		return max(w, int(math.Ceil(float64(h)*aspect))), h
	}
	return w, max(h, int(math.Ceil(float64(w)/aspect)))
}

// fitWithin is a "W:H" scale argument for the aspect fitting inside bw×bh,
// never enlarging (ffmpeg expressions use the input size).
func fitWithin(aspect float64, bw, bh int) string {
	if aspect <= 0 {
		return "iw:ih"
	}
	w, h := bw, int(math.Round(float64(bw)/aspect))
	if h > bh {
		w, h = int(math.Round(float64(bh)*aspect)), bh
	}
	return fmt.Sprintf("'min(%d,iw)':'min(%d,ih)'", max(2, w), max(2, h))
}

// jpegLuma decodes a JPEG and returns its mean luma (0–255).
func jpegLuma(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("reading the frame: %w", err)
	}
	return meanLuma(img), nil
}

func meanLuma(img image.Image) float64 {
	r := img.Bounds()
	if r.Empty() {
		return 0
	}
	if yc, ok := img.(*image.YCbCr); ok {
		var sum int64
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := yc.Y[yc.YOffset(r.Min.X, y):]
			for x := 0; x < r.Dx(); x++ {
				sum += int64(row[x])
			}
		}
		return float64(sum) / float64(r.Dx()*r.Dy())
	}
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}

// writeStills draws the images of an audio-only publication: a diagonal
// gradient with a soft glow, the same for every file.
func writeStills(tmpT, tmpP string) error {
	if err := writeJPEG(tmpT, gradient(ThumbnailWidth, ThumbnailHeight)); err != nil {
		return err
	}
	return writeJPEG(tmpP, gradient(PreviewWidth, PreviewHeight))
}

func gradient(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	from := [3]float64{0x2b, 0x3a, 0x67} // indigo
	to := [3]float64{0xf2, 0x8c, 0x28}   // amber
	cx, cy := float64(w)*0.7, float64(h)*0.35
	radius := math.Hypot(float64(w), float64(h)) / 2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			k := (float64(x)/float64(w) + float64(y)/float64(h)) / 2
			glow := math.Max(0, 1-math.Hypot(float64(x)-cx, float64(y)-cy)/radius) * 0.35
			var c [3]uint8
			for i := range c {
				v := from[i] + (to[i]-from[i])*k
				v += (255 - v) * glow
				c[i] = uint8(math.Min(255, v))
			}
			img.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	return img
}

func writeJPEG(path string, img image.Image) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tmpMarker is in the name of every temporary file this package writes.
const tmpMarker = ".fourmi-part"

// createTemp makes an empty hidden temporary file in dir for the final
// name base: ".base.<random>.fourmi-part".
func createTemp(dir, base string) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".*"+tmpMarker)
	if err != nil {
		return "", err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// commit syncs tmp to disk and renames it to final.
func commit(tmp, final string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		d.Sync() // best effort: makes the rename durable
		d.Close()
	}
	return nil
}

// RemoveStale deletes the temporary files a crashed or killed Fourmi left
// in dir (names containing ".fourmi-part"), for a queue that restarts its
// interrupted jobs. It does not descend into subdirectories.
func RemoveStale(dir string) (removed int, err error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("media: remove stale: %w", err)
	}
	var errs []error
	for _, e := range es {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), tmpMarker) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("media: remove stale: %w", errors.Join(errs...))
	}
	return removed, nil
}
