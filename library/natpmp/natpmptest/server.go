// Package natpmptest runs a NAT-PMP gateway on loopback for tests: the
// server side of RFC 6886 with a real mapping table, and knobs to drop,
// refuse or muddle its answers.
package natpmptest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Request is one datagram the gateway received.
type Request struct {
	Opcode   byte
	Internal uint16 // map requests: the fields as sent
	External uint16
	Lifetime uint32
	At       time.Time
	Dropped  bool // not answered (Drop)
	// Renewal: a live mapping for this protocol and internal port existed.
	Renewal bool
	// Late: a mapping existed but had expired before this request.
	Late bool
}

// Entry is a mapping in the gateway's table.
type Entry struct {
	Protocol byte // 1 UDP, 2 TCP
	Internal uint16
	External uint16
	Expires  time.Time
}

type key struct {
	proto    byte
	internal uint16
}

// Server is a NAT-PMP gateway on 127.0.0.1 at a random port.
type Server struct {
	Addr netip.AddrPort // where to send requests

	conn  *net.UDPConn
	other *net.UDPConn // 127.0.0.1, another port: sends decoys
	far   *net.UDPConn // 127.0.0.2 when it can be bound: sends decoys
	start time.Time
	wg    sync.WaitGroup

	mu          sync.Mutex
	external    netip.Addr
	maxLifetime uint32
	drop        int
	result      uint16
	decoys      bool
	table       map[key]*Entry
	requests    []Request
}

// Start runs a gateway with external address 203.0.113.7 that grants any
// lifetime; it stops at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	listen := func(ip string) *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			return nil
		}
		return c
	}
	s := &Server{
		conn:     listen("127.0.0.1"),
		other:    listen("127.0.0.1"),
		far:      listen("127.0.0.2"),
		start:    time.Now(),
		external: netip.MustParseAddr("203.0.113.7"),
		table:    map[key]*Entry{},
	}
	if s.conn == nil || s.other == nil {
		t.Fatal("natpmptest: cannot listen on 127.0.0.1")
	}
	s.Addr = s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	s.wg.Go(s.serve)
	t.Cleanup(s.Close)
	return s
}

// Close stops the gateway and waits for it.
func (s *Server) Close() {
	s.conn.Close()
	s.other.Close()
	if s.far != nil {
		s.far.Close()
	}
	s.wg.Wait()
}

// SetExternal sets the external address the gateway reports.
func (s *Server) SetExternal(a netip.Addr) { s.mu.Lock(); s.external = a; s.mu.Unlock() }

// SetMaxLifetime caps the lifetime granted (seconds; 0 = no cap).
func (s *Server) SetMaxLifetime(secs uint32) { s.mu.Lock(); s.maxLifetime = secs; s.mu.Unlock() }

// Drop leaves the next n requests unanswered.
func (s *Server) Drop(n int) { s.mu.Lock(); s.drop = n; s.mu.Unlock() }

// SetResult answers every request with this result code (0 = behave).
func (s *Server) SetResult(code uint16) { s.mu.Lock(); s.result = code; s.mu.Unlock() }

// SetDecoys sends, before each answer, datagrams a client must ignore:
// well-formed answers with bogus values from another port and (when it
// can bind it) from 127.0.0.2, garbage, an answer with the wrong opcode,
// one with version 1, and a success answer cut short.
func (s *Server) SetDecoys(on bool) { s.mu.Lock(); s.decoys = on; s.mu.Unlock() }

// Requests is every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Mappings is the live mapping table.
func (s *Server) Mappings() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	now := time.Now()
	for _, e := range s.table {
		if now.Before(e.Expires) {
			out = append(out, *e)
		}
	}
	return out
}

// Bogus values carried by decoys: a client that reports them was fooled.
const (
	BogusExternalPort = 6666
	BogusAddress      = "198.51.100.66"
)

