package server

import (
	"sync"
	"time"
)

// coalescer turns bursts of notify into few calls of fn: the first notify
// arms a timer; the notifies until it fires join that call, which runs
// after them (so fn sees their effects). A notify while fn runs arms the
// next call. fn runs on the timer's goroutine, with no lock held, one call
// at a time. A nil coalescer or fn does nothing.
type coalescer struct {
	fn    func()
	delay time.Duration

	mu      sync.Mutex
	armed   bool // a call is scheduled and has not started
	closed  bool
	running sync.Mutex     // one fn at a time
	calls   sync.WaitGroup // scheduled or running calls (close waits)
	timer   *time.Timer
}

func newCoalescer(fn func(), delay time.Duration) *coalescer {
	if fn == nil {
		return nil
	}
	return &coalescer{fn: fn, delay: delay}
}

// notify reports a change; it never blocks on fn.
func (c *coalescer) notify() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.armed {
		return
	}
	c.armed = true
	c.calls.Add(1)
	c.timer = time.AfterFunc(c.delay, c.fire)
}

func (c *coalescer) fire() {
	defer c.calls.Done()
	c.running.Lock()
	defer c.running.Unlock()
	c.mu.Lock()
	c.armed = false // changes from now on need another call
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.fn()
	}
}

// close cancels a scheduled call, waits for a running one, and makes later
// notifies do nothing.
func (c *coalescer) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	if c.armed && c.timer.Stop() {
		c.armed = false
		c.calls.Done()
	}
	c.mu.Unlock()
	c.calls.Wait()
}
