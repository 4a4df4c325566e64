package tracker

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// peer is one listed peer of a swarm: an HTTP peer (addr, keyed by
// "h" + "ip:port", so nobody can replace or remove another host's entry) or
// a WebSocket peer (ws, keyed by "w" + its peer_id, bound to its connection).
type peer struct {
	id       [20]byte
	addr     netip.AddrPort // HTTP peers
	ip       netip.Addr     // the client's address, for the per-IP cap
	ws       *wsConn        // WebSocket peers
	complete bool           // a seeder
	unlisted bool           // the instance's own seed (Config.Unlisted)
	expires  time.Time
}

// swarm holds one torrent's peers. The tracker's mutex guards it.
type swarm struct {
	peers      map[string]*peer
	downloaded int
}

// announcement is one announce, HTTP or WebSocket, after validation.
type announcement struct {
	key      string
	id       [20]byte
	addr     netip.AddrPort // HTTP
	ip       netip.Addr
	ws       *wsConn // WebSocket
	complete bool    // left == 0
	leftSaid bool    // left was given; if not, a listed peer keeps its state
	event    string  // "", "started", "stopped", "completed", "paused"
	listable bool    // the address may be given to others
	unlisted bool    // counted, but neither given to others nor given any
}

// expire drops peers that have not announced within their TTL.
func (s *swarm) expire(now time.Time) {
	for k, p := range s.peers {
		if now.After(p.expires) {
			delete(s.peers, k)
		}
	}
}

func (s *swarm) stats() Stats {
	st := Stats{Downloaded: s.downloaded}
	for _, p := range s.peers {
		if p.complete {
			st.Complete++
		} else {
			st.Incomplete++
		}
	}
	return st
}

// ownedBy reports whether the entry at key belongs to the announcer: always for
// HTTP (the key is the connection's address), only the same socket for
// WebSocket.
func (p *peer) ownedBy(a *announcement) bool { return p.ws == a.ws }

// update applies an announcement and reports whether the peer is listed
// afterwards.
func (s *swarm) update(a *announcement, now time.Time, cfg *Config) bool {
	s.expire(now)
	p := s.peers[a.key]
	if p != nil && !p.ownedBy(a) {
		return false // the caller refuses a peer_id held by another socket
	}
	if a.event == "completed" && (p == nil || !p.complete) {
		if !a.leftSaid {
			a.complete, a.leftSaid = true, true
		}
		s.downloaded++
	}
	if a.event == "stopped" {
		if p != nil {
			delete(s.peers, a.key)
		}
		return false
	}
	if p == nil {
		if !a.listable || len(s.peers) >= cfg.MaxPeersPerTorrent {
			return false
		}
		sameIP := 0
		for _, q := range s.peers {
			if q.ip == a.ip {
				sameIP++
			}
		}
		if sameIP >= cfg.MaxPeersPerIP {
			return false
		}
		p = &peer{ws: a.ws}
		s.peers[a.key] = p
	}
	p.id, p.addr, p.ip, p.unlisted = a.id, a.addr, a.ip, a.unlisted
	if a.leftSaid || p.expires.IsZero() {
		p.complete = a.complete
	}
	p.expires = now.Add(cfg.PeerTTL)
	return true
}

// pick returns up to n peers of the same kind (WebSocket or not) other than
// the one at self, in random order; seeders get only leechers.
func (s *swarm) pick(n int, self string, ws, forSeeder bool) []*peer {
	if n <= 0 {
		return nil
	}
	var cand []*peer
	for k, p := range s.peers {
		if k == self || p.unlisted || (p.ws != nil) != ws || (forSeeder && p.complete) {
			continue
		}
		cand = append(cand, p)
	}
	// Partial Fisher-Yates: the first n are a uniform sample.
	n = min(n, len(cand))
	for i := range n {
		j := i + rand.IntN(len(cand)-i)
		cand[i], cand[j] = cand[j], cand[i]
	}
	return cand[:n]
}
