package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/fourmi-app/fourmi/federation"
)

// pageSize is the number of items per collection page.
const pageSize = 10

// page reads ?page=N (N ≥ 1); 0 means the collection itself.
func pageParam(r *http.Request) (int, bool) {
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

// serveCollection answers an OrderedCollection whose first page is ?page=1,
// or page N of it. items(start, count) returns the items and the total.
func (s *Server) serveCollection(w http.ResponseWriter, r *http.Request, id string, items func(start, count int) (federation.Items, int, error)) {
	n, ok := pageParam(r)
	if !ok {
		http.Error(w, "bad page", http.StatusBadRequest)
		return
	}
	if n == 0 {
		_, total, err := items(0, 0)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		s.marshalAP(w, r, federation.OrderedCollection{ID: id, Type: federation.TypeOrderedCollection, TotalItems: total, First: federation.Ref(id + "?page=1")})
		return
	}
	list, total, err := items((n-1)*pageSize, pageSize)
	if err != nil {
		s.internal(w, r, err)
		return
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
		s.internal(w, r, err)
		return
	}
	raws := make([][]byte, len(list))
	size := len(head)
	for i, it := range list {
		b, err := it.MarshalJSON()
		if err != nil {
			s.internal(w, r, err)
			return
		}
		raws[i] = b
		size += len(b) + 1
	}
	marker := []byte(`"orderedItems":[]`)
	at := bytes.Index(head, marker)
	if at < 0 {
		s.internal(w, r, errors.New("collection page without orderedItems"))
		return
	}
	body := make([]byte, 0, size+len(marker))
	body = append(body, head[:at+len(marker)-1]...)
	body = append(body, bytes.Join(raws, []byte{','})...)
	body = append(body, head[at+len(marker)-1:]...)
	_, ct := wantsActivityPub(r)
	writeJSON(w, ct, http.StatusOK, body)
}

func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request) {
	st, a, ok := s.localActor(w, r)
	if !ok {
		return
	}
	role := st.roleOf(a.ID)
	s.serveCollection(w, r, a.Outbox, func(start, count int) (federation.Items, int, error) {
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
