// Package peer is Fourmi's BitTorrent side: one Engine (anacrolix/torrent)
// that adds PeerTube torrents (from .torrent bytes, a .torrent URL or a
// magnet), downloads them from the instance's web seed and from other peers,
// serves them to a local player over a loopback HTTP stream server with Range
// support, keeps seeding them across restarts, and creates torrents for local
// files.
//
// It imports nothing else of Fourmi. Metainfo from the network is untrusted:
// everything goes through ValidateInfo before the engine touches the disk.
//
// Lifecycle: New builds (no goroutines, no sockets), Start binds the
// BitTorrent port and the stream server and re-adds the torrents cached in the
// data directory, Close stops everything and waits.
//
// anacrolix/torrent v1.61 is pinned (v1.62 does not build here) and tuned
// where it would hurt streaming, partly through go:linkname to unexported
// identifiers of that exact version (webseed.go): web seed requests of
// WebSeedRequestSize instead of 64 MiB, WebSeedHostConcurrency requests per
// host instead of 25, planning at once instead of on a 5 s timer, torrents
// dropped only when no web seed request is winding down (else it panics).
// While a player streams, the stream fetches from the web seed itself, like
// a plain HTTP player, verifying every piece (direct.go), and web seeds
// serving bad data are proven bad and dropped (stats.go). Tests fail if any of these stops working.
//
// A write that fails (a full disk) pauses that torrent's download, says why
// in Stats.StorageErr and tries again every StorageRetryInterval; verified
// pieces are kept. Verified pieces are recorded in batches after their data
// is synced (completion.go); an idle engine (no byte moving) costs next to
// nothing per tick whatever the number of torrents.
//
// Data directory layout:
//
//	<DataDir>/torrents/<infohash>.torrent   metainfo cache (info + trackers + web seeds)
//	<DataDir>/data/<infohash>/<name>        the torrent's files
//	<DataDir>/data/.torrent.bolt.db         verified-piece completion
package peer