func (s *Server) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if resp, decoys := s.handle(buf[:n]); resp != nil {
			for _, d := range decoys {
				c := s.conn
				if d.from != nil {
					c = d.from
				}
				c.WriteToUDPAddrPort(d.b, from)
			}
			s.conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

type decoy struct {
	from *net.UDPConn // nil: the gateway's own socket
	b    []byte
}

// handle updates the table and returns the answer (nil: none) and the
// decoys to send before it.
func (s *Server) handle(req []byte) ([]byte, []decoy) {
	if len(req) < 2 || req[1] >= 128 {
		return nil, nil // not a request
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	r := Request{Opcode: req[1], At: now}
	op := req[1]
	if (op == 1 || op == 2) && len(req) >= 12 {
		r.Internal = binary.BigEndian.Uint16(req[4:])
		r.External = binary.BigEndian.Uint16(req[6:])
		r.Lifetime = binary.BigEndian.Uint32(req[8:])
		if e, ok := s.table[key{op, r.Internal}]; ok {
			r.Renewal = now.Before(e.Expires)
			r.Late = !r.Renewal
		}
	}
	if s.drop > 0 {
		s.drop--
		r.Dropped = true
		s.requests = append(s.requests, r)
		return nil, nil
	}
	s.requests = append(s.requests, r)
	epoch := uint32(now.Sub(s.start) / time.Second)
	header := func(n int, code uint16) []byte {
		b := make([]byte, n)
		b[1] = 128 + op
		binary.BigEndian.PutUint16(b[2:], code)
		binary.BigEndian.PutUint32(b[4:], epoch)
		return b
	}
	var decoys []decoy
	if s.decoys {
		decoys = s.decoysFor(op, r.Internal, epoch)
	}
	switch {
	case req[0] != 0:
		return header(8, 1), decoys // unsupported version: the header only
	case op > 2:
		return header(8, 5), decoys // unsupported opcode
	case s.result != 0 && op == 0:
		return header(12, s.result), decoys
	case s.result != 0:
		return header(16, s.result), decoys
	case op == 0:
		b := header(12, 0)
		a := s.external.As4()
		copy(b[8:], a[:])
		return b, decoys
	case len(req) < 12:
		return nil, nil // a cut map request: ignored
	}
	k := key{op, r.Internal}
	b := header(16, 0)
	binary.BigEndian.PutUint16(b[8:], r.Internal)
	if r.Lifetime == 0 { // delete (external port 0 is the RFC's)
		delete(s.table, k)
		return b, decoys
	}
	granted := r.Lifetime
	if s.maxLifetime > 0 && granted > s.maxLifetime {
		granted = s.maxLifetime
	}
	e := s.table[k]
	if e == nil || !now.Before(e.Expires) {
		e = &Entry{Protocol: op, Internal: r.Internal, External: s.freePort(op, r.External, r.Internal)}
		s.table[k] = e
	}
	e.Expires = now.Add(time.Duration(granted) * time.Second)
	binary.BigEndian.PutUint16(b[10:], e.External)
	binary.BigEndian.PutUint32(b[12:], granted)
	return b, decoys
}

// freePort is the suggested external port if no other mapping uses it,
// else the first free one from 40000.
func (s *Server) freePort(proto byte, suggested, internal uint16) uint16 {
	used := map[uint16]bool{}
	now := time.Now()
	for k, e := range s.table {
		if k.proto == proto && k.internal != internal && now.Before(e.Expires) {
			used[e.External] = true
		}
	}
	if suggested != 0 && !used[suggested] {
		return suggested
	}
	p := uint16(40000)
	for used[p] {
		p++
	}
	return p
}

func (s *Server) decoysFor(op byte, internal uint16, epoch uint32) []decoy {
	bogus := func(version, opcode byte, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = version, opcode
		binary.BigEndian.PutUint32(b[4:], epoch)
		if op == 0 {
			a := netip.MustParseAddr(BogusAddress).As4()
			copy(b[8:], a[:])
		} else if n >= 16 {
			binary.BigEndian.PutUint16(b[8:], internal)
			binary.BigEndian.PutUint16(b[10:], BogusExternalPort)
			binary.BigEndian.PutUint32(b[12:], 3600)
		}
		return b
	}
	full := 16
	if op == 0 {
		full = 12
	}
	wrongOp := byte(128 + 1)
	if op == 1 {
		wrongOp = 128 + 2
	}
	ds := []decoy{
		{from: s.other, b: bogus(0, 128+op, full)},
		{b: []byte{0, 128 + op, 0}},
		{b: bogus(0, wrongOp, 16)},
		{b: bogus(1, 128+op, full)},
		{b: bogus(0, 128+op, full-4)},
	}
	if s.far != nil {
		ds = append(ds, decoy{from: s.far, b: bogus(0, 128+op, full)})
	}
	return ds
}
