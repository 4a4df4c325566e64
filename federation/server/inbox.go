package server

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// The inbox verifies everything before it answers: body size, Digest, Date,
// signature (key fetched from the signer's actor, cached, re-fetched once on
// failure), signer = activity actor, PeerTube's validation rules. Then it
// applies the activity synchronously and answers 202; outgoing answers
// (Accept, Reject) go through the delivery queue, never a goroutine, so a
// flood costs bounded work per request.

// InboxError is an inbox rejection: Status for the client, Reason for the
// log and the body.
type InboxError struct {
	Status int
	Reason string
}

func (e *InboxError) Error() string { return fmt.Sprintf("inbox: %d: %s", e.Status, e.Reason) }

func inboxErr(status int, format string, args ...any) *InboxError {
	return &InboxError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// keyCache caches remote actors (their keys and inboxes), bounded.
type keyCache struct {
	mu     sync.Mutex
	max    int
	actors map[string]cachedActor // actor IRI → actor
	failed map[string]time.Time   // actor IRI → when a fetch last failed
}

type cachedActor struct {
	actor   *federation.Actor
	key     *rsa.PublicKey
	fetched time.Time
}

func newKeyCache(max int) *keyCache {
	return &keyCache{max: max, actors: map[string]cachedActor{}, failed: map[string]time.Time{}}
}

func (c *keyCache) get(iri string) (cachedActor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.actors[iri]
	return a, ok
}

func (c *keyCache) put(iri string, a cachedActor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.actors) >= c.max {
		// Evict an arbitrary half: simple, bounded, and keys are cheap to
		// fetch again.
		n := 0
		for k := range c.actors {
			delete(c.actors, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.actors[iri] = a
	delete(c.failed, iri)
}

// failedRecently bounds re-fetches of an actor that could not be fetched.
func (c *keyCache) failedRecently(iri string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.failed[iri]
	return ok && now.Sub(t) < 30*time.Second
}

func (c *keyCache) markFailed(iri string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failed) >= c.max {
		clear(c.failed)
	}
	c.failed[iri] = now
}

// remoteActor returns a remote actor, from the cache unless refresh.
func (s *Server) remoteActor(ctx context.Context, iri string, refresh bool) (cachedActor, error) {
	iri = federation.KeyOwner(iri)
	if !refresh {
		if a, ok := s.remote.get(iri); ok {
			return a, nil
		}
	}
	now := s.now()
	if s.remote.failedRecently(iri, now) {
		return cachedActor{}, fmt.Errorf("actor %s could not be fetched recently", iri)
	}
	st, err := s.currentSite(ctx)
	if err != nil {
		return cachedActor{}, err
	}
	if la := st.localActor(iri); la != nil {
		// Our own actor (a loop through our inbox): no HTTP needed.
		k, err := s.key(ctx, st.roleOf(iri))
		if err != nil {
			return cachedActor{}, err
		}
		return cachedActor{actor: la, key: &k.PublicKey, fetched: now}, nil
	}
	c, err := s.fetcher(ctx)
	if err != nil {
		return cachedActor{}, err
	}
	a, err := c.GetActor(ctx, iri)
	if err != nil {
		s.remote.markFailed(iri, now)
		return cachedActor{}, err
	}
	if a.ID != iri {
		return cachedActor{}, fmt.Errorf("actor %s answered as %s", iri, a.ID)
	}
	k, err := a.Key()
	if err != nil {
		return cachedActor{}, err
	}
	ca := cachedActor{actor: a, key: k, fetched: now}
	s.remote.put(iri, ca)
	return ca, nil
}

// lookupKey is the verifier's KeyLookup: keyId with or without #main-key.
func (s *Server) lookupKey(ctx context.Context, keyID string, refresh bool) (*rsa.PublicKey, string, error) {
	a, err := s.remoteActor(ctx, keyID, refresh)
	if err != nil {
		return nil, "", err
	}
	if keyID != a.actor.ID && keyID != a.actor.PublicKey.ID {
		return nil, "", fmt.Errorf("key %s is not the key of %s (%s)", keyID, a.actor.ID, a.actor.PublicKey.ID)
	}
	return a.key, a.actor.ID, nil
}

// VerifyInbox reads and checks an inbox request; it does not apply it. The
// error is an *InboxError carrying the HTTP status.
func (s *Server) VerifyInbox(ctx context.Context, r *http.Request) (*federation.Activity, []byte, error) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, nil, inboxErr(http.StatusRequestEntityTooLarge, "body of %d bytes is over %d", r.ContentLength, s.cfg.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBody+1))
	if err != nil {
		return nil, nil, inboxErr(http.StatusBadRequest, "reading body: %v", err)
	}
	if int64(len(body)) > s.cfg.MaxBody {
		return nil, nil, inboxErr(http.StatusRequestEntityTooLarge, "body is over %d bytes", s.cfg.MaxBody)
	}
	v := federation.Verifier{Keys: s.lookupKey, Now: s.now}
	who, err := v.Verify(ctx, r, body)
	if err != nil {
		var se *federation.SignatureError
		if errors.As(err, &se) {
			return nil, nil, inboxErr(se.Status, "%s", se.Reason)
		}
		return nil, nil, inboxErr(http.StatusUnauthorized, "%v", err)
	}
	act, err := federation.ParseAndValidateActivity(body, s.validateOptions())
	if err != nil {
		if errors.Is(err, federation.ErrUnsupported) {
			// Known to PeerTube, not handled here: accepted and ignored,
			// once we know who sent it.
			env, eerr := federation.ParseEnvelope(body)
			if eerr != nil || env.Actor != who.Owner {
				return nil, nil, inboxErr(http.StatusUnauthorized, "signed by %s, not by the activity's actor", who.Owner)
			}
			return nil, body, nil
		}
		return nil, nil, inboxErr(http.StatusBadRequest, "%v", err)
	}
	if act.ActorIRI() != who.Owner {
		return nil, nil, inboxErr(http.StatusUnauthorized, "signed by %s, not by the activity's actor %s", who.Owner, act.ActorIRI())
	}
	return act, body, nil
}

