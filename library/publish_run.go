package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fourmi-app/fourmi/library/media"
	"github.com/fourmi-app/fourmi/peer"
)

// publishState is the publishing queue's in-memory side: the job being
// run, the progress subscribers. The queue itself is local_videos.
type publishState struct {
	mu      sync.Mutex
	poke    chan struct{}
	current string             // uuid of the running job
	cancel  context.CancelFunc // cancels current
	userCan bool               // current was cancelled by the user
	jobDone chan struct{}      // closed when current ends
	live    PublishProgress    // current's progress
	subs    map[int]func(PublishProgress)
	nextSub int
}

// pokeCh is the runner's wake-up channel (made on first use).
func (p *publishState) pokeCh() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.poke == nil {
		p.poke = make(chan struct{}, 1)
	}
	return p.poke
}

func (l *Library) pokePublish() {
	select {
	case l.pub.pokeCh() <- struct{}{}:
	default:
	}
}

// emitInterval is the least time between two progress reports of a job
// that are not state or step changes.
const emitInterval = 100 * time.Millisecond

// emit sends p to the subscribers.
func (l *Library) emit(p PublishProgress) {
	l.pub.mu.Lock()
	fns := make([]func(PublishProgress), 0, len(l.pub.subs))
	for _, fn := range l.pub.subs {
		fns = append(fns, fn)
	}
	l.pub.mu.Unlock()
	p.Steps = append([]StepStatus(nil), p.Steps...)
	for _, fn := range fns {
		fn(p)
	}
}

// runPublish is the publishing runner: it works the queue one job at a time
// until ctx ends. Jobs an earlier run left running were interrupted: they
// are queued again and redone from a clean directory.
func (l *Library) runPublish(ctx context.Context) {
	poke := l.pub.pokeCh()
	n, err := l.requeueInterrupted(ctx)
	if err != nil {
		l.log.Error("publishing: requeueing interrupted jobs", "err", err)
	} else if n > 0 {
		l.log.Info("publishing: interrupted jobs queued again", "jobs", n)
	}
	for ctx.Err() == nil {
		uuid, err := l.nextQueued(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Error("publishing: reading the queue", "err", err)
		}
		if uuid == "" || err != nil {
			select {
			case <-ctx.Done():
				return
			case <-poke:
			case <-time.After(time.Minute):
			}
			continue
		}
		l.runJob(ctx, uuid)
	}
}

