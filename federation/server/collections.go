package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// pageSize is the number of items per collection page.
const pageSize = 10

// pageParam reads ?page=N (N ≥ 1); 0 means the collection itself.
func pageParam(r *http.Request) (int, bool) {
	raw := r.URL.RawQuery
	if raw == "" {
		return 0, true
	}
	// The common "page=N" without parsing the query into a map.
	if rest, ok := strings.CutPrefix(raw, "page="); ok {
		if n, err := strconv.Atoi(rest); err == nil {
			return n, n >= 1 && n <= 1_000_000
		}
	}
	p := r.URL.Query().Get("page")
	if p == "" {
		return 0, true
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, false
	}
	return n, true
}

// collectionItems returns the items from start (count of them) and the
// total; count 0 asks only for the total.
type collectionItems func(start, count int) (federation.Items, int, error)

// serveCollection answers an OrderedCollection whose first page is ?page=1,
// or page N of it.
func (s *Server) serveCollection(w http.ResponseWriter, r *http.Request, id string, items collectionItems) {
	n, ok := pageParam(r)
	if !ok {
		http.Error(w, "bad page", http.StatusBadRequest)
		return
	}
	body, err := collectionBody(id, n, items)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	_, ct := wantsActivityPub(r)
	writeJSON(w, ct, http.StatusOK, body)
}

// collectionBody is the JSON of the collection id (n = 0) or of its page n.
func collectionBody(id string, n int, items collectionItems) ([]byte, error) {
	if n == 0 {
		_, total, err := items(0, 0)
		if err != nil {
			return nil, err
		}
		return json.Marshal(federation.OrderedCollection{ID: id, Type: federation.TypeOrderedCollection, TotalItems: total, First: federation.Ref(id + "?page=1")})
	}
	list, total, err := items((n-1)*pageSize, pageSize)
	if err != nil {
		return nil, err
	}
	p := federation.OrderedCollectionPage{ID: id + "?page=" + strconv.Itoa(n), Type: federation.TypeOrderedCollectionPage, PartOf: id, TotalItems: total}
	if n*pageSize < total {
		p.Next = id + "?page=" + strconv.Itoa(n+1)
	}
	if n > 1 {
		p.Prev = id + "?page=" + strconv.Itoa(n-1)
	}
	// Marshal the page without its items and splice them in: the items are
	// already JSON (cached), and encoding/json would re-scan them twice.
	head, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	raws := make([][]byte, len(list))
	size := len(head)
	for i, it := range list {
		b, err := it.MarshalJSON()
		if err != nil {
			return nil, err
		}
		raws[i] = b
		size += len(b) + 1
	}
	marker := []byte(`"orderedItems":[]`)
	at := bytes.Index(head, marker)
	if at < 0 {
		return nil, errors.New("collection page without orderedItems")
	}
	body := make([]byte, 0, size+len(marker))
	body = append(body, head[:at+len(marker)-1]...)
	body = append(body, bytes.Join(raws, []byte{','})...)
	body = append(body, head[at+len(marker)-1:]...)
	return body, nil
}

// serveOutbox answers an actor's outbox from the cache (outboxcache.go),
// building the collection or page on a miss.
func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request) {
	st, a, ok := s.localActor(w, r)
	if !ok {
		return
	}
	n, ok := pageParam(r)
	if !ok {
		http.Error(w, "bad page", http.StatusBadRequest)
		return
	}
	role := st.roleOf(a.ID)
	k := outboxKey{role: role, page: n}
	if e := s.outbox.get(k, st); e != nil {
		serveCached(w, r, e)
		return
	}
	gen, built := s.outbox.gen.Load(), time.Now() // before the Store is read
	body, err := collectionBody(a.Outbox, n, func(start, count int) (federation.Items, int, error) {
		if count == 0 {
			_, total, err := s.store.LocalVideos(r.Context(), VideoQuery{Count: 1})
			return nil, total, err
		}
		vs, total, err := s.store.LocalVideos(r.Context(), VideoQuery{Start: start, Count: count})
		if err != nil {
			return nil, 0, err
		}
		out := make(federation.Items, 0, len(vs))
		for _, v := range vs {
			it, err := s.outboxItem(st, role, v)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, it)
		}
		return out, total, nil
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	serveCached(w, r, s.outbox.put(k, st, gen, built, body))
}

// outboxItem is the outbox entry of v for role: Create{Video} for the
// account, Announce for the instance and the channel. Entries are cached
// by video version (uuid, Updated, views, privacy) and site: an edit must
// bump Updated, as PeerTube's do.
func (s *Server) outboxItem(st *site, role string, v LocalVideo) (federation.ObjectOrIRI, error) {
	key := itemKey{st: st, role: role, uuid: v.UUID, updated: v.Updated.UnixNano(), views: v.Views, privacy: v.Privacy}
	if it, ok := s.items.Load(key); ok {
		return it.(federation.ObjectOrIRI), nil
	}
	var act *federation.Activity
	if role == RoleAccount {
		var err error
		if act, err = st.createActivity(v); err != nil {
			return federation.ObjectOrIRI{}, err
		}
	} else {
		act = st.announceActivity(v, role)
	}
	it, err := federation.Embed(plainActivity(*act))
	if err != nil {
		return federation.ObjectOrIRI{}, err
	}
	if s.itemCount.Add(1) > maxCachedItems {
		s.items.Clear()
		s.itemCount.Store(0)
	}
	s.items.Store(key, it)
	return it, nil
}

type itemKey struct {
	st             *site
	role, uuid     string
	updated, views int64
	privacy        int
}

const maxCachedItems = 10000

// plainActivity marshals an activity without its own @context (embedded in
// a page that carries one).
type plainActivity federation.Activity

func (s *Server) serveFollowers(w http.ResponseWriter, r *http.Request) {
	_, a, ok := s.localActor(w, r)
	if !ok {
		return
	}
	s.serveCollection(w, r, a.Followers, func(start, count int) (federation.Items, int, error) {
		fs, err := s.store.Followers(r.Context(), a.ID, FollowAccepted)
		if err != nil {
			return nil, 0, err
		}
		total := len(fs)
		start = min(start, total)
		fs = fs[start:min(start+count, total)]
		out := make(federation.Items, 0, len(fs))
		for _, f := range fs {
			out = append(out, federation.Ref(f.Actor))
		}
		return out, total, nil
	})
}

func (s *Server) serveFollowing(w http.ResponseWriter, r *http.Request) {
	_, a, ok := s.localActor(w, r)
	if !ok {
		return
	}
	s.serveCollection(w, r, a.Following, func(start, count int) (federation.Items, int, error) {
		return federation.Items{}, 0, nil
	})
}
