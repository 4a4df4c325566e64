package server

import (
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// Handler serves the instance: PeerTube's URL layout.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{name}", s.serveActor)
	mux.HandleFunc("GET /video-channels/{name}", s.serveActor)
	for _, p := range []string{"/accounts/{name}", "/video-channels/{name}"} {
		mux.HandleFunc("POST "+p+"/inbox", s.serveInbox)
		mux.HandleFunc("GET "+p+"/outbox", s.serveOutbox)
		mux.HandleFunc("GET "+p+"/followers", s.serveFollowers)
		mux.HandleFunc("GET "+p+"/following", s.serveFollowing)
	}
	mux.HandleFunc("POST /inbox", s.serveInbox)
	mux.HandleFunc("GET /videos/watch/{uuid}", s.serveVideo)
	mux.HandleFunc("GET "+federation.WebFingerPath, s.serveWebFinger)
	mux.HandleFunc("GET "+federation.NodeInfoWellKnownPath, s.serveNodeInfoLinks)
	mux.HandleFunc("GET "+federation.NodeInfo20Path, s.serveNodeInfo)
	mux.HandleFunc("GET "+federation.HostMetaPath, s.serveHostMeta)
	mux.HandleFunc("GET /static/web-videos/{file}", s.serveWebVideo)
	mux.HandleFunc("GET /lazy-static/torrents/{file}", s.serveTorrent)
	mux.HandleFunc("GET /lazy-static/thumbnails/{file}", s.serveImage(false))
	mux.HandleFunc("GET /lazy-static/previews/{file}", s.serveImage(true))
	mux.HandleFunc("GET /lazy-static/avatars/{file}", s.serveAvatar)
	s.restRoutes(mux)
	return mux
}

// httpError logs an internal error and answers a generic message.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// wantsActivityPub reports an Accept asking for ActivityPub JSON.
func wantsActivityPub(r *http.Request) (bool, string) {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case federation.MediaTypeActivityJSON:
			return true, federation.MediaTypeActivityJSON + "; charset=utf-8"
		case "application/ld+json":
			if p, ok := params["profile"]; !ok || strings.Contains(p, "https://www.w3.org/ns/activitystreams") {
				return true, federation.MediaTypeLDJSON + "; charset=utf-8"
			}
		}
	}
	return false, federation.MediaTypeActivityJSON + "; charset=utf-8"
}

func writeJSON(w http.ResponseWriter, ct string, status int, body []byte) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) marshalAP(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	_, ct := wantsActivityPub(r)
	writeJSON(w, ct, http.StatusOK, b)
}

// actorFor maps a request path to a local actor.
func (st *site) actorFor(r *http.Request) *federation.Actor {
	name := r.PathValue("name")
	if strings.HasPrefix(r.URL.Path, "/video-channels/") {
		if name == st.in.ChannelName {
			return st.channel
		}
		return nil
	}
	switch name {
	case InstanceActorName:
		return st.instance
	case st.in.AccountName:
		return st.account
	}
	return nil
}

// localActor is the start of every per-actor GET: the site as configured
// and the local actor the path names. When it says no, the request has
// been answered (500, or 404 for an unknown actor).
func (s *Server) localActor(w http.ResponseWriter, r *http.Request) (*site, *federation.Actor, bool) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return nil, nil, false
	}
	a := st.actorFor(r)
	if a == nil {
		http.NotFound(w, r)
		return nil, nil, false
	}
	return st, a, true
}

func (s *Server) serveActor(w http.ResponseWriter, r *http.Request) {
	st, a, ok := s.localActor(w, r)
	if !ok {
		return
	}
	_, ct := wantsActivityPub(r)
	writeJSON(w, ct, http.StatusOK, st.actorJSON[a.ID])
}

func (s *Server) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	res := r.URL.Query().Get("resource")
	if res == "" {
		http.Error(w, "resource is required", http.StatusBadRequest)
		return
	}
	var user, host string
	if strings.HasPrefix(res, "http://") || strings.HasPrefix(res, "https://") {
		for _, a := range []*federation.Actor{st.instance, st.account, st.channel} {
			if a.ID == res {
				user, host = a.PreferredUsername, st.host
			}
		}
	} else if u, h, err := federation.ParseHandle(res); err == nil {
		user, host = u, h
	}
	b, ok := st.jrd[strings.ToLower(user)]
	if !ok || !strings.EqualFold(host, st.host) {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, federation.MediaTypeJRD+"; charset=utf-8", http.StatusOK, b)
}

func (s *Server) serveNodeInfoLinks(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	b, _ := json.Marshal(federation.NewNodeInfoLinks(st.base, st.instance.ID))
	writeJSON(w, "application/json; charset=utf-8", http.StatusOK, b)
}

