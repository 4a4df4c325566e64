package library

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/server"
)

// subTarget is what the user typed, parsed: a name on a host, maybe with
// its kind (from a URL) and its base URL.
type subTarget struct {
	name, host string
	kind       string // "" when unknown (a handle)
	base       string // scheme://host; "" for a handle until resolved
}

// actorNameRE is a PeerTube actor name.
var actorNameRE = regexp.MustCompile(`^[A-Za-z0-9\-_.:]{1,100}$`)

// parseSubTarget reads name@host, @name@host, acct:name@host, an actor URL
// (…/video-channels/NAME, …/accounts/NAME) or a page URL (…/c/NAME,
// …/a/NAME, with anything after).
func parseSubTarget(in string) (subTarget, error) {
	s := strings.TrimSpace(in)
	if s == "" {
		return subTarget{}, errors.New("library: whom to follow? Give name@host or the channel's URL")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return subTarget{}, fmt.Errorf("library: %q is not a channel or account URL", s)
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 2 {
			kind := ""
			switch parts[0] {
			case "video-channels", "c":
				kind = SubscriptionChannel
			case "accounts", "a":
				kind = SubscriptionAccount
			}
			name, _, _ := strings.Cut(parts[1], "@") // /c/name@host is a local name too
			if kind != "" && actorNameRE.MatchString(name) {
				host := strings.ToLower(u.Host)
				return subTarget{name: name, host: host, kind: kind, base: u.Scheme + "://" + host}, nil
			}
		}
		return subTarget{}, fmt.Errorf("library: %q is not a channel or account URL (…/video-channels/NAME, …/c/NAME, …/accounts/NAME)", s)
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "acct:"), "@")
	i := strings.LastIndex(s, "@")
	if i <= 0 || i == len(s)-1 {
		return subTarget{}, fmt.Errorf("library: %q is neither name@host nor a URL", strings.TrimSpace(in))
	}
	name, host := s[:i], strings.ToLower(s[i+1:])
	if !actorNameRE.MatchString(name) || strings.ContainsAny(host, "/@ ?#") || peertube.HostOf(host) != host {
		return subTarget{}, fmt.Errorf("library: %q is neither name@host nor a URL", strings.TrimSpace(in))
	}
	return subTarget{name: name, host: host}, nil
}

// isLoopbackHost reports a host[:port] on loopback.
func isLoopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// baseFor is the base URL of a host: the one of a known instance, else
// https (http on loopback).
func (l *Library) baseFor(ctx context.Context, host string) string {
	if in, err := l.instance(ctx, host); err == nil && in.BaseURL != "" {
		return in.BaseURL
	}
	if isLoopbackHost(host) {
		return "http://" + host
	}
	return "https://" + host
}

// restActor is an account's or channel's REST profile.
type restActor struct {
	peertube.Channel
}

// fetchRESTActor reads /api/v1/{video-channels|accounts}/NAME: (profile,
// nil), or an error (*peertube.HTTPError for statuses).
func (l *Library) fetchRESTActor(ctx context.Context, base, kind, name string) (restActor, error) {
	path := "/api/v1/video-channels/"
	if kind == SubscriptionAccount {
		path = "/api/v1/accounts/"
	}
	target := base + path + url.PathEscape(name)
	body, _, err := l.restGet(ctx, target, nil)
	if err != nil {
		return restActor{}, err
	}
	var a restActor
	if err := json.Unmarshal(body, &a.Channel); err != nil || a.Name == "" || a.URL == "" {
		return restActor{}, fmt.Errorf("%s: %w (no actor in the answer)", target, peertube.ErrNotPeerTube)
	}
	if !strings.EqualFold(a.Name, name) || peertube.HostOf(a.URL) != peertube.HostOf(base) {
		return restActor{}, fmt.Errorf("%s: %w (it answered for %s)", target, peertube.ErrNotPeerTube, a.URL)
	}
	return a, nil
}

// restTimeout bounds one REST request of subscriptions.
const restTimeout = 30 * time.Second

