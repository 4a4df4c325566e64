package server

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is what a Store returns when the thing asked for does not
// exist (wrap it or return it as is: callers test with errors.Is).
var ErrNotFound = errors.New("not found")

// Store is the mini-instance's persistence. Package library implements it
// over SQLite; MemStore is the in-memory reference implementation, and
// storetest.StoreContractTest is the contract both must pass.
//
// Every method is safe for concurrent use, takes a context first, and
// returns copies: mutating a returned value never changes the store. Times
// are stored with at least millisecond precision and come back in UTC.
type Store interface {
	// Instance returns the instance configuration, or ErrNotFound before
	// the first SaveInstance.
	Instance(ctx context.Context) (Instance, error)
	// SaveInstance replaces the instance configuration.
	SaveInstance(ctx context.Context, in Instance) error

	// ActorKey returns the PEM (PKCS#8) private key of a local actor role
	// (RoleInstance, RoleAccount, RoleChannel), or ErrNotFound.
	ActorKey(ctx context.Context, role string) (string, error)
	// PutActorKeyIfAbsent stores pem for role unless a key is already
	// stored, and returns the key now stored: the existing one when another
	// caller won the race. A key, once stored, never changes through this
	// method.
	PutActorKeyIfAbsent(ctx context.Context, role, pem string) (string, error)

	// PutLocalVideo inserts or replaces (by UUID) a video this instance
	// publishes. On first insert a zero ID is replaced by a new positive ID,
	// unique in the store; a replace keeps the stored ID. It returns the
	// video as stored.
	PutLocalVideo(ctx context.Context, v LocalVideo) (LocalVideo, error)
	// LocalVideo returns the video with this UUID, or ErrNotFound.
	LocalVideo(ctx context.Context, uuid string) (LocalVideo, error)
	// LocalVideos lists videos matching q (see VideoQuery) and the total
	// number matching before paging.
	LocalVideos(ctx context.Context, q VideoQuery) ([]LocalVideo, int, error)
	// DeleteLocalVideo removes a video; ErrNotFound when it is absent.
	DeleteLocalVideo(ctx context.Context, uuid string) error

	// PutFollower inserts or replaces the follower identified by
	// (Local, Actor).
	PutFollower(ctx context.Context, f Follower) error
	// Follower returns the follower (local, actor), or ErrNotFound.
	Follower(ctx context.Context, local, actor string) (Follower, error)
	// Followers lists the followers of local (every local actor when local
	// is empty) in the given state (any state when state is empty), oldest
	// first.
	Followers(ctx context.Context, local string, state FollowState) ([]Follower, error)
	// DeleteFollower removes (local, actor); ErrNotFound when absent.
	DeleteFollower(ctx context.Context, local, actor string) error

	// PutRemoteVideo inserts or replaces (by IRI) a remote video received
	// from the federation.
	PutRemoteVideo(ctx context.Context, v RemoteVideo) error
	// RemoteVideo returns the remote video with this IRI, or ErrNotFound.
	RemoteVideo(ctx context.Context, iri string) (RemoteVideo, error)
	// RemoteVideos lists the remote videos, most recently received first.
	RemoteVideos(ctx context.Context) ([]RemoteVideo, error)
	// DeleteRemoteVideo removes a remote video; ErrNotFound when absent.
	DeleteRemoteVideo(ctx context.Context, iri string) error

	// Enqueue adds one delivery of activity (its JSON, sent as is), signed
	// by the local actor role signer, per distinct inbox, due at notBefore.
	// It returns the new items' IDs, in the order of the distinct inboxes.
	Enqueue(ctx context.Context, activity []byte, signer string, inboxes []string, notBefore time.Time) ([]int64, error)
	// ClaimDeliveries leases up to max items due at now (NextAttempt ≤
	// now) and not leased by an earlier claim whose lease is still running
	// (LeasedUntil > now), oldest due first. Each claimed item's LeasedUntil
	// becomes now+lease, so a crashed claimer's items come back after the
	// lease.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Delivery, error)
	// DeliveryDone removes a delivered item.
	DeliveryDone(ctx context.Context, id int64) error
	// RetryDelivery releases a leased item for another attempt at next;
	// when countAttempt is set Attempts grows by one. lastErr is kept for
	// display.
	RetryDelivery(ctx context.Context, id int64, next time.Time, countAttempt bool, lastErr string) error
	// DropDelivery gives up on an item: it leaves the queue and is counted
	// as failed in QueueStats.
	DropDelivery(ctx context.Context, id int64, lastErr string) error
	// QueueStats counts pending (queued or leased) and dropped items.
	QueueStats(ctx context.Context) (QueueStats, error)

	// Breaker returns host's circuit breaker; a host never recorded has the
	// zero Breaker (closed) with Host set, not an error.
	Breaker(ctx context.Context, host string) (Breaker, error)
	// PutBreaker replaces a host's breaker state.
	PutBreaker(ctx context.Context, b Breaker) error
}

