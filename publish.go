package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

const publishUsage = `Usage: fourmi [--data DIR] publish --title T [--description D] [--tags a,b]
                                  [--channel C] [--resolutions 720,360]
                                  [--privacy public|unlisted|private] [--nsfw]
                                  [--category N] [--licence N] [--language L]
                                  [--support S] [--json] [--quiet] FILE

Publishes a local video (or audio) file: probes it, makes thumbnails, encodes
it to web-playable MP4 (and the lower resolutions asked for), creates one
torrent per file and seeds it. Prints the video's UUID, a magnet link per
file and, when hosting, the video's address. The metadata is checked as
PeerTube checks it before anything is stored (exit status 2 when it fails).
Ctrl+C cancels the job and removes what it made.

Flags:
`

// publishResult is the --json shape.
type publishResult struct {
	UUID     string              `json:"uuid"`
	Title    string              `json:"title"`
	Duration float64             `json:"duration"` // seconds
	URL      string              `json:"url,omitempty"`
	Files    []publishResultFile `json:"files"`
}

type publishResultFile struct {
	Resolution int    `json:"resolution"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Size       int64  `json:"size"`
	Path       string `json:"path"`
	InfoHash   string `json:"infoHash"`
	Magnet     string `json:"magnet"`
	Torrent    string `json:"torrent"`
	WebSeed    string `json:"webSeed,omitempty"`
}

func runPublish(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	title := fs.String("title", "", "the video's `title`, 3–120 characters (required)")
	description := fs.String("description", "", "`markdown` description, up to 10,000 characters")
	tags := fs.String("tags", "", "comma-separated `tags`: up to 5, each 2–30 characters")
	channel := fs.String("channel", "", "local channel `name` (default: the default channel)")
	resolutions := fs.String("resolutions", "", "extra `heights` to encode, e.g. 720,360 (never above the source)")
	privacy := fs.String("privacy", "public", "public, unlisted or private")
	nsfw := fs.Bool("nsfw", false, "mark as sensitive content")
	category := fs.Int("category", 0, "PeerTube category `id` (0: none)")
	licence := fs.Int("licence", 0, "PeerTube licence `id` (0: none)")
	language := fs.String("language", "", "language `code`, e.g. en")
	support := fs.String("support", "", "how viewers can support you")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	fs.Usage = func() {
		fmt.Fprint(stderr, publishUsage)
		fs.PrintDefaults()
	}
	file, ok, err := parseOperand(fs, args, "FILE")
	if !ok {
		return err
	}
	req := library.PublishRequest{File: file}
	req.Meta = library.Metadata{
		Title: *title, Description: *description, Tags: splitList(*tags), Channel: *channel,
		NSFW: *nsfw, Category: *category, Licence: *licence, Language: *language, Support: *support,
	}
	if req.Meta.Privacy, err = library.ParsePrivacy(*privacy); err != nil {
		return usageError{fmt.Errorf("--privacy %q: %w", *privacy, err)}
	}
	for _, r := range splitList(*resolutions) {
		h, err := strconv.Atoi(strings.TrimSuffix(r, "p"))
		if err != nil || h < 144 || h > 4320 {
			return usageError{fmt.Errorf("--resolutions: %q is not a video height (e.g. 720)", r)}
		}
		req.Resolutions = append(req.Resolutions, h)
	}
	// Bad metadata stops here, before the library is opened.
	if err := library.ValidateMetadata(req.Meta); err != nil {
		return usageError{fieldErrors(err)}
	}
	if st, err := os.Stat(file); err != nil {
		return fmt.Errorf("cannot read %s: %w", file, errors.Unwrap(err))
	} else if st.IsDir() {
		return fmt.Errorf("%s is a directory, not a video file", file)
	}

	lib, closeLib, err := startLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()

	progress := newPublishProgress(stderr, *quiet || !isTerminal(stderr), *quiet)
	unsubscribe := lib.SubscribePublish(progress.update)
	defer unsubscribe()
	v, err := lib.Publish(ctx, req)
	if err != nil {
		var ve library.ValidationError
		if errors.As(err, &ve) {
			return usageError{fieldErrors(err)}
		}
		return err
	}
	uuid := v.UUID
	progress.follow(uuid)
	if !*quiet {
		fmt.Fprintf(stderr, "fourmi: publishing %q as %s\n", v.Meta.Title, uuid)
	}
	v, err = lib.WaitPublished(ctx, uuid)
	progress.done()
	if err != nil {
		if ctx.Err() != nil {
			// Ctrl+C: the job is cancelled, its files removed.
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if cerr := lib.CancelPublish(cctx, uuid); cerr != nil {
				return fmt.Errorf("interrupted, and cancelling failed: %w", cerr)
			}
			return errors.New("interrupted: publishing was cancelled, nothing was kept")
		}
		return fmt.Errorf("publishing failed: %w", err)
	}

	publicURL, _, err := lib.Setting(ctx, library.SettingPublicURL)
	if err != nil {
		return err
	}
	watchURL := ""
	if publicURL != "" {
		watchURL = strings.TrimRight(publicURL, "/") + "/videos/watch/" + v.UUID
	}
	res := publishResult{UUID: v.UUID, Title: v.Meta.Title, Duration: v.Duration.Seconds(), URL: watchURL}
	files := v.Files
	for i := range files {
		best := i
		for j := i + 1; j < len(files); j++ {
			if files[j].Resolution > files[best].Resolution {
				best = j
			}
		}
		files[i], files[best] = files[best], files[i]
	}
	for _, f := range files {
		res.Files = append(res.Files, publishResultFile{Resolution: f.Resolution, Width: f.Width, Height: f.Height,
			Size: f.Size, Path: f.Path, InfoHash: f.InfoHash, Magnet: f.Magnet, Torrent: f.TorrentPath, WebSeed: f.WebSeedURL})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "uuid\t%s\n", res.UUID)
	for _, f := range res.Files {
		fmt.Fprintf(stdout, "magnet\t%s\t%s\n", resLabel(f.Resolution), f.Magnet)
	}
	if watchURL != "" {
		fmt.Fprintf(stdout, "url\t%s\n", watchURL)
	}
	return nil
}

func resLabel(h int) string {
	if h == 0 {
		return "audio"
	}
	return strconv.Itoa(h) + "p"
}

// splitList reads "a, b,c" as [a b c].
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fieldErrors turns a ValidationError into one line per field, named as
// the flag that sets it.
func fieldErrors(err error) error {
	var ve library.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	lines := make([]string, len(ve))
	for i, f := range ve {
		name := "--" + f.Field
		if f.Field == "file" {
			name = "FILE"
		}
		lines[i] = name + ": " + f.Message
	}
	return errors.New("the video cannot be published:\n  " + strings.Join(lines, "\n  "))
}

// isTerminal says whether w is a terminal (progress then rewrites a line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// publishProgress shows the job's progress on stderr: one rewritten line
// on a terminal; otherwise a line when a step starts or ends.
type publishProgress struct {
	w      io.Writer
	lines  bool // a line per step change, not a rewritten one
	silent bool

	mu    sync.Mutex
	uuid  string
	last  string // the last step line printed (lines mode)
	width int
}

func newPublishProgress(w io.Writer, lines, silent bool) *publishProgress {
	return &publishProgress{w: w, lines: lines, silent: silent}
}

func (p *publishProgress) follow(uuid string) {
	p.mu.Lock()
	p.uuid = uuid
	p.mu.Unlock()
}

// update runs on a library goroutine for every job's progress.
func (p *publishProgress) update(pp library.PublishProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.silent || pp.UUID != p.uuid {
		return
	}
	step := "waiting"
	for _, st := range pp.Steps {
		if !st.Done {
			step = string(st.Step)
			if st.Resolution > 0 {
				step += " " + resLabel(st.Resolution)
			}
			break
		}
		step = "done"
	}
	if p.lines {
		line := fmt.Sprintf("fourmi: %s: %s", pp.State, step)
		if line != p.last {
			p.last = line
			fmt.Fprintln(p.w, line)
		}
		return
	}
	line := fmt.Sprintf("%5.1f%%  %s  %s", 100*pp.Overall, pp.State, step)
	pad := ""
	if n := p.width - len([]rune(line)); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len([]rune(line))
	fmt.Fprint(p.w, "\r"+line+pad)
}

func (p *publishProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.lines && p.width > 0 {
		fmt.Fprintln(p.w)
		p.width = 0
	}
	p.uuid = ""
}
