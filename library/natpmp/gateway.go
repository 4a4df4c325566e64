package natpmp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// ErrNoDefaultRoute means the routing table has no IPv4 default route
// through a gateway.
var ErrNoDefaultRoute = errors.New("natpmp: no default IPv4 route through a gateway (is this computer on a network?)")

// DefaultGateway is the gateway of the IPv4 default route: the home
// router, where a NAT-PMP server listens. It reads /proc/net/route, so it
// works on Linux only; elsewhere it returns an error.
func DefaultGateway() (netip.Addr, error) {
	if runtime.GOOS != "linux" {
		return netip.Addr{}, fmt.Errorf("natpmp: finding the default gateway is not supported on %s", runtime.GOOS)
	}
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("natpmp: %w", err)
	}
	defer f.Close()
	return ParseRoutes(f)
}

// ParseRoutes returns the default IPv4 gateway from a Linux
// /proc/net/route table (the lowest-metric route that is up, goes through
// a gateway and has destination and mask 0), or ErrNoDefaultRoute.
func ParseRoutes(r io.Reader) (netip.Addr, error) {
	return parseRoutes(r, binary.NativeEndian)
}

// Route flags (linux/route.h).
const (
	rtfUp      = 0x1
	rtfGateway = 0x2
)

// parseRoutes reads the table whose addresses the kernel printed as
// integers in the byte order of its machine.
func parseRoutes(r io.Reader, order binary.ByteOrder) (netip.Addr, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return netip.Addr{}, fmt.Errorf("natpmp: reading the routing table: %w", err)
		}
		return netip.Addr{}, errors.New("natpmp: the routing table is empty (no header line)")
	}
	col := map[string]int{}
	for i, name := range strings.Fields(sc.Text()) {
		col[name] = i
	}
	for _, name := range []string{"Destination", "Gateway", "Flags", "Metric", "Mask"} {
		if _, ok := col[name]; !ok {
			return netip.Addr{}, fmt.Errorf("natpmp: the routing table has no %s column (not /proc/net/route?)", name)
		}
	}
	var (
		best       netip.Addr
		bestMetric uint64
	)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < len(col) {
			continue // a blank or cut line
		}
		dest, err1 := strconv.ParseUint(f[col["Destination"]], 16, 32)
		mask, err2 := strconv.ParseUint(f[col["Mask"]], 16, 32)
		gw, err3 := strconv.ParseUint(f[col["Gateway"]], 16, 32)
		flags, err4 := strconv.ParseUint(f[col["Flags"]], 16, 32)
		metric, err5 := strconv.ParseUint(f[col["Metric"]], 10, 64)
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return netip.Addr{}, fmt.Errorf("natpmp: a routing table line is malformed: %q: %w", sc.Text(), err)
		}
		if dest != 0 || mask != 0 || gw == 0 || flags&(rtfUp|rtfGateway) != rtfUp|rtfGateway {
			continue
		}
		var b [4]byte
		order.PutUint32(b[:], uint32(gw))
		if !best.IsValid() || metric < bestMetric {
			best, bestMetric = netip.AddrFrom4(b), metric
		}
	}
	if err := sc.Err(); err != nil {
		return netip.Addr{}, fmt.Errorf("natpmp: reading the routing table: %w", err)
	}
	if !best.IsValid() {
		return netip.Addr{}, ErrNoDefaultRoute
	}
	return best, nil
}
