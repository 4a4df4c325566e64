package server

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/fourmi-app/fourmi/federation"
)

// A read-only subset of PeerTube 6.3's REST API, in its JSON shapes
// (captured-6.3/api-*.json), so PeerTube clients — Fourmi's own
// federation/peertube among them — browse a Fourmi instance like any
// PeerTube.

func (s *Server) restRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/config", s.serveConfig)
	mux.HandleFunc("GET /api/v1/videos", s.serveVideoList)
	mux.HandleFunc("GET /api/v1/videos/{id}", s.serveVideoDetails)
	mux.HandleFunc("GET /api/v1/video-channels/{name}/videos", s.serveChannelVideos)
	mux.HandleFunc("GET /api/v1/accounts/{name}/videos", s.serveAccountVideos)
	mux.HandleFunc("GET /api/v1/video-channels/{name}", s.serveChannel)
	mux.HandleFunc("GET /api/v1/search/videos", s.serveSearch)
}

type idLabel struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
}

type strLabel struct {
	ID    *string `json:"id"`
	Label string  `json:"label"`
}

type restActor struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName"`
	URL         string   `json:"url"`
	Host        string   `json:"host"`
	Avatars     []string `json:"avatars"`
}

type restVideo struct {
	ID                    int64     `json:"id"`
	UUID                  string    `json:"uuid"`
	ShortUUID             string    `json:"shortUUID"`
	URL                   string    `json:"url"`
	Name                  string    `json:"name"`
	Category              idLabel   `json:"category"`
	Licence               idLabel   `json:"licence"`
	Language              strLabel  `json:"language"`
	Privacy               idLabel   `json:"privacy"`
	NSFW                  bool      `json:"nsfw"`
	TruncatedDescription  *string   `json:"truncatedDescription"`
	Description           *string   `json:"description"`
	IsLocal               bool      `json:"isLocal"`
	Duration              int       `json:"duration"`
	AspectRatio           float64   `json:"aspectRatio"`
	Views                 int64     `json:"views"`
	Viewers               int       `json:"viewers"`
	Likes                 int       `json:"likes"`
	Dislikes              int       `json:"dislikes"`
	ThumbnailPath         string    `json:"thumbnailPath"`
	PreviewPath           string    `json:"previewPath"`
	EmbedPath             string    `json:"embedPath"`
	CreatedAt             string    `json:"createdAt"`
	UpdatedAt             string    `json:"updatedAt"`
	PublishedAt           string    `json:"publishedAt"`
	OriginallyPublishedAt *string   `json:"originallyPublishedAt"`
	IsLive                bool      `json:"isLive"`
	Account               restActor `json:"account"`
	Channel               restActor `json:"channel"`
}

type restFile struct {
	ID                 int64   `json:"id"`
	Resolution         idLabel `json:"resolution"`
	Width              int     `json:"width"`
	Height             int     `json:"height"`
	MagnetURI          string  `json:"magnetUri"`
	Size               int64   `json:"size"`
	FPS                int     `json:"fps"`
	TorrentURL         string  `json:"torrentUrl"`
	TorrentDownloadURL string  `json:"torrentDownloadUrl"`
	FileURL            string  `json:"fileUrl"`
	FileDownloadURL    string  `json:"fileDownloadUrl"`
	HasAudio           bool    `json:"hasAudio"`
	HasVideo           bool    `json:"hasVideo"`
	Storage            int     `json:"storage"`
}

type restVideoDetails struct {
	restVideo
	Support            *string    `json:"support"`
	DescriptionPath    string     `json:"descriptionPath"`
	Tags               []string   `json:"tags"`
	CommentsEnabled    bool       `json:"commentsEnabled"`
	CommentsPolicy     idLabel    `json:"commentsPolicy"`
	DownloadEnabled    bool       `json:"downloadEnabled"`
	WaitTranscoding    bool       `json:"waitTranscoding"`
	State              idLabel    `json:"state"`
	TrackerURLs        []string   `json:"trackerUrls"`
	Files              []restFile `json:"files"`
	StreamingPlaylists []any      `json:"streamingPlaylists"`
	Blacklisted        bool       `json:"blacklisted"`
	BlacklistedReason  *string    `json:"blacklistedReason"`
}

