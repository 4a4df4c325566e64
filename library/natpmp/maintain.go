package natpmp

import (
	"context"
	"time"
)

// Maintain keeps m alive until ctx ends, in the caller's goroutine: it
// renews the mapping at half of each granted lifetime (RFC 6886 §3.3).
// After a failed renewal it tries again at half of the time left (at
// least every minute, or every quarter lifetime when that is shorter),
// and after expiry it keeps asking, which re-creates the mapping when the
// router is back. report, if not nil, hears each renewal: the mapping now
// granted, or the error with the last granted one. When ctx ends, Maintain
// returns the last granted mapping; the caller deletes it with Unmap and a
// fresh context.
func (c *Client) Maintain(ctx context.Context, m Mapping, report func(Mapping, error)) Mapping {
	wait := m.Lifetime / 2
	if !m.Granted.IsZero() {
		wait = time.Until(m.Granted.Add(m.Lifetime / 2))
	}
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return m
		case <-t.C:
		}
		next, err := c.Renew(ctx, m)
		if ctx.Err() != nil {
			return m
		}
		if err == nil {
			next.Requested = m.Requested
			m = next
			wait = m.Lifetime / 2
			c.log.Debug("natpmp: renewed", "protocol", m.Protocol, "internal", m.Internal, "external", m.External,
				"lifetime", m.Lifetime)
		} else {
			floor := min(m.Lifetime/4, time.Minute)
			wait = max(time.Until(m.Expires())/2, floor)
			c.log.Debug("natpmp: renewal failed", "internal", m.Internal, "err", err, "retry_in", wait)
		}
		if report != nil {
			report(m, err)
		}
		t.Reset(wait)
	}
}
