package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

const followUsage = `Usage: fourmi [--data DIR] follow HANDLE|URL
       fourmi [--data DIR] follow --import FILE
       fourmi [--data DIR] follow --export FILE
       fourmi [--data DIR] follow

Follows a channel or account of any PeerTube (or Fourmi) instance: HANDLE is
name@host, URL its page or actor URL. Its new videos appear in "fourmi feed"
and in the app's Subscriptions. When your instance is hosting, it also
follows over ActivityPub. --import reads an OPML file, PeerTube's
following.json or a JSON list of handles; --export writes OPML (FILE ending
in .opml or .xml) or PeerTube's following.json (.json). Without arguments it
lists what you follow.

Flags:
`

const unfollowUsage = `Usage: fourmi [--data DIR] unfollow HANDLE|URL

Stops following a channel or account (and sends the ActivityPub Undo when
your instance followed it).
`

const feedUsage = `Usage: fourmi [--data DIR] feed [--json] [--count N] [--no-refresh]

Polls the channels and accounts you follow, then prints your subscription
feed newest first: date, channel, title and URL.

Flags:
`

func runFollow(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("follow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	importFile := fs.String("import", "", "follow everything in `FILE` (OPML, following.json, JSON handles)")
	exportFile := fs.String("export", "", "write what you follow to `FILE` (.opml/.xml: OPML, .json: PeerTube)")
	fs.Usage = func() {
		fmt.Fprint(stderr, followUsage)
		fs.PrintDefaults()
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	modes := countSet(*importFile != "", *exportFile != "", len(positional) > 0)
	if modes > 1 || len(positional) > 1 {
		fs.Usage()
		return usageError{errors.New("give one HANDLE|URL, or --import FILE, or --export FILE")}
	}
	lib, closeLib, err := openLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()
	switch {
	case *importFile != "":
		f, err := os.Open(*importFile)
		if err != nil {
			return err
		}
		defer f.Close()
		res, err := lib.ImportSubscriptions(ctx, f)
		if err != nil {
			return err
		}
		for _, s := range res.Added {
			fmt.Fprintf(stdout, "following %s (%s)\n", s.Handle(), s.DisplayName)
		}
		for _, fl := range res.Failed {
			fmt.Fprintf(stderr, "fourmi: could not follow %s: %v\n", fl.Entry, fl.Err)
		}
		if len(res.Added) == 0 {
			return errors.New("nothing was imported")
		}
		return nil
	case *exportFile != "":
		format := library.FormatOPML
		switch strings.ToLower(filepath.Ext(*exportFile)) {
		case ".json":
			format = library.FormatPeerTube
		case ".opml", ".xml":
		default:
			return usageError{fmt.Errorf("--export %s: name the file .opml, .xml or .json", *exportFile)}
		}
		tmp := *exportFile + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if err := lib.ExportSubscriptions(ctx, f, format); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
		if err := f.Close(); err != nil {
			os.Remove(tmp)
			return err
		}
		return os.Rename(tmp, *exportFile)
	case len(positional) == 1:
		s, err := lib.Subscribe(ctx, positional[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "following %s (%s) — %s\n", s.Handle(), s.DisplayName, s.Actor)
		return nil
	}
	subs, err := lib.Subscriptions(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLE\tNAME\tSTATE\tLAST POLL")
	for _, s := range subs {
		state := s.State
		if s.Error != "" {
			state += ": " + s.Error
		}
		last := "never"
		if !s.LastPoll.IsZero() {
			last = s.LastPoll.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Handle(), s.DisplayName, state, last)
	}
	return tw.Flush()
}

func runUnfollow(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("unfollow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, unfollowUsage) }
	target, ok, err := parseOperand(fs, args, "HANDLE|URL")
	if !ok {
		return err
	}
	lib, closeLib, err := openLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()
	s, err := lib.SubscriptionByHandle(ctx, target)
	if err != nil {
		return err
	}
	if err := lib.Unsubscribe(ctx, s.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "no longer following %s\n", s.Handle())
	return nil
}

// feedVideo is the --json shape of one feed item.
type feedVideo struct {
	UUID        string    `json:"uuid"`
	Name        string    `json:"name"`
	Channel     string    `json:"channel"`
	ChannelName string    `json:"channelDisplayName"`
	PublishedAt time.Time `json:"publishedAt"`
	FirstSeen   time.Time `json:"firstSeen"`
	Unseen      bool      `json:"unseen"`
	URL         string    `json:"url"`
	Duration    int       `json:"duration"` // seconds
}

func runFeed(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("feed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	count := fs.Int("count", 20, "how many videos, 1–500")
	noRefresh := fs.Bool("no-refresh", false, "print what is known without polling (offline)")
	fs.Usage = func() {
		fmt.Fprint(stderr, feedUsage)
		fs.PrintDefaults()
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if len(positional) > 0 {
		return usageError{fmt.Errorf("unexpected %q: feed takes no arguments", positional[0])}
	}
	if *count < 1 || *count > 500 {
		return usageError{fmt.Errorf("--count %d: must be 1–500", *count)}
	}
	lib, closeLib, err := openLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()
	if !*noRefresh {
		// A channel that fails is reported; the feed still prints.
		if err := lib.RefreshSubscriptions(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "fourmi: %s\n", line)
			}
		}
	}
	items, err := lib.Feed(ctx, *count)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]feedVideo, len(items))
		for i, it := range items {
			out[i] = feedVideo{UUID: it.Video.UUID, Name: it.Video.Name, Channel: it.Subscription.Handle(),
				ChannelName: it.Subscription.DisplayName, PublishedAt: it.Video.PublishedAt, FirstSeen: it.FirstSeen,
				Unseen: it.Unseen, URL: it.Video.URL, Duration: int(it.Video.Duration.Seconds())}
			if it.Video.Channel.Name != "" {
				out[i].Channel, out[i].ChannelName = it.Video.Channel.Handle(), it.Video.Channel.DisplayName
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(items) == 0 {
		fmt.Fprintln(stderr, `fourmi: the feed is empty (follow channels with "fourmi follow name@host")`)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tCHANNEL\tTITLE\tURL")
	for _, it := range items {
		ch := it.Video.Channel.Handle()
		if it.Video.Channel.Name == "" {
			ch = it.Subscription.Handle()
		}
		title := it.Video.Name
		if it.Unseen {
			title = "• " + title
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Video.PublishedAt.Local().Format("2006-01-02"), ch, title, it.Video.URL)
	}
	return tw.Flush()
}
