package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/peer"
)

// Publish validates req (ValidationError for bad metadata, a FieldError
// "file" for a missing or unreadable file), stores a queued job with a new
// UUID v4 and returns at once; Start's runner does the work.
func (l *Library) Publish(ctx context.Context, req PublishRequest) (LocalVideo, error) {
	if l.ctx.Err() != nil {
		return LocalVideo{}, errClosed
	}
	def, err := l.defaultChannel(ctx)
	if err != nil {
		return LocalVideo{}, fmt.Errorf("library: %w", err)
	}
	var verrs ValidationError
	if err := ValidateMetadata(req.Meta); err != nil {
		verrs = append(verrs, err.(ValidationError)...)
	}
	src, ferr := checkPublishFile(req.File)
	if ferr != "" {
		verrs = append(verrs, FieldError{Field: "file", Message: ferr})
	}
	for _, r := range req.Resolutions {
		if r <= 0 || r > 8640 {
			verrs = append(verrs, FieldError{Field: "resolutions", Message: fmt.Sprintf("Resolution %d is not a video height", r)})
			break
		}
	}
	if len(verrs) > 0 {
		return LocalVideo{}, verrs
	}
	now := l.now()
	v := LocalVideo{UUID: newUUID(), Meta: normalizeMeta(req.Meta, def), Source: src, State: PublishQueued,
		CreatedAt: now, UpdatedAt: now}
	v.Progress = PublishProgress{UUID: v.UUID, State: PublishQueued}
	if err := l.insertLocal(ctx, v, req.Resolutions); err != nil {
		return LocalVideo{}, fmt.Errorf("library: queueing %s: %w", req.File, err)
	}
	l.log.Info("publishing queued", "uuid", v.UUID, "file", src)
	l.emit(v.Progress)
	l.pokePublish()
	return l.MyVideo(ctx, v.UUID)
}

// checkPublishFile returns the absolute path of a publishable file, or a
// message for the form.
func checkPublishFile(path string) (string, string) {
	if strings.TrimSpace(path) == "" {
		return "", "Choose a video or audio file"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err.Error()
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Sprintf("The file %s does not exist", path)
	case err != nil:
		return "", fmt.Sprintf("The file %s cannot be read: %v", path, err)
	case !st.Mode().IsRegular():
		return "", fmt.Sprintf("%s is not a regular file", path)
	case st.Size() == 0:
		return "", fmt.Sprintf("The file %s is empty", path)
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", fmt.Sprintf("The file %s cannot be read: %v", path, err)
	}
	f.Close()
	return abs, ""
}

// defaultChannel is SettingDefaultChannel, else DefaultChannel.
func (l *Library) defaultChannel(ctx context.Context) (string, error) {
	v, ok, err := l.Setting(ctx, SettingDefaultChannel)
	if err != nil {
		return "", err
	}
	if !ok || strings.TrimSpace(v) == "" {
		return DefaultChannel, nil
	}
	return strings.TrimSpace(v), nil
}

// CancelPublish stops a queued or running job: ffmpeg is killed, temporary
// files removed, the state becomes cancelled. Cancelling a finished job is
// an error.
func (l *Library) CancelPublish(ctx context.Context, uuid string) error {
	lr, err := l.localRow(ctx, uuid)
	if err != nil {
		return err
	}
	uuid = lr.v.UUID
	if done := l.cancelCurrent(uuid); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	moved, err := l.setLocalState(ctx, uuid, PublishCancelled, "", PublishQueued, PublishRunning)
	if err != nil {
		return fmt.Errorf("library: cancelling %s: %w", uuid, err)
	}
	if !moved {
		// The runner may have just finished it.
		lr, err = l.localRow(ctx, uuid)
		if err != nil {
			return err
		}
		return fmt.Errorf("library: %q is already %s: there is nothing to cancel", lr.v.Meta.Title, lr.v.State)
	}
	// The runner may have claimed it in between: stop it too.
	if done := l.cancelCurrent(uuid); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	os.RemoveAll(l.videoDir(uuid))
	l.log.Info("publishing cancelled before it started", "uuid", uuid)
	l.emit(PublishProgress{UUID: uuid, State: PublishCancelled})
	return nil
}

