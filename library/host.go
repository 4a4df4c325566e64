package library

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Hosting: the contract between library and the GUI's Instance screen and
// `fourmi serve`. When hosting is on, the library runs the mini-instance
// (federation/server) over its own SQLite database: the creator's channel
// becomes a PeerTube-compatible actor that PeerTube servers and other
// Fourmi instances follow, published videos are delivered to the
// followers, and remote videos they announce land in the local catalog.
//
// The methods: HostConfig, SetHostConfig, StartHosting, StopHosting,
// HostStatus, CheckReachability, HostFollowers, ApproveFollower,
// RejectFollower, SubscribeHost, FollowRemote (host*.go).

// DefaultHostListen is the address the instance listens on while the
// configuration does not say otherwise.
const DefaultHostListen = ":8080"

// HostConfig is the user's hosting configuration, stored in the database.
type HostConfig struct {
	// Enabled starts hosting with Start (and `fourmi serve`); StartHosting
	// and StopHosting set it.
	Enabled bool
	// Listen is the TCP address served ("host:port", ":port"); "" means
	// DefaultHostListen. With Domain set, HTTPS is served there and HTTP
	// (ACME challenges, redirect) on :80.
	Listen string
	// PublicURL is how the world reaches the instance: scheme://host[:port]
	// without a path ("https://videos.example.org"). Every actor, video and
	// web seed URL is built from it, so changing it later breaks existing
	// followers. With Domain set and PublicURL empty it is https://Domain.
	PublicURL string
	// Domain, when set, turns on HTTPS with certificates from Let's Encrypt
	// (ACME, cached in <data>/acme); "" means plain HTTP (behind a reverse
	// proxy, or a LAN).
	Domain string

	AccountName        string // the Person's name: [a-z0-9_.]{1,50}, not "peertube"
	AccountDisplayName string // 1–120 characters
	ChannelName        string // the Group's name: [a-z0-9_.]{1,50}, ≠ AccountName
	ChannelDisplayName string // 1–120 characters
	ChannelDescription string // ≤ 1,000 characters (empty, or 3 or more)
	AvatarPath         string // a JPEG on disk for the actors' icon; "" for none

	// ManualApproval keeps follow requests pending until ApproveFollower or
	// RejectFollower; otherwise they are accepted at once.
	ManualApproval bool
	// PortMapping tries UPnP / NAT-PMP to open the listening port on the
	// home router when hosting starts.
	PortMapping bool
	// AllowPrivateNetworks lets the instance talk to instances on private
	// and loopback addresses (a LAN, tests). Off, such addresses are
	// refused (SSRF guard).
	AllowPrivateNetworks bool
}

// HostStatus is the live state of hosting, for the Instance screen.
type HostStatus struct {
	Running      bool
	ListenAddr   string // the address actually bound ("" when not running)
	PublicURL    string
	Reachability Reachability
	// PortMapping is a sentence: "off", "mapped 8080 → 8080 on the router
	// (UPnP)", or why it failed.
	PortMapping string
	Followers   int            // accepted followers
	Pending     []HostFollower // follow requests awaiting approval
	Queue       HostQueue
	LastError   string // the last hosting error (start failure, …); "" when none
}

// Reachability is the result of the self-check: the instance fetched its
// own actor through its public URL.
type Reachability struct {
	Checked time.Time // zero before the first check
	OK      bool
	Error   string // why not, for the user
}

// HostQueue summarises the outgoing delivery queue.
type HostQueue struct {
	Pending int // waiting or being delivered
	Failed  int // given up after the retries
}

// Follower states (HostFollower.State).
const (
	FollowerPending  = "pending"
	FollowerAccepted = "accepted"
)

// HostFollower is a remote actor following the instance's channel, account
// or instance actor.
type HostFollower struct {
	Actor  string // the follower's actor IRI
	Handle string // name@host, for display
	Inbox  string
	State  string // FollowerPending or FollowerAccepted
	Since  time.Time
	Local  string // the local actor followed (its IRI)
}

// ErrNotHosting is returned by calls that need hosting to run.
var ErrNotHosting = errors.New("library: hosting is not running")

// nameRE is an account or channel name.
var nameRE = regexp.MustCompile(`^[a-z0-9_.]{1,50}$`)

// defaultHostConfig is the configuration before the user sets one.
func defaultHostConfig() HostConfig {
	return HostConfig{
		Listen:             DefaultHostListen,
		AccountName:        "me",
		AccountDisplayName: "Me",
		ChannelName:        DefaultChannel,
		ChannelDisplayName: "My channel",
	}
}

