package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// settingHostConfig holds the HostConfig as JSON.
const settingHostConfig = "host.config"

// HostConfig returns the hosting configuration (defaults before the first
// SetHostConfig).
func (l *Library) HostConfig(ctx context.Context) (HostConfig, error) {
	v, ok, err := l.Setting(ctx, settingHostConfig)
	if err != nil {
		return HostConfig{}, err
	}
	c := defaultHostConfig()
	if !ok || v == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return HostConfig{}, fmt.Errorf("library: the stored hosting configuration is damaged: %w", err)
	}
	return normalizeHostConfig(c), nil
}

// SetHostConfig validates c (a ValidationError lists the bad fields, and
// nothing is stored) and stores it. While hosting runs the change applies
// at once: names, description and avatar are reloaded; a new listen
// address, domain or public URL restarts the server. Enabled is stored as
// given, but SetHostConfig neither starts nor stops hosting: StartHosting
// and StopHosting do.
func (l *Library) SetHostConfig(ctx context.Context, c HostConfig) error {
	c = normalizeHostConfig(c)
	if err := ValidateHostConfig(c); err != nil {
		return err
	}
	if err := l.saveHostConfig(ctx, c); err != nil {
		return err
	}
	return l.applyHostConfig(ctx, c)
}

// saveHostConfig stores c, the publishing settings that follow from it
// (the public URL for web seeds and trackers while hosting is enabled, the
// default channel) and the server's instance row, in one transaction.
func (l *Library) saveHostConfig(ctx context.Context, c HostConfig) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		if err := setSetting(ctx, tx, settingHostConfig, string(b)); err != nil {
			return err
		}
		pub := ""
		if c.Enabled {
			pub = c.PublicURL
		}
		if err := setSetting(ctx, tx, SettingPublicURL, pub); err != nil {
			return err
		}
		if err := setSetting(ctx, tx, SettingDefaultChannel, c.ChannelName); err != nil {
			return err
		}
		if c.PublicURL == "" {
			return nil
		}
		in := instanceOf(c, l.now())
		var created int64 // the instance's birth stays (actors' "published")
		if err := tx.QueryRowContext(ctx, "SELECT created FROM host_instance WHERE id = 1").Scan(&created); err == nil && created != 0 {
			in.Created = fromMS(created)
		}
		return saveInstanceTx(ctx, tx, in)
	})
	if err != nil {
		return fmt.Errorf("library: storing the hosting configuration: %w", err)
	}
	return nil
}

// HostFollowers lists the instance's followers (accepted and pending),
// oldest first. It reads the database: hosting need not run.
func (l *Library) HostFollowers(ctx context.Context) ([]HostFollower, error) {
	fs, err := l.hostStore().Followers(ctx, "", "")
	if err != nil {
		return nil, fmt.Errorf("library: listing followers: %w", err)
	}
	out := make([]HostFollower, len(fs))
	for i, f := range fs {
		out[i] = HostFollower{Actor: f.Actor, Handle: handleOf(f.Actor), Inbox: f.Inbox, State: string(f.State),
			Since: f.Created, Local: f.Local}
	}
	return out, nil
}

// ApproveFollower accepts a pending follow request of actor (to any local
// actor it asked to follow); the Accept is delivered through the queue.
func (l *Library) ApproveFollower(ctx context.Context, actor string) error {
	return l.answerFollower(ctx, actor, true)
}

// RejectFollower refuses a pending follow request of actor, or removes an
// accepted follower; the Reject is delivered through the queue.
func (l *Library) RejectFollower(ctx context.Context, actor string) error {
	return l.answerFollower(ctx, actor, false)
}

func (l *Library) answerFollower(ctx context.Context, actor string, approve bool) error {
	srv := l.hostServer()
	if srv == nil {
		return ErrNotHosting
	}
	fs, err := l.hostStore().Followers(ctx, "", "")
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	found := false
	for _, f := range fs {
		if f.Actor != actor {
			continue
		}
		found = true
		if approve {
			err = srv.Approve(ctx, f.Local, f.Actor)
		} else {
			err = srv.Reject(ctx, f.Local, f.Actor)
		}
		if err != nil {
			return fmt.Errorf("library: answering %s: %w", handleOf(actor), err)
		}
	}
	if !found {
		return fmt.Errorf("library: follower %s: %w", actor, ErrNotFound)
	}
	l.hostChanged()
	return nil
}

// SubscribeHost calls fn with the whole HostStatus at once, then after
// every change (start, stop, follower, reachability, and the delivery
// queue: an activity enqueued, a delivery done, retried or dropped —
// coalesced, a few calls a second at most during a fan-out). Every
// subscriber gets the statuses in order, the last one read after the last
// change; the initial status reaches the others too. fn runs on a library
// goroutine, one call at a time, and must not block (the GUI hands it to
// fyne.Do).
func (l *Library) SubscribeHost(fn func(HostStatus)) (unsubscribe func()) {
	h := l.host()
	h.subMu.Lock()
	if h.subs == nil {
		h.subs = map[int]func(HostStatus){}
	}
	id := h.nextSub
	h.nextSub++
	h.subs[id] = fn
	h.subMu.Unlock()
	l.hostChanged()
	return func() {
		h.subMu.Lock()
		delete(h.subs, id)
		h.subMu.Unlock()
	}
}

var errNoPublicURL = errors.New("library: hosting needs a public URL: set it in the hosting configuration")
