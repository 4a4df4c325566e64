// Package natpmp is a NAT-PMP (RFC 6886) client for mapping the instance's
// TCP port on a home router: it asks the gateway for its external address,
// maps, renews and deletes port mappings, and finds the default gateway.
package natpmp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"time"
)

// Port is the UDP port a NAT-PMP gateway listens on.
const Port = 5351

// Defaults of the retransmission schedule (RFC 6886 §3.1): the first
// request waits 250 ms for an answer, each retransmission doubles the wait,
// and the client gives up after 9 attempts (about two minutes in all).
const (
	DefaultInitialInterval = 250 * time.Millisecond
	DefaultAttempts        = 9
)

// Protocol is what a mapping forwards.
type Protocol uint8

// Protocols, numbered as their map opcodes.
const (
	UDP Protocol = 1
	TCP Protocol = 2
)

func (p Protocol) String() string {
	switch p {
	case UDP:
		return "UDP"
	case TCP:
		return "TCP"
	}
	return fmt.Sprintf("protocol(%d)", uint8(p))
}

const (
	opExternalAddress = 0
	version           = 0
	responseBit       = 128
	headerLen         = 8 // version, opcode, result code, seconds since epoch
	addressRespLen    = 12
	mapReqLen         = 12
	mapRespLen        = 16
)

// Client talks to one gateway. It holds no socket between calls (each
// request uses a fresh one), so its methods are safe for concurrent use.
type Client struct {
	gateway  netip.AddrPort
	initial  time.Duration
	attempts int
	log      *slog.Logger
}

// Option adjusts a Client.
type Option func(*Client)

// WithPort sends requests to port instead of 5351 (tests run a responder
// on a random loopback port).
func WithPort(port uint16) Option {
	return func(c *Client) { c.gateway = netip.AddrPortFrom(c.gateway.Addr(), port) }
}

// WithRetransmit sets the wait before the first retransmission (doubled
// after each) and the number of requests sent before giving up. Values
// below 1 keep the defaults.
func WithRetransmit(initial time.Duration, attempts int) Option {
	return func(c *Client) {
		if initial > 0 {
			c.initial = initial
		}
		if attempts > 0 {
			c.attempts = attempts
		}
	}
}

