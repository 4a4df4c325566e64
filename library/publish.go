package library

import (
	"errors"
	"strings"
	"time"
)

// Publishing: the contract between library and the GUI/CLI. A creator's
// local file becomes what a PeerTube instance would produce: a web-playable
// MP4 per resolution (H.264/AAC, faststart), a 280×157 thumbnail and an
// 850×480 preview, PeerTube-valid metadata, and one seeded single-file
// torrent per output with a web seed when hosting, plus its magnet.
//
// Publish validates and queues; a runner started by Start works the queue
// one job at a time (probe → thumbnails → encode per resolution → hashing
// → seeding). The queue lives in SQLite: a job interrupted by a crash or a
// shutdown starts again cleanly at the next Start, and no half-written file
// is left in the video's directory. Files live in <data>/videos/<uuid>/.
//
// The methods: Publish, CancelPublish, MyVideos, MyVideo, UpdateMyVideo,
// DeleteMyVideo, WaitPublished, SubscribePublish (publish*.go).

// Settings keys for publishing and hosting.
const (
	// SettingPublicURL is the public base URL of the user's instance
	// ("https://videos.example.org") when hosting; "" when not hosting.
	// Torrents then carry web seed https://…/static/web-videos/<uuid>-<res>.mp4
	// and the instance's tracker (wss://…/tracker/socket, https://…/tracker/announce).
	SettingPublicURL = "host.public_url"
	// SettingTrackers is the user's extra tracker list, one URL per line.
	SettingTrackers = "publish.trackers"
	// SettingDefaultChannel is the channel name new videos go to.
	SettingDefaultChannel = "publish.channel"
)

// DefaultChannel is the channel name while SettingDefaultChannel is unset.
const DefaultChannel = "my_channel"

// Privacy of a published video, with PeerTube's identifiers.
type Privacy int

const (
	PrivacyPublic   Privacy = 1
	PrivacyUnlisted Privacy = 2
	PrivacyPrivate  Privacy = 3
)

func (p Privacy) String() string {
	switch p {
	case PrivacyPublic:
		return "public"
	case PrivacyUnlisted:
		return "unlisted"
	case PrivacyPrivate:
		return "private"
	}
	return "invalid"
}

// ParsePrivacy reads "public", "unlisted" or "private".
func ParsePrivacy(s string) (Privacy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "public", "":
		return PrivacyPublic, nil
	case "unlisted":
		return PrivacyUnlisted, nil
	case "private":
		return PrivacyPrivate, nil
	}
	return 0, errors.New(`privacy must be "public", "unlisted" or "private"`)
}

// Metadata is what the creator says about a video; ValidateMetadata holds
// it to PeerTube 6.3's own rules.
type Metadata struct {
	Title       string   // 3–120 characters
	Description string   // markdown, ≤ 10,000 characters; "" for none
	Tags        []string // ≤ 5, each 2–30 characters, no duplicates
	Category    int      // PeerTube category id (Categories); 0 = none
	Licence     int      // PeerTube licence id (Licences); 0 = none
	Language    string   // PeerTube language code (Languages), e.g. "en"; "" = none
	Privacy     Privacy  // 0 means PrivacyPublic
	NSFW        bool     // sensitive content
	Support     string   // "support this creator" text, ≤ 1,000 characters
	Channel     string   // local channel name ([a-z0-9_.]{1,50}); "" = the default channel
}

// Choice is one entry of a PeerTube vocabulary (categories, licences,
// languages), for pickers. Languages use Code, the others ID.
type Choice struct {
	ID    int
	Code  string
	Label string
}

// FieldError is one form field failing validation: Field is "title",
// "description", "tags", "category", "licence", "language", "privacy",
// "support", "channel" or "file"; Message is a sentence for the form.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every field that fails; it is what Publish and
// UpdateMyVideo return for bad metadata (errors.As), before any work.
type ValidationError []FieldError

func (v ValidationError) Error() string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid video: " + strings.Join(parts, "; ")
}

// For returns the message for field, or "".
func (v ValidationError) For(field string) string {
	for _, f := range v {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// PublishRequest asks to publish a local file.
type PublishRequest struct {
	File string // a local video (or audio) file; read, never modified
	Meta Metadata
	// Resolutions are the heights to produce (e.g. 720, 360), never above
	// the source; nil means the source's own height only (transcoded only
	// if it is not web-playable). The source height is always included.
	Resolutions []int
}

// PublishState is where a job is in its life.
type PublishState string

const (
	PublishQueued    PublishState = "queued"
	PublishRunning   PublishState = "running"
	PublishDone      PublishState = "done" // files ready and seeding
	PublishFailed    PublishState = "failed"
	PublishCancelled PublishState = "cancelled"
)

// PublishStep names a step of the pipeline.
type PublishStep string

const (
	StepProbe      PublishStep = "probe"
	StepThumbnails PublishStep = "thumbnails"
	StepEncode     PublishStep = "encode" // one per output resolution
	StepHash       PublishStep = "hash"   // torrent hashing, one per output
	StepSeed       PublishStep = "seed"
)

// StepStatus is one line of the progress view.
type StepStatus struct {
	Step       PublishStep
	Resolution int     // for encode and hash; 0 otherwise
	Fraction   float64 // 0–1
	Done       bool
}

// PublishProgress is the live state of one job, sent to subscribers at
// most ~10 times a second per job and on every state change.
type PublishProgress struct {
	UUID    string
	State   PublishState
	Steps   []StepStatus // every step of the plan, in order
	Overall float64      // 0–1, weighted by expected work
	Error   string       // for PublishFailed: a sentence for the user
}

// LocalFile is one published output.
type LocalFile struct {
	Resolution  int // height; 0 for audio only
	Width       int // pixels
	Height      int // pixels
	FPS         float64
	Size        int64  // bytes
	Path        string // <data>/videos/<uuid>/<uuid>-<res>.mp4
	InfoHash    string // 40 hex digits
	TorrentPath string // <data>/videos/<uuid>/<uuid>-<res>.torrent
	Magnet      string // magnet:?xt=urn:btih:…&dn=…&xl=…[&xs=…][&ws=…][&tr=…]
	WebSeedURL  string // "" when not hosting
}

// LocalVideo is one of the creator's videos ("My videos").
type LocalVideo struct {
	UUID        string // random UUID v4
	Meta        Metadata
	Source      string // the original file's path as given
	State       PublishState
	Progress    PublishProgress
	Duration    time.Duration
	Thumbnail   string // local JPEG path, 280×157; "" until made
	Preview     string // local JPEG path, 850×480; "" until made
	Files       []LocalFile
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time // zero until done
}

// Best is the highest-resolution file, or nil before any is ready.
func (v LocalVideo) Best() *LocalFile {
	var best *LocalFile
	for i := range v.Files {
		if best == nil || v.Files[i].Resolution > best.Resolution {
			best = &v.Files[i]
		}
	}
	return best
}

// ErrPublishCancelled is the error WaitPublished returns for a cancelled job.
var ErrPublishCancelled = errors.New("publishing was cancelled")
