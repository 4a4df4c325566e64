package natpmp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/library/natpmp"
	"github.com/fourmi-app/fourmi/library/natpmp/natpmptest"
)

// client talks to gw with a fast schedule (20 ms doubling, 6 attempts:
// 1.26 s before giving up).
func client(gw *natpmptest.Server, opts ...natpmp.Option) *natpmp.Client {
	opts = append([]natpmp.Option{natpmp.WithPort(gw.Addr.Port()), natpmp.WithRetransmit(20*time.Millisecond, 6)}, opts...)
	return natpmp.New(gw.Addr.Addr(), opts...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestExternalAddressAndMap(t *testing.T) {
	for _, decoys := range []bool{false, true} {
		t.Run(fmt.Sprintf("decoys=%v", decoys), func(t *testing.T) {
			gw := natpmptest.Start(t)
			gw.SetDecoys(decoys) // decoys must all be ignored
			// Answered long before a retransmission is due.
			c := client(gw, natpmp.WithRetransmit(2*time.Second, 3))
			ctx := ctxT(t)

			ip, err := c.ExternalAddress(ctx)
			if err != nil || ip != netip.MustParseAddr("203.0.113.7") {
				t.Fatalf("ExternalAddress = %v, %v; want 203.0.113.7", ip, err)
			}
			m, err := c.MapTCP(ctx, 8080, 8080, 90*time.Minute+300*time.Millisecond)
			if err != nil {
				t.Fatalf("MapTCP: %v", err)
			}
			if m.Protocol != natpmp.TCP || m.Internal != 8080 || m.External != 8080 ||
				m.Lifetime != 5401*time.Second || m.Requested != 90*time.Minute+300*time.Millisecond {
				t.Fatalf("mapping = %+v; want TCP 8080→8080 for 5401 s (lifetime rounded up)", m)
			}
			if tab := gw.Mappings(); len(tab) != 1 || tab[0].Protocol != 2 || tab[0].Internal != 8080 || tab[0].External != 8080 {
				t.Fatalf("gateway table = %+v; want one TCP 8080→8080", tab)
			}
			// Another computer's port 8080 being taken, the gateway picks one.
			u, err := c.Map(ctx, natpmp.UDP, 8080, 8080, time.Hour)
			if err != nil || u.Protocol != natpmp.UDP || u.External != 8080 {
				t.Fatalf("Map UDP = %+v, %v; want UDP 8080 (a separate table)", u, err)
			}
			m2, err := c.MapTCP(ctx, 9000, 8080, time.Hour)
			if err != nil || m2.External == 8080 || m2.External == 0 || m2.Internal != 9000 {
				t.Fatalf("MapTCP(9000, suggest 8080) = %+v, %v; want another external port", m2, err)
			}
			if !decoys {
				if n := len(gw.Requests()); n != 4 {
					t.Errorf("gateway saw %d requests; want 4 (no retransmission when answered)", n)
				}
			}
		})
	}
}

func TestRetransmitThenSuccess(t *testing.T) {
	gw := natpmptest.Start(t)
	gw.Drop(3)
	c := client(gw, natpmp.WithRetransmit(20*time.Millisecond, 9))
	m, err := c.MapTCP(ctxT(t), 8080, 8080, time.Hour)
	if err != nil || m.External != 8080 {
		t.Fatalf("MapTCP after 3 lost requests = %+v, %v; want success", m, err)
	}
	reqs := gw.Requests()
	if len(reqs) < 4 {
		t.Fatalf("gateway saw %d requests; want ≥ 4 (3 dropped, then answered)", len(reqs))
	}
	for i, r := range reqs[:4] {
		if r.Opcode != 2 || r.Internal != 8080 || r.External != 8080 || r.Lifetime != 3600 || r.Dropped != (i < 3) {
			t.Errorf("request %d = %+v; want the same TCP map request, dropped=%v", i, r, i < 3)
		}
	}
	// The waits double (20 + 40 + 80 ms between the four requests; a
	// constant 20 ms would take 60). Half of it leaves room for a loaded
	// machine's delays.
	if span := reqs[3].At.Sub(reqs[0].At); span < 70*time.Millisecond {
		t.Errorf("four requests within %v; want the waits to double (140 ms)", span)
	}
}

func TestNoAnswer(t *testing.T) {
	// A socket that never answers (so no ICMP error either).
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var (
		mu  sync.Mutex
		got int
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			if _, _, err := silent.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			got++
			mu.Unlock()
		}
	}()
	addr := silent.LocalAddr().(*net.UDPAddr).AddrPort()
	c := natpmp.New(addr.Addr(), natpmp.WithPort(addr.Port()), natpmp.WithRetransmit(10*time.Millisecond, 4))

	_, err = c.MapTCP(ctxT(t), 8080, 8080, time.Hour)
	if !errors.Is(err, natpmp.ErrNoAnswer) || !strings.Contains(err.Error(), "after 4 requests") ||
		!strings.Contains(err.Error(), addr.String()) {
		t.Fatalf("MapTCP to a silent gateway: %v; want ErrNoAnswer naming the gateway and 4 requests", err)
	}
	_, err = c.ExternalAddress(ctxT(t))
	if !errors.Is(err, natpmp.ErrNoAnswer) {
		t.Fatalf("ExternalAddress to a silent gateway: %v; want ErrNoAnswer", err)
	}

	// A deadline ends it sooner, with the context's error.
	slow := natpmp.New(addr.Addr(), natpmp.WithPort(addr.Port()))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = slow.ExternalAddress(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from") {
		t.Fatalf("ExternalAddress with a 300 ms deadline: %v; want a no-answer error wrapping DeadlineExceeded", err)
	}

	// Cancelling interrupts the wait at once (here a 10 s one).
	patient := natpmp.New(addr.Addr(), natpmp.WithPort(addr.Port()), natpmp.WithRetransmit(10*time.Second, 2))
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = patient.MapTCP(ctx, 8080, 8080, time.Hour)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("MapTCP cancelled after 100 ms: %v after %v; want context.Canceled well before the 10 s wait", err, time.Since(start))
	}
	silent.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if got < 9 {
		t.Errorf("the silent gateway got %d requests; want ≥ 9 (4 + 4 + 1)", got)
	}
}

