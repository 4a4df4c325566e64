package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

const getUsage = `Usage: fourmi [--data DIR] get [--seed-for DURATION] [--resolution R] URL|magnet|torrent

Downloads a video through BitTorrent (the instance's web seed and peers),
waits until every piece is verified, prints the file's path, then keeps
seeding for DURATION (e.g. 30m, 2h; default 0: stop when done).
The argument is a PeerTube video URL, a magnet link, a .torrent URL or a
local .torrent file.

Flags:
`

func runGet(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seedFor := fs.Duration("seed-for", 0, "keep seeding this long after the download")
	resolution := fs.Int("resolution", 0, "video height to fetch, e.g. 720 (default: best ≤ the max-resolution setting)")
	quiet := fs.Bool("quiet", false, "no progress line")
	fs.Usage = func() {
		fmt.Fprint(stderr, getUsage)
		fs.PrintDefaults()
	}
	input, ok, err := parseOperand(fs, args, "URL, magnet or torrent")
	if !ok {
		return err
	}
	if *seedFor < 0 || *resolution < 0 {
		return usageError{errors.New("--seed-for and --resolution cannot be negative")}
	}

	lib, closeLib, err := startLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()

	res, err := lib.OpenURL(ctx, input)
	if err != nil {
		return err
	}
	var tr library.Transfer
	switch {
	case res.Video != nil:
		if tr, err = lib.Download(ctx, res.Video.UUID, *resolution); err != nil {
			return err
		}
	case res.Transfer != nil:
		tr = *res.Transfer
	default:
		return errors.New("nothing to download at that address")
	}
	fmt.Fprintf(stderr, "fourmi: getting %s (%s)\n", tr.Name, tr.InfoHash)

	progress := newProgressLine(stderr, *quiet)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		tr, err = lib.TransferByHash(ctx, tr.InfoHash)
		if err != nil {
			return err
		}
		progress.show(tr)
		if tr.State == library.StateError {
			progress.done()
			return fmt.Errorf("download failed: %s", tr.Stats.Error)
		}
		if tr.Stats.Size > 0 && tr.Stats.Completed >= tr.Stats.Size {
			break
		}
		select {
		case <-ctx.Done():
			progress.done()
			return fmt.Errorf("interrupted at %.1f%%; run the same command again to finish (verified pieces are kept)", 100*tr.Stats.Progress())
		case <-tick.C:
		}
	}
	progress.done()
	path, err := lib.TransferPath(ctx, tr.InfoHash)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "fourmi: complete and verified, %s from the web seed, %s from peers\n",
		formatBytes(tr.Stats.FromWebSeed), formatBytes(tr.Stats.FromPeers))
	fmt.Fprintln(stdout, path)

	if *seedFor == 0 {
		return nil
	}
	fmt.Fprintf(stderr, "fourmi: seeding for %s (Ctrl+C stops)\n", *seedFor)
	deadline := time.NewTimer(*seedFor)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			progress.done()
			return nil
		case <-deadline.C:
			tr, _ = lib.TransferByHash(context.Background(), tr.InfoHash)
			progress.done()
			fmt.Fprintf(stderr, "fourmi: seeded %s (ratio %.2f)\n", formatBytes(tr.Stats.Uploaded), tr.Stats.Ratio())
			return nil
		case <-tick.C:
			if tr, err = lib.TransferByHash(ctx, tr.InfoHash); err == nil {
				progress.show(tr)
			}
		}
	}
}

// parseOperand parses the flags, which may come before and after the one
// operand (what, in the error), and returns the operand. ok is false when
// the command stops there: after -h (err is nil) or with a usageError.
func parseOperand(fs *flag.FlagSet, args []string, what string) (operand string, ok bool, err error) {
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", false, nil
		}
		return "", false, usageError{err}
	}
	if len(positional) != 1 {
		fs.Usage()
		return "", false, usageError{errors.New("want exactly one " + what)}
	}
	return positional[0], true, nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// progressLine rewrites one status line on a terminal.
type progressLine struct {
	w     io.Writer
	quiet bool
	width int
}

func newProgressLine(w io.Writer, quiet bool) *progressLine { return &progressLine{w: w, quiet: quiet} }

func (p *progressLine) show(tr library.Transfer) {
	if p.quiet {
		return
	}
	s := tr.Stats
	line := fmt.Sprintf("%5.1f%%  %s/%s  ↓ %s/s  ↑ %s/s  peers %d  web seed %s  peers %s  %s",
		100*s.Progress(), formatBytes(s.Completed), formatBytes(s.Size), formatBytes(int64(s.DownloadRate)),
		formatBytes(int64(s.UploadRate)), s.Peers, formatBytes(s.FromWebSeed), formatBytes(s.FromPeers), tr.State)
	pad := ""
	if n := p.width - len([]rune(line)); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len([]rune(line))
	fmt.Fprint(p.w, "\r"+line+pad)
}

func (p *progressLine) done() {
	if !p.quiet && p.width > 0 {
		fmt.Fprintln(p.w)
		p.width = 0
	}
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
