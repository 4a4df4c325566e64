package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	alog "github.com/anacrolix/log"
	"github.com/anacrolix/upnp"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/server"
	"github.com/fourmi-app/fourmi/library/natpmp"
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
	srv := l.hostServer()
	if srv == nil || l.ctx.Err() != nil {
		return
	}
	// The change is committed: no outbox page cached before it may be
	// served until the intent is flushed.
	srv.LocalVideosChanged()
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

// mapPort asks the home router to forward port to this computer — UPnP IGD
// first, then NAT-PMP on the default gateway — and records the outcome in
// HostStatus. UPnP discovery is bounded to a few seconds and its mapping is
// removed when hosting stops (h.unmapFns). A NAT-PMP mapping is renewed
// here while hosting runs, then deleted before this returns (stopHost
// waits for it), so a renewal never races the deletion.
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
	if port <= 0 || port > 65535 {
		set(fmt.Sprintf("no port mapping: bad port %d", port))
		return
	}
	var upnpErr error
	if l.opt.NATPMPGateway == "" {
		set("looking for a UPnP router…")
		var mapped bool
		if mapped, upnpErr = l.mapPortUPnP(ctx, port, set); mapped || ctx.Err() != nil {
			return
		}
	} else {
		upnpErr = errors.New("not tried (a NAT-PMP gateway is configured)")
	}
	set("asking the router by NAT-PMP…")
	err := l.mapPortNATPMP(ctx, port, set)
	if err != nil && ctx.Err() == nil {
		set(fmt.Sprintf("no port mapping (UPnP: %v; NAT-PMP: %v): forward TCP port %d to this computer on your router",
			upnpErr, err, port))
	}
}

// mapPortUPnP maps port on the first UPnP router that accepts; false and
// why when none did.
func (l *Library) mapPortUPnP(ctx context.Context, port int, set func(string)) (bool, error) {
	h := l.host()
	done := make(chan []upnp.Device, 1)
	go func() { done <- upnp.Discover(0, 5*time.Second, alog.Default) }()
	var devs []upnp.Device
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case devs = <-done:
	}
	if len(devs) == 0 {
		return false, errors.New("no UPnP router answered")
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
		return true, nil
	}
	return false, errors.New("the router refused the mapping: " + strings.Join(errs, "; "))
}

// natpmpLifetime is the lifetime asked of a NAT-PMP gateway (RFC 6886
// recommends two hours); the mapping is renewed at half of what it grants.
const natpmpLifetime = 2 * time.Hour

// mapPortNATPMP maps port by NAT-PMP, keeps the mapping renewed until ctx
// ends, then deletes it. It returns an error only when nothing was mapped.
func (l *Library) mapPortNATPMP(ctx context.Context, port int, set func(string)) error {
	client, err := l.natpmpClient()
	if err != nil {
		return err
	}
	gw := client.Gateway().Addr()
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	m, err := client.MapTCP(mctx, uint16(port), uint16(port), natpmpLifetime)
	cancel()
	if ctx.Err() != nil {
		// Stopped while asking: the gateway may have mapped it anyway.
		uctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		client.Unmap(uctx, natpmp.Mapping{Protocol: natpmp.TCP, Internal: uint16(port)})
		return ctx.Err()
	}
	if errors.Is(err, natpmp.ErrNoAnswer) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the router at %s did not answer", gw)
	}
	var refused *natpmp.ResultError
	if errors.As(err, &refused) {
		return fmt.Errorf("the router at %s: %w", gw, refused)
	}
	if err != nil {
		return fmt.Errorf("the router at %s: %w", gw, err)
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	extIP, err := client.ExternalAddress(actx)
	cancel()
	if err != nil {
		l.log.Info("hosting: NAT-PMP external address unknown", "err", err)
	}
	status := func(m natpmp.Mapping) string {
		s := fmt.Sprintf("mapped TCP %d → %d on the router (NAT-PMP)", m.External, port)
		if extIP.IsValid() {
			s += " " + net.JoinHostPort(extIP.String(), fmt.Sprint(m.External))
		}
		return s
	}
	l.log.Info("hosting: port mapped by NAT-PMP", "gateway", gw, "external", m.External, "internal", port,
		"lifetime", m.Lifetime)
	set(status(m))
	last := client.Maintain(ctx, m, func(m natpmp.Mapping, err error) {
		if err != nil {
			l.log.Warn("hosting: NAT-PMP renewal failed", "err", err)
			set(status(m) + "; renewing failed, retrying: " + err.Error())
			return
		}
		set(status(m))
	})
	uctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Unmap(uctx, last); err != nil {
		l.log.Warn("hosting: deleting the NAT-PMP mapping", "err", err)
	} else {
		l.log.Info("hosting: NAT-PMP mapping deleted", "external", last.External)
	}
	return nil
}

// natpmpClient talks to Options.NATPMPGateway, or else to the default
// route's gateway.
func (l *Library) natpmpClient() (*natpmp.Client, error) {
	opts := []natpmp.Option{natpmp.WithLogger(l.log)}
	if g := l.opt.NATPMPGateway; g != "" {
		ap, err := netip.ParseAddrPort(g)
		if err != nil {
			return nil, fmt.Errorf("the NAT-PMP gateway %q: %w", g, err)
		}
		return natpmp.New(ap.Addr(), append(opts, natpmp.WithPort(ap.Port()))...), nil
	}
	gw, err := natpmp.DefaultGateway()
	if err != nil {
		return nil, err
	}
	return natpmp.New(gw, opts...), nil
}