func TestResultCodes(t *testing.T) {
	for _, tc := range []struct {
		code natpmp.ResultCode
		want string
	}{
		{natpmp.UnsupportedVersion, "unsupported version"},
		{natpmp.NotAuthorized, "allow NAT-PMP in its settings"},
		{natpmp.NetworkFailure, "network failure"},
		{natpmp.OutOfResources, "out of resources"},
		{natpmp.UnsupportedOpcode, "unsupported opcode"},
		{natpmp.ResultCode(9), "unknown result code 9"},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			gw := natpmptest.Start(t)
			gw.SetResult(uint16(tc.code))
			c := client(gw, natpmp.WithRetransmit(time.Second, 3))
			ctx := ctxT(t)
			_, err := c.MapTCP(ctx, 8080, 8080, time.Hour)
			var re *natpmp.ResultError
			if !errors.Is(err, tc.code) || !errors.As(err, &re) || re.Code != tc.code || re.Opcode != 2 ||
				!strings.Contains(err.Error(), tc.want) {
				t.Fatalf("MapTCP answered %d: %v; want a ResultError saying %q", tc.code, err, tc.want)
			}
			if _, err := c.ExternalAddress(ctx); !errors.Is(err, tc.code) {
				t.Fatalf("ExternalAddress answered %d: %v", tc.code, err)
			}
			if err := c.Unmap(ctx, natpmp.Mapping{Protocol: natpmp.TCP, Internal: 8080}); !errors.Is(err, tc.code) {
				t.Fatalf("Unmap answered %d: %v", tc.code, err)
			}
			if len(gw.Mappings()) != 0 {
				t.Fatal("a refused request left a mapping")
			}
		})
	}
}

func TestUnmap(t *testing.T) {
	gw := natpmptest.Start(t)
	c := client(gw)
	ctx := ctxT(t)
	m, err := c.MapTCP(ctx, 8080, 0, time.Hour)
	if err != nil || m.External == 0 {
		t.Fatalf("MapTCP with no suggestion = %+v, %v", m, err)
	}
	if err := c.Unmap(ctx, m); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	reqs := gw.Requests()
	last := reqs[len(reqs)-1]
	if last.Opcode != 2 || last.Internal != 8080 || last.External != 0 || last.Lifetime != 0 {
		t.Fatalf("unmap request = %+v; want TCP internal 8080, external 0, lifetime 0", last)
	}
	if tab := gw.Mappings(); len(tab) != 0 {
		t.Fatalf("gateway table after Unmap = %+v; want empty", tab)
	}
}

func TestBadArguments(t *testing.T) {
	gw := natpmptest.Start(t)
	c := client(gw)
	ctx := ctxT(t)
	if _, err := c.MapTCP(ctx, 0, 80, time.Hour); err == nil || !strings.Contains(err.Error(), "internal port") {
		t.Errorf("MapTCP internal 0: %v; want an error", err)
	}
	if _, err := c.MapTCP(ctx, 8080, 80, 0); err == nil || !strings.Contains(err.Error(), "Unmap") {
		t.Errorf("MapTCP lifetime 0: %v; want an error pointing to Unmap", err)
	}
	if err := c.Unmap(ctx, natpmp.Mapping{Protocol: natpmp.TCP}); err == nil {
		t.Error("Unmap of an empty mapping: no error (it would delete every mapping)")
	}
	v6 := natpmp.New(netip.MustParseAddr("::1"), natpmp.WithPort(gw.Addr.Port()))
	if _, err := v6.ExternalAddress(ctx); err == nil || !strings.Contains(err.Error(), "IPv4") {
		t.Errorf("IPv6 gateway: %v; want an IPv4-only error", err)
	}
	if n := len(gw.Requests()); n != 0 {
		t.Errorf("bad arguments sent %d requests; want none", n)
	}
}

func TestMaintainRenewsBeforeExpiry(t *testing.T) {
	gw := natpmptest.Start(t)
	gw.SetMaxLifetime(2) // asked for an hour, granted 2 s: renewals every second
	c := client(gw)
	ctx, cancel := context.WithCancel(ctxT(t))
	m, err := c.MapTCP(ctx, 8080, 8080, time.Hour)
	if err != nil || m.Lifetime != 2*time.Second {
		t.Fatalf("MapTCP = %+v, %v; want a 2 s lifetime", m, err)
	}
	reports := make(chan natpmp.Mapping, 100)
	done := make(chan natpmp.Mapping)
	go func() {
		done <- c.Maintain(ctx, m, func(m natpmp.Mapping, err error) {
			if err != nil {
				t.Errorf("renewal failed: %v", err)
			}
			reports <- m
		})
	}()
	deadline := time.After(20 * time.Second)
	for i := range 2 {
		select {
		case r := <-reports:
			if r.External != 8080 || r.Lifetime != 2*time.Second || r.Requested != time.Hour {
				t.Errorf("renewal %d = %+v", i, r)
			}
		case <-deadline:
			t.Fatal("no two renewals in 20 s with a 2 s lifetime")
		}
	}
	cancel()
	last := <-done
	renewals := 0
	for _, r := range gw.Requests() {
		if r.Late {
			t.Errorf("a renewal arrived after the mapping expired: %+v", r)
		}
		if r.Renewal {
			renewals++
			if r.Lifetime != 3600 || r.External != 8080 {
				t.Errorf("renewal request = %+v; want the requested hour and the granted port", r)
			}
		}
	}
	if renewals < 2 {
		t.Errorf("gateway saw %d renewals; want ≥ 2", renewals)
	}
	// The caller deletes the mapping with a fresh context.
	if err := c.Unmap(ctxT(t), last); err != nil || len(gw.Mappings()) != 0 {
		t.Fatalf("Unmap after Maintain: %v, table %+v", err, gw.Mappings())
	}
}

func TestMaintainRetriesAfterFailure(t *testing.T) {
	gw := natpmptest.Start(t)
	gw.SetMaxLifetime(2)
	c := client(gw, natpmp.WithRetransmit(20*time.Millisecond, 2))
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	m, err := c.MapTCP(ctx, 8080, 8080, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	gw.SetResult(uint16(natpmp.OutOfResources)) // the router refuses renewals for a while
	type rep struct {
		m   natpmp.Mapping
		err error
	}
	reports := make(chan rep, 100)
	go c.Maintain(ctx, m, func(m natpmp.Mapping, err error) { reports <- rep{m, err} })
	r := <-reports
	if !errors.Is(r.err, natpmp.OutOfResources) || r.m.External != 8080 {
		t.Fatalf("first renewal = %+v, %v; want OutOfResources with the last mapping", r.m, r.err)
	}
	gw.SetResult(0)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case r := <-reports:
			if r.err != nil {
				continue
			}
			if r.m.External != 8080 || len(gw.Mappings()) != 1 {
				t.Fatalf("renewed = %+v, table %+v", r.m, gw.Mappings())
			}
			return
		case <-deadline:
			t.Fatal("no successful renewal within 20 s once the gateway behaved")
		}
	}
}
