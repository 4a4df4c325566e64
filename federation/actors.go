package federation

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Actor is a PeerTube actor: the instance's Application (/accounts/peertube),
// an account's Person (/accounts/NAME) or a channel's Group
// (/video-channels/NAME, attributedTo its Person). Marshal writes PeerTube's
// actor context first.
type Actor struct {
	Type              Type       `json:"type"`
	ID                string     `json:"id"`
	Following         string     `json:"following,omitempty"`
	Followers         string     `json:"followers,omitempty"`
	Playlists         string     `json:"playlists,omitempty"`
	Inbox             string     `json:"inbox"`
	Outbox            string     `json:"outbox,omitempty"`
	PreferredUsername string     `json:"preferredUsername"`
	URL               string     `json:"url"`
	Name              string     `json:"name,omitempty"`
	Endpoints         *Endpoints `json:"endpoints,omitempty"`
	PublicKey         PublicKey  `json:"publicKey"`
	Published         string     `json:"published,omitempty"`
	Summary           string     `json:"summary,omitempty"`
	Support           string     `json:"support,omitempty"`
	Icon              Images     `json:"icon,omitempty"`  // avatars
	Image             Images     `json:"image,omitempty"` // banners
	AttributedTo      ActorRefs  `json:"attributedTo,omitempty"`
	// PostingRestrictedToMods is set on channels (Lemmy compatibility).
	PostingRestrictedToMods bool `json:"postingRestrictedToMods,omitempty"`
}

// Endpoints holds the shared inbox.
type Endpoints struct {
	SharedInbox string `json:"sharedInbox,omitempty"`
}

// PublicKey is an actor's key: id ACTOR#main-key, owner ACTOR, SPKI PEM.
type PublicKey struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// NewActor builds an actor at id with PeerTube's URL layout: id/inbox,
// id/outbox, id/followers, id/following, id/playlists, the instance's shared
// /inbox, and the key id#main-key.
func NewActor(typ Type, id, preferredUsername, name, publicKeyPEM string) (*Actor, error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" {
		return nil, errors.New("actor id must be an absolute URL")
	}
	base := strings.TrimSuffix(id, "/")
	return &Actor{
		Type:              typ,
		ID:                base,
		Following:         base + "/following",
		Followers:         base + "/followers",
		Playlists:         base + "/playlists",
		Inbox:             base + "/inbox",
		Outbox:            base + "/outbox",
		PreferredUsername: preferredUsername,
		URL:               base,
		Name:              name,
		Endpoints:         &Endpoints{SharedInbox: u.Scheme + "://" + u.Host + "/inbox"},
		PublicKey:         PublicKey{ID: base + "#main-key", Owner: base, PublicKeyPem: publicKeyPEM},
	}, nil
}

// MarshalJSON writes PeerTube's actor context first.
func (a Actor) MarshalJSON() ([]byte, error) {
	type plain Actor
	return withContext(contextActor, plain(a))
}

// UnmarshalJSON accepts url as a string, an array (its first entry) or a
// Link object, as PeerTube's normalizeActor does.
func (a *Actor) UnmarshalJSON(b []byte) error {
	type plain Actor
	aux := struct {
		*plain
		URL                     json.RawMessage `json:"url"`
		PostingRestrictedToMods flexBool        `json:"postingRestrictedToMods"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.URL = actorURL(aux.URL)
	a.PostingRestrictedToMods = aux.PostingRestrictedToMods.v
	return nil
}

// actorURL reads an actor's url property in its several shapes.
func actorURL(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		if len(list) == 0 {
			return ""
		}
		return actorURL(list[0])
	}
	var link struct {
		Href string `json:"href"`
		URL  string `json:"url"`
	}
	if json.Unmarshal(raw, &link) == nil {
		if link.Href != "" {
			return link.Href
		}
		return link.URL
	}
	return ""
}

// Key parses the actor's public key.
func (a *Actor) Key() (*rsa.PublicKey, error) { return ParsePublicKeyPEM(a.PublicKey.PublicKeyPem) }

// SharedInbox is endpoints.sharedInbox, or the actor's own inbox.
func (a *Actor) SharedInbox() string {
	if a.Endpoints != nil && a.Endpoints.SharedInbox != "" {
		return a.Endpoints.SharedInbox
	}
	return a.Inbox
}

// Handle is preferredUsername@host (host with port when there is one), the
// form WebFinger resolves.
func (a *Actor) Handle() string {
	u, err := url.Parse(a.ID)
	if err != nil {
		return a.PreferredUsername
	}
	return a.PreferredUsername + "@" + u.Host
}

// Owner is the Person a Group is attributed to.
func (a *Actor) Owner() (ActorRef, bool) { return a.AttributedTo.Find(TypePerson) }

// isActorType reports the actor types PeerTube accepts.
func isActorType(t string) bool {
	switch Type(t) {
	case TypePerson, TypeApplication, TypeGroup, TypeService, TypeOrganization:
		return true
	}
	return false
}
