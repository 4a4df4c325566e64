package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/library"
)

const browseUsage = `Usage: fourmi [--data DIR] browse [--json] [--search Q | --channel C | --account A]
                                 [--count N] [--sort S] [--page P] INSTANCE

Prints one page of a catalog: title, channel, duration, views and URL.
INSTANCE is a PeerTube host or URL (framatube.org, https://video.blender.org),
"global" for the global search index, or "local" for everything already in
your library (works offline). --channel and --account list one channel's or
account's videos on INSTANCE. The page is cached in the library, so the app
shows it too.

Flags:
`

// browseVideo is the --json shape of one video.
type browseVideo struct {
	UUID        string    `json:"uuid"`
	Name        string    `json:"name"`
	Channel     string    `json:"channel"`
	ChannelName string    `json:"channelDisplayName"`
	Account     string    `json:"account"`
	Origin      string    `json:"origin"`
	Duration    int       `json:"duration"` // seconds
	Views       int64     `json:"views"`
	PublishedAt time.Time `json:"publishedAt"`
	URL         string    `json:"url"`
	Thumbnail   string    `json:"thumbnailUrl,omitempty"`
}

type browseResult struct {
	Source string        `json:"source"`
	Total  int           `json:"total"`
	Page   int           `json:"page"`
	Videos []browseVideo `json:"videos"`
}

func runBrowse(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("browse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	search := fs.String("search", "", "search `text` instead of listing")
	count := fs.Int("count", 15, "videos per page, 1–100")
	sortBy := fs.String("sort", "", "recent, trending, views or relevance (default: recent; relevance when searching)")
	page := fs.Int("page", 1, "page `number`, from 1")
	channel := fs.String("channel", "", "list the videos of this channel `name` on INSTANCE")
	account := fs.String("account", "", "list the videos of this account `name` on INSTANCE")
	fs.Usage = func() {
		fmt.Fprint(stderr, browseUsage)
		fs.PrintDefaults()
	}
	instance, ok, err := parseOperand(fs, args, "INSTANCE")
	if !ok {
		return err
	}
	if *count < 1 || *count > 100 {
		return usageError{fmt.Errorf("--count %d: must be 1–100", *count)}
	}
	if *page < 1 {
		return usageError{fmt.Errorf("--page %d: pages start at 1", *page)}
	}
	if n := countSet(*search != "", *channel != "", *account != ""); n > 1 {
		return usageError{errors.New("--search, --channel and --account go one at a time")}
	}
	sort := library.Sort(*sortBy)
	switch sort {
	case "", library.SortRecent, library.SortTrending, library.SortMostViewed, library.SortRelevance:
	default:
		return usageError{fmt.Errorf("--sort %q: want recent, trending, views or relevance", *sortBy)}
	}

	lib, closeLib, err := openLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()

	src, err := browseSource(ctx, lib, instance)
	if err != nil {
		return err
	}
	if *channel != "" || *account != "" {
		if src.Kind != library.SourceInstance {
			return usageError{errors.New("--channel and --account need an instance, not " + instance)}
		}
		base := strings.TrimSuffix(src.URL, "/")
		if *channel != "" {
			src = library.Source{Kind: library.SourceChannel, Host: src.Host, Name: *channel, Actor: *channel, URL: base + "/video-channels/" + *channel}
		} else {
			src = library.Source{Kind: library.SourceAccount, Host: src.Host, Name: *account, Actor: *account, URL: base + "/accounts/" + *account}
		}
	}
	q := library.Query{Source: src, Search: *search, Sort: sort, Page: *page - 1, PageSize: *count}
	var p library.Page
	if src.Kind == library.SourceLocal {
		p, err = lib.Cached(ctx, q)
	} else {
		p, err = lib.Fetch(ctx, q)
	}
	if err != nil {
		return err
	}
	res := browseResult{Source: src.Name, Total: p.Total, Page: *page, Videos: []browseVideo{}}
	for _, v := range p.Videos {
		res.Videos = append(res.Videos, browseVideo{
			UUID: v.UUID, Name: v.Name, Channel: v.Channel.Handle(), ChannelName: v.Channel.DisplayName,
			Account: v.Account.Handle(), Origin: v.Origin, Duration: int(v.Duration / time.Second),
			Views: v.Views, PublishedAt: v.PublishedAt, URL: v.URL, Thumbnail: v.ThumbnailURL,
		})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTable(stdout, res)
	return nil
}

// browseSource turns the INSTANCE argument into a catalog source, adding
// (and so validating) an instance the library does not know yet.
func browseSource(ctx context.Context, lib *library.Library, arg string) (library.Source, error) {
	sources, err := lib.Sources(ctx)
	if err != nil {
		return library.Source{}, err
	}
	want := strings.ToLower(strings.TrimSpace(arg))
	for _, s := range sources {
		switch {
		case want == "local" && s.Kind == library.SourceLocal,
			want == "global" && s.Kind == library.SourceGlobal:
			return s, nil
		}
	}
	known, err := lib.Instances(ctx)
	if err != nil {
		return library.Source{}, err
	}
	host := peertube.HostOf(arg)
	i := slices.IndexFunc(known, func(in library.Instance) bool { return in.Host == host && !in.CheckedAt.IsZero() })
	var inst library.Instance
	if i >= 0 {
		inst = known[i]
	} else if inst, err = lib.AddInstance(ctx, arg); err != nil {
		return library.Source{}, err
	}
	return library.Source{Kind: library.SourceInstance, Host: inst.Host, Name: inst.Name, URL: inst.BaseURL}, nil
}

func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

func printTable(w io.Writer, res browseResult) {
	first := (res.Page-1)*max(len(res.Videos), 1) + 1
	if len(res.Videos) == 0 {
		fmt.Fprintf(w, "%s: no videos (total %d)\n", res.Source, res.Total)
		return
	}
	fmt.Fprintf(w, "%s — %d videos in all, page %d\n", res.Source, res.Total, res.Page)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTITLE\tCHANNEL\tDURATION\tVIEWS\tURL")
	for i, v := range res.Videos {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", first+i, clip(v.Name, 48), clip(v.Channel, 32),
			formatDuration(time.Duration(v.Duration)*time.Second), v.Views, v.URL)
	}
	tw.Flush()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func formatDuration(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