func (s *Server) serveNodeInfo(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	_, total, err := s.store.LocalVideos(r.Context(), VideoQuery{Count: 1})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	ni := federation.NewNodeInfo("fourmi", s.cfg.Version)
	ni.Usage.Users = federation.NodeInfoUsers{Total: 1, ActiveMonth: 1, ActiveHalfyear: 1}
	ni.Usage.LocalPosts = total
	ni.Metadata["nodeName"] = orDefault(st.in.Name, st.in.ChannelDisplayName)
	b, _ := json.Marshal(ni)
	writeJSON(w, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"; charset=utf-8`, http.StatusOK, b)
}

func (s *Server) serveHostMeta(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	b, err := federation.NewHostMeta(st.base).XML()
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(b)
}

// visibleVideo is a local video that may be shown (public or unlisted).
func (s *Server) visibleVideo(r *http.Request, uuid string) (LocalVideo, bool, error) {
	v, err := s.store.LocalVideo(r.Context(), uuid)
	if errors.Is(err, ErrNotFound) {
		return LocalVideo{}, false, nil
	}
	if err != nil {
		return LocalVideo{}, false, err
	}
	return v, v.Privacy == PrivacyPublic || v.Privacy == PrivacyUnlisted, nil
}

func (s *Server) serveVideo(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v, ok, err := s.visibleVideo(r, r.PathValue("uuid"))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if ap, _ := wantsActivityPub(r); ap {
		s.marshalAP(w, r, st.videoObject(v))
		return
	}
	s.serveWatchPage(w, r, st, v)
}

var watchPage = template.Must(template.New("watch").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Name}}</title>
<link rel="alternate" type="application/activity+json" href="{{.ID}}">
<style>body{font-family:sans-serif;max-width:56rem;margin:1rem auto;padding:0 1rem;background:#111;color:#eee}
video{width:100%;background:#000}a{color:#f90}pre{white-space:pre-wrap}</style></head>
<body><h1>{{.Name}}</h1>
{{if .File}}<video controls preload="metadata" poster="{{.Poster}}" src="{{.File}}"></video>{{end}}
<p>{{if .Open}}<a href="{{.Open}}">Open in Fourmi</a>{{end}}{{if .Magnet}} · <a href="{{.Magnet}}">Magnet link</a>{{end}}{{if .Torrent}} · <a href="{{.Torrent}}">Torrent</a>{{end}}</p>
<p>By <a href="{{.Channel}}">{{.ChannelName}}</a> · {{.Published}}</p>
{{if .Description}}<pre>{{.Description}}</pre>{{end}}
</body></html>
`))

func (s *Server) serveWatchPage(w http.ResponseWriter, r *http.Request, st *site, v LocalVideo) {
	data := struct {
		ID, Name, File, Poster, Torrent, Channel, ChannelName, Published, Description string
		Open, Magnet                                                                  template.URL
	}{
		ID: st.videoIRI(v.UUID), Name: v.Name, Poster: st.thumbnailURL(v.UUID), Channel: st.channel.ID,
		ChannelName: st.channel.Name, Published: v.Published.UTC().Format(time.DateOnly), Description: v.Description,
	}
	if f, ok := bestFile(v.Files); ok {
		data.File = st.fileURL(v.UUID, f.Resolution)
		data.Magnet = template.URL(st.magnet(v, f))
		data.Torrent = st.torrentURL(v.UUID, f.Resolution)
		// html/template refuses magnet: and fourmi: in href unless marked
		// safe; both are built here from our own data.
		data.Open = template.URL("fourmi://open?uri=" + url.QueryEscape(data.ID))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept")
	if err := watchPage.Execute(w, data); err != nil {
		s.log.Warn("watch page", "err", err)
	}
}

// bestFile is the highest resolution.
func bestFile(fs []VideoFile) (VideoFile, bool) {
	best, ok := VideoFile{}, false
	for _, f := range fs {
		if !ok || f.Resolution > best.Resolution {
			best, ok = f, true
		}
	}
	return best, ok
}

// parseFileName reads "<uuid>-<res><ext>".
func parseFileName(name, ext string) (string, int, bool) {
	base, ok := strings.CutSuffix(name, ext)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return "", 0, false
	}
	res, err := strconv.Atoi(base[i+1:])
	if err != nil {
		return "", 0, false
	}
	return base[:i], res, true
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, path, contentType string) {
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, filepath.Base(path), fi.ModTime(), f)
}

func (s *Server) fileOf(r *http.Request, ext string) (LocalVideo, VideoFile, bool) {
	uuid, res, ok := parseFileName(r.PathValue("file"), ext)
	if !ok {
		return LocalVideo{}, VideoFile{}, false
	}
	v, visible, err := s.visibleVideo(r, uuid)
	if err != nil || !visible {
		return LocalVideo{}, VideoFile{}, false
	}
	for _, f := range v.Files {
		if f.Resolution == res {
			return v, f, true
		}
	}
	return LocalVideo{}, VideoFile{}, false
}

func (s *Server) serveWebVideo(w http.ResponseWriter, r *http.Request) {
	_, f, ok := s.fileOf(r, ".mp4")
	if !ok || f.Path == "" {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, f.Path, "video/mp4")
}

func (s *Server) serveTorrent(w http.ResponseWriter, r *http.Request) {
	_, f, ok := s.fileOf(r, ".torrent")
	if !ok || f.TorrentPath == "" {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, f.TorrentPath, "application/x-bittorrent")
}

func (s *Server) serveImage(preview bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uuid, ok := strings.CutSuffix(r.PathValue("file"), ".jpg")
		if !ok {
			http.NotFound(w, r)
			return
		}
		v, visible, err := s.visibleVideo(r, uuid)
		if err != nil || !visible {
			http.NotFound(w, r)
			return
		}
		p := v.Thumbnail.Path
		if preview {
			p = v.Preview.Path
		}
		if p == "" {
			http.NotFound(w, r)
			return
		}
		s.serveFile(w, r, p, "image/jpeg")
	}
}

func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil || st.in.AvatarPath == "" || r.PathValue("file") != st.in.ChannelName+".jpg" {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, st.in.AvatarPath, "image/jpeg")
}
