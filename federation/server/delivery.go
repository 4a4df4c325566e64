package server

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// Delivery: workers claim due items from the Store's queue with a lease,
// sign each POST at send time with the actor's key, and on failure retry
// with capped exponential backoff and jitter (honouring Retry-After), or
// drop the item after a permanent refusal or MaxAttempts. A per-host
// circuit breaker stops hammering a host that keeps failing. The queue lives
// in the Store, so a restarted server resumes it (leased items come back
// when their lease runs out).

// deliveryLease is how long a claimed item stays invisible to other claims.
const deliveryLease = 2 * time.Minute

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("server already started")

// Start runs the delivery workers until ctx ends or Close.
func (s *Server) Start(ctx context.Context) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.cancel != nil {
		return ErrStarted
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		s.deliveryLoop(ctx)
	}()
	return nil
}

// Close stops the workers and waits for them; in-flight deliveries are
// put back in the queue.
func (s *Server) Close() error {
	s.runMu.Lock()
	cancel := s.cancel
	s.runMu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.running.Wait()
	s.queued.close()
	return nil
}

func (s *Server) deliveryLoop(ctx context.Context) {
	sem := make(chan struct{}, s.cfg.DeliveryWorkers)
	freed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		if free := cap(sem) - len(sem); free > 0 {
			items, err := s.store.ClaimDeliveries(ctx, s.now(), deliveryLease, free)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("claiming deliveries", "err", err)
			}
			for _, d := range items {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.deliver(ctx, d)
					<-sem
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
			}
			if len(items) == free && ctx.Err() == nil {
				continue // more may be due
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-freed:
		case <-tick.C:
		}
	}
}

// deliver makes one attempt at an item and records the outcome.
func (s *Server) deliver(ctx context.Context, d Delivery) {
	// Outcomes are recorded even when ctx ended mid-flight.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	defer s.queued.notify() // whatever the outcome, recorded by now
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("delivery panic", "id", d.ID, "panic", p)
			_ = s.store.RetryDelivery(rec, d.ID, s.now().Add(s.cfg.RetryBase), true, "panic")
		}
	}()
	host := hostOf(d.Inbox)
	now := s.now()
	b, err := s.store.Breaker(rec, host)
	if err != nil {
		s.log.Warn("breaker state", "host", host, "err", err)
	}
	if b.OpenUntil.After(now) {
		_ = s.store.RetryDelivery(rec, d.ID, b.OpenUntil, false, "circuit open for "+host)
		return
	}
	signer, err := s.signerFor(ctx, d.Signer)
	if err != nil {
		if ctx.Err() != nil {
			_ = s.store.RetryDelivery(rec, d.ID, now, false, "shutdown")
			return
		}
		s.log.Error("delivery signer", "role", d.Signer, "err", err)
		_ = s.store.DropDelivery(rec, d.ID, err.Error())
		return
	}
	err = s.client.WithSigner(signer).Post(ctx, d.Inbox, json.RawMessage(d.Activity))
	if err == nil {
		if derr := s.store.DeliveryDone(rec, d.ID); derr != nil {
			s.log.Warn("delivery done", "id", d.ID, "err", derr)
		}
		s.breakerResult(rec, host, true)
		return
	}
	if ctx.Err() != nil {
		_ = s.store.RetryDelivery(rec, d.ID, now, false, "shutdown")
		return
	}
	var he *federation.HTTPError
	isHTTP := errors.As(err, &he)
	permanent := isHTTP && !he.Temporary() && he.Status != http.StatusUnauthorized
	attempts := d.Attempts + 1
	if !permanent {
		s.breakerResult(rec, host, false)
	}
	if permanent || attempts >= s.cfg.MaxAttempts {
		s.log.Warn("delivery dropped", "inbox", d.Inbox, "attempts", attempts, "err", err)
		_ = s.store.DropDelivery(rec, d.ID, err.Error())
		return
	}
	wait := s.backoff(attempts)
	if isHTTP && he.RetryAfter > wait {
		wait = min(he.RetryAfter, 24*time.Hour)
	}
	s.log.Info("delivery failed, will retry", "inbox", d.Inbox, "attempt", attempts, "in", wait, "err", err)
	_ = s.store.RetryDelivery(rec, d.ID, s.now().Add(wait), true, err.Error())
}

// backoff is RetryBase·2^(attempt−1), capped at RetryMax, ±25 % jitter.
func (s *Server) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	j := time.Duration(float64(d) * (rand.Float64()*0.5 - 0.25))
	return max(d+j, time.Millisecond)
}

// breakerResult records a delivery outcome in the host's breaker.
func (s *Server) breakerResult(ctx context.Context, host string, ok bool) {
	s.breakerMu.Lock()
	defer s.breakerMu.Unlock()
	b, err := s.store.Breaker(ctx, host)
	if err != nil {
		return
	}
	if ok {
		if b.Failures != 0 || !b.OpenUntil.IsZero() {
			_ = s.store.PutBreaker(ctx, Breaker{Host: host})
		}
		return
	}
	b.Host = host
	b.Failures++
	if b.Failures >= s.cfg.BreakerThreshold {
		cool := s.cfg.BreakerCooldown
		for i := s.cfg.BreakerThreshold; i < b.Failures && cool < s.cfg.RetryMax; i++ {
			cool *= 2
		}
		b.OpenUntil = s.now().Add(min(cool, s.cfg.RetryMax))
		s.log.Warn("circuit open", "host", host, "failures", b.Failures, "until", b.OpenUntil)
	}
	_ = s.store.PutBreaker(ctx, b)
}

// QueueStats reports the delivery queue (for the Instance screen).
func (s *Server) QueueStats(ctx context.Context) (QueueStats, error) { return s.store.QueueStats(ctx) }
