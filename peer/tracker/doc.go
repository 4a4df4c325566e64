// Package tracker is the mini-instance's BitTorrent tracker: the
// /tracker/announce and /tracker/scrape HTTP endpoints (BEP 3, compact peers
// per BEP 23 and BEP 7, scrape per BEP 48) and the /tracker/socket WebSocket
// endpoint that WebTorrent peers use to find each other and exchange WebRTC
// offers and answers, the same URLs PeerTube puts in its torrents
// (wss://host/tracker/socket, https://host/tracker/announce).
//
// Like PeerTube's, the tracker is private to the instance: it answers only
// for info-hashes that Config.Known accepts, and keeps everything in memory
// with hard caps (torrents, peers per torrent and per IP, WebSocket
// connections, message sizes, requests per IP per minute), so a hostile
// client costs a bounded amount of memory and CPU.
//
// Lifecycle: New builds (no goroutines); Handler serves; Start runs the
// janitor that forgets expired peers (expired peers are also skipped and
// dropped lazily, so a tracker never started still answers correctly);
// Close drops every WebSocket connection and waits for their goroutines.
//
// It imports nothing else of Fourmi.
package tracker
