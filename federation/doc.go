// Package federation is Fourmi's side of the fediverse: it speaks PeerTube's
// REST API (subpackage peertube) and, as hosting grows, ActivityPub.
//
// It imports nothing else of Fourmi: persistence reaches it through small
// interfaces that package library implements.
package federation