type restPage struct {
	Total int         `json:"total"`
	Data  []restVideo `json:"data"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

var privacyLabels = map[int]string{PrivacyPublic: "Public", PrivacyUnlisted: "Unlisted", PrivacyPrivate: "Private"}

func (st *site) restActors() (restActor, restActor) {
	acc := restActor{ID: 1, Name: st.in.AccountName, DisplayName: st.account.Name, URL: st.account.ID, Host: st.host, Avatars: []string{}}
	ch := restActor{ID: 1, Name: st.in.ChannelName, DisplayName: st.channel.Name, URL: st.channel.ID, Host: st.host, Avatars: []string{}}
	return acc, ch
}

func (st *site) restVideo(v LocalVideo) restVideo {
	acc, ch := st.restActors()
	rv := restVideo{
		ID: v.ID, UUID: v.UUID, ShortUUID: shortUUID(v.UUID), URL: st.videoIRI(v.UUID), Name: v.Name,
		Category: idLabel{v.Category, label(categories, v.Category)},
		Licence:  idLabel{v.Licence, label(licences, v.Licence)},
		Language: strLabel{strPtr(v.Language), languageLabel(v.Language)},
		Privacy:  idLabel{v.Privacy, privacyLabels[v.Privacy]},
		NSFW:     v.NSFW, IsLocal: true, Duration: v.Duration, Views: v.Views,
		ThumbnailPath: "/lazy-static/thumbnails/" + v.UUID + ".jpg",
		EmbedPath:     "/videos/embed/" + v.UUID,
		CreatedAt:     federation.FormatDate(v.Published), UpdatedAt: federation.FormatDate(v.Updated),
		PublishedAt: federation.FormatDate(v.Published), Account: acc, Channel: ch,
	}
	if v.Category == 0 {
		rv.Category.Label = "Unknown"
	}
	if v.Language == "" {
		rv.Language.Label = "Unknown"
	}
	if v.Preview.Path != "" {
		rv.PreviewPath = "/lazy-static/previews/" + v.UUID + ".jpg"
	} else {
		rv.PreviewPath = rv.ThumbnailPath
	}
	if f, ok := bestFile(v.Files); ok && f.Height > 0 {
		rv.AspectRatio = float64(int(float64(f.Width)/float64(f.Height)*10000+0.5)) / 10000
	}
	if v.Description != "" {
		d := v.Description
		rv.Description = &d
		t := truncateRunes(d, 250)
		rv.TruncatedDescription = &t
	}
	return rv
}

func (st *site) restDetails(v LocalVideo) restVideoDetails {
	d := restVideoDetails{
		restVideo: st.restVideo(v), Support: strPtr(v.Support), DescriptionPath: "/api/v1/videos/" + v.UUID + "/description",
		Tags: append([]string{}, v.Tags...), CommentsPolicy: idLabel{2, "Disabled"}, DownloadEnabled: true,
		State: idLabel{1, "Published"}, TrackerURLs: append([]string{}, st.in.Trackers...), StreamingPlaylists: []any{},
	}
	for i, f := range v.Files {
		d.Files = append(d.Files, restFile{
			ID: int64(i + 1), Resolution: idLabel{f.Resolution, strconv.Itoa(f.Resolution) + "p"}, Width: f.Width, Height: f.Height,
			MagnetURI: st.magnet(v, f), Size: f.Size, FPS: f.FPS,
			TorrentURL: st.torrentURL(v.UUID, f.Resolution), TorrentDownloadURL: st.torrentURL(v.UUID, f.Resolution),
			FileURL: st.fileURL(v.UUID, f.Resolution), FileDownloadURL: st.fileURL(v.UUID, f.Resolution),
			HasAudio: true, HasVideo: true,
		})
	}
	if d.Files == nil {
		d.Files = []restFile{}
	}
	return d
}

func restJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, "application/json; charset=utf-8", status, b)
}

func restError(w http.ResponseWriter, status int, detail string) {
	restJSON(w, status, map[string]any{"type": "about:blank", "title": http.StatusText(status), "detail": detail, "status": status})
}

// listQuery reads start, count (1–100, default 15) and sort.
func listQuery(r *http.Request) (VideoQuery, error) {
	q := r.URL.Query()
	vq := VideoQuery{Count: 15, Sort: "-publishedAt"}
	if s := q.Get("start"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return vq, errors.New("start must be a non-negative integer")
		}
		vq.Start = n
	}
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return vq, errors.New("count must be between 0 and 100")
		}
		vq.Count = n
	}
	switch srt := q.Get("sort"); srt {
	case "", "-publishedAt", "-createdAt", "-trending", "-hot", "-likes", "-match", "-originallyPublishedAt":
	case "publishedAt", "createdAt", "-views", "views", "name", "-name":
		vq.Sort = strings.Replace(srt, "createdAt", "publishedAt", 1)
	default:
		return vq, errors.New("unknown sort " + srt)
	}
	return vq, nil
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, vq VideoQuery) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	page := restPage{Data: []restVideo{}}
	if vq.Count == 0 {
		_, page.Total, err = s.store.LocalVideos(r.Context(), VideoQuery{Count: 1, Search: vq.Search})
	} else {
		var vs []LocalVideo
		vs, page.Total, err = s.store.LocalVideos(r.Context(), vq)
		for _, v := range vs {
			page.Data = append(page.Data, st.restVideo(v))
		}
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	restJSON(w, http.StatusOK, page)
}

func (s *Server) serveVideoList(w http.ResponseWriter, r *http.Request) {
	vq, err := listQuery(r)
	if err != nil {
		restError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.serveList(w, r, vq)
}

func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	vq, err := listQuery(r)
	if err != nil {
		restError(w, http.StatusBadRequest, err.Error())
		return
	}
	vq.Search = r.URL.Query().Get("search")
	s.serveList(w, r, vq)
}

// localName strips "@host" when it is this host.
func (st *site) localName(name string) (string, bool) {
	n, h, ok := strings.Cut(name, "@")
	if ok && !strings.EqualFold(h, st.host) {
		return "", false
	}
	return n, true
}

func (s *Server) serveChannelVideos(w http.ResponseWriter, r *http.Request) {
	s.serveActorVideos(w, r, func(st *site, n string) bool { return n == st.in.ChannelName })
}

func (s *Server) serveAccountVideos(w http.ResponseWriter, r *http.Request) {
	s.serveActorVideos(w, r, func(st *site, n string) bool { return n == st.in.AccountName })
}

func (s *Server) serveActorVideos(w http.ResponseWriter, r *http.Request, is func(*site, string) bool) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if n, ok := st.localName(r.PathValue("name")); !ok || !is(st, n) {
		restError(w, http.StatusNotFound, "not found")
		return
	}
	vq, err := listQuery(r)
	if err != nil {
		restError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.serveList(w, r, vq)
}

func (s *Server) serveChannel(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if n, ok := st.localName(r.PathValue("name")); !ok || n != st.in.ChannelName {
		restError(w, http.StatusNotFound, "not found")
		return
	}
	fs, err := s.store.Followers(r.Context(), st.channel.ID, FollowAccepted)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	acc, ch := st.restActors()
	restJSON(w, http.StatusOK, map[string]any{
		"id": ch.ID, "name": ch.Name, "displayName": ch.DisplayName, "url": ch.URL, "host": ch.Host, "avatars": ch.Avatars,
		"description": strPtr(st.in.ChannelDescription), "support": nil, "followersCount": len(fs), "followingCount": 0,
		"isLocal": true, "ownerAccount": acc,
	})
}

func (s *Server) serveVideoDetails(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	id := r.PathValue("id")
	v, ok, err := s.visibleVideo(r, id)
	if err == nil && !ok {
		v, ok, err = s.videoByShortOrID(r, id)
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !ok {
		restError(w, http.StatusNotFound, "Video not found")
		return
	}
	restJSON(w, http.StatusOK, st.restDetails(v))
}

// videoByShortOrID finds a visible video by short UUID or numeric id.
func (s *Server) videoByShortOrID(r *http.Request, id string) (LocalVideo, bool, error) {
	vs, _, err := s.store.LocalVideos(r.Context(), VideoQuery{AllPrivacies: true})
	if err != nil {
		return LocalVideo{}, false, err
	}
	for _, v := range vs {
		if (shortUUID(v.UUID) == id || strconv.FormatInt(v.ID, 10) == id) && (v.Privacy == PrivacyPublic || v.Privacy == PrivacyUnlisted) {
			return v, true, nil
		}
	}
	return LocalVideo{}, false, nil
}

// PeerTube's short UUIDs use the flickr base58 alphabet (lower case first), as
// library/open.go decodes them.
const base58Alphabet = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// shortUUID is PeerTube's short UUID: the UUID's 128 bits in base 58.
func shortUUID(uuid string) string {
	hexs := strings.ReplaceAll(uuid, "-", "")
	n, ok := new(big.Int).SetString(hexs, 16)
	if !ok {
		return uuid
	}
	var out []byte
	base, mod := big.NewInt(58), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	st, err := s.currentSite(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	restJSON(w, http.StatusOK, map[string]any{
		"instance": map[string]any{
			"name": orDefault(st.in.Name, st.channel.Name), "shortDescription": st.in.ChannelDescription,
			"isNSFW": false, "defaultNSFWPolicy": "do_not_list", "defaultClientRoute": "/videos/recently-added",
			"customizations": map[string]string{"javascript": "", "css": ""}, "avatars": []any{}, "banners": []any{},
		},
		"serverVersion": "6.3.0",
		"serverCommit":  "fourmi-" + s.cfg.Version,
		"search": map[string]any{
			"remoteUri":   map[string]bool{"users": false, "anonymous": false},
			"searchIndex": map[string]any{"enabled": false, "url": "", "disableLocalSearch": false, "isDefaultSearch": false},
		},
		"tracker":    map[string]bool{"enabled": len(st.in.Trackers) > 0},
		"signup":     map[string]bool{"allowed": false, "allowedForCurrentIP": false, "requiresEmailVerification": false},
		"followings": map[string]any{"instance": map[string]any{"autoFollowIndex": map[string]any{"indexUrl": ""}}},
	})
}
