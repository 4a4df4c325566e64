package library

import (
	"cmp"
	"time"
)

// SourceKind says where a catalog comes from.
type SourceKind string

const (
	// SourceInstance is one PeerTube instance's own catalog (REST API).
	SourceInstance SourceKind = "instance"
	// SourceGlobal is a Sepia-Search-compatible index over the federation.
	SourceGlobal SourceKind = "global"
	// SourceLocal is everything already cached in the library, searched
	// offline with SQLite FTS5.
	SourceLocal SourceKind = "local"
	// SourceChannel is one channel's videos, from the channel's instance.
	SourceChannel SourceKind = "channel"
	// SourceAccount is one account's videos, from the account's instance.
	SourceAccount SourceKind = "account"
)

// Source is one entry of the Discover screen's source picker.
type Source struct {
	Kind SourceKind
	Host string // instance or search-index host[:port]; "" for SourceLocal
	Name string // what to show: instance name, "Global search", "On this computer"
	// Actor is the channel's or account's name on Host (SourceChannel,
	// SourceAccount), and URL its page there (it gives the scheme).
	Actor string
	URL   string
}

// Key identifies the source in the cache ("instance:framatube.org", "local",
// "channel:blender_studio@video.blender.org").
func (s Source) Key() string {
	switch s.Kind {
	case SourceLocal:
		return string(SourceLocal)
	case SourceChannel, SourceAccount:
		return string(s.Kind) + ":" + s.Actor + "@" + s.Host
	}
	return string(s.Kind) + ":" + s.Host
}

// ChannelSource is the catalog of a video's channel.
func ChannelSource(ch Actor) Source {
	return Source{Kind: SourceChannel, Host: ch.Host, Name: cmp.Or(ch.DisplayName, ch.Name), Actor: ch.Name, URL: ch.URL}
}

// AccountSource is the catalog of a video's account.
func AccountSource(a Actor) Source {
	return Source{Kind: SourceAccount, Host: a.Host, Name: cmp.Or(a.DisplayName, a.Name), Actor: a.Name, URL: a.URL}
}

// Instance is a PeerTube instance the user browses.
type Instance struct {
	Host        string // host[:port], lower case; the key
	BaseURL     string // "https://host"
	Name        string // from /api/v1/config, or the host until checked
	Description string
	Version     string // serverVersion; "" until checked
	AddedAt     time.Time
	CheckedAt   time.Time // last successful /api/v1/config; zero if never
}

// Sort orders a catalog.
type Sort string

const (
	SortRecent     Sort = "recent"
	SortTrending   Sort = "trending"
	SortMostViewed Sort = "views"
	SortRelevance  Sort = "relevance" // searches only
)

// Query asks for one page of a catalog.
type Query struct {
	Source   Source
	Search   string // "" lists the catalog; otherwise a search
	Sort     Sort   // "" means SortRecent (SortRelevance when searching)
	Page     int    // 0-based
	PageSize int    // 0 means DefaultPageSize
}

// DefaultPageSize is how many cards one page of the Discover grid holds.
const DefaultPageSize = 24

// Page is one page of results.
type Page struct {
	Videos    []Video
	Total     int       // total results the source reported (or counted)
	FromCache bool      // served from SQLite, not from the network
	FetchedAt time.Time // when these rows were fetched from the network
}

// Actor is an account or a channel.
type Actor struct {
	Name        string // preferred username, e.g. "root_channel"
	DisplayName string
	Host        string
	URL         string
	AvatarURL   string
}

// Handle is name@host.
func (a Actor) Handle() string {
	if a.Host == "" {
		return a.Name
	}
	return a.Name + "@" + a.Host
}

// Video is a video of the federation, as cached in the library. Fields below
// "details" are filled once the video's details were fetched (DetailsAt set).
type Video struct {
	UUID         string
	URL          string // the watch page / ActivityPub id on the origin
	Origin       string // host of the instance that hosts the video
	Name         string
	Description  string // markdown; may be truncated until details are fetched
	Duration     time.Duration
	Views        int64
	Likes        int64
	PublishedAt  time.Time
	ThumbnailURL string
	PreviewURL   string
	Channel      Actor
	Account      Actor
	NSFW         bool
	IsLive       bool

	// details
	Tags      []string
	Category  string
	Licence   string
	Language  string
	Support   string
	Files     []VideoFile
	DetailsAt time.Time
}

// VideoFile is one playable encoding of a video, with its torrent.
type VideoFile struct {
	Resolution int // height in pixels; 0 = audio only
	Label      string
	Width      int
	Height     int
	Size       int64
	FPS        float64
	TorrentURL string
	MagnetURI  string
	FileURL    string // web seed
	HLS        bool   // from streamingPlaylists (fragmented MP4)
}