func (s *Server) serveInbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	select {
	case s.inboxSem <- struct{}{}:
		defer func() { <-s.inboxSem }()
	case <-ctx.Done():
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("inbox panic", "panic", p)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	st, err := s.currentSite(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	// A personal inbox must belong to a local actor.
	target := ""
	if r.URL.Path != "/inbox" {
		a := st.actorFor(r)
		if a == nil {
			http.NotFound(w, r)
			return
		}
		target = a.ID
	}
	act, body, err := s.VerifyInbox(ctx, r)
	if err != nil {
		var ie *InboxError
		if errors.As(err, &ie) {
			s.log.Info("inbox rejected", "path", r.URL.Path, "status", ie.Status, "reason", ie.Reason)
			http.Error(w, ie.Reason, ie.Status)
			return
		}
		s.internal(w, r, err)
		return
	}
	if act != nil {
		if err := s.apply(ctx, st, target, act, body); err != nil {
			var ie *InboxError
			if errors.As(err, &ie) {
				s.log.Info("inbox refused", "type", act.Type, "actor", act.ActorIRI(), "status", ie.Status, "reason", ie.Reason)
				http.Error(w, ie.Reason, ie.Status)
				return
			}
			s.internal(w, r, err)
			return
		}
		if s.cfg.OnActivity != nil {
			s.cfg.OnActivity(act)
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// apply acts on a verified activity. target is the local actor whose own
// inbox received it ("" for the shared inbox).
func (s *Server) apply(ctx context.Context, st *site, target string, act *federation.Activity, body []byte) error {
	switch act.Type {
	case federation.TypeFollow:
		return s.onFollow(ctx, st, act, body)
	case federation.TypeUndo:
		inner, err := act.ObjectActivity()
		if err != nil {
			return inboxErr(http.StatusBadRequest, "undo: %v", err)
		}
		if inner.Type == federation.TypeFollow {
			return s.onUndoFollow(ctx, st, inner)
		}
		return nil
	case federation.TypeCreate, federation.TypeUpdate:
		if act.Object.Type != federation.TypeVideo {
			return nil
		}
		return s.onVideo(ctx, act, act.Object.IRI)
	case federation.TypeAnnounce:
		return s.onVideo(ctx, act, act.Object.IRI)
	case federation.TypeDelete:
		return s.onDelete(ctx, act)
	case federation.TypeAccept, federation.TypeReject:
		// Answers to our own Follows: Fourmi's server does not follow yet;
		// PeerTube processes these only on an actor's own inbox.
		s.log.Info("follow answer", "type", act.Type, "actor", act.ActorIRI(), "inbox", target)
		return nil
	}
	return nil
}

func (s *Server) onFollow(ctx context.Context, st *site, act *federation.Activity, body []byte) error {
	local := st.localActor(act.Object.IRI)
	if local == nil {
		return inboxErr(http.StatusNotFound, "follow of %s: no such local actor", act.Object.IRI)
	}
	ra, err := s.remoteActor(ctx, act.ActorIRI(), false)
	if err != nil {
		return inboxErr(http.StatusBadRequest, "follower: %v", err)
	}
	prev, err := s.store.Follower(ctx, local.ID, ra.actor.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	exists := err == nil
	f := Follower{
		Local: local.ID, Actor: ra.actor.ID, Inbox: ra.actor.Inbox, SharedInbox: ra.actor.SharedInbox(),
		State: FollowPending, FollowID: act.ID, FollowJSON: compactFollow(act, body), Created: s.now(),
	}
	if exists {
		f.Created = prev.Created
		f.State = prev.State
	}
	if !s.cfg.ManualApproval {
		f.State = FollowAccepted
	}
	if err := s.store.PutFollower(ctx, f); err != nil {
		return err
	}
	if f.State != FollowAccepted {
		s.log.Info("follow pending approval", "follower", f.Actor, "local", f.Local)
		return nil
	}
	// A repeated Follow is answered again, at most once a minute per
	// follower: a flood enqueues bounded work.
	key := f.Local + " " + f.Actor
	s.acceptMu.Lock()
	last, seen := s.accepted[key]
	recent := seen && s.now().Sub(last) < time.Minute
	if !recent {
		if len(s.accepted) > 10000 {
			clear(s.accepted)
		}
		s.accepted[key] = s.now()
	}
	s.acceptMu.Unlock()
	if recent {
		return nil
	}
	return s.answerFollow(ctx, st, f, federation.TypeAccept)
}

// compactFollow is the Follow as received, without @context and signature
// (what Accept embeds).
func compactFollow(act *federation.Activity, body []byte) []byte {
	f := federation.NewFollow(act.ID, act.ActorIRI(), act.Object.IRI)
	b, err := json.Marshal(plainActivity(*f))
	if err != nil {
		return body
	}
	return b
}

// answerFollow enqueues Accept or Reject (the whole Follow embedded) to the
// follower's own inbox.
func (s *Server) answerFollow(ctx context.Context, st *site, f Follower, t federation.Type) error {
	var follow federation.Activity
	if err := json.Unmarshal(f.FollowJSON, &follow); err != nil {
		return fmt.Errorf("stored follow: %w", err)
	}
	role := st.roleOf(f.Local)
	local := st.actorByRole(role)
	if local == nil {
		return fmt.Errorf("follower of unknown local actor %s", f.Local)
	}
	id := local.ID + "/" + map[federation.Type]string{federation.TypeAccept: "accepts", federation.TypeReject: "rejects"}[t] + "/follows/" + shortHash(f.FollowID)
	var ans *federation.Activity
	var err error
	if t == federation.TypeAccept {
		ans, err = federation.NewAccept(id, local.ID, &follow)
	} else {
		ans, err = federation.NewReject(id, local.ID, &follow)
	}
	if err != nil {
		return err
	}
	return s.enqueue(ctx, ans, role, []string{f.Inbox})
}

func (s *Server) onUndoFollow(ctx context.Context, st *site, follow *federation.Activity) error {
	local := st.localActor(follow.Object.IRI)
	if local == nil {
		return nil
	}
	err := s.store.DeleteFollower(ctx, local.ID, follow.ActorIRI())
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.log.Info("unfollowed", "follower", follow.ActorIRI(), "local", local.ID)
	return nil
}

// onVideo fetches the video from its id (signed), validates it and stores
// it. Only what passes is stored.
func (s *Server) onVideo(ctx context.Context, act *federation.Activity, iri string) error {
	if iri == "" {
		return inboxErr(http.StatusBadRequest, "%s without an object id", act.Type)
	}
	if act.Type == federation.TypeUpdate && !federation.SameHost(iri, act.ActorIRI()) {
		return inboxErr(http.StatusForbidden, "update of %s by %s: not its owner", iri, act.ActorIRI())
	}
	c, err := s.fetcher(ctx)
	if err != nil {
		return err
	}
	raw, err := c.Get(ctx, iri)
	if err != nil {
		// The origin being down is worth a retry by the sender (it retries
		// 5xx); an answer that is not a video is not.
		var he *federation.HTTPError
		if (errors.As(err, &he) && he.Temporary()) || (!errors.As(err, &he) && !errors.Is(err, federation.ErrNotActivityPub) && !errors.Is(err, federation.ErrResponseTooLarge)) {
			return inboxErr(http.StatusServiceUnavailable, "fetching video %s: %v", iri, err)
		}
		return inboxErr(http.StatusBadRequest, "fetching video %s: %v", iri, err)
	}
	opt := s.validateOptions()
	opt.Origin = iri
	v, err := federation.ParseVideo(raw, opt)
	if err != nil {
		return inboxErr(http.StatusBadRequest, "video %s: %v", iri, err)
	}
	if v.ID != iri {
		return inboxErr(http.StatusBadRequest, "video %s answered as %s", iri, v.ID)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.store.PutRemoteVideo(ctx, RemoteVideo{IRI: v.ID, UUID: v.UUID, Name: v.Name, Actor: act.ActorIRI(), JSON: b, Received: s.now()})
}

func (s *Server) onDelete(ctx context.Context, act *federation.Activity) error {
	iri := act.Object.IRI
	if !federation.SameHost(iri, act.ActorIRI()) {
		return inboxErr(http.StatusForbidden, "delete of %s by %s: not its owner", iri, act.ActorIRI())
	}
	err := s.store.DeleteRemoteVideo(ctx, iri)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// Approve accepts a pending follower (manual approval) and sends Accept.
func (s *Server) Approve(ctx context.Context, local, actor string) error {
	st, err := s.currentSite(ctx)
	if err != nil {
		return err
	}
	f, err := s.store.Follower(ctx, local, actor)
	if err != nil {
		return fmt.Errorf("approve %s: %w", actor, err)
	}
	f.State = FollowAccepted
	if err := s.store.PutFollower(ctx, f); err != nil {
		return err
	}
	return s.answerFollow(ctx, st, f, federation.TypeAccept)
}

// Reject refuses (or removes) a follower and sends Reject.
func (s *Server) Reject(ctx context.Context, local, actor string) error {
	st, err := s.currentSite(ctx)
	if err != nil {
		return err
	}
	f, err := s.store.Follower(ctx, local, actor)
	if err != nil {
		return fmt.Errorf("reject %s: %w", actor, err)
	}
	if err := s.store.DeleteFollower(ctx, local, actor); err != nil {
		return err
	}
	return s.answerFollow(ctx, st, f, federation.TypeReject)
}
