package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
)

// WebFinger (RFC 7033): /.well-known/webfinger?resource=acct:NAME@HOST
// answers a JRD whose rel "self" link of type application/activity+json is
// the actor. PeerTube resolves channels, accounts and its instance actor
// (acct:peertube@host) this way.

// JRD is a JSON Resource Descriptor.
type JRD struct {
	Subject    string             `json:"subject"`
	Aliases    []string           `json:"aliases,omitempty"`
	Properties map[string]*string `json:"properties,omitempty"`
	Links      []JRDLink          `json:"links"`
}

// JRDLink is a link of a JRD.
type JRDLink struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// Link relations.
const (
	RelSelf                = "self"
	RelSubscribe           = "http://ostatus.org/schema/1.0/subscribe"
	RelProfilePage         = "http://webfinger.net/rel/profile-page"
	MediaTypeJRD           = "application/jrd+json"
	WebFingerPath          = "/.well-known/webfinger"
	webFingerAcceptHeader  = MediaTypeJRD + ", application/json"
	remoteInteractionQuery = "/remote-interaction?uri={uri}"
)

// NewJRD describes actorIRI as PeerTube does: subject acct:NAME@HOST, the
// actor URL as alias and self link, and the remote-interaction template.
func NewJRD(preferredUsername, actorIRI string) (*JRD, error) {
	u, err := url.Parse(actorIRI)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("webfinger: actor %q is not an absolute URL", actorIRI)
	}
	return &JRD{
		Subject: AcctURI(preferredUsername, u.Host),
		Aliases: []string{actorIRI},
		Links: []JRDLink{
			{Rel: RelSelf, Type: MediaTypeActivityJSON, Href: actorIRI},
			{Rel: RelSubscribe, Template: u.Scheme + "://" + u.Host + remoteInteractionQuery},
		},
	}, nil
}

// ParseJRD decodes a WebFinger answer.
func ParseJRD(b []byte) (*JRD, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("webfinger: answer is not a JSON object")
	}
	var j JRD
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("webfinger: %w", err)
	}
	return &j, nil
}

// ActorIRI is the href of the rel "self" link with an ActivityPub media
// type.
func (j *JRD) ActorIRI() (string, error) {
	for _, l := range j.Links {
		if l.Rel == RelSelf && IsActivityPubMediaType(l.Type) && l.Href != "" {
			u, err := url.Parse(l.Href)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return "", fmt.Errorf("webfinger %s: self link %q is not an http(s) URL", j.Subject, l.Href)
			}
			return l.Href, nil
		}
	}
	return "", fmt.Errorf("webfinger %s: no ActivityPub self link", j.Subject)
}

// IsActivityPubMediaType reports application/activity+json or
// application/ld+json with the ActivityStreams profile (or none).
func IsActivityPubMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case MediaTypeActivityJSON:
		return true
	case "application/ld+json":
		p, ok := params["profile"]
		return !ok || strings.Contains(p, "https://www.w3.org/ns/activitystreams")
	}
	return false
}

// AcctURI is "acct:user@host".
func AcctURI(user, host string) string { return "acct:" + user + "@" + host }

// ParseHandle reads an account handle in any of its usual forms:
// "acct:user@host", "user@host" or "@user@host". host may carry a port.
func ParseHandle(handle string) (user, host string, err error) {
	s := strings.TrimSpace(handle)
	s = strings.TrimPrefix(s, "acct:")
	s = strings.TrimPrefix(s, "@")
	user, host, ok := strings.Cut(s, "@")
	if !ok || user == "" || host == "" || strings.Contains(host, "@") {
		return "", "", fmt.Errorf("handle %q is not user@host", handle)
	}
	if strings.ContainsAny(user, "/?#% \t") {
		return "", "", fmt.Errorf("handle %q: bad user name", handle)
	}
	u, err := url.Parse("https://" + host)
	if err != nil || u.Host != host || u.Hostname() == "" || u.Path != "" {
		return "", "", fmt.Errorf("handle %q: bad host", handle)
	}
	return user, strings.ToLower(host), nil
}

// WebFingerURL is the lookup URL of acct:user@host on host.
func WebFingerURL(scheme, user, host string) string {
	return scheme + "://" + host + WebFingerPath + "?resource=" + url.QueryEscape(AcctURI(user, host))
}
