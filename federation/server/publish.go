package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/fourmi-app/fourmi/federation"
)

// Publishing federates as PeerTube does: Create{Video} from the account,
// then Announce from the instance actor and from the channel (PeerTube lists
// a video announced by an Application or Group it follows); Update on edit;
// Delete on removal. Each activity goes once to every shared inbox (or own
// inbox when the follower has none) of the accepted followers.

// ErrNotPublic is returned when publishing a video that is not public.
var ErrNotPublic = fmt.Errorf("video is not public")

// PublishVideo enqueues the Create and the two Announces of a local video.
func (s *Server) PublishVideo(ctx context.Context, uuid string) error {
	s.LocalVideosChanged()
	st, v, inboxes, err := s.prepare(ctx, uuid)
	if err != nil {
		return err
	}
	create, err := st.createActivity(v)
	if err != nil {
		return err
	}
	if err := s.enqueue(ctx, create, RoleAccount, inboxes); err != nil {
		return err
	}
	for _, role := range []string{RoleInstance, RoleChannel} {
		if err := s.enqueue(ctx, st.announceActivity(v, role), role, inboxes); err != nil {
			return err
		}
	}
	return nil
}

// UpdateVideo enqueues Update{Video} after a local video changed (call it
// once the Store holds the new version, with a newer Updated).
func (s *Server) UpdateVideo(ctx context.Context, uuid string) error {
	s.LocalVideosChanged() // even when it went private: it leaves the outbox
	st, v, inboxes, err := s.prepare(ctx, uuid)
	if err != nil {
		return err
	}
	obj := st.videoObject(v)
	up, err := federation.NewUpdate(st.updateID(v), st.account.ID, obj, obj.To, obj.Cc)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, up, RoleAccount, inboxes)
}

// DeleteVideo enqueues Delete of a video from the account. The video may
// already be gone from the Store.
func (s *Server) DeleteVideo(ctx context.Context, uuid string) error {
	s.LocalVideosChanged()
	st, err := s.currentSite(ctx)
	if err != nil {
		return err
	}
	inboxes, err := s.followerInboxes(ctx)
	if err != nil {
		return err
	}
	del := federation.NewDelete(st.deleteID(uuid), st.account.ID, st.videoIRI(uuid), federation.IRIs{federation.Public}, federation.IRIs{st.account.Followers})
	return s.enqueue(ctx, del, RoleAccount, inboxes)
}

func (s *Server) prepare(ctx context.Context, uuid string) (*site, LocalVideo, []string, error) {
	st, err := s.currentSite(ctx)
	if err != nil {
		return nil, LocalVideo{}, nil, err
	}
	v, err := s.store.LocalVideo(ctx, uuid)
	if err != nil {
		return nil, LocalVideo{}, nil, fmt.Errorf("video %s: %w", uuid, err)
	}
	if v.Privacy != PrivacyPublic {
		return nil, LocalVideo{}, nil, fmt.Errorf("video %s: %w", uuid, ErrNotPublic)
	}
	obj := st.videoObject(v)
	if err := federation.ValidateVideo(obj, federation.ValidateOptions{AllowLocalhost: s.cfg.AllowLoopback, Strict: true, Exact: true}); err != nil {
		return nil, LocalVideo{}, nil, fmt.Errorf("video %s would be refused by PeerTube: %w", uuid, err)
	}
	inboxes, err := s.followerInboxes(ctx)
	if err != nil {
		return nil, LocalVideo{}, nil, err
	}
	return st, v, inboxes, nil
}

// followerInboxes is one inbox per accepted follower, shared inboxes
// de-duplicated.
func (s *Server) followerInboxes(ctx context.Context) ([]string, error) {
	fs, err := s.store.Followers(ctx, "", FollowAccepted)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		in := f.SharedInbox
		if in == "" {
			in = f.Inbox
		}
		if in != "" && !seen[in] {
			seen[in] = true
			out = append(out, in)
		}
	}
	return out, nil
}

// enqueue validates and queues an activity signed by role.
func (s *Server) enqueue(ctx context.Context, act *federation.Activity, role string, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	check := *act
	if err := federation.ValidateActivity(&check, s.validateOptions()); err != nil {
		return fmt.Errorf("outgoing %s would be refused: %w", act.Type, err)
	}
	b, err := json.Marshal(act)
	if err != nil {
		return err
	}
	if _, err := s.store.Enqueue(ctx, b, role, inboxes, s.now()); err != nil {
		return fmt.Errorf("enqueue %s: %w", act.Type, err)
	}
	s.queued.notify()
	s.poke()
	return nil
}

// poke wakes the delivery loop.
func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
