package peertube

import (
	"encoding/json"
	"strings"
	"time"
)

// Sort orders a catalog listing. The values are PeerTube's own sort keys.
type Sort string

const (
	SortRecent     Sort = "-publishedAt"
	SortTrending   Sort = "-trending"
	SortMostViewed Sort = "-views"
	SortMatch      Sort = "-match" // search relevance; only for search endpoints
)

// Valid reports whether s is a sort this client sends.
func (s Sort) Valid() bool {
	switch s {
	case SortRecent, SortTrending, SortMostViewed, SortMatch:
		return true
	}
	return false
}

// MaxCount is the largest page PeerTube serves (count is 1–100).
const MaxCount = 100

// Page is one page of a PeerTube list endpoint.
type Page[T any] struct {
	Total int `json:"total"`
	Data  []T `json:"data"`
}

// IDLabel is PeerTube's {id, label} pair (category, licence, privacy, state).
type IDLabel struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
}

// StringLabel is PeerTube's {id, label} pair with a string id (language).
type StringLabel struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Image is an avatar or banner in one size.
type Image struct {
	Path      string `json:"path"`
	FileURL   string `json:"fileUrl"`
	Width     int    `json:"width"`
	CreatedAt string `json:"createdAt"`
}

// Actor is the summary of an account or a channel embedded in a video.
type Actor struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	DisplayName string  `json:"displayName"`
	URL         string  `json:"url"`
	Host        string  `json:"host"`
	Avatars     []Image `json:"avatars"`
}

// Handle is name@host, the way people write an actor in the fediverse.
func (a Actor) Handle() string {
	if a.Host == "" {
		return a.Name
	}
	return a.Name + "@" + a.Host
}

// Video is a video as PeerTube lists it (GET /api/v1/videos and searches).
type Video struct {
	ID                   int         `json:"id"`
	UUID                 string      `json:"uuid"`
	ShortUUID            string      `json:"shortUUID"`
	URL                  string      `json:"url"`
	Name                 string      `json:"name"`
	Category             IDLabel     `json:"category"`
	Licence              IDLabel     `json:"licence"`
	Language             StringLabel `json:"language"`
	Privacy              IDLabel     `json:"privacy"`
	NSFW                 bool        `json:"nsfw"`
	TruncatedDescription string      `json:"truncatedDescription"`
	Description          string      `json:"description"`
	IsLocal              bool        `json:"isLocal"`
	Duration             int         `json:"duration"` // seconds
	AspectRatio          float64     `json:"aspectRatio"`
	Views                int64       `json:"views"`
	Likes                int64       `json:"likes"`
	Dislikes             int64       `json:"dislikes"`
	ThumbnailPath        string      `json:"thumbnailPath"`
	PreviewPath          string      `json:"previewPath"`
	EmbedPath            string      `json:"embedPath"`
	CreatedAt            time.Time   `json:"createdAt"`
	UpdatedAt            time.Time   `json:"updatedAt"`
	PublishedAt          time.Time   `json:"publishedAt"`
	IsLive               bool        `json:"isLive"`
	Account              Actor       `json:"account"`
	Channel              Actor       `json:"channel"`
}

// VideoFile is one encoded file of a video (one resolution), with its torrent.
type VideoFile struct {
	ID                 int     `json:"id"`
	Resolution         IDLabel `json:"resolution"` // id is the height in pixels; 0 is audio only
	Width              int     `json:"width"`
	Height             int     `json:"height"`
	Size               int64   `json:"size"`
	FPS                float64 `json:"fps"`
	MagnetURI          string  `json:"magnetUri"`
	TorrentURL         string  `json:"torrentUrl"`
	TorrentDownloadURL string  `json:"torrentDownloadUrl"`
	FileURL            string  `json:"fileUrl"` // the BEP 19 web seed
	FileDownloadURL    string  `json:"fileDownloadUrl"`
	HasAudio           *bool   `json:"hasAudio,omitempty"`
	HasVideo           *bool   `json:"hasVideo,omitempty"`
}

// StreamingPlaylist is an HLS playlist; since PeerTube 6 most files live here.
type StreamingPlaylist struct {
	ID          int         `json:"id"`
	Type        int         `json:"type"` // 1 = HLS
	PlaylistURL string      `json:"playlistUrl"`
	Files       []VideoFile `json:"files"`
}

// VideoDetails is GET /api/v1/videos/{id}: a Video plus its files and more.
type VideoDetails struct {
	Video
	Support            string              `json:"support"`
	DescriptionPath    string              `json:"descriptionPath"`
	Tags               []string            `json:"tags"`
	CommentsEnabled    bool                `json:"commentsEnabled"`
	DownloadEnabled    bool                `json:"downloadEnabled"`
	TrackerURLs        []string            `json:"trackerUrls"`
	Files              []VideoFile         `json:"files"`
	StreamingPlaylists []StreamingPlaylist `json:"streamingPlaylists"`
	State              IDLabel             `json:"state"`
}

// UnmarshalJSON accepts `support: null`, which PeerTube sends for "none".
func (d *VideoDetails) UnmarshalJSON(b []byte) error {
	type plain VideoDetails
	var aux struct {
		plain
		Support *string `json:"support"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*d = VideoDetails(aux.plain)
	if aux.Support != nil {
		d.Support = *aux.Support
	}
	return nil
}

// AllFiles returns the web-video files followed by the HLS playlist files.
// Both kinds carry their own torrent and web seed.
func (d VideoDetails) AllFiles() []VideoFile {
	out := append([]VideoFile(nil), d.Files...)
	for _, p := range d.StreamingPlaylists {
		out = append(out, p.Files...)
	}
	return out
}

// Channel is a video channel (GET /api/v1/video-channels/{name}).
type Channel struct {
	Actor
	Description    string `json:"description"`
	Support        string `json:"support"`
	FollowersCount int64  `json:"followersCount"`
	OwnerAccount   *Actor `json:"ownerAccount,omitempty"`
}

// UnmarshalJSON accepts null description and support.
func (c *Channel) UnmarshalJSON(b []byte) error {
	type plain Channel
	var aux struct {
		plain
		Description *string `json:"description"`
		Support     *string `json:"support"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Channel(aux.plain)
	if aux.Description != nil {
		c.Description = *aux.Description
	}
	if aux.Support != nil {
		c.Support = *aux.Support
	}
	return nil
}

// Config is the part of GET /api/v1/config that Fourmi uses.
type Config struct {
	Instance struct {
		Name              string `json:"name"`
		ShortDescription  string `json:"shortDescription"`
		IsNSFW            bool   `json:"isNSFW"`
		DefaultNSFWPolicy string `json:"defaultNSFWPolicy"`
	} `json:"instance"`
	ServerVersion string `json:"serverVersion"`
	Search        struct {
		SearchIndex struct {
			Enabled bool   `json:"enabled"`
			URL     string `json:"url"`
		} `json:"searchIndex"`
	} `json:"search"`
	Tracker struct {
		Enabled bool `json:"enabled"`
	} `json:"tracker"`
}

// HostOf returns the host[:port] of a PeerTube URL or bare host, lower-cased,
// or "" when s names no host.
func HostOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(s)
}