// cancelCurrent cancels the running job if it is uuid and returns a channel
// closed when the runner is done with it; nil if uuid is not running.
func (l *Library) cancelCurrent(uuid string) <-chan struct{} {
	p := &l.pub
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != uuid || p.cancel == nil {
		return nil
	}
	p.userCan = true
	p.cancel()
	return p.jobDone
}

// MyVideos lists the creator's videos, newest first, in every state.
func (l *Library) MyVideos(ctx context.Context) ([]LocalVideo, error) {
	rows, err := l.localRows(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("library: listing my videos: %w", err)
	}
	out := make([]LocalVideo, len(rows))
	for i, r := range rows {
		out[i] = l.withLive(r.v)
	}
	return out, nil
}

// withLive replaces the stored progress of the running job by its live one.
func (l *Library) withLive(v LocalVideo) LocalVideo {
	p := &l.pub
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current == v.UUID && v.State == PublishRunning && p.live.UUID == v.UUID {
		v.Progress = p.live
		v.Progress.Steps = append([]StepStatus(nil), p.live.Steps...)
		v.Progress.State = v.State
	}
	return v
}

// MyVideo returns one of the creator's videos (ErrNotFound).
func (l *Library) MyVideo(ctx context.Context, uuid string) (LocalVideo, error) {
	lr, err := l.localRow(ctx, uuid)
	if err != nil {
		return LocalVideo{}, err
	}
	return l.withLive(lr.v), nil
}

