package federation

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Video is PeerTube's Video object (VideoObject in PeerTube's models), as
// served at /videos/watch/UUID and embedded in Create and Update. Marshal
// writes PeerTube's JSON-LD context first. Decoding is tolerant (unknown
// fields are ignored, numbers may come as numeric strings); ParseVideo and
// ValidateVideo apply PeerTube's rules.
type Video struct {
	To IRIs `json:"to,omitempty"`
	Cc IRIs `json:"cc,omitempty"`

	Type     Type        `json:"type"`
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Duration string      `json:"duration"` // "PT<seconds>S": see FormatDuration
	UUID     string      `json:"uuid"`     // a UUID v4
	Category *Identifier `json:"category,omitempty"`
	Licence  *Identifier `json:"licence,omitempty"`
	Language *Identifier `json:"language,omitempty"`
	Views    int64       `json:"views"`

	Sensitive       bool `json:"sensitive"`
	WaitTranscoding bool `json:"waitTranscoding"`
	State           int  `json:"state"` // 1 = published
	CommentsEnabled bool `json:"commentsEnabled"`
	CommentsPolicy  int  `json:"commentsPolicy,omitempty"` // 1 enabled, 2 disabled, 3 requires approval
	DownloadEnabled bool `json:"downloadEnabled"`

	Published             string `json:"published"`                       // ISO 8601: see FormatDate
	OriginallyPublishedAt string `json:"originallyPublishedAt,omitempty"` // ISO 8601
	Updated               string `json:"updated"`                         // ISO 8601
	UploadDate            string `json:"uploadDate,omitempty"`            // ISO 8601

	Tag              []Tag        `json:"tag,omitempty"`
	MediaType        string       `json:"mediaType,omitempty"` // text/markdown for content
	Content          string       `json:"content,omitempty"`   // the description, 3–10000 characters
	Support          string       `json:"support,omitempty"`
	SubtitleLanguage []Caption    `json:"subtitleLanguage,omitempty"`
	Icon             Images       `json:"icon"`
	Preview          []Storyboard `json:"preview,omitempty"`
	AspectRatio      float64      `json:"aspectRatio,omitempty"`
	URL              []Link       `json:"url"`

	Likes        string    `json:"likes,omitempty"`
	Dislikes     string    `json:"dislikes,omitempty"`
	Shares       string    `json:"shares,omitempty"`
	Comments     string    `json:"comments,omitempty"`
	HasParts     string    `json:"hasParts,omitempty"`
	AttributedTo ActorRefs `json:"attributedTo"`

	IsLiveBroadcast bool `json:"isLiveBroadcast"`
	LiveSaveReplay  bool `json:"liveSaveReplay,omitempty"`
	PermanentLive   bool `json:"permanentLive,omitempty"`
	LatencyMode     int  `json:"latencyMode,omitempty"`
}

// Tag is a video tag (type Hashtag, name 2–30 characters).
type Tag struct {
	Type Type   `json:"type"`
	Name string `json:"name"`
}

// Caption is an entry of subtitleLanguage.
type Caption struct {
	Identifier             string `json:"identifier"`
	Name                   string `json:"name,omitempty"`
	URL                    string `json:"url,omitempty"`
	AutomaticallyGenerated bool   `json:"automaticallyGenerated,omitempty"`
}

// Storyboard is an entry of preview: an Image with rel ["storyboard"].
type Storyboard struct {
	Type Type             `json:"type"`
	Rel  []string         `json:"rel"`
	URL  []StoryboardTile `json:"url"`
}

