package library

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/library/natpmp"
	"github.com/fourmi-app/fourmi/library/natpmp/natpmptest"
)

// portMapLib is a started library whose port mapping talks only to gw
// (no UPnP multicast, no real router).
func portMapLib(t *testing.T, gw *natpmptest.Server) *Library {
	o := publishOpts(t.TempDir())
	o.NATPMPGateway = gw.Addr.String()
	return startPublishLib(t, o)
}

func portMapStatus(t *testing.T, l *Library) string {
	st, err := l.HostStatus(context.Background())
	if err != nil {
		t.Fatalf("HostStatus: %v", err)
	}
	return st.PortMapping
}

func TestHostPortMapNATPMP(t *testing.T) {
	gw := natpmptest.Start(t)
	gw.SetMaxLifetime(2) // the library asks for 2 h; 2 s makes it renew every second
	l := portMapLib(t, gw)
	c := loopbackHost(t, "alice", "alice_videos")
	c.PortMapping = true
	_, p, _ := net.SplitHostPort(c.Listen)
	port, _ := strconv.Atoi(p)
	startHosting(t, l, c)

	want := fmt.Sprintf("mapped TCP %d → %d on the router (NAT-PMP) 203.0.113.7:%d", port, port, port)
	waitFor(t, "the NAT-PMP mapping in the status", func() bool { return portMapStatus(t, l) == want })
	if tab := gw.Mappings(); len(tab) != 1 || tab[0].Protocol != 2 || int(tab[0].Internal) != port || int(tab[0].External) != port {
		t.Fatalf("gateway table = %+v; want TCP %d → %d", tab, port, port)
	}
	waitFor(t, "two renewals", func() bool {
		n := 0
		for _, r := range gw.Requests() {
			if r.Renewal {
				n++
			}
		}
		return n >= 2
	})
	for _, r := range gw.Requests() {
		if r.Late {
			t.Errorf("a renewal arrived after the mapping expired: %+v", r)
		}
		if r.Opcode == 2 && r.Lifetime != 0 && r.Lifetime != 7200 {
			t.Errorf("map request asked for %d s; want 7200", r.Lifetime)
		}
	}
	if st := portMapStatus(t, l); st != want {
		t.Errorf("status after renewals = %q; want %q", st, want)
	}

	// Stopping deletes the mapping (stopHost waits for it).
	if err := l.StopHosting(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tab := gw.Mappings(); len(tab) != 0 {
		t.Fatalf("gateway table after stop = %+v; want empty", tab)
	}
	reqs := gw.Requests()
	last := reqs[len(reqs)-1]
	if last.Opcode != 2 || int(last.Internal) != port || last.External != 0 || last.Lifetime != 0 {
		t.Fatalf("last request = %+v; want the deletion (lifetime 0, external 0)", last)
	}
}

func TestHostPortMapRefused(t *testing.T) {
	gw := natpmptest.Start(t)
	gw.SetResult(uint16(natpmp.NotAuthorized))
	l := portMapLib(t, gw)
	c := loopbackHost(t, "bob", "bob_videos")
	c.PortMapping = true
	_, port, _ := net.SplitHostPort(c.Listen)
	startHosting(t, l, c)

	var st string
	waitFor(t, "the combined failure in the status", func() bool {
		st = portMapStatus(t, l)
		return strings.HasPrefix(st, "no port mapping")
	})
	for _, want := range []string{
		"UPnP: not tried",
		"NAT-PMP: the router at 127.0.0.1: NAT-PMP result 2",
		"allow NAT-PMP in its settings",
		"forward TCP port " + port + " to this computer",
	} {
		if !strings.Contains(st, want) {
			t.Errorf("status %q lacks %q", st, want)
		}
	}
	if tab := gw.Mappings(); len(tab) != 0 {
		t.Errorf("a refused mapping is in the table: %+v", tab)
	}
}

func TestHostPortMapBadGateway(t *testing.T) {
	o := publishOpts(t.TempDir())
	o.NATPMPGateway = "not an address"
	l := startPublishLib(t, o)
	c := loopbackHost(t, "carol", "carol_videos")
	c.PortMapping = true
	startHosting(t, l, c)
	waitFor(t, "the failure in the status", func() bool {
		st := portMapStatus(t, l)
		return strings.HasPrefix(st, "no port mapping") && strings.Contains(st, `the NAT-PMP gateway "not an address"`)
	})
}
