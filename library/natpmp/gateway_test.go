package natpmp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// Tables as Linux prints them (tabs, padded header, trailing blanks).
const (
	routeHeader = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n"
	// A laptop on Wi-Fi (metric 600) and Ethernet (metric 100), plus Docker.
	routesTwoDefaults = routeHeader +
		"wlp2s0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0                                                                               \n" +
		"enp3s0\t00000000\tFE01A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0                                                                               \n" +
		"enp3s0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0                                                                               \n" +
		"docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0                                                                               \n"
	// A VPN with a default route but no gateway (point-to-point), and a
	// default route that is down.
	routesNoDefault = routeHeader +
		"tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0                                                                               \n" +
		"eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0                                                                               \n" +
		"eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                               \n"
)

func TestParseRoutes(t *testing.T) {
	for _, tc := range []struct {
		name, table string
		order       binary.ByteOrder
		want        string
		err         string
	}{
		{"this container", routeHeader + "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0    \neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
			binary.LittleEndian, "192.0.2.1", ""},
		{"lowest metric wins", routesTwoDefaults, binary.LittleEndian, "192.168.1.254", ""},
		{"big-endian machine", routeHeader + "eth0\t00000000\t0A000001\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
			binary.BigEndian, "10.0.0.1", ""},
		{"no default route", routesNoDefault, binary.LittleEndian, "", "no default IPv4 route"},
		{"header only", routeHeader, binary.LittleEndian, "", "no default IPv4 route"},
		{"empty", "", binary.LittleEndian, "", "empty"},
		{"not a route table", "Inter-|   Receive\n face |bytes\n", binary.LittleEndian, "", "no Destination column"},
		{"malformed line", routeHeader + "eth0\t00000000\tZZZZ\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", binary.LittleEndian, "", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRoutes(strings.NewReader(tc.table), tc.order)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != netip.MustParseAddr(tc.want) {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
	if _, err := ParseRoutes(strings.NewReader(routesNoDefault)); !errors.Is(err, ErrNoDefaultRoute) {
		t.Errorf("ParseRoutes without a default route: %v; want ErrNoDefaultRoute", err)
	}
}
