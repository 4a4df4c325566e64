package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	alog "github.com/anacrolix/log"
	"github.com/anacrolix/upnp"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/server"
)

// Following: the instance's account follows remote channels, accounts or
// instances, so that their new videos arrive through the inbox and land in
// the catalog.

// Following states (FollowingEntry.State).
const (
	FollowingPending  = "pending"
	FollowingAccepted = "accepted"
	FollowingRejected = "rejected"
)

// FollowingEntry is a remote actor the instance's account follows.
type FollowingEntry struct {
	Actor string
	State string // FollowingPending, FollowingAccepted, FollowingRejected
	Since time.Time
}

// FollowRemote makes the instance's account follow a remote actor:
// handleOrURL is name@host (a channel or account, resolved with WebFinger)
// or an actor URL. The Follow is queued in the same transaction that
// records it and delivered signed; the answer (Accept) arrives in the
// account's inbox. Hosting must run: the remote server fetches our actor.
func (l *Library) FollowRemote(ctx context.Context, handleOrURL string) (FollowingEntry, error) {
	h := l.host()
	h.mu.Lock()
	srv, c := h.srv, h.cfg
	h.mu.Unlock()
	if srv == nil {
		return FollowingEntry{}, ErrNotHosting
	}
	target := strings.TrimSpace(handleOrURL)
	if target == "" {
		return FollowingEntry{}, errors.New("library: whom to follow? Give name@host or the actor's URL")
	}
	client := federation.NewClient(federation.ClientOptions{
		AllowPrivate: c.AllowPrivateNetworks,
		Validate:     federation.ValidateOptions{AllowLocalhost: c.AllowPrivateNetworks},
	})
	iri := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		var err error
		if iri, err = client.WebFinger(ctx, target); err != nil {
			return FollowingEntry{}, fmt.Errorf("library: finding %s: %w", target, err)
		}
	}
	actor, err := client.GetActor(ctx, iri)
	if err != nil {
		return FollowingEntry{}, fmt.Errorf("library: fetching %s: %w", iri, err)
	}
	me := c.PublicURL + "/accounts/" + c.AccountName
	if actor.ID == me {
		return FollowingEntry{}, errors.New("library: this is the instance's own account")
	}
	id := me + "/follows/" + newUUID()
	b, err := json.Marshal(federation.NewFollow(id, me, actor.ID))
	if err != nil {
		return FollowingEntry{}, err
	}
	e := FollowingEntry{Actor: actor.ID, State: FollowingPending, Since: l.now()}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO host_following (actor, inbox, follow_id, state, created)
			VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (actor) DO UPDATE SET inbox = excluded.inbox,
			follow_id = excluded.follow_id, state = 'pending'`, actor.ID, actor.Inbox, id, ms(e.Since)); err != nil {
			return err
		}
		_, err := enqueueTx(ctx, tx, b, server.RoleAccount, []string{actor.Inbox}, l.now(), l.now())
		return err
	})
	if err != nil {
		return FollowingEntry{}, fmt.Errorf("library: following %s: %w", actor.ID, err)
	}
	l.log.Info("hosting: follow sent", "actor", actor.ID)
	return e, nil
}

// Following lists the remote actors the account follows, oldest first.
func (l *Library) Following(ctx context.Context) ([]FollowingEntry, error) {
	rows, err := l.db.QueryContext(ctx, "SELECT actor, state, created FROM host_following ORDER BY created, rowid")
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	defer rows.Close()
	var out []FollowingEntry
	for rows.Next() {
		var (
			e       FollowingEntry
			created int64
		)
		if err := rows.Scan(&e.Actor, &e.State, &created); err != nil {
			return nil, err
		}
		e.Since = fromMS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// onFollowAnswer records an Accept or Reject of one of our Follows (the
// server verified the signature and that the actor signed it).
func (l *Library) onFollowAnswer(act *federation.Activity) {
	follow, err := act.ObjectActivity()
	if err != nil || follow.ID == "" {
		l.log.Info("hosting: follow answer without the Follow", "actor", act.ActorIRI())
		return
	}
	state := FollowingAccepted
	if act.Type == federation.TypeReject {
		state = FollowingRejected
	}
	ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
	defer cancel()
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE host_following SET state = ? WHERE follow_id = ? AND actor = ?",
			state, follow.ID, act.ActorIRI())
		return err
	})
	if err != nil {
		l.log.Error("hosting: recording a follow answer", "err", err)
		return
	}
	l.log.Info("hosting: follow answered", "actor", act.ActorIRI(), "state", state)
}

// Kinds of host_intents.
const (
	intentPublish = "publish"
	intentUpdate  = "update"
	intentDelete  = "delete"
)

// hostIntentTx records, in the caller's transaction, that followers must
// hear of a change of a local video — when hosting is enabled (otherwise
// no one follows yet). flushHostIntents turns it into deliveries after the
// commit.
func (l *Library) hostIntentTx(ctx context.Context, tx *sql.Tx, uuid, kind string) error {
	var raw string
	err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", settingHostConfig).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var c HostConfig
	if json.Unmarshal([]byte(raw), &c) != nil || !c.Enabled {
		return nil
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO host_intents (uuid, kind, created) VALUES (?, ?, ?)", uuid, kind, ms(l.now()))
	return err
}

// afterHostIntent flushes the intents in the background once the change
// committed.
func (l *Library) afterHostIntent() {
	if l.hostServer() == nil || l.ctx.Err() != nil {
		return
	}
	l.wg.Go(func() {
		ctx, cancel := context.WithTimeout(l.ctx, time.Minute)
		defer cancel()
		l.flushHostIntents(ctx)
	})
}

// flushHostIntents turns the recorded intents into the server's Create and
// Announces, Update or Delete deliveries (a failure is logged and the
// intent dropped: a video PeerTube would refuse is not retried).
func (l *Library) flushHostIntents(ctx context.Context) {
	h := l.host()
	h.intentMu.Lock()
	defer h.intentMu.Unlock()
	srv := l.hostServer()
	if srv == nil {
		return
	}
	type intent struct {
		id         int64
		uuid, kind string
	}
	rows, err := l.db.QueryContext(ctx, "SELECT id, uuid, kind FROM host_intents ORDER BY id")
	if err != nil {
		l.log.Error("hosting: reading intents", "err", err)
		return
	}
	var todo []intent
	for rows.Next() {
		var it intent
		if rows.Scan(&it.id, &it.uuid, &it.kind) == nil {
			todo = append(todo, it)
		}
	}
	rows.Close()
	for _, it := range todo {
		var err error
		switch it.kind {
		case intentPublish:
			err = srv.PublishVideo(ctx, it.uuid)
		case intentUpdate:
			err = srv.UpdateVideo(ctx, it.uuid)
		case intentDelete:
			err = srv.DeleteVideo(ctx, it.uuid)
		}
		if ctx.Err() != nil {
			return // kept for the next flush
		}
		switch {
		case err == nil:
			l.log.Info("hosting: federating", "what", it.kind, "uuid", it.uuid)
		case errors.Is(err, server.ErrNotPublic), errors.Is(err, server.ErrNotFound):
			l.log.Info("hosting: not federated", "what", it.kind, "uuid", it.uuid, "why", err)
		default:
			l.log.Error("hosting: federating", "what", it.kind, "uuid", it.uuid, "err", err)
			l.setHostError(fmt.Errorf("federating %s of %s: %w", it.kind, it.uuid, err))
		}
		derr := l.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "DELETE FROM host_intents WHERE id = ?", it.id)
			return err
		})
		if derr != nil {
			l.log.Error("hosting: clearing an intent", "err", derr)
			return
		}
	}
	if len(todo) > 0 {
		l.hostChanged()
	}
}

// mapPort asks the home router (UPnP IGD) to forward port to this
// computer, and records the outcome in HostStatus. Discovery is bounded to
// a few seconds; the mapping is removed when hosting stops.
func (l *Library) mapPort(ctx context.Context, port int) {
	h := l.host()
	set := func(s string) {
		h.mu.Lock()
		if h.srv != nil {
			h.portMap = s
		}
		h.mu.Unlock()
		l.hostChanged()
	}
	set("looking for a UPnP router…")
	done := make(chan []upnp.Device, 1)
	go func() { done <- upnp.Discover(0, 5*time.Second, alog.Default) }()
	var devs []upnp.Device
	select {
	case <-ctx.Done():
		return
	case devs = <-done:
	}
	if len(devs) == 0 {
		set(fmt.Sprintf("no UPnP router answered: forward TCP port %d to this computer on your router", port))
		return
	}
	var errs []string
	for _, d := range devs {
		ext, err := d.AddPortMapping(upnp.TCP, port, port, "Fourmi instance", 0)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		extIP := ""
		if ip, err := d.GetExternalIPAddress(); err == nil {
			extIP = net.JoinHostPort(ip.String(), fmt.Sprint(ext))
		}
		h.mu.Lock()
		h.unmapFns = append(h.unmapFns, func() { d.DeletePortMapping(upnp.TCP, ext) })
		h.mu.Unlock()
		set(fmt.Sprintf("mapped TCP %d → %d on the router (UPnP) %s", ext, port, extIP))
		return
	}
	set("the router refused the port mapping: " + strings.Join(errs, "; "))
}