// requeueInterrupted queues the jobs found running again.
func (l *Library) requeueInterrupted(ctx context.Context) (int64, error) {
	var n int64
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE local_videos SET state = 'queued', steps = '[]', overall = 0, updated_at = ? WHERE state = 'running'", ms(l.now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// videoDir is where a published video's files live.
func (l *Library) videoDir(uuid string) string { return filepath.Join(l.dir, "videos", uuid) }

// job is one run of the pipeline.
type job struct {
	l       *Library
	v       LocalVideo
	res     []int
	dir     string
	seeded  []peer.InfoHash
	weights []float64
	prog    PublishProgress
	lastEmit,
	lastSave time.Time
}

// runJob claims and runs one job, and records how it ended.
func (l *Library) runJob(ctx context.Context, uuid string) {
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &l.pub
	p.mu.Lock()
	p.current, p.cancel, p.userCan, p.jobDone = uuid, cancel, false, make(chan struct{})
	p.live = PublishProgress{UUID: uuid, State: PublishRunning}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		close(p.jobDone)
		p.current, p.cancel = "", nil
		p.mu.Unlock()
	}()
	claimed, err := l.setLocalState(ctx, uuid, PublishRunning, "", PublishQueued)
	if err != nil || !claimed {
		if err != nil && ctx.Err() == nil {
			l.log.Error("publishing: claiming a job", "uuid", uuid, "err", err)
		}
		return
	}
	lr, err := l.localRow(ctx, uuid)
	if err != nil {
		return
	}
	j := &job{l: l, v: lr.v, res: lr.resolutions, dir: l.videoDir(uuid)}
	j.prog = PublishProgress{UUID: uuid, State: PublishRunning,
		Steps: []StepStatus{{Step: StepProbe}, {Step: StepThumbnails}}}
	j.weights = []float64{1, 2}
	j.report(true)
	log := l.log.With("uuid", uuid, "source", lr.v.Source)
	log.Info("publishing")
	start := time.Now()
	err = j.run(jobCtx)
	p.mu.Lock()
	userCan := p.userCan
	p.mu.Unlock()
	bg, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stop()
	switch {
	case err == nil:
		log.Info("published", "took", time.Since(start).Round(time.Millisecond))
		j.prog.State, j.prog.Overall = PublishDone, 1
		j.report(true)
		return
	case userCan:
		j.discard()
		log.Info("publishing cancelled")
		if _, err := l.setLocalState(bg, uuid, PublishCancelled, "", PublishRunning); err != nil {
			log.Error("publishing: recording the cancellation", "err", err)
		}
		j.prog.State = PublishCancelled
	case ctx.Err() != nil:
		// Shutting down: the job stays running and is redone at the next
		// start. Partial outputs go now; a crash leaves them to requeue.
		j.discard()
		log.Info("publishing interrupted by shutdown; it will start again")
		return
	default:
		msg := publishErrorMessage(err, lr.v.Source)
		log.Warn("publishing failed", "err", err)
		j.discard()
		if _, err := l.setLocalState(bg, uuid, PublishFailed, msg, PublishRunning); err != nil {
			log.Error("publishing: recording the failure", "err", err)
		}
		j.prog.State, j.prog.Error = PublishFailed, msg
	}
	j.saveSteps(bg)
	l.emit(j.prog)
}

// discard removes everything the job made: its directory and any torrent
// it put in the engine.
func (j *job) discard() {
	l := j.l
	if len(j.seeded) > 0 {
		l.watch.op.Lock()
		for _, h := range j.seeded {
			if err := l.watch.engine.Remove(h, true); err != nil && !errors.Is(err, peer.ErrUnknownTorrent) {
				l.log.Warn("publishing: removing a torrent", "infohash", h, "err", err)
			}
			l.watch.forgetBase(h.String())
		}
		l.watch.op.Unlock()
	}
	if err := os.RemoveAll(j.dir); err != nil {
		l.log.Warn("publishing: removing the job's files", "dir", j.dir, "err", err)
	}
}

// publishErrorMessage is a sentence for the creator about why a job failed.
func publishErrorMessage(err error, source string) string {
	name := filepath.Base(source)
	var se *sourceGoneError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("The file %s is no longer there (moved or deleted before it was published).", name)
	case errors.Is(err, media.ErrNotMedia):
		return fmt.Sprintf("%s is not a video or audio file Fourmi can read.", name)
	case errors.Is(err, media.ErrTruncated):
		return fmt.Sprintf("%s is truncated: part of the file is missing (an unfinished copy or download?).", name)
	case errors.Is(err, media.ErrDurationMismatch):
		return fmt.Sprintf("%s is damaged: the duration it claims does not match its content.", name)
	case errors.Is(err, media.ErrDiskFull):
		return "Not enough disk space to prepare the video: free some space and publish again."
	case errors.Is(err, media.ErrNoTool):
		return "ffmpeg is not installed: Fourmi needs it to prepare videos."
	}
	return "Publishing failed: " + err.Error()
}

// sourceGoneError: the source file disappeared or changed kind.
type sourceGoneError struct{ err error }

func (e *sourceGoneError) Error() string { return "source file: " + e.err.Error() }
func (e *sourceGoneError) Unwrap() error { return e.err }

