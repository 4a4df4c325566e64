package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/server"
)

// pollOutbox polls a subscription of a server without PeerTube's REST API
// through its ActivityPub outbox: the newest pollCount items, Create with
// an embedded Video or Announce of a video's IRI. Videos already in the
// catalog are not fetched again; new ones are fetched from their id and
// validated with PeerTube's rules.
func (l *Library) pollOutbox(ctx context.Context, sub subRow) error {
	c := l.apClient(ctx, sub.Host)
	if err := l.pace(ctx); err != nil {
		return err
	}
	var (
		vs     []Video
		n      int
		errs   []error
		broken bool // the listing stopped on an error: not a full page
	)
	ls := &pollListing{byURL: true, complete: true}
	for it, err := range c.GetCollection(ctx, sub.outbox) {
		if err != nil {
			if errors.Is(err, federation.ErrNotFound) || errors.Is(err, federation.ErrGone) {
				return l.recordPoll(ctx, sub, pollOutcome{missing: true, err: fmt.Errorf("its outbox is gone: %w", err)})
			}
			var he *federation.HTTPError
			if errors.As(err, &he) && he.Temporary() {
				return l.recordPoll(ctx, sub, pollOutcome{err: err})
			}
			if n == 0 {
				return l.recordPoll(ctx, sub, pollOutcome{err: err})
			}
			errs = append(errs, err)
			broken = true
			break
		}
		if n++; n > pollCount {
			ls.complete = false
			break
		}
		var act federation.Activity
		if it.Raw == nil || json.Unmarshal(it.Raw, &act) != nil {
			continue
		}
		var raw json.RawMessage
		iri := act.Object.IRI
		switch act.Type {
		case federation.TypeCreate, federation.TypeUpdate:
			if act.Object.Type != federation.TypeVideo {
				continue
			}
			var head struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(act.Object.Raw, &head) == nil {
				iri = head.ID
			}
		case federation.TypeAnnounce:
		default:
			continue
		}
		if iri == "" || !strings.HasPrefix(iri, "http") {
			continue
		}
		ls.keys = append(ls.keys, iri)
		var known bool
		if err := l.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM videos WHERE url = ?)", iri).Scan(&known); err != nil {
			return err
		}
		if known {
			continue
		}
		if err := l.pace(ctx); err != nil {
			return err
		}
		v, err := c.GetVideo(ctx, iri) // validated, its id on the host of iri
		if err != nil {
			errs = append(errs, fmt.Errorf("video %s: %w", iri, err))
			continue
		}
		if raw, err = json.Marshal(v); err != nil {
			continue
		}
		cv, ok := remoteCatalogVideo(server.RemoteVideo{IRI: v.ID, UUID: v.UUID, Name: v.Name, JSON: raw, Received: l.now()})
		if ok {
			vs = append(vs, cv)
		}
	}
	if len(errs) > 0 {
		l.log.Info("subscriptions: outbox items skipped", "actor", sub.Actor, "err", errors.Join(errs...))
	}
	out := pollOutcome{videos: vs}
	if !broken {
		out.listing = ls
	}
	return l.recordPoll(ctx, sub, out)
}
