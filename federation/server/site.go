package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/fourmi-app/fourmi/federation"
)

// InstanceActorName is the instance actor's preferredUsername, as on every
// PeerTube.
const InstanceActorName = "peertube"

var namePattern = regexp.MustCompile(`^[A-Za-z0-9\-_.:]+$`)

// site is the instance's identity, derived from the Instance configuration
// and the actors' keys: IRIs and the actors' JSON, built once.
type site struct {
	in        Instance
	base      string // scheme://host[:port]
	host      string
	instance  *federation.Actor
	account   *federation.Actor
	channel   *federation.Actor
	actorJSON map[string][]byte // actor IRI → JSON
	jrd       map[string][]byte // preferredUsername → WebFinger JSON
}

// ValidateInstance checks an instance configuration before it is used.
func ValidateInstance(in Instance) error {
	u, err := url.Parse(in.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("instance: base URL %q must be http(s)://host[:port]", in.BaseURL)
	}
	for _, n := range []struct{ what, name string }{{"account", in.AccountName}, {"channel", in.ChannelName}} {
		if !namePattern.MatchString(n.name) {
			return fmt.Errorf("instance: %s name %q must match [A-Za-z0-9-_.:]+", n.what, n.name)
		}
		if strings.EqualFold(n.name, InstanceActorName) {
			return fmt.Errorf("instance: %s name %q is the instance actor's", n.what, n.name)
		}
	}
	if strings.EqualFold(in.AccountName, in.ChannelName) {
		return errors.New("instance: account and channel need different names")
	}
	return nil
}