// restGet GETs a JSON answer with the library's HTTP client; hdr adds
// request headers. A non-2xx status (304 included) is a
// *peertube.HTTPError; a body that is not JSON is ErrNotPeerTube.
func (l *Library) restGet(ctx context.Context, target string, hdr http.Header) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Fourmi")
	resp, err := l.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s unreachable: %w", peertube.HostOf(target), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading the answer: %w", peertube.HostOf(target), err)
	}
	if len(body) > 8<<20 {
		return nil, nil, fmt.Errorf("%s: %w", target, peertube.ErrTooLarge)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.Header, &peertube.HTTPError{Status: resp.StatusCode, URL: target}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	b := strings.TrimSpace(string(body))
	if (mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json")) || b == "" || (b[0] != '{' && b[0] != '[') {
		return nil, resp.Header, fmt.Errorf("%s: %w (it answered %q)", peertube.HostOf(target), peertube.ErrNotPeerTube, mt)
	}
	return body, resp.Header, nil
}

// resolveSub finds the channel or account behind t: its REST profile
// (channel first for a handle, then account, then WebFinger for instances
// without the REST API).
func (l *Library) resolveSub(ctx context.Context, t subTarget) (subRow, error) {
	if t.base == "" {
		t.base = l.baseFor(ctx, t.host)
	}
	kinds := []string{t.kind}
	if t.kind == "" {
		kinds = []string{SubscriptionChannel, SubscriptionAccount}
	}
	var firstErr error
	for _, kind := range kinds {
		a, err := l.fetchRESTActor(ctx, t.base, kind, t.name)
		if err == nil {
			s := subRow{remoteID: int64(a.ID)}
			s.Actor, s.Kind, s.Host, s.BaseURL, s.Name = a.URL, kind, t.host, t.base, a.Name
			s.DisplayName = a.DisplayName
			resolve := func(p, owner string) string { return originResolver(p, t.base+"/") }
			s.AvatarURL = convertActor(a.Actor, resolve).AvatarURL
			return s, nil
		}
		if firstErr == nil || !peertube.NotFound(err) {
			firstErr = err
		}
		if !peertube.NotFound(err) {
			break
		}
	}
	var he *peertube.HTTPError
	if !errors.As(firstErr, &he) && !errors.Is(firstErr, peertube.ErrNotPeerTube) {
		return subRow{}, fmt.Errorf("library: finding %s@%s: %w", t.name, t.host, firstErr) // unreachable
	}
	// No PeerTube REST API there: an ActivityPub server whose outbox is polled.
	s, apErr := l.resolveAP(ctx, t)
	if apErr == nil {
		return s, nil
	}
	if peertube.NotFound(firstErr) && errors.Is(apErr, federation.ErrNotFound) {
		return subRow{}, fmt.Errorf("library: %s@%s: no such channel or account on %s: %w", t.name, t.host, t.host, ErrNotFound)
	}
	return subRow{}, fmt.Errorf("library: finding %s@%s: %w (and over ActivityPub: %w)", t.name, t.host, firstErr, apErr)
}

// apClient is an unsigned ActivityPub client that may reach host (private
// and loopback addresses when host is on loopback, or hosting allows them).
func (l *Library) apClient(ctx context.Context, host string) *federation.Client {
	private := isLoopbackHost(host)
	if c, err := l.HostConfig(ctx); err == nil && c.AllowPrivateNetworks {
		private = true
	}
	return federation.NewClient(federation.ClientOptions{AllowPrivate: private,
		Validate: federation.ValidateOptions{AllowLocalhost: private}})
}

// resolveAP finds a channel (Group) or account (Person) by WebFinger or
// its actor URL, to be polled through its outbox.
func (l *Library) resolveAP(ctx context.Context, t subTarget) (subRow, error) {
	c := l.apClient(ctx, t.host)
	var iri string
	switch t.kind {
	case SubscriptionChannel:
		iri = t.base + "/video-channels/" + url.PathEscape(t.name)
	case SubscriptionAccount:
		iri = t.base + "/accounts/" + url.PathEscape(t.name)
	default:
		var err error
		if iri, err = c.WebFinger(ctx, t.name+"@"+t.host); err != nil {
			return subRow{}, err
		}
	}
	a, err := c.GetActor(ctx, iri)
	if err != nil {
		return subRow{}, err
	}
	kind := ""
	switch a.Type {
	case federation.TypeGroup:
		kind = SubscriptionChannel
	case federation.TypePerson:
		kind = SubscriptionAccount
	default:
		return subRow{}, fmt.Errorf("%s is a %s, not a channel or an account", a.ID, a.Type)
	}
	if a.Outbox == "" || !federation.SameHost(a.Outbox, a.ID) {
		return subRow{}, fmt.Errorf("%s has no outbox on its host", a.ID)
	}
	s := subRow{via: "outbox", outbox: a.Outbox}
	s.Actor, s.Kind, s.Host, s.BaseURL, s.Name, s.DisplayName = a.ID, kind, peertube.HostOf(a.ID), t.base, a.PreferredUsername, a.Name
	if s.Host != t.host {
		return subRow{}, fmt.Errorf("%s is not on %s", a.ID, t.host)
	}
	if len(a.Icon) > 0 {
		s.AvatarURL = a.Icon[0].URL
	}
	return s, nil
}