// WithLogger logs ignored datagrams and renewals at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// New is a client of the NAT-PMP server on gateway (port 5351 unless
// WithPort). It sends nothing until asked.
func New(gateway netip.Addr, opts ...Option) *Client {
	c := &Client{
		gateway:  netip.AddrPortFrom(gateway.Unmap(), Port),
		initial:  DefaultInitialInterval,
		attempts: DefaultAttempts,
		log:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Gateway is the address and port requests go to.
func (c *Client) Gateway() netip.AddrPort { return c.gateway }

// Mapping is a port mapping the gateway granted.
type Mapping struct {
	Protocol Protocol
	Internal uint16        // the port on this computer
	External uint16        // the port on the router's external address
	Lifetime time.Duration // how long the gateway keeps it without renewal
	// Requested is the lifetime asked for; renewals ask for it again.
	Requested time.Duration
	// Epoch is the gateway's seconds since its mapping table was reset,
	// when it answered.
	Epoch uint32
	// Granted is when the answer arrived: the mapping expires at
	// Granted+Lifetime.
	Granted time.Time
}

// Expires is when the gateway drops the mapping unless renewed.
func (m Mapping) Expires() time.Time { return m.Granted.Add(m.Lifetime) }

// ExternalAddress asks the gateway for its public IPv4 address.
func (c *Client) ExternalAddress(ctx context.Context) (netip.Addr, error) {
	resp, err := c.exchange(ctx, []byte{version, opExternalAddress}, addressRespLen)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("natpmp: external address: %w", err)
	}
	return netip.AddrFrom4([4]byte(resp[8:12])), nil
}

// MapTCP asks the gateway to forward TCP connections on an external port
// (suggestedExternal, or one of its choosing if 0 or taken) to internal
// on this computer, for lifetime (rounded up to whole seconds). The
// granted mapping may differ from what was asked: use its fields.
func (c *Client) MapTCP(ctx context.Context, internal, suggestedExternal uint16, lifetime time.Duration) (Mapping, error) {
	return c.Map(ctx, TCP, internal, suggestedExternal, lifetime)
}

// Map is MapTCP for either protocol.
func (c *Client) Map(ctx context.Context, p Protocol, internal, suggestedExternal uint16, lifetime time.Duration) (Mapping, error) {
	if p != TCP && p != UDP {
		return Mapping{}, fmt.Errorf("natpmp: unknown protocol %d", p)
	}
	if internal == 0 {
		return Mapping{}, errors.New("natpmp: map: the internal port must not be 0")
	}
	if lifetime <= 0 {
		return Mapping{}, fmt.Errorf("natpmp: map %s %d: the lifetime must be positive (Unmap deletes a mapping)", p, internal)
	}
	secs := math.Ceil(lifetime.Seconds())
	if secs > math.MaxUint32 {
		secs = math.MaxUint32
	}
	m, err := c.mapRequest(ctx, p, internal, suggestedExternal, uint32(secs))
	if err != nil {
		return Mapping{}, fmt.Errorf("natpmp: map %s %d: %w", p, internal, err)
	}
	if m.Lifetime == 0 || m.External == 0 {
		return Mapping{}, fmt.Errorf("natpmp: map %s %d: the gateway answered success without a mapping (port %d, lifetime %v)",
			p, internal, m.External, m.Lifetime)
	}
	m.Requested = lifetime
	return m, nil
}

// Unmap asks the gateway to delete m (a map request with lifetime 0 and
// external port 0, RFC 6886 §3.4).
func (c *Client) Unmap(ctx context.Context, m Mapping) error {
	if m.Internal == 0 {
		return errors.New("natpmp: unmap: the mapping has no internal port")
	}
	if _, err := c.mapRequest(ctx, m.Protocol, m.Internal, 0, 0); err != nil {
		return fmt.Errorf("natpmp: unmap %s %d: %w", m.Protocol, m.Internal, err)
	}
	return nil
}

// Renew asks again for m's mapping (same internal port, its external port
// suggested, its requested lifetime) and returns what was granted.
func (c *Client) Renew(ctx context.Context, m Mapping) (Mapping, error) {
	want := m.Requested
	if want <= 0 {
		want = m.Lifetime
	}
	return c.Map(ctx, m.Protocol, m.Internal, m.External, want)
}

func (c *Client) mapRequest(ctx context.Context, p Protocol, internal, external uint16, lifetime uint32) (Mapping, error) {
	req := make([]byte, mapReqLen)
	req[0], req[1] = version, byte(p)
	binary.BigEndian.PutUint16(req[4:], internal)
	binary.BigEndian.PutUint16(req[6:], external)
	binary.BigEndian.PutUint32(req[8:], lifetime)
	resp, err := c.exchange(ctx, req, mapRespLen)
	if err != nil {
		return Mapping{}, err
	}
	m := Mapping{
		Protocol: p,
		Epoch:    binary.BigEndian.Uint32(resp[4:]),
		Internal: binary.BigEndian.Uint16(resp[8:]),
		External: binary.BigEndian.Uint16(resp[10:]),
		Lifetime: time.Duration(binary.BigEndian.Uint32(resp[12:])) * time.Second,
		Granted:  time.Now(),
	}
	if m.Internal != internal {
		return Mapping{}, fmt.Errorf("the gateway answered for internal port %d, not %d", m.Internal, internal)
	}
	return m, nil
}

// exchange sends req from a fresh socket, retransmitting on the schedule,
// until the gateway answers with the matching opcode. A success answer
// must be n bytes long; an error answer only needs its header.
func (c *Client) exchange(ctx context.Context, req []byte, n int) ([]byte, error) {
	if !c.gateway.Addr().Is4() {
		return nil, fmt.Errorf("the gateway %s is not an IPv4 address (NAT-PMP is IPv4 only)", c.gateway.Addr())
	}
	conn, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// A cancelled ctx interrupts the read at once.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	wantOp := responseBit + req[1]
	buf := make([]byte, 1100) // RFC 6886: responses are small; more is not ours
	interval := c.initial
	sent := 0
	for sent < c.attempts && ctx.Err() == nil {
		if _, err := conn.WriteToUDPAddrPort(req, c.gateway); err != nil {
			return nil, fmt.Errorf("sending to %s: %w", c.gateway, err)
		}
		sent++
		deadline := time.Now().Add(interval)
		ctxDeadline, hasDeadline := ctx.Deadline()
		if hasDeadline && ctxDeadline.Before(deadline) {
			deadline = ctxDeadline
		}
		conn.SetReadDeadline(deadline)
		if ctx.Err() != nil { // cancelled before the line above: it undid the cancel's deadline
			break
		}
		for {
			k, from, err := conn.ReadFromUDPAddrPort(buf)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("no answer from %s (%d requests sent): %w", c.gateway, sent, ctx.Err())
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if hasDeadline && !time.Now().Before(ctxDeadline) {
					<-ctx.Done() // the deadline passed: no more tries
				}
				break // retransmit
			}
			if err != nil {
				return nil, fmt.Errorf("reading from %s: %w", c.gateway, err)
			}
			resp := buf[:k]
			if why := c.foreign(from, resp, wantOp); why != "" {
				c.log.Debug("natpmp: ignoring a datagram", "from", from, "len", k, "why", why)
				continue
			}
			if code := binary.BigEndian.Uint16(resp[2:]); code != 0 {
				return nil, &ResultError{Opcode: req[1], Code: ResultCode(code)}
			}
			if k < n {
				c.log.Debug("natpmp: ignoring a short answer", "from", from, "len", k, "want", n)
				continue
			}
			return append([]byte(nil), resp[:n]...), nil
		}
		interval *= 2
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("no answer from %s (%d requests sent): %w", c.gateway, sent, ctx.Err())
	}
	return nil, fmt.Errorf("%w from %s after %d requests", ErrNoAnswer, c.gateway, sent)
}

// foreign says why a datagram is not the gateway's answer ("" if it is).
func (c *Client) foreign(from netip.AddrPort, resp []byte, wantOp byte) string {
	switch {
	case from.Addr().Unmap() != c.gateway.Addr() || from.Port() != c.gateway.Port():
		return "not from the gateway"
	case len(resp) < headerLen:
		return "too short"
	case resp[0] != version:
		return fmt.Sprintf("version %d", resp[0])
	case resp[1] == responseBit && len(resp) >= 4 && ResultCode(binary.BigEndian.Uint16(resp[2:])) == UnsupportedVersion:
		return "" // a PCP-only server's answer to any NAT-PMP request (RFC 6887 §9)
	case resp[1] != wantOp:
		return fmt.Sprintf("opcode %d, want %d", resp[1], wantOp)
	}
	return ""
}
