// Command fourmi is a desktop peer for the PeerTube federation: it browses
// federated catalogs, watches while seeding, publishes and hosts. This file is the composition root: flags and subcommands, paths,
// logging, then open → run → close in reverse.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/fourmi-app/fourmi/internal/quietlocale"
	"github.com/fourmi-app/fourmi/library"
)

// version is set by the Makefile from git describe.
var version = "dev"

const usage = `Fourmi — a desktop peer for the PeerTube federation.

Usage:
  fourmi [--data DIR]                      open the app
  fourmi [--data DIR] URL|magnet|torrent   open the app on a PeerTube video, magnet or .torrent
  fourmi [--data DIR] browse [flags] INSTANCE
                                           print a catalog page (for scripts)
  fourmi [--data DIR] get [--seed-for D] [--resolution R] URL|magnet|torrent
                                           download through BitTorrent, verify, seed
  fourmi [--data DIR] publish --title T [flags] FILE
                                           publish a video file: encode, thumbnails, torrent, seed
  fourmi [--data DIR] serve [--listen ADDR] [--public-url URL] [--domain D]
                                           host your instance headless (no window)
  fourmi [--data DIR] follow HANDLE|URL    follow a channel (--import/--export FILE: OPML, JSON)
  fourmi [--data DIR] unfollow HANDLE|URL  stop following a channel
  fourmi [--data DIR] feed [--json] [--count N]
                                           poll what you follow, print the newest videos
  fourmi version                           print the version

Global flags:
  --data DIR        library location (default: %s)
  --verbose         debug logging on stderr
  --loopback-only   BitTorrent on 127.0.0.1 only, no DHT/PEX/port mapping
                    (tests, benchmarks)

Run "fourmi browse --help" (or publish/serve/follow/feed --help) for a command's flags.
`

func main() {
	quietlocale.Restore()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so tests can drive the CLI.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fourmi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "library location")
	verbose := fs.Bool("verbose", false, "debug logging")
	loopback := fs.Bool("loopback-only", false, "BitTorrent on 127.0.0.1 only: no DHT, PEX, port mapping or WebTorrent")
	fs.Usage = func() { fmt.Fprintf(stderr, usage, defaultDataDir()) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// The app logs its progress; commands keep stderr for what matters.
	level := slog.LevelWarn
	if fs.NArg() == 0 || looksLikeLink(fs.Arg(0)) {
		level = slog.LevelInfo
	}
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	dir := *dataDir
	if dir == "" {
		dir = defaultDataDir()
	}
	env := cliEnv{dir: dir, loopbackOnly: *loopback, logger: logger}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rest := fs.Args()
	cmd := ""
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	var err error
	switch cmd {
	case "":
		err = runApp(ctx, env, "")
	case "version", "--version":
		fmt.Fprintf(stdout, "fourmi %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "browse":
		err = runBrowse(ctx, env, rest, stdout, stderr)
	case "get":
		err = runGet(ctx, env, rest, stdout, stderr)
	case "publish":
		err = runPublish(ctx, env, rest, stdout, stderr)
	case "serve":
		err = runServe(ctx, env, rest, stdout, stderr)
	case "follow":
		err = runFollow(ctx, env, rest, stdout, stderr)
	case "unfollow":
		err = runUnfollow(ctx, env, rest, stdout, stderr)
	case "feed":
		err = runFeed(ctx, env, rest, stdout, stderr)
	case "help":
		fs.Usage()
	default:
		if looksLikeLink(cmd) && len(rest) == 0 {
			err = runApp(ctx, env, cmd)
			break
		}
		fmt.Fprintf(stderr, "fourmi: unknown command %q\n\n", cmd)
		fs.Usage()
		return 2
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "fourmi %s: %v\n", cmd, ue.error)
			return 2
		}
		fmt.Fprintf(stderr, "fourmi: %v\n", err)
		return 1
	}
	return 0
}

// looksLikeLink tells a link to open (fourmi URL) from a mistyped command.
func looksLikeLink(s string) bool {
	return strings.HasPrefix(s, "magnet:?") || strings.HasPrefix(s, "http://") ||
		strings.HasPrefix(s, "https://") || strings.HasSuffix(strings.ToLower(s), ".torrent")
}

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ error }

// defaultDataDir is where the library lives unless --data says otherwise:
// $XDG_DATA_HOME/fourmi (~/.local/share/fourmi) on Linux and BSDs, the
// platform's application-data directory elsewhere.
func defaultDataDir() string {
	switch runtime.GOOS {
	case "windows", "darwin":
		if d, err := os.UserConfigDir(); err == nil {
			return filepath.Join(d, "Fourmi")
		}
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "fourmi")
		}
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "share", "fourmi")
		}
	}
	return filepath.Join(os.TempDir(), "fourmi")
}

// cliEnv is what the global flags decided, for every command.
type cliEnv struct {
	dir          string
	loopbackOnly bool
	logger       *slog.Logger
}

// openLibrary prepares the data dir and opens the library in it; the
// returned func closes both.
func openLibrary(ctx context.Context, env cliEnv) (*library.Library, func(), error) {
	logger := env.logger
	closeCrash, err := prepareDataDir(env.dir)
	if err != nil {
		return nil, nil, err
	}
	lib, err := library.Open(ctx, library.Options{Dir: env.dir, Logger: logger, LoopbackOnly: env.loopbackOnly})
	if err != nil {
		closeCrash()
		return nil, nil, err
	}
	return lib, func() {
		if err := lib.Close(); err != nil {
			logger.Error("closing the library", "err", err)
		}
		closeCrash()
	}, nil
}

// startLibrary is openLibrary, then Start: BitTorrent and the seeding
// manager run until the returned func closes everything.
func startLibrary(ctx context.Context, env cliEnv) (*library.Library, func(), error) {
	lib, closeLib, err := openLibrary(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if err := lib.Start(ctx); err != nil {
		closeLib()
		return nil, nil, err
	}
	return lib, closeLib, nil
}

// prepareDataDir creates the data dir and sends crash output (panics, fatal
// runtime errors) to crash.log inside it.
func prepareDataDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the library directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "crash.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open crash log: %w", err)
	}
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