// Subscribe follows a channel or account (name@host, its URL or its page
// URL): it is resolved on its instance, stored, and polled at once in the
// background. Hosting or not. When hosting runs, the instance's account
// also sends it an ActivityPub Follow. Following twice returns the
// existing subscription (revived if it was gone and exists again).
func (l *Library) Subscribe(ctx context.Context, handleOrURL string) (Subscription, error) {
	t, err := parseSubTarget(handleOrURL)
	if err != nil {
		return Subscription{}, err
	}
	s, err := l.resolveSub(ctx, t)
	if err != nil {
		return Subscription{}, err
	}
	var id int64
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO subscriptions (actor, kind, host, base_url, name, display_name,
			avatar_url, remote_id, via, outbox, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (actor) DO UPDATE SET display_name = excluded.display_name, avatar_url = excluded.avatar_url,
				remote_id = excluded.remote_id, base_url = excluded.base_url, via = excluded.via, outbox = excluded.outbox,
				state = CASE WHEN state = 'gone' THEN 'ok' ELSE state END,
				error = CASE WHEN state = 'gone' THEN '' ELSE error END,
				missing = 0, next_poll = CASE WHEN state = 'gone' THEN 0 ELSE next_poll END
			RETURNING id`, s.Actor, s.Kind, s.Host, s.BaseURL, s.Name, s.DisplayName, s.AvatarURL, s.remoteID,
			cmp.Or(s.via, "rest"), s.outbox, ms(l.now())).Scan(&id)
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("library: storing the subscription: %w", err)
	}
	l.log.Info("subscribed", "actor", s.Actor)
	if l.hostServer() != nil {
		if _, err := l.FollowRemote(ctx, s.Actor); err != nil {
			// Polling still works; the Follow is tried again at the next Subscribe.
			l.log.Error("subscriptions: could not send the Follow", "actor", s.Actor, "err", err)
		}
	}
	l.kickPoller()
	l.feedChanged(FeedEvent{Kind: FeedSubscriptions})
	got, err := l.subscription(ctx, id)
	return got.Subscription, err
}

// Unsubscribe stops following a subscription: its feed items and mirrors
// go (mirrored downloads are released to eviction and their CacheFile
// withdrawn), and an ActivityPub Undo follows the Follow when one was sent.
func (l *Library) Unsubscribe(ctx context.Context, id int64) error {
	s, err := l.subscription(ctx, id)
	if err != nil {
		return err
	}
	if err := l.releaseMirrors(ctx, id); err != nil {
		l.log.Error("subscriptions: releasing mirrors", "err", err)
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE id = ?", id))(fmt.Sprint("subscription ", id)); err != nil {
			return err
		}
		return l.unfollowTx(ctx, tx, s.Actor)
	})
	if err != nil {
		return fmt.Errorf("library: unsubscribing: %w", err)
	}
	l.log.Info("unsubscribed", "actor", s.Actor)
	l.feedChanged(FeedEvent{Kind: FeedSubscriptions})
	return nil
}

// unfollowTx queues an Undo of the account's Follow of actor (when one was
// sent) and forgets it, in tx.
func (l *Library) unfollowTx(ctx context.Context, tx *sql.Tx, actor string) error {
	var inbox, followID string
	err := tx.QueryRowContext(ctx, "SELECT inbox, follow_id FROM host_following WHERE actor = ?", actor).Scan(&inbox, &followID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM host_following WHERE actor = ?", actor); err != nil {
		return err
	}
	var in server.Instance
	if in, err = l.hostStore().Instance(ctx); err != nil {
		return nil // never hosted: nothing to undo
	}
	me := in.BaseURL + "/accounts/" + in.AccountName
	undo, err := federation.NewUndo(followID+"/undo", me, federation.NewFollow(followID, me, actor))
	if err != nil {
		return err
	}
	b, err := json.Marshal(undo)
	if err != nil {
		return err
	}
	_, err = enqueueTx(ctx, tx, b, server.RoleAccount, []string{inbox}, l.now(), l.now())
	return err
}