// StoryboardTile is a sprite sheet of a storyboard.
type StoryboardTile struct {
	MediaType    string `json:"mediaType"`
	Href         string `json:"href"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	TileWidth    int    `json:"tileWidth"`
	TileHeight   int    `json:"tileHeight"`
	TileDuration string `json:"tileDuration"` // "PT<n>S"
}

// Link is an entry of a Video's url[] (and of an HLS playlist's tag[]). One
// struct covers PeerTube's kinds, told apart by MediaType and Rel:
//
//   - a video file: MediaType video/mp4, Href, Height, Width, Size, FPS
//   - its torrent: application/x-bittorrent, Href, Height (Width, FPS)
//   - its magnet: application/x-bittorrent;x-scheme-handler/magnet
//   - its metadata: application/json with Rel ["metadata", "video/mp4"]
//   - an HLS playlist: application/x-mpegURL, Tag holding Infohash entries,
//     the segments-sha256 Link and the playlist's files with their torrents
//   - a tracker: Rel ["tracker", "http"|"websocket"], Href
//   - the watch page: text/html
//
// Marshal writes the numeric fields each kind carries in PeerTube's output.
type Link struct {
	Type       Type            `json:"type"`
	Name       string          `json:"name,omitempty"`
	Rel        []string        `json:"rel,omitempty"`
	MediaType  string          `json:"mediaType,omitempty"`
	Href       string          `json:"href,omitempty"`
	Height     int             `json:"height"`
	Width      int             `json:"width"`
	Size       int64           `json:"size"`
	FPS        int             `json:"fps"`
	Tag        []Link          `json:"tag,omitempty"`
	Attachment []PropertyValue `json:"attachment,omitempty"`
}

// Kinds of Link.
func (l Link) isVideoFile() bool {
	switch l.MediaType {
	case "video/mp4", "video/ogg", "video/webm", "audio/mp4":
		return true
	}
	return false
}
func (l Link) isTorrent() bool { return l.MediaType == MediaTypeTorrent }
func (l Link) isMagnet() bool  { return l.MediaType == MediaTypeMagnet }
func (l Link) isHLS() bool     { return l.MediaType == MediaTypeHLS }
func (l Link) isTracker() bool { return slices.Contains(l.Rel, "tracker") }
func (l Link) isMetadata() bool {
	return l.MediaType == MediaTypeJSON && slices.Contains(l.Rel, "metadata")
}

// MarshalJSON writes height/width/fps for files, torrents, magnets and
// metadata, and size for files only, as PeerTube does.
func (l Link) MarshalJSON() ([]byte, error) {
	type plain Link
	p := plain(l)
	switch {
	case l.isVideoFile():
		type file struct {
			plain
			Height int   `json:"height"`
			Width  int   `json:"width"`
			Size   int64 `json:"size"`
			FPS    int   `json:"fps"`
		}
		return json.Marshal(file{p, l.Height, l.Width, l.Size, l.FPS})
	case l.isTorrent() || l.isMagnet() || l.isMetadata():
		type sized struct {
			plain
			Height int   `json:"height"`
			Width  int   `json:"width,omitempty"`
			Size   int64 `json:"size,omitempty"`
			FPS    int   `json:"fps,omitempty"`
		}
		return json.Marshal(sized{p, l.Height, l.Width, 0, l.FPS})
	}
	type bare struct {
		plain
		Height int   `json:"height,omitempty"`
		Width  int   `json:"width,omitempty"`
		Size   int64 `json:"size,omitempty"`
		FPS    int   `json:"fps,omitempty"`
	}
	return json.Marshal(bare{p, l.Height, l.Width, l.Size, l.FPS})
}

// UnmarshalJSON accepts numeric strings in the numeric fields and a single
// rel string.
func (l *Link) UnmarshalJSON(b []byte) error {
	type plain Link
	aux := struct {
		*plain
		Rel    json.RawMessage `json:"rel"`
		Height flexInt         `json:"height"`
		Width  flexInt         `json:"width"`
		Size   flexInt         `json:"size"`
		FPS    flexInt         `json:"fps"`
		Mime   string          `json:"mimeType"` // PeerTube < 3 wrote mimeType
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	l.Height, l.Width, l.Size, l.FPS = int(aux.Height), int(aux.Width), int64(aux.Size), int(aux.FPS)
	if l.MediaType == "" {
		l.MediaType = aux.Mime
	}
	l.Rel = nil
	if len(aux.Rel) > 0 {
		var one string
		if json.Unmarshal(aux.Rel, &one) == nil {
			l.Rel = []string{one}
		} else if err := json.Unmarshal(aux.Rel, &l.Rel); err != nil {
			return fmt.Errorf("rel: %w", err)
		}
	}
	return nil
}

// MarshalJSON writes PeerTube's JSON-LD context first.
func (v Video) MarshalJSON() ([]byte, error) {
	type plain Video
	return withContext(contextVideo, plain(v))
}

// UnmarshalJSON is tolerant of numeric strings and string booleans, as
// PeerTube is. It applies none of PeerTube's defaults: ValidateVideo does.
func (v *Video) UnmarshalJSON(b []byte) error {
	type plain Video
	aux := struct {
		*plain
		Views           flexInt  `json:"views"`
		State           flexInt  `json:"state"`
		CommentsPolicy  flexInt  `json:"commentsPolicy"`
		LatencyMode     flexInt  `json:"latencyMode"`
		Sensitive       flexBool `json:"sensitive"`
		WaitTranscoding flexBool `json:"waitTranscoding"`
		CommentsEnabled flexBool `json:"commentsEnabled"`
		DownloadEnabled flexBool `json:"downloadEnabled"`
		IsLiveBroadcast flexBool `json:"isLiveBroadcast"`
		LiveSaveReplay  flexBool `json:"liveSaveReplay"`
		PermanentLive   flexBool `json:"permanentLive"`
	}{plain: (*plain)(v)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	v.Views, v.State, v.CommentsPolicy, v.LatencyMode = int64(aux.Views), int(aux.State), int(aux.CommentsPolicy), int(aux.LatencyMode)
	v.Sensitive, v.WaitTranscoding, v.CommentsEnabled = aux.Sensitive.v, aux.WaitTranscoding.v, aux.CommentsEnabled.v
	v.DownloadEnabled, v.IsLiveBroadcast = aux.DownloadEnabled.v, aux.IsLiveBroadcast.v
	v.LiveSaveReplay, v.PermanentLive = aux.LiveSaveReplay.v, aux.PermanentLive.v
	return nil
}

// FormatDuration writes a duration in seconds as PeerTube wants it: "PT<n>S".
func FormatDuration(seconds int) string { return "PT" + strconv.Itoa(seconds) + "S" }

var durationPattern = regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?$`)

