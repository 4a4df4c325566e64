package server

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemStore is the in-memory Store: the reference behaviour of the Store
// contract (storetest.StoreContractTest), used by the server's own tests and
// by `fourmi serve --ephemeral`. Nothing survives the process; a Server
// built again over the same MemStore resumes where the previous one left.
type MemStore struct {
	mu        sync.Mutex
	instance  *Instance
	keys      map[string]string
	videos    map[string]LocalVideo
	nextVideo int64
	followers map[[2]string]Follower
	remote    map[string]RemoteVideo
	queue     map[int64]Delivery
	nextItem  int64
	dropped   int
	breakers  map[string]Breaker
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		keys:      map[string]string{},
		videos:    map[string]LocalVideo{},
		followers: map[[2]string]Follower{},
		remote:    map[string]RemoteVideo{},
		queue:     map[int64]Delivery{},
		breakers:  map[string]Breaker{},
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Round(0)
}

func cloneInstance(in Instance) Instance {
	in.Trackers = slices.Clone(in.Trackers)
	in.Created = utc(in.Created)
	return in
}

func cloneVideo(v LocalVideo) LocalVideo {
	v.Tags = slices.Clone(v.Tags)
	v.Files = slices.Clone(v.Files)
	v.Published, v.Updated = utc(v.Published), utc(v.Updated)
	return v
}

func cloneFollower(f Follower) Follower {
	f.FollowJSON = bytes.Clone(f.FollowJSON)
	f.Created = utc(f.Created)
	return f
}

func cloneRemote(r RemoteVideo) RemoteVideo {
	r.JSON = bytes.Clone(r.JSON)
	r.Received = utc(r.Received)
	return r
}

func cloneDelivery(d Delivery) Delivery {
	d.Activity = bytes.Clone(d.Activity)
	d.NextAttempt, d.LeasedUntil, d.Created = utc(d.NextAttempt), utc(d.LeasedUntil), utc(d.Created)
	return d
}

// Instance implements Store.
func (m *MemStore) Instance(ctx context.Context) (Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.instance == nil {
		return Instance{}, ErrNotFound
	}
	return cloneInstance(*m.instance), nil
}

// SaveInstance implements Store.
func (m *MemStore) SaveInstance(ctx context.Context, in Instance) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := cloneInstance(in)
	m.instance = &c
	return nil
}

// ActorKey implements Store.
func (m *MemStore) ActorKey(ctx context.Context, role string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[role]
	if !ok {
		return "", ErrNotFound
	}
	return k, nil
}

// PutActorKeyIfAbsent implements Store.
func (m *MemStore) PutActorKeyIfAbsent(ctx context.Context, role, pem string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[role]; ok {
		return k, nil
	}
	if pem == "" {
		return "", fmt.Errorf("actor key %s: empty", role)
	}
	m.keys[role] = pem
	return pem, nil
}