// ValidateHostConfig checks c; the error is a ValidationError whose fields
// are "listen", "public_url", "domain", "account_name",
// "account_display_name", "channel_name", "channel_display_name",
// "channel_description" and "avatar".
func ValidateHostConfig(c HostConfig) error {
	var v ValidationError
	add := func(field, msg string) { v = append(v, FieldError{Field: field, Message: msg}) }
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil {
			add("listen", fmt.Sprintf("%q is not an address like :8080 or 127.0.0.1:8080", c.Listen))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add("listen", fmt.Sprintf("%q is not a port number", port))
		}
	}
	if c.PublicURL != "" {
		if msg := checkPublicURL(c.PublicURL); msg != "" {
			add("public_url", msg)
		}
	}
	if c.Domain != "" {
		d := strings.ToLower(c.Domain)
		if strings.ContainsAny(d, "/:@ ") || !strings.Contains(d, ".") || net.ParseIP(d) != nil {
			add("domain", fmt.Sprintf("%q is not a domain name like videos.example.org", c.Domain))
		} else if c.PublicURL != "" {
			if u, err := url.Parse(c.PublicURL); err == nil && (u.Scheme != "https" || !strings.EqualFold(u.Hostname(), d)) {
				add("public_url", fmt.Sprintf("With the domain %s the public URL must be https://%s", d, d))
			}
		}
	}
	if c.Enabled && c.PublicURL == "" && c.Domain == "" {
		add("public_url", "Hosting needs a public URL (or a domain)")
	}
	if !nameRE.MatchString(c.AccountName) {
		add("account_name", "Use 1 to 50 lower-case letters, digits, _ or .")
	} else if c.AccountName == "peertube" {
		add("account_name", `"peertube" is the instance's own name; choose another`)
	}
	if !nameRE.MatchString(c.ChannelName) {
		add("channel_name", "Use 1 to 50 lower-case letters, digits, _ or .")
	} else if c.ChannelName == "peertube" {
		add("channel_name", `"peertube" is the instance's own name; choose another`)
	} else if c.ChannelName == c.AccountName {
		add("channel_name", "The channel needs a name different from the account's")
	}
	for _, f := range []struct{ field, val string }{
		{"account_display_name", c.AccountDisplayName}, {"channel_display_name", c.ChannelDisplayName},
	} {
		n := utf8.RuneCountInString(strings.TrimSpace(f.val))
		if n < 1 || n > 120 {
			add(f.field, "Use 1 to 120 characters")
		}
	}
	if n := utf8.RuneCountInString(c.ChannelDescription); n > 1000 {
		add("channel_description", "Use at most 1,000 characters")
	} else if n > 0 && n < 3 {
		add("channel_description", "Use at least 3 characters, or leave it empty")
	}
	if c.AvatarPath != "" {
		if msg := checkAvatar(c.AvatarPath); msg != "" {
			add("avatar", msg)
		}
	}
	if len(v) > 0 {
		return v
	}
	return nil
}

// checkPublicURL returns why raw is not a usable public URL, or "".
func checkPublicURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return "The public URL starts with https:// (or http://)"
	case u.Host == "" || u.Hostname() == "":
		return "The public URL needs a host name"
	case u.User != nil:
		return "The public URL cannot carry a user name or password"
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "The public URL is the site's root, without a path (like https://videos.example.org)"
	}
	return ""
}

// checkAvatar returns why path is not a usable avatar, or "".
func checkAvatar(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("The image cannot be read: %v", err)
	}
	defer f.Close()
	head := make([]byte, 3)
	if _, err := f.Read(head); err != nil || head[0] != 0xFF || head[1] != 0xD8 || head[2] != 0xFF {
		return "The avatar must be a JPEG image"
	}
	return ""
}

// normalizeHostConfig fills defaults and trims the text fields.
func normalizeHostConfig(c HostConfig) HostConfig {
	c.Listen = strings.TrimSpace(c.Listen)
	if c.Listen == "" {
		c.Listen = DefaultHostListen
	}
	c.PublicURL = strings.TrimSuffix(strings.TrimSpace(c.PublicURL), "/")
	c.Domain = strings.ToLower(strings.TrimSpace(c.Domain))
	if c.Domain != "" && c.PublicURL == "" {
		c.PublicURL = "https://" + c.Domain
	}
	c.AccountName = strings.TrimSpace(c.AccountName)
	c.ChannelName = strings.TrimSpace(c.ChannelName)
	c.AccountDisplayName = strings.TrimSpace(c.AccountDisplayName)
	c.ChannelDisplayName = strings.TrimSpace(c.ChannelDisplayName)
	c.ChannelDescription = strings.TrimSpace(c.ChannelDescription)
	return c
}

// handleOf is name@host for an actor IRI (the last path segment as the
// name: PeerTube's /accounts/NAME and /video-channels/NAME).
func handleOf(actor string) string {
	u, err := url.Parse(actor)
	if err != nil || u.Host == "" {
		return actor
	}
	p := strings.TrimSuffix(u.Path, "/")
	name := p[strings.LastIndex(p, "/")+1:]
	if name == "" {
		return u.Host
	}
	return name + "@" + u.Host
}
