package library

import (
	"time"

	"github.com/fourmi-app/fourmi/library/player"
)

// Watching while seeding: the contract between library and the GUI/CLI.
// library turns a video (or a magnet, .torrent or PeerTube URL) into a
// torrent in the peer engine with the instance's web seed, a loopback stream
// URL, and a player session; it remembers positions and history, and keeps
// seeding within the user's limits across restarts.
//
// The methods: Start (seeding.go); Play, Stream, PlayTransfer (playback.go);
// OpenURL (open.go); Download, Transfers, TransferByHash, TransferPath,
// PauseTransfer, ResumeTransfer, RemoveTransfer (transfers.go); SeedLimits,
// SetSeedLimits (seeding.go); History, ContinueWatching, RemoveFromHistory
// (history.go).

// Settings keys for watching and seeding (values are strings in settings).
const (
	SettingMaxResolution = "watch.max_resolution" // e.g. "1080": best file ≤ this height
	SettingPlayer        = "watch.player"         // "" (auto: mpv, VLC, OS default), "mpv", "vlc", "default"
)

// ErrNoPlayer means neither mpv, VLC nor the system's handler could be found;
// Stream still works ("Copy stream URL").
var ErrNoPlayer = player.ErrNoPlayer

// SeedLimits are the user's seeding limits. Zero values mean "no limit".
type SeedLimits struct {
	UploadRate   int64         // bytes/s for all torrents together
	DownloadRate int64         // bytes/s for all torrents together
	RatioTarget  float64       // a torrent stops seeding once uploaded ≥ target × size
	SeedFor      time.Duration // a torrent stops seeding this long after it completed
	DiskBudget   int64         // bytes of downloaded videos kept; least recently watched go first
}

// DefaultSeedLimits are the limits until the user changes them.
var DefaultSeedLimits = SeedLimits{RatioTarget: 2, SeedFor: 30 * 24 * time.Hour, DiskBudget: 20 << 30}

// TransferState is where a torrent is in its life.
type TransferState string

const (
	StateFetchingInfo TransferState = "fetching-info" // magnet without metadata yet
	StateDownloading  TransferState = "downloading"
	StateSeeding      TransferState = "seeding"
	StatePaused       TransferState = "paused"   // by the user
	StateFinished     TransferState = "finished" // limits reached: kept on disk, not seeding
	StateError        TransferState = "error"
)

// TransferStats is a live snapshot of one torrent, cheap to poll once a second.
type TransferStats struct {
	Size         int64
	Completed    int64 // verified bytes
	DownloadRate float64
	UploadRate   float64
	Peers        int
	Seeders      int
	FromWebSeed  int64  // bytes received from the instance's web seed
	FromPeers    int64  // bytes received from BitTorrent peers
	Uploaded     int64  // total, across restarts
	Pieces       []bool // verified pieces, for a piece bar
	Error        string // what went wrong, for StateError
}

// Progress is Completed/Size in [0, 1].
func (s TransferStats) Progress() float64 {
	if s.Size <= 0 {
		return 0
	}
	return float64(s.Completed) / float64(s.Size)
}

// Ratio is Uploaded/Size.
func (s TransferStats) Ratio() float64 {
	if s.Size <= 0 {
		return 0
	}
	return float64(s.Uploaded) / float64(s.Size)
}

// Transfer is one torrent of the Downloads/Seeding list.
type Transfer struct {
	InfoHash      string // 40 hex digits
	Name          string // the video's title, or the torrent's name
	VideoUUID     string // "" for a bare magnet/.torrent
	Resolution    int
	ThumbnailURL  string
	State         TransferState
	Stats         TransferStats
	AddedAt       time.Time
	CompletedAt   time.Time // zero until complete
	LastWatchedAt time.Time // zero if never played
}

// HistoryEntry is a video the user played, with where they stopped.
type HistoryEntry struct {
	Video     Video
	Position  time.Duration
	Duration  time.Duration
	Watched   bool // played to the end
	UpdatedAt time.Time
}

// PlayRequest asks to play a video.
type PlayRequest struct {
	UUID       string
	Resolution int            // 0: best ≤ SettingMaxResolution (default 1080)
	From       *time.Duration // nil: resume where the user stopped
	Player     string         // "": SettingPlayer
}

// OpenResult is what an arbitrary link turned out to be.
type OpenResult struct {
	Video    *Video    // a PeerTube video page or API URL (details fetched and cached)
	Transfer *Transfer // a magnet or .torrent (added to the transfers)
}

// Playback is one video being watched. Its methods are safe for concurrent use.
type Playback interface {
	Video() Video
	File() VideoFile
	InfoHash() string
	StreamURL() string // loopback, token-protected; "Copy stream URL"
	Player() string    // "mpv", "vlc", "default"; "" when only streaming
	Stats() TransferStats
	Position() time.Duration // last known (mpv only)
	Done() <-chan struct{}   // closed when the player exits
	Err() error              // after Done: why the player failed, or nil
	Stop() error             // closes the player; the torrent keeps seeding
}