// PutLocalVideo implements Store.
func (m *MemStore) PutLocalVideo(ctx context.Context, v LocalVideo) (LocalVideo, error) {
	if v.UUID == "" {
		return LocalVideo{}, fmt.Errorf("local video: no uuid")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.videos[v.UUID]; ok {
		v.ID = old.ID
	} else {
		m.nextVideo++
		v.ID = m.nextVideo
	}
	m.videos[v.UUID] = cloneVideo(v)
	return cloneVideo(v), nil
}

// LocalVideo implements Store.
func (m *MemStore) LocalVideo(ctx context.Context, uuid string) (LocalVideo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.videos[uuid]
	if !ok {
		return LocalVideo{}, ErrNotFound
	}
	return cloneVideo(v), nil
}

// LocalVideos implements Store.
func (m *MemStore) LocalVideos(ctx context.Context, q VideoQuery) ([]LocalVideo, int, error) {
	m.mu.Lock()
	var all []LocalVideo
	needle := strings.ToLower(strings.TrimSpace(q.Search))
	for _, v := range m.videos {
		if !q.AllPrivacies && v.Privacy != PrivacyPublic {
			continue
		}
		if needle != "" && !matches(v, needle) {
			continue
		}
		all = append(all, cloneVideo(v))
	}
	m.mu.Unlock()
	SortVideos(all, q.Sort)
	total := len(all)
	start := max(q.Start, 0)
	if start > len(all) {
		start = len(all)
	}
	all = all[start:]
	if q.Count > 0 && len(all) > q.Count {
		all = all[:q.Count]
	}
	return all, total, nil
}

func matches(v LocalVideo, needle string) bool {
	if strings.Contains(strings.ToLower(v.Name), needle) || strings.Contains(strings.ToLower(v.Description), needle) {
		return true
	}
	for _, t := range v.Tags {
		if strings.Contains(strings.ToLower(t), needle) {
			return true
		}
	}
	return false
}

// SortVideos orders videos by a VideoQuery sort key, ties broken by ID
// (newest first), the order every Store must return.
func SortVideos(vs []LocalVideo, sort string) {
	slices.SortStableFunc(vs, func(a, b LocalVideo) int {
		var c int
		switch sort {
		case "publishedAt":
			c = a.Published.Compare(b.Published)
		case "-views":
			c = cmp.Compare(b.Views, a.Views)
		case "views":
			c = cmp.Compare(a.Views, b.Views)
		case "name":
			c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "-name":
			c = strings.Compare(strings.ToLower(b.Name), strings.ToLower(a.Name))
		default: // -publishedAt
			c = b.Published.Compare(a.Published)
		}
		if c == 0 {
			c = cmp.Compare(b.ID, a.ID)
		}
		return c
	})
}

// DeleteLocalVideo implements Store.
func (m *MemStore) DeleteLocalVideo(ctx context.Context, uuid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.videos[uuid]; !ok {
		return ErrNotFound
	}
	delete(m.videos, uuid)
	return nil
}

// PutFollower implements Store.
func (m *MemStore) PutFollower(ctx context.Context, f Follower) error {
	if f.Local == "" || f.Actor == "" {
		return fmt.Errorf("follower: local and actor are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.followers[[2]string{f.Local, f.Actor}] = cloneFollower(f)
	return nil
}

// Follower implements Store.
func (m *MemStore) Follower(ctx context.Context, local, actor string) (Follower, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.followers[[2]string{local, actor}]
	if !ok {
		return Follower{}, ErrNotFound
	}
	return cloneFollower(f), nil
}

// Followers implements Store.
func (m *MemStore) Followers(ctx context.Context, local string, state FollowState) ([]Follower, error) {
	m.mu.Lock()
	var out []Follower
	for _, f := range m.followers {
		if (local == "" || f.Local == local) && (state == "" || f.State == state) {
			out = append(out, cloneFollower(f))
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Follower) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if c := strings.Compare(a.Local, b.Local); c != 0 {
			return c
		}
		return strings.Compare(a.Actor, b.Actor)
	})
	return out, nil
}

// DeleteFollower implements Store.
func (m *MemStore) DeleteFollower(ctx context.Context, local, actor string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{local, actor}
	if _, ok := m.followers[k]; !ok {
		return ErrNotFound
	}
	delete(m.followers, k)
	return nil
}

// PutRemoteVideo implements Store.
func (m *MemStore) PutRemoteVideo(ctx context.Context, v RemoteVideo) error {
	if v.IRI == "" {
		return fmt.Errorf("remote video: no IRI")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remote[v.IRI] = cloneRemote(v)
	return nil
}

// RemoteVideo implements Store.
func (m *MemStore) RemoteVideo(ctx context.Context, iri string) (RemoteVideo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.remote[iri]
	if !ok {
		return RemoteVideo{}, ErrNotFound
	}
	return cloneRemote(v), nil
}

// RemoteVideos implements Store.
func (m *MemStore) RemoteVideos(ctx context.Context) ([]RemoteVideo, error) {
	m.mu.Lock()
	out := make([]RemoteVideo, 0, len(m.remote))
	for _, v := range m.remote {
		out = append(out, cloneRemote(v))
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b RemoteVideo) int {
		if c := b.Received.Compare(a.Received); c != 0 {
			return c
		}
		return strings.Compare(a.IRI, b.IRI)
	})
	return out, nil
}

// DeleteRemoteVideo implements Store.
func (m *MemStore) DeleteRemoteVideo(ctx context.Context, iri string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.remote[iri]; !ok {
		return ErrNotFound
	}
	delete(m.remote, iri)
	return nil
}

// Enqueue implements Store.
func (m *MemStore) Enqueue(ctx context.Context, activity []byte, signer string, inboxes []string, notBefore time.Time) ([]int64, error) {
	if len(activity) == 0 || signer == "" {
		return nil, fmt.Errorf("enqueue: activity and signer are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	var ids []int64
	now := time.Now().UTC()
	for _, in := range inboxes {
		if in == "" || seen[in] {
			continue
		}
		seen[in] = true
		m.nextItem++
		m.queue[m.nextItem] = Delivery{
			ID: m.nextItem, Activity: bytes.Clone(activity), Signer: signer, Inbox: in,
			NextAttempt: utc(notBefore), Created: now,
		}
		ids = append(ids, m.nextItem)
	}
	return ids, nil
}

// ClaimDeliveries implements Store.
func (m *MemStore) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Delivery, error) {
	if max <= 0 {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []Delivery
	for _, d := range m.queue {
		if !d.NextAttempt.After(now) && !d.LeasedUntil.After(now) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b Delivery) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(due) > max {
		due = due[:max]
	}
	out := make([]Delivery, 0, len(due))
	for _, d := range due {
		d.LeasedUntil = utc(now.Add(lease))
		m.queue[d.ID] = d
		out = append(out, cloneDelivery(d))
	}
	return out, nil
}

// DeliveryDone implements Store.
func (m *MemStore) DeliveryDone(ctx context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.queue[id]; !ok {
		return ErrNotFound
	}
	delete(m.queue, id)
	return nil
}

// RetryDelivery implements Store.
func (m *MemStore) RetryDelivery(ctx context.Context, id int64, next time.Time, countAttempt bool, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.queue[id]
	if !ok {
		return ErrNotFound
	}
	if countAttempt {
		d.Attempts++
	}
	d.NextAttempt, d.LeasedUntil, d.LastError = utc(next), time.Time{}, lastErr
	m.queue[id] = d
	return nil
}

// DropDelivery implements Store.
func (m *MemStore) DropDelivery(ctx context.Context, id int64, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.queue[id]; !ok {
		return ErrNotFound
	}
	delete(m.queue, id)
	m.dropped++
	return nil
}

// QueueStats implements Store.
func (m *MemStore) QueueStats(ctx context.Context) (QueueStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return QueueStats{Pending: len(m.queue), Dropped: m.dropped}, nil
}

// Breaker implements Store.
func (m *MemStore) Breaker(ctx context.Context, host string) (Breaker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.breakers[host]
	if !ok {
		return Breaker{Host: host}, nil
	}
	b.OpenUntil = utc(b.OpenUntil)
	return b, nil
}

// PutBreaker implements Store.
func (m *MemStore) PutBreaker(ctx context.Context, b Breaker) error {
	if b.Host == "" {
		return fmt.Errorf("breaker: no host")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b.OpenUntil = utc(b.OpenUntil)
	m.breakers[b.Host] = b
	return nil
}