// UpdateMyVideo replaces the metadata (validated as for Publish).
func (l *Library) UpdateMyVideo(ctx context.Context, uuid string, meta Metadata) (LocalVideo, error) {
	if err := ValidateMetadata(meta); err != nil {
		return LocalVideo{}, err
	}
	lr, err := l.localRow(ctx, uuid)
	if err != nil {
		return LocalVideo{}, err
	}
	def, err := l.defaultChannel(ctx)
	if err != nil {
		return LocalVideo{}, fmt.Errorf("library: %w", err)
	}
	v := lr.v
	v.Meta = normalizeMeta(meta, def)
	v.UpdatedAt = l.now()
	tags, err := json.Marshal(nonNil(v.Meta.Tags))
	if err != nil {
		return LocalVideo{}, err
	}
	publicURL, err := l.publicURL(ctx)
	if err != nil {
		publicURL = ""
	}
	m := v.Meta
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE local_videos SET title = ?, description = ?, tags = ?, category = ?,
			licence = ?, language = ?, privacy = ?, nsfw = ?, support = ?, channel = ?, updated_at = ? WHERE uuid = ?`,
			m.Title, m.Description, string(tags), m.Category, m.Licence, m.Language, int(m.Privacy), m.NSFW,
			m.Support, m.Channel, ms(v.UpdatedAt), v.UUID); err != nil {
			return err
		}
		if v.State == PublishDone {
			if err := l.hostIntentTx(ctx, tx, v.UUID, intentUpdate); err != nil { // host_follow.go
				return err
			}
		}
		var inCatalog bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM videos WHERE uuid = ?)", v.UUID).Scan(&inCatalog); err != nil {
			return err
		}
		if !inCatalog {
			return nil
		}
		if err := l.writeCatalog(ctx, tx, catalogVideo(v, publicURL)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE transfers SET name = ? WHERE video_uuid = ?", m.Title, v.UUID)
		return err
	})
	if err != nil {
		return LocalVideo{}, fmt.Errorf("library: updating %s: %w", v.UUID, err)
	}
	l.afterHostIntent()
	return l.MyVideo(ctx, v.UUID)
}

// DeleteMyVideo cancels any job, stops seeding, removes the transfers and
// every file of the video, then the row.
func (l *Library) DeleteMyVideo(ctx context.Context, uuid string) error {
	lr, err := l.localRow(ctx, uuid)
	if err != nil {
		return err
	}
	uuid = lr.v.UUID
	if done := l.cancelCurrent(uuid); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if _, err := l.setLocalState(ctx, uuid, PublishCancelled, "", PublishQueued, PublishRunning); err != nil {
		return fmt.Errorf("library: deleting %s: %w", uuid, err)
	}
	if done := l.cancelCurrent(uuid); done != nil { // claimed in between
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The transfers: of the published files, and any other of this video.
	ihs := map[string]bool{}
	for _, f := range lr.v.Files {
		ihs[f.InfoHash] = true
	}
	rows, err := l.db.QueryContext(ctx, "SELECT infohash FROM transfers WHERE video_uuid = ?", uuid)
	if err != nil {
		return fmt.Errorf("library: deleting %s: %w", uuid, err)
	}
	for rows.Next() {
		var ih string
		if err := rows.Scan(&ih); err == nil {
			ihs[ih] = true
		}
	}
	rows.Close()
	for ih := range ihs {
		if err := l.dropTransfer(ctx, ih); err != nil {
			return fmt.Errorf("library: deleting %s: stopping its torrent: %w", uuid, err)
		}
	}
	if err := os.RemoveAll(l.videoDir(uuid)); err != nil {
		return fmt.Errorf("library: deleting %s: %w", uuid, err)
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM history WHERE video_uuid = ?",
			"DELETE FROM videos WHERE uuid = ?",
			"DELETE FROM local_videos WHERE uuid = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, uuid); err != nil {
				return err
			}
		}
		if lr.v.State == PublishDone {
			return l.hostIntentTx(ctx, tx, uuid, intentDelete) // host_follow.go
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("library: deleting %s: %w", uuid, err)
	}
	l.afterHostIntent()
	l.log.Info("my video deleted", "uuid", uuid, "title", lr.v.Meta.Title)
	return nil
}

// dropTransfer stops and forgets a torrent with its data in the engine,
// whether the engine runs or not.
func (l *Library) dropTransfer(ctx context.Context, ih string) error {
	if _, err := l.engine(); err == nil {
		l.stopPlaybacks(ih)
		l.watch.op.Lock()
		defer l.watch.op.Unlock()
		if _, err := l.transferRow(ctx, ih); err == nil {
			return l.removeLocked(ctx, ih, true)
		}
		h, _ := peer.ParseInfoHash(ih)
		if err := l.watch.engine.Remove(h, true); err != nil && !errors.Is(err, peer.ErrUnknownTorrent) {
			return err
		}
		return nil
	}
	// Not running: forget it in the engine's documented layout so that
	// the next start does not bring it back.
	os.RemoveAll(filepath.Join(l.watch.peerDir, "data", ih))
	os.Remove(filepath.Join(l.watch.peerDir, "torrents", ih+".torrent"))
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM transfers WHERE infohash = ?", ih)
		return err
	})
}

// WaitPublished blocks until the job is done (nil), failed (its error) or
// cancelled (ErrPublishCancelled), or ctx ends.
func (l *Library) WaitPublished(ctx context.Context, uuid string) (LocalVideo, error) {
	wake := make(chan struct{}, 1)
	unsub := l.SubscribePublish(func(p PublishProgress) {
		if p.UUID == uuid && p.State != PublishRunning && p.State != PublishQueued {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer unsub()
	t := time.NewTicker(time.Second) // a safety net: the row is the truth
	defer t.Stop()
	for {
		v, err := l.MyVideo(ctx, uuid)
		if err != nil {
			return LocalVideo{}, err
		}
		switch v.State {
		case PublishDone:
			return v, nil
		case PublishFailed:
			return v, fmt.Errorf("library: publishing %q failed: %s", v.Meta.Title, v.Progress.Error)
		case PublishCancelled:
			return v, ErrPublishCancelled
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}

// SubscribePublish calls fn with every PublishProgress of every job until
// the returned function is called. fn runs on a library goroutine and must
// not block (the GUI hands it to fyne.Do).
func (l *Library) SubscribePublish(fn func(PublishProgress)) (unsubscribe func()) {
	p := &l.pub
	p.mu.Lock()
	if p.subs == nil {
		p.subs = map[int]func(PublishProgress){}
	}
	id := p.nextSub
	p.nextSub++
	p.subs[id] = fn
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.subs, id)
		p.mu.Unlock()
	}
}