// checkSource checks the file is still a readable, non-empty regular file.
func checkSource(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return &sourceGoneError{err}
	}
	if !st.Mode().IsRegular() {
		return &sourceGoneError{fmt.Errorf("%s is not a regular file", path)}
	}
	if st.Size() == 0 {
		return fmt.Errorf("%w: %s is empty", media.ErrNotMedia, path)
	}
	return nil
}

// report publishes the job's progress: to subscribers at most every
// emitInterval unless force (a state or step change), and to the database
// on step changes and every few seconds.
func (j *job) report(force bool) {
	var sum, total float64
	for i, s := range j.prog.Steps {
		w := 1.0
		if i < len(j.weights) {
			w = j.weights[i]
		}
		total += w
		sum += w * s.Fraction
	}
	if total > 0 {
		j.prog.Overall = min(1, sum/total)
	}
	now := time.Now()
	p := &j.l.pub
	p.mu.Lock()
	p.live = j.prog
	p.live.Steps = append([]StepStatus(nil), j.prog.Steps...)
	p.mu.Unlock()
	if force || now.Sub(j.lastSave) >= 2*time.Second {
		j.lastSave = now
		j.saveSteps(j.l.ctx)
	}
	if force || now.Sub(j.lastEmit) >= emitInterval {
		j.lastEmit = now
		j.l.emit(j.prog)
	}
}

func (j *job) saveSteps(ctx context.Context) {
	if err := j.l.saveSteps(ctx, j.prog); err != nil && ctx.Err() == nil {
		j.l.log.Warn("publishing: saving progress", "uuid", j.v.UUID, "err", err)
	}
}

// step updates step i.
func (j *job) step(i int, frac float64, done bool) {
	s := &j.prog.Steps[i]
	changed := done != s.Done || frac == 0 && s.Fraction == 0
	s.Fraction, s.Done = frac, done
	if done {
		s.Fraction = 1
	}
	j.report(changed)
}

// output is one file being produced.
type output struct {
	target media.Target
	name   string // <uuid>-<res>.mp4
	path   string
	file   LocalFile
	data   []byte // the .torrent
}

