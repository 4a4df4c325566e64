package peertubetest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// ChannelStats counts how a channel served by ServeChannel was asked for.
type ChannelStats struct {
	Requests    atomic.Int64 // requests for the channel's video list
	Conditional atomic.Int64 // of which carried If-None-Match
	NotModified atomic.Int64 // answered 304

	mu   sync.Mutex
	gone bool
}

// ServeChannel serves the channel name of the catalog as PeerTube 6.3
// does: its profile at /api/v1/video-channels/NAME (built from its
// videos' channel summary, owner account included) and its video list
// with a weak ETag, answering 304 to a matching If-None-Match. The stats
// let tests see conditional requests.
func (s *Server) ServeChannel(name string) *ChannelStats {
	st := &ChannelStats{}
	s.Handle("/api/v1/video-channels/"+name, func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		gone := st.gone
		st.mu.Unlock()
		if gone {
			notFound(w)
			return
		}
		for _, v := range s.catalog() {
			if v.Channel.Name != name {
				continue
			}
			ch := map[string]any{
				"id": v.Channel.ID, "url": v.Channel.URL, "name": v.Channel.Name, "host": v.Channel.Host,
				"displayName": v.Channel.DisplayName, "avatars": v.Channel.Avatars, "description": nil, "support": nil,
				"followersCount": 0, "isLocal": true, "ownerAccount": v.Account,
			}
			b, _ := json.Marshal(ch)
			s.writeJSON(w, b)
			return
		}
		notFound(w)
	})
	s.Handle("/api/v1/video-channels/"+name+"/videos", func(w http.ResponseWriter, r *http.Request) {
		st.Requests.Add(1)
		st.mu.Lock()
		gone := st.gone
		st.mu.Unlock()
		if gone {
			notFound(w)
			return
		}
		rec := httptest.NewRecorder()
		keep := func(v peertube.Video) bool { return v.Channel.Name == name }
		s.listActor(rec, r, keep)
		if rec.Code != http.StatusOK {
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		sum := sha1.Sum(rec.Body.Bytes())
		etag := `W/"` + base64.RawStdEncoding.EncodeToString(sum[:]) + `"`
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			st.Conditional.Add(1)
			for _, t := range strings.Split(inm, ",") {
				if strings.TrimSpace(t) == etag {
					st.NotModified.Add(1)
					w.Header().Set("ETag", etag)
					w.WriteHeader(http.StatusNotModified)
					return
				}
			}
		}
		w.Header().Set("ETag", etag)
		s.writeJSON(w, rec.Body.Bytes())
	})
	return st
}

// catalog decodes the catalog, newest first.
func (s *Server) catalog() []peertube.Video {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]peertube.Video, 0, len(s.videos))
	for _, raw := range s.videos {
		var v peertube.Video
		if json.Unmarshal(raw, &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// RemoveChannel makes a channel served by ServeChannel vanish: its
// profile and video list answer 404 from now on.
func (st *ChannelStats) RemoveChannel() {
	st.mu.Lock()
	st.gone = true
	st.mu.Unlock()
}