func (s *Server) loadSite(ctx context.Context) (*site, error) {
	in, err := s.store.Instance(ctx)
	if err != nil {
		return nil, fmt.Errorf("instance configuration: %w", err)
	}
	if err := ValidateInstance(in); err != nil {
		return nil, err
	}
	st := &site{in: in, base: strings.TrimSuffix(in.BaseURL, "/"), actorJSON: map[string][]byte{}, jrd: map[string][]byte{}}
	st.host = hostOf(st.base)
	pub := func(role string) (string, error) {
		k, err := s.key(ctx, role)
		if err != nil {
			return "", err
		}
		return federation.PublicKeyPEM(&k.PublicKey)
	}
	mk := func(role string, t federation.Type, id, name, display string) (*federation.Actor, error) {
		pem, err := pub(role)
		if err != nil {
			return nil, err
		}
		a, err := federation.NewActor(t, id, name, display, pem)
		if err != nil {
			return nil, err
		}
		if !in.Created.IsZero() {
			a.Published = federation.FormatDate(in.Created)
		}
		return a, nil
	}
	if st.instance, err = mk(RoleInstance, federation.TypeApplication, st.base+"/accounts/"+InstanceActorName, InstanceActorName, InstanceActorName); err != nil {
		return nil, err
	}
	if st.account, err = mk(RoleAccount, federation.TypePerson, st.base+"/accounts/"+in.AccountName, in.AccountName, orDefault(in.AccountDisplayName, in.AccountName)); err != nil {
		return nil, err
	}
	if st.channel, err = mk(RoleChannel, federation.TypeGroup, st.base+"/video-channels/"+in.ChannelName, in.ChannelName, orDefault(in.ChannelDisplayName, in.ChannelName)); err != nil {
		return nil, err
	}
	st.channel.AttributedTo = federation.ActorRefs{{Type: federation.TypePerson, ID: st.account.ID}}
	if d := strings.TrimSpace(in.ChannelDescription); len([]rune(d)) >= 3 {
		st.channel.Summary = truncateRunes(d, 1000)
	}
	if in.AvatarPath != "" {
		icon := federation.Images{{Type: federation.TypeImage, URL: st.base + "/lazy-static/avatars/" + in.ChannelName + ".jpg", MediaType: federation.MediaTypeJPEG, Width: 120, Height: 120}}
		st.account.Icon, st.channel.Icon = icon, icon
	}
	for _, a := range []*federation.Actor{st.instance, st.account, st.channel} {
		if err := federation.ValidateActor(a, s.validateOptions()); err != nil {
			return nil, fmt.Errorf("local actor %s: %w", a.ID, err)
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		st.actorJSON[a.ID] = b
		jrd, err := federation.NewJRD(a.PreferredUsername, a.ID)
		if err != nil {
			return nil, err
		}
		if b, err = json.Marshal(jrd); err != nil {
			return nil, err
		}
		st.jrd[strings.ToLower(a.PreferredUsername)] = b
	}
	return st, nil
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func (st *site) actorByRole(role string) *federation.Actor {
	switch role {
	case RoleInstance:
		return st.instance
	case RoleAccount:
		return st.account
	case RoleChannel:
		return st.channel
	}
	return nil
}

// localActor finds a local actor by IRI.
func (st *site) localActor(iri string) *federation.Actor {
	for _, a := range []*federation.Actor{st.instance, st.account, st.channel} {
		if a.ID == iri {
			return a
		}
	}
	return nil
}

// roleOf is the role of a local actor IRI.
func (st *site) roleOf(iri string) string {
	switch iri {
	case st.instance.ID:
		return RoleInstance
	case st.account.ID:
		return RoleAccount
	case st.channel.ID:
		return RoleChannel
	}
	return ""
}

// URLs of a local video.
func (st *site) videoIRI(uuid string) string { return st.base + "/videos/watch/" + uuid }
func (st *site) fileURL(uuid string, res int) string {
	return st.base + "/static/web-videos/" + uuid + "-" + strconv.Itoa(res) + ".mp4"
}
func (st *site) torrentURL(uuid string, res int) string {
	return st.base + "/lazy-static/torrents/" + uuid + "-" + strconv.Itoa(res) + ".torrent"
}
func (st *site) thumbnailURL(uuid string) string {
	return st.base + "/lazy-static/thumbnails/" + uuid + ".jpg"
}
func (st *site) previewURL(uuid string) string {
	return st.base + "/lazy-static/previews/" + uuid + ".jpg"
}

// magnet is the file's magnet: the stored one, or one built as PeerTube
// builds them (xs torrent, xt btih, dn, tr trackers, ws web seed).
func (st *site) magnet(v LocalVideo, f VideoFile) string {
	if f.Magnet != "" {
		return f.Magnet
	}
	q := "xs=" + url.QueryEscape(st.torrentURL(v.UUID, f.Resolution)) +
		"&xt=urn:btih:" + strings.ToLower(f.InfoHash) +
		"&dn=" + url.QueryEscape(v.Name)
	for _, tr := range st.in.Trackers {
		q += "&tr=" + url.QueryEscape(tr)
	}
	q += "&ws=" + url.QueryEscape(st.fileURL(v.UUID, f.Resolution))
	return "magnet:?" + q
}

// Default image sizes (PeerTube's).
const (
	thumbW, thumbH     = 280, 157
	previewW, previewH = 850, 480
)

// videoObject is the Video PeerTube will accept for v.
func (st *site) videoObject(v LocalVideo) *federation.Video {
	id := st.videoIRI(v.UUID)
	to, cc := federation.IRIs{federation.Public}, federation.IRIs{st.account.Followers}
	if v.Privacy != PrivacyPublic {
		to, cc = federation.IRIs{st.account.Followers}, nil
	}
	obj := &federation.Video{
		To: to, Cc: cc,
		Type: federation.TypeVideo, ID: id, Name: v.Name,
		Duration: federation.FormatDuration(v.Duration), UUID: v.UUID,
		Views: v.Views, Sensitive: v.NSFW, State: 1,
		CommentsEnabled: false, CommentsPolicy: 2, DownloadEnabled: true,
		Published: federation.FormatDate(v.Published), Updated: federation.FormatDate(v.Updated),
		Support: v.Support,
		AttributedTo: federation.ActorRefs{
			{Type: federation.TypePerson, ID: st.account.ID},
			{Type: federation.TypeGroup, ID: st.channel.ID},
		},
	}
	if v.Category > 0 {
		obj.Category = &federation.Identifier{Identifier: strconv.Itoa(v.Category), Name: label(categories, v.Category)}
	}
	if v.Licence > 0 {
		obj.Licence = &federation.Identifier{Identifier: strconv.Itoa(v.Licence), Name: label(licences, v.Licence)}
	}
	if v.Language != "" {
		obj.Language = &federation.Identifier{Identifier: v.Language, Name: languageLabel(v.Language)}
	}
	for _, t := range v.Tags {
		obj.Tag = append(obj.Tag, federation.Tag{Type: federation.TypeHashtag, Name: t})
	}
	if d := strings.TrimSpace(v.Description); len([]rune(d)) >= 3 {
		obj.MediaType, obj.Content = federation.MediaTypeMarkdown, truncateRunes(d, 10000)
	}
	tw, th := dims(v.Thumbnail, thumbW, thumbH)
	obj.Icon = federation.Images{{Type: federation.TypeImage, URL: st.thumbnailURL(v.UUID), MediaType: federation.MediaTypeJPEG, Width: tw, Height: th}}
	if v.Preview.Path != "" {
		pw, ph := dims(v.Preview, previewW, previewH)
		obj.Icon = append(obj.Icon, federation.Image{Type: federation.TypeImage, URL: st.previewURL(v.UUID), MediaType: federation.MediaTypeJPEG, Width: pw, Height: ph})
	}
	obj.URL = append(obj.URL, federation.Link{Type: federation.TypeLink, MediaType: federation.MediaTypeHTML, Href: id})
	for _, f := range v.Files {
		obj.URL = append(obj.URL,
			federation.Link{Type: federation.TypeLink, MediaType: federation.MediaTypeMP4, Href: st.fileURL(v.UUID, f.Resolution), Height: f.Height, Width: f.Width, Size: f.Size, FPS: f.FPS},
			federation.Link{Type: federation.TypeLink, MediaType: federation.MediaTypeTorrent, Href: st.torrentURL(v.UUID, f.Resolution), Height: f.Height, Width: f.Width, FPS: f.FPS},
			federation.Link{Type: federation.TypeLink, MediaType: federation.MediaTypeMagnet, Href: st.magnet(v, f), Height: f.Height, Width: f.Width, FPS: f.FPS},
		)
	}
	for _, tr := range st.in.Trackers {
		kind := "http"
		if strings.HasPrefix(tr, "ws") {
			kind = "websocket"
		}
		obj.URL = append(obj.URL, federation.Link{Type: federation.TypeLink, Name: "tracker-" + kind, Rel: []string{"tracker", kind}, Href: tr})
	}
	return obj
}

func dims(im ImageFile, w, h int) (int, int) {
	if im.Width > 0 && im.Height > 0 {
		return im.Width, im.Height
	}
	return w, h
}

// Activity IRIs, PeerTube's layout.
func (st *site) createID(uuid string) string { return st.videoIRI(uuid) + "/activity" }
func (st *site) announceID(uuid, role string) string {
	return st.videoIRI(uuid) + "/announces/" + role
}
func (st *site) updateID(v LocalVideo) string {
	return st.videoIRI(v.UUID) + "/updates/" + federation.FormatDate(v.Updated)
}
func (st *site) deleteID(uuid string) string { return st.videoIRI(uuid) + "/delete" }

// createActivity is Create{Video} from the account.
func (st *site) createActivity(v LocalVideo) (*federation.Activity, error) {
	obj := st.videoObject(v)
	return federation.NewCreate(st.createID(v.UUID), st.account.ID, obj, obj.To, obj.Cc)
}

// announceActivity is the Announce of a video by the instance or channel.
func (st *site) announceActivity(v LocalVideo, role string) *federation.Activity {
	a := st.actorByRole(role)
	return federation.NewAnnounce(st.announceID(v.UUID, role), a.ID, st.videoIRI(v.UUID),
		federation.IRIs{federation.Public}, federation.IRIs{st.account.Followers})
}