// ParseDuration reads an xsd:duration of the PT form ("PT10S", "PT1M30S",
// "PT1H") into whole seconds.
func ParseDuration(s string) (int, error) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil || s == "PT" {
		return 0, fmt.Errorf("duration %q is not of the form PT<n>S", s)
	}
	total := 0
	for i, mul := range []int{3600, 60, 1} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > 1<<31/mul {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		total += n * mul
	}
	return total, nil
}

// DurationSeconds is the video's duration in seconds.
func (v *Video) DurationSeconds() (int, error) { return ParseDuration(v.Duration) }

// FormatDate writes t as PeerTube does: UTC with milliseconds
// ("2026-11-23T02:25:55.961Z").
func FormatDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ParseDate reads an ISO 8601 date as PeerTube sends it (RFC 3339, with or
// without fractional seconds).
func ParseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q is not ISO 8601", s)
}

// IsPublic reports whether the video is addressed to the public collection
// (listed); PeerTube treats a video without it as unlisted.
func (v *Video) IsPublic() bool { return v.To.Contains(Public) || v.Cc.Contains(Public) }

// Channel is the Group the video belongs to (attributedTo).
func (v *Video) Channel() (ActorRef, bool) { return v.AttributedTo.Find(TypeGroup) }

// Account is the Person who published the video (attributedTo).
func (v *Video) Account() (ActorRef, bool) { return v.AttributedTo.Find(TypePerson) }

// Thumbnail picks the icon PeerTube uses as the miniature: the narrowest one
// wider than 150 px, else the narrowest. Nil when there is no icon.
func (v *Video) Thumbnail() *Image {
	var best *Image
	for pass := 0; pass < 2 && best == nil; pass++ {
		for i := range v.Icon {
			im := &v.Icon[i]
			if pass == 0 && im.Width <= 150 {
				continue
			}
			if best == nil || im.Width < best.Width {
				best = im
			}
		}
	}
	return best
}

// File is one playable rendition of a video with the ways to fetch it.
type File struct {
	URL        string // the file (BitTorrent web seed)
	MediaType  string
	Height     int
	Width      int
	Size       int64
	FPS        int
	TorrentURL string
	MagnetURI  string
	InfoHash   string // lower-case hex, from the magnet; "" when unknown
	HLS        bool   // a fragmented MP4 of the HLS playlist, not a web video
}

// Files lists the video's renditions, web videos first then the HLS
// playlists' files, each joined with the torrent and magnet of the same
// height in the same list (as PeerTube pairs them).
func (v *Video) Files() []File {
	var out []File
	collect := func(links []Link, hls bool) {
		for _, l := range links {
			if !l.isVideoFile() {
				continue
			}
			f := File{URL: l.Href, MediaType: l.MediaType, Height: l.Height, Width: l.Width, Size: l.Size, FPS: l.FPS, HLS: hls}
			for _, o := range links {
				switch {
				case o.isTorrent() && o.Height == l.Height && f.TorrentURL == "":
					f.TorrentURL = o.Href
				case o.isMagnet() && o.Height == l.Height && f.MagnetURI == "":
					f.MagnetURI = o.Href
					f.InfoHash, _ = MagnetInfoHash(o.Href)
				}
			}
			out = append(out, f)
		}
	}
	collect(v.URL, false)
	for _, l := range v.URL {
		if l.isHLS() {
			collect(l.Tag, true)
		}
	}
	return out
}

// Trackers lists the tracker URLs of the video's url[] (rel "tracker").
func (v *Video) Trackers() []string {
	var out []string
	for _, l := range v.URL {
		if l.isTracker() && l.Href != "" {
			out = append(out, l.Href)
		}
	}
	return out
}

// WatchURL is the text/html link of url[], or the id.
func (v *Video) WatchURL() string {
	for _, l := range v.URL {
		if l.MediaType == MediaTypeHTML && l.Href != "" {
			return l.Href
		}
	}
	return v.ID
}

// MagnetInfoHash extracts the BitTorrent v1 info-hash of a magnet URI as
// lower-case hex. Base32 hashes (32 characters) are converted, as the
// magnet-uri package PeerTube uses does.
func MagnetInfoHash(magnet string) (string, error) {
	u, err := url.Parse(magnet)
	if err != nil || u.Scheme != "magnet" {
		return "", fmt.Errorf("not a magnet URI: %.60q", magnet)
	}
	for _, xt := range u.Query()["xt"] {
		h, ok := strings.CutPrefix(xt, "urn:btih:")
		if !ok {
			continue
		}
		switch len(h) {
		case 40:
			if isHex(h) {
				return strings.ToLower(h), nil
			}
		case 32:
			if raw, err := base32.StdEncoding.DecodeString(strings.ToUpper(h)); err == nil && len(raw) == 20 {
				return fmt.Sprintf("%x", raw), nil
			}
		}
		return "", fmt.Errorf("magnet info-hash %q is neither 40 hex nor 32 base32 characters", h)
	}
	return "", fmt.Errorf("magnet URI without urn:btih: %.60q", magnet)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
