package tracker

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter is a token bucket per client IP, holding at most max IPs.
type ipLimiter struct {
	perMinute int
	max       int

	mu  sync.Mutex
	ips map[netip.Addr]*ipBucket
}

type ipBucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newIPLimiter(perMinute, max int) *ipLimiter {
	return &ipLimiter{perMinute: perMinute, max: max, ips: make(map[netip.Addr]*ipBucket)}
}

// idle is how long a bucket takes to refill completely: after that, an
// entry is the same as a new one and can be forgotten.
const idle = time.Minute

// allow takes one token from ip's bucket.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.ips[ip]
	if b == nil {
		if len(l.ips) >= l.max {
			l.sweepLocked(now)
			if len(l.ips) >= l.max {
				return false
			}
		}
		b = &ipBucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)}
		l.ips[ip] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

func (l *ipLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *ipLimiter) sweepLocked(now time.Time) {
	for ip, b := range l.ips {
		if now.Sub(b.last) > idle {
			delete(l.ips, ip)
		}
	}
}