// Local actor roles: the instance's three actors, each with its own key.
const (
	RoleInstance = "instance" // the Application at /accounts/peertube
	RoleAccount  = "account"  // the Person at /accounts/NAME
	RoleChannel  = "channel"  // the Group at /video-channels/NAME
)

// Instance is the configuration of the mini-instance.
type Instance struct {
	// BaseURL is the public URL, scheme://host[:port] without a path: every
	// actor and object IRI is built from it.
	BaseURL string
	Name    string // the instance's name in NodeInfo and /api/v1/config

	AccountName        string // preferredUsername of the Person: [A-Za-z0-9\-_.:]+, not "peertube"
	AccountDisplayName string
	ChannelName        string // preferredUsername of the Group: not the account's name
	ChannelDisplayName string
	ChannelDescription string // 3–1000 characters, or empty
	AvatarPath         string // JPEG on disk, served as the actors' icon; "" for none

	// Trackers are the BitTorrent announce URLs put in magnets and in the
	// Video's url[] (http(s):// and ws(s)://).
	Trackers []string
	Created  time.Time
}

// VideoQuery selects local videos.
type VideoQuery struct {
	Start, Count int    // paging; Count ≤ 0 means no limit
	Sort         string // "-publishedAt" (default), "publishedAt", "-views", "views", "name", "-name"
	Search       string // case-insensitive substring of name, description or a tag; "" matches all
	// AllPrivacies lists every video; otherwise only PrivacyPublic ones.
	AllPrivacies bool
}

// Privacy levels, PeerTube's numbers.
const (
	PrivacyPublic   = 1
	PrivacyUnlisted = 2
	PrivacyPrivate  = 3
)

// LocalVideo is a video this instance publishes: everything its Video
// object, REST entries and static files need.
type LocalVideo struct {
	ID          int64  // assigned by the store on first insert
	UUID        string // a UUID v4
	Name        string // 3–120 characters
	Description string // markdown; empty or 3–10000 characters
	Duration    int    // seconds
	Published   time.Time
	Updated     time.Time
	Views       int64
	Tags        []string // 2–30 characters each, at most 5
	Category    int      // PeerTube category id; 0 for none
	Licence     int      // PeerTube licence id; 0 for none
	Language    string   // ISO 639 code; "" for none
	NSFW        bool
	Support     string
	Privacy     int // PrivacyPublic, PrivacyUnlisted, PrivacyPrivate
	Files       []VideoFile
	Thumbnail   ImageFile // the miniature: JPEG, wider than 150 px
	Preview     ImageFile // the large preview: JPEG; Path "" for none
}

// VideoFile is one rendition of a local video.
type VideoFile struct {
	Resolution  int // the height in pixels, PeerTube's resolution id
	Width       int
	Height      int
	FPS         int
	Size        int64
	Path        string // the MP4 on disk (the web seed)
	InfoHash    string // BitTorrent v1 info-hash, 40 lower-case hex
	TorrentPath string // the .torrent on disk
	Magnet      string // optional: built from InfoHash when empty
}

// ImageFile is a JPEG on disk with its size.
type ImageFile struct {
	Path          string
	Width, Height int
}

// FollowState is a follower's state.
type FollowState string

const (
	FollowPending  FollowState = "pending"  // waiting for Approve (manual approval)
	FollowAccepted FollowState = "accepted" // receives the instance's activities
)

// Follower is a remote actor following a local actor.
type Follower struct {
	Local       string // the local actor followed (its IRI)
	Actor       string // the follower's IRI
	Inbox       string // the follower's own inbox (Accept and Reject go there)
	SharedInbox string // its shared inbox, "" when none
	State       FollowState
	FollowID    string // the Follow activity's id
	FollowJSON  []byte // the Follow as received (embedded whole in Accept/Reject)
	Created     time.Time
}

// RemoteVideo is a validated remote Video received through the inbox.
type RemoteVideo struct {
	IRI      string // the Video's id
	UUID     string
	Name     string
	Actor    string // who sent the last Create/Announce/Update
	JSON     []byte // the Video object as fetched from its id and validated
	Received time.Time
}

// Delivery is a queued POST of an activity to one inbox.
type Delivery struct {
	ID          int64
	Activity    []byte // the JSON body, sent as is
	Signer      string // the local actor role signing it
	Inbox       string
	Attempts    int
	NextAttempt time.Time
	LeasedUntil time.Time
	LastError   string
	Created     time.Time
}

// QueueStats summarises the delivery queue.
type QueueStats struct {
	Pending int // queued or in flight
	Dropped int // given up
}

// Breaker is a host's circuit breaker: Failures consecutive failed
// deliveries; while OpenUntil is in the future nothing is sent there.
type Breaker struct {
	Host      string
	Failures  int
	OpenUntil time.Time
}