// run is the pipeline: probe → thumbnails → encode per resolution →
// hashing → seeding, then one transaction makes the video "done".
func (j *job) run(ctx context.Context) error {
	l := j.l
	src := j.v.Source
	if err := os.RemoveAll(j.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(j.dir, 0o755); err != nil {
		return diskErr(err)
	}
	if err := checkSource(src); err != nil {
		return err
	}
	tool := &media.Tool{Logger: l.log.With("component", "media")}

	// Probe.
	j.step(0, 0, false)
	info, err := tool.Probe(ctx, src)
	if err != nil {
		if _, serr := os.Stat(src); serr != nil {
			return &sourceGoneError{serr}
		}
		return err
	}
	j.v.Duration = info.Duration
	j.step(0, 1, true)

	// Thumbnails.
	thumb, preview, err := tool.Thumbnails(ctx, src, info, j.dir)
	if err != nil {
		return err
	}
	j.v.Thumbnail, j.v.Preview = thumb, preview
	j.step(1, 1, true)

	// The plan: encode steps, then one hash step per output, then seeding.
	targets := media.Plan(info, j.res, media.PlanOptions{})
	if len(targets) == 0 {
		return fmt.Errorf("%w: no video or audio stream", media.ErrNotMedia)
	}
	still := info.Video == nil
	if still {
		// An audio-only file becomes a video of its preview image, which
		// every player and PeerTube show.
		targets[0].Mode = media.Transcode
	}
	outs := make([]*output, len(targets))
	srcPixels := 1.0
	if info.Video != nil {
		w, h := info.Video.DisplaySize()
		srcPixels = float64(max(1, w*h))
	}
	for i, t := range targets {
		name := fmt.Sprintf("%s-%d.mp4", j.v.UUID, t.Resolution)
		outs[i] = &output{target: t, name: name, path: filepath.Join(j.dir, name)}
		w := 1.0
		switch {
		case t.Mode == media.Transcode && still:
			w = 3
		case t.Mode == media.Transcode:
			w = 2 + 20*float64(t.Width*t.Height)/srcPixels
		}
		j.prog.Steps = append(j.prog.Steps, StepStatus{Step: StepEncode, Resolution: t.Resolution})
		j.weights = append(j.weights, w)
	}
	for _, t := range targets {
		j.prog.Steps = append(j.prog.Steps, StepStatus{Step: StepHash, Resolution: t.Resolution})
		j.weights = append(j.weights, 0.5)
	}
	j.prog.Steps = append(j.prog.Steps, StepStatus{Step: StepSeed})
	j.weights = append(j.weights, 0.5)
	j.report(true)

	// Encode.
	for i, o := range outs {
		si := 2 + i
		j.step(si, 0, false)
		if err := checkSource(src); err != nil {
			return err
		}
		progress := func(p media.Progress) { j.step(si, p.Fraction, false) }
		switch o.target.Mode {
		case media.Keep:
			err = copyAtomic(ctx, src, o.path, info.Size, func(f float64) { j.step(si, f, false) })
		default:
			job := media.Job{Input: src, Info: info, Output: o.path, Resolution: o.target.Resolution,
				Remux: o.target.Mode == media.Remux}
			if still {
				job.Still = preview
			}
			err = tool.Encode(ctx, job, progress)
		}
		if err != nil {
			if _, serr := os.Stat(src); serr != nil {
				return &sourceGoneError{serr}
			}
			return err
		}
		oi, err := tool.Probe(ctx, o.path)
		if err != nil {
			return fmt.Errorf("checking the encoded %s: %w", o.name, err)
		}
		o.file = LocalFile{Resolution: o.target.Resolution, Size: oi.Size, Path: o.path,
			TorrentPath: strings.TrimSuffix(o.path, ".mp4") + ".torrent"}
		if oi.Video != nil {
			o.file.Width, o.file.Height = oi.Video.DisplaySize()
			o.file.FPS = oi.Video.FPS
		}
		j.step(si, 1, true)
	}

	// Hash.
	publicURL, err := l.publicURL(ctx)
	if err != nil {
		return err
	}
	trackers, err := l.publishTrackers(ctx, publicURL)
	if err != nil {
		return err
	}
	for i, o := range outs {
		si := 2 + len(outs) + i
		j.step(si, 0, false)
		opts := peer.CreateOptions{Name: o.name, Trackers: trackers, CreationDate: l.now()}
		if publicURL != "" {
			o.file.WebSeedURL = strings.TrimRight(publicURL, "/") + "/static/web-videos/" + o.name
			opts.WebSeeds = []string{o.file.WebSeedURL}
		}
		data, err := peer.CreateTorrent(ctx, o.path, opts)
		if err != nil {
			return err
		}
		ti, err := peer.ParseTorrent(data)
		if err != nil {
			return err
		}
		if err := writeAtomic(o.file.TorrentPath, data); err != nil {
			return err
		}
		o.data = data
		o.file.InfoHash = ti.InfoHash.String()
		o.file.Magnet = magnetFor(o.file, o.name, torrentURLFor(publicURL, o.file), trackers)
		j.step(si, 1, true)
	}

	// Seed, then record everything in one transaction.
	seedStep := len(j.prog.Steps) - 1
	j.step(seedStep, 0, false)
	e, err := l.engine()
	if err != nil {
		return err
	}
	for _, o := range outs {
		h, err := l.seedOutput(ctx, e, o)
		if err != nil {
			return err
		}
		j.seeded = append(j.seeded, h)
	}
	for _, h := range j.seeded {
		if err := e.WaitComplete(ctx, h); err != nil {
			return fmt.Errorf("verifying the published file: %w", err)
		}
	}
	j.v.Files = make([]LocalFile, len(outs))
	for i, o := range outs {
		j.v.Files[i] = o.file
	}
	j.v.PublishedAt = l.now()
	j.v.UpdatedAt = j.v.PublishedAt
	j.v.State = PublishDone
	j.step(seedStep, 1, true)
	j.prog.State, j.prog.Overall = PublishDone, 1
	return l.recordPublished(ctx, j, outs, publicURL)
}

// seedOutput puts a published file in the engine. The engine keeps its
// data at <peer dir>/data/<infohash>/<name>: a hard link there spares a
// copy of the creator's file (SeedFile copies when linking is not possible).
func (l *Library) seedOutput(ctx context.Context, e *peer.Engine, o *output) (peer.InfoHash, error) {
	h, err := peer.ParseInfoHash(o.file.InfoHash)
	if err != nil {
		return h, err
	}
	dst := filepath.Join(l.watch.peerDir, "data", o.file.InfoHash, o.name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err == nil {
		if err := os.Link(o.path, dst); err != nil && !errors.Is(err, fs.ErrExist) {
			l.log.Debug("publishing: no hard link into the engine, copying", "err", err)
		}
	}
	l.watch.op.Lock()
	defer l.watch.op.Unlock()
	if _, err := e.SeedFile(ctx, o.data, o.path); err != nil {
		return h, fmt.Errorf("seeding %s: %w", o.name, err)
	}
	return h, nil
}

// recordPublished makes the job done: its files, its catalog entry (Play,
// local search) and its transfers (seeding, kept: never stopped by the
// limits nor evicted by the disk budget), in one transaction.
func (l *Library) recordPublished(ctx context.Context, j *job, outs []*output, publicURL string) error {
	steps, err := json.Marshal(nonNilSteps(j.prog.Steps))
	if err != nil {
		return err
	}
	now := ms(l.now())
	cv := catalogVideo(j.v, publicURL)
	l.watch.op.Lock()
	defer l.watch.op.Unlock()
	defer l.afterHostIntent() // deliveries to the followers, once committed (host_follow.go)
	return l.inTx(ctx, func(tx *sql.Tx) error {
		if err := l.writeCatalog(ctx, tx, cv); err != nil {
			return err
		}
		for _, o := range outs {
			f := o.file
			if _, err := tx.ExecContext(ctx, `INSERT INTO local_files (video_uuid, resolution, width, height, fps, size,
				path, infohash, torrent_path, magnet, web_seed_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				j.v.UUID, f.Resolution, f.Width, f.Height, f.FPS, f.Size, f.Path, f.InfoHash, f.TorrentPath,
				f.Magnet, f.WebSeedURL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO transfers (infohash, video_uuid, resolution, name, size,
				torrent_url, magnet_uri, web_seed_url, metainfo, state, keep_seeding, added_at, completed_at, completed)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'seeding', 1, ?, ?, ?)
				ON CONFLICT (infohash) DO UPDATE SET video_uuid = excluded.video_uuid, name = excluded.name,
					size = excluded.size, metainfo = excluded.metainfo, state = 'seeding', keep_seeding = 1,
					completed_at = excluded.completed_at, completed = excluded.completed, error = ''`,
				f.InfoHash, j.v.UUID, f.Resolution, j.v.Meta.Title, f.Size, torrentURLFor(publicURL, f), f.Magnet,
				f.WebSeedURL, o.data, now, now, f.Size); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE local_videos SET state = 'done', error = '', steps = ?, overall = 1,
			duration_ms = ?, thumbnail = ?, preview = ?, updated_at = ?, published_at = ? WHERE uuid = ? AND state = 'running'`,
			string(steps), j.v.Duration.Milliseconds(), j.v.Thumbnail, j.v.Preview, now, now, j.v.UUID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(errors.New("the job was cancelled or deleted meanwhile"), err)
		}
		return l.hostIntentTx(ctx, tx, j.v.UUID, intentPublish)
	})
}

// publicURL is SettingPublicURL, checked.
func (l *Library) publicURL(ctx context.Context) (string, error) {
	v, _, err := l.Setting(ctx, SettingPublicURL)
	if err != nil {
		return "", err
	}
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if v == "" {
		return "", nil
	}
	if hostOf(v) == "" {
		return "", fmt.Errorf("the instance's public URL %q is not an http(s) URL", v)
	}
	return v, nil
}

// hostOf is the host[:port] of an http(s) URL, or "".
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host)
}

// publishTrackers are the announce-list tiers: the instance's tracker
// (WebSocket, then HTTP, as PeerTube) when hosting, then the user's list.
func (l *Library) publishTrackers(ctx context.Context, publicURL string) ([][]string, error) {
	var tiers [][]string
	if u, err := url.Parse(publicURL); err == nil && publicURL != "" {
		ws := "wss"
		if u.Scheme == "http" {
			ws = "ws"
		}
		tiers = append(tiers, []string{ws + "://" + u.Host + "/tracker/socket"},
			[]string{u.Scheme + "://" + u.Host + "/tracker/announce"})
	}
	v, _, err := l.Setting(ctx, SettingTrackers)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(v) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := url.Parse(line)
		if err != nil || u.Host == "" || !(u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "udp" ||
			u.Scheme == "ws" || u.Scheme == "wss") {
			l.log.Warn("publishing: ignoring a tracker that is not a tracker URL", "tracker", line)
			continue
		}
		tiers = append(tiers, []string{line})
	}
	return tiers, nil
}

// torrentURLFor is the .torrent's URL on the instance ("" when not hosting).
func torrentURLFor(publicURL string, f LocalFile) string {
	if publicURL == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/lazy-static/torrents/" + strings.TrimSuffix(filepath.Base(f.Path), ".mp4") + ".torrent"
}

// magnetFor is PeerTube's magnet for a file: xt, dn, xl, then xs (the
// .torrent), ws (the web seed) and tr (each tracker) when known.
func magnetFor(f LocalFile, name, torrentURL string, trackers [][]string) string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:" + f.InfoHash)
	b.WriteString("&dn=" + url.QueryEscape(name))
	b.WriteString("&xl=" + strconv.FormatInt(f.Size, 10))
	if torrentURL != "" {
		b.WriteString("&xs=" + url.QueryEscape(torrentURL))
	}
	if f.WebSeedURL != "" {
		b.WriteString("&ws=" + url.QueryEscape(f.WebSeedURL))
	}
	for _, tier := range trackers {
		for _, tr := range tier {
			b.WriteString("&tr=" + url.QueryEscape(tr))
		}
	}
	return b.String()
}

// partSuffix marks our temporary files as media's do, so that
// media.RemoveStale also cleans them.
const partSuffix = ".fourmi-part"

// copyAtomic copies src to dst through a hidden temporary file renamed
// into place when complete and synced.
func copyAtomic(ctx context.Context, src, dst string, size int64, progress func(float64)) error {
	in, err := os.Open(src)
	if err != nil {
		return &sourceGoneError{err}
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*"+partSuffix)
	if err != nil {
		return diskErr(err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	buf := make([]byte, 1<<20)
	var done int64
	last := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := tmp.Write(buf[:n]); err != nil {
				return diskErr(err)
			}
			done += int64(n)
			if progress != nil && size > 0 && time.Since(last) >= emitInterval {
				last = time.Now()
				progress(min(1, float64(done)/float64(size)))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := tmp.Sync(); err != nil {
		return diskErr(err)
	}
	if err := tmp.Close(); err != nil {
		return diskErr(err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	ok = true
	return nil
}

// writeAtomic writes a small file through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*"+partSuffix)
	if err != nil {
		return diskErr(err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return diskErr(err)
	}
	return nil
}

// diskErr marks a write that failed for lack of space as media.ErrDiskFull.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) {
		return fmt.Errorf("%w (%v)", media.ErrDiskFull, err)
	}
	return err
}

// fileURL is a file:// URL for a local path.
func fileURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }
