package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/fourmi-app/fourmi/library"
)

const serveUsage = `Usage: fourmi [--data DIR] serve [--listen ADDR] [--public-url URL] [--domain D]
                                [--manual-approval] [--port-mapping]
                                [--account NAME] [--channel NAME] [--allow-private-networks]

Runs the library headless as a personal PeerTube-compatible instance: the
channel's actors, WebFinger, NodeInfo, the videos published with
"fourmi publish" (or the app), their files, torrents and web seeds, the
delivery of new videos to followers, and BitTorrent seeding. Flags given
are saved in the library's hosting configuration (the app's Instance screen
shows the same); flags not given keep the saved values. Stops cleanly on
Ctrl+C or SIGTERM.

Flags:
`

func runServe(ctx context.Context, env cliEnv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", library.DefaultHostListen, "`address` to listen on")
	publicURL := fs.String("public-url", "", "the instance's public `URL` (https://videos.example.org), without a path")
	domain := fs.String("domain", "", "serve HTTPS with a Let's Encrypt certificate for this `domain`")
	manual := fs.Bool("manual-approval", false, "keep follow requests pending until approved in the app")
	portMapping := fs.Bool("port-mapping", false, "ask the router (UPnP) to forward the port")
	account := fs.String("account", "", "the account's `name` ([a-z0-9_.], default: the saved one)")
	channel := fs.String("channel", "", "the channel's `name` ([a-z0-9_.], default: the saved one)")
	private := fs.Bool("allow-private-networks", false, "talk to instances on private and loopback addresses (LAN, tests)")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	// A server logs what it does.
	if !env.logger.Enabled(ctx, slog.LevelInfo) {
		env.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	lib, closeLib, err := openLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()

	c, err := lib.HostConfig(ctx)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			c.Listen = *listen
		case "public-url":
			c.PublicURL = *publicURL
		case "domain":
			c.Domain = *domain
			if *publicURL == "" {
				c.PublicURL = ""
			}
		case "manual-approval":
			c.ManualApproval = *manual
		case "port-mapping":
			c.PortMapping = *portMapping
		case "account":
			c.AccountName = *account
		case "channel":
			c.ChannelName = *channel
		case "allow-private-networks":
			c.AllowPrivateNetworks = *private
		}
	})
	c.Enabled = true
	if err := lib.SetHostConfig(ctx, c); err != nil {
		var ve library.ValidationError
		if errors.As(err, &ve) {
			return usageError{fmt.Errorf("the hosting configuration is not usable:\n  %s", strings.Join(fieldLines(ve), "\n  "))}
		}
		return err
	}
	if err := lib.Start(ctx); err != nil {
		return err
	}
	// Start resumed hosting; StartHosting reports why if it could not.
	if err := lib.StartHosting(ctx); err != nil {
		return err
	}
	c, _ = lib.HostConfig(ctx)
	st, err := lib.HostStatus(ctx)
	if err != nil {
		return err
	}
	host := strings.TrimPrefix(strings.TrimPrefix(st.PublicURL, "https://"), "http://")
	fmt.Fprintf(stdout, "Serving %s on %s\n", st.PublicURL, st.ListenAddr)
	fmt.Fprintf(stdout, "Channel: %s/video-channels/%s (follow it as %s@%s)\n", st.PublicURL, c.ChannelName, c.ChannelName, host)
	fmt.Fprintf(stdout, "Instance actor: %s/accounts/peertube (PeerTube admins follow %s)\n", st.PublicURL, host)

	<-ctx.Done()
	// Drain in reverse order (the deferred close): the HTTP server
	// finishes its requests, deliveries in flight go back to the queue,
	// BitTorrent saves its totals, the database closes.
	env.logger.Info("shutting down")
	return nil
}

// fieldLines are a ValidationError's fields, one per line.
func fieldLines(ve library.ValidationError) []string {
	out := make([]string, len(ve))
	for i, f := range ve {
		out[i] = f.Field + ": " + f.Message
	}
	return out
}
