package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	vocab "github.com/go-ap/activitypub"
)

// The ActivityStreams vocabulary Fourmi exchanges with PeerTube. The AS2
// names come from go-ap/activitypub; the objects themselves are hand-written
// structs (video.go, actors.go, activities.go) because go-ap drops the fields
// PeerTube depends on (uuid, size, fps, Infohash), decodes "PT20S" as a zero
// duration and keeps a single rel where PeerTube sends an array
// (see TestGoAPLosesPeerTubeFields).

// Type is an ActivityStreams object or activity type.
type Type = vocab.ActivityVocabularyType

// The types PeerTube sends and accepts.
const (
	TypeVideo                 = vocab.VideoType
	TypeImage                 = vocab.ImageType
	TypeLink                  = vocab.LinkType
	TypePerson                = vocab.PersonType
	TypeGroup                 = vocab.GroupType
	TypeApplication           = vocab.ApplicationType
	TypeService               = vocab.ServiceType
	TypeOrganization          = vocab.OrganizationType
	TypeFollow                = vocab.FollowType
	TypeAccept                = vocab.AcceptType
	TypeReject                = vocab.RejectType
	TypeUndo                  = vocab.UndoType
	TypeCreate                = vocab.CreateType
	TypeAnnounce              = vocab.AnnounceType
	TypeUpdate                = vocab.UpdateType
	TypeDelete                = vocab.DeleteType
	TypeLike                  = vocab.LikeType
	TypeDislike               = vocab.DislikeType
	TypeView                  = vocab.ViewType
	TypeFlag                  = vocab.FlagType
	TypeCollection            = vocab.CollectionType
	TypeOrderedCollection     = vocab.OrderedCollectionType
	TypeCollectionPage        = vocab.CollectionPageType
	TypeOrderedCollectionPage = vocab.OrderedCollectionPageType

	// PeerTube extensions.
	TypeCacheFile     Type = "CacheFile"     // a mirror of a video file (redundancy)
	TypeHashtag       Type = "Hashtag"       // a video tag
	TypeInfohash      Type = "Infohash"      // a BitTorrent info-hash in an HLS playlist's tag[]
	TypePropertyValue Type = "PropertyValue" // schema.org name/value pair in a file's attachment[]
)

// Public is the ActivityStreams public collection. PeerTube lists a video
// only when "to" holds this full URI (not "as:Public" nor "Public").
const Public = string(vocab.PublicNS)

// Media types for content negotiation.
const (
	// MediaTypeActivityJSON is what Fourmi sends and PeerTube answers with.
	MediaTypeActivityJSON = "application/activity+json"
	// MediaTypeLDJSON is the JSON-LD form the ActivityPub spec names.
	MediaTypeLDJSON = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// AcceptActivityPub is the Accept header of an ActivityPub GET.
	AcceptActivityPub = MediaTypeActivityJSON + ", " + MediaTypeLDJSON
)

// Media types inside a Video's url[].
const (
	MediaTypeMP4          = "video/mp4"
	MediaTypeTorrent      = "application/x-bittorrent"
	MediaTypeMagnet       = "application/x-bittorrent;x-scheme-handler/magnet"
	MediaTypeHLS          = "application/x-mpegURL"
	MediaTypeHTML         = "text/html"
	MediaTypeJSON         = "application/json"
	MediaTypeJPEG         = "image/jpeg"
	MediaTypeMarkdown     = "text/markdown"
	contextActivity       = string(vocab.ActivityBaseURI)
	contextSecurity       = "https://w3id.org/security/v1"
	contextRsaSignature17 = `{"RsaSignature2017":"https://w3id.org/security#RsaSignature2017"}`
)

// JSON-LD contexts as PeerTube 6.3 writes them (captured-6.3/ap-*.json).
// Only the term definitions Fourmi's objects use are declared.
var (
	contextBase = json.RawMessage(`["` + contextActivity + `","` + contextSecurity + `",` + contextRsaSignature17 + `]`)

	contextActor = json.RawMessage(`["` + contextActivity + `","` + contextSecurity + `",` + contextRsaSignature17 +
		`,{"pt":"https://joinpeertube.org/ns#","sc":"http://schema.org/",` +
		`"playlists":{"@id":"pt:playlists","@type":"@id"},"support":{"@type":"sc:Text","@id":"pt:support"},` +
		`"lemmy":"https://join-lemmy.org/ns#","postingRestrictedToMods":"lemmy:postingRestrictedToMods","icons":"as:icon"}]`)

	contextVideo = json.RawMessage(`["` + contextActivity + `","` + contextSecurity + `",` + contextRsaSignature17 +
		`,{"pt":"https://joinpeertube.org/ns#","sc":"http://schema.org/","Hashtag":"as:Hashtag",` +
		`"category":"sc:category","licence":"sc:license","subtitleLanguage":"sc:subtitleLanguage",` +
		`"automaticallyGenerated":"pt:automaticallyGenerated","sensitive":"as:sensitive","language":"sc:inLanguage",` +
		`"identifier":"sc:identifier","isLiveBroadcast":"sc:isLiveBroadcast",` +
		`"liveSaveReplay":{"@type":"sc:Boolean","@id":"pt:liveSaveReplay"},` +
		`"permanentLive":{"@type":"sc:Boolean","@id":"pt:permanentLive"},` +
		`"latencyMode":{"@type":"sc:Number","@id":"pt:latencyMode"},"Infohash":"pt:Infohash",` +
		`"tileWidth":{"@type":"sc:Number","@id":"pt:tileWidth"},"tileHeight":{"@type":"sc:Number","@id":"pt:tileHeight"},` +
		`"tileDuration":{"@type":"sc:Number","@id":"pt:tileDuration"},"aspectRatio":{"@type":"sc:Float","@id":"pt:aspectRatio"},` +
		`"uuid":{"@type":"sc:identifier","@id":"pt:uuid"},"originallyPublishedAt":"sc:datePublished",` +
		`"uploadDate":"sc:uploadDate","hasParts":"sc:hasParts","views":{"@type":"sc:Number","@id":"pt:views"},` +
		`"state":{"@type":"sc:Number","@id":"pt:state"},"size":{"@type":"sc:Number","@id":"pt:size"},` +
		`"fps":{"@type":"sc:Number","@id":"pt:fps"},"commentsEnabled":{"@type":"sc:Boolean","@id":"pt:commentsEnabled"},` +
		`"canReply":"pt:canReply","commentsPolicy":{"@type":"sc:Number","@id":"pt:commentsPolicy"},` +
		`"downloadEnabled":{"@type":"sc:Boolean","@id":"pt:downloadEnabled"},` +
		`"waitTranscoding":{"@type":"sc:Boolean","@id":"pt:waitTranscoding"},"support":{"@type":"sc:Text","@id":"pt:support"},` +
		`"likes":{"@id":"as:likes","@type":"@id"},"dislikes":{"@id":"as:dislikes","@type":"@id"},` +
		`"shares":{"@id":"as:shares","@type":"@id"},"comments":{"@id":"as:comments","@type":"@id"},` +
		`"PropertyValue":"sc:PropertyValue","value":"sc:value"}]`)
)

// ObjectOrIRI is a property that holds either a bare IRI or an embedded
// object (an activity's object and actor, a collection's first page, a
// collection item). Both forms are kept: IRI is the bare IRI or the embedded
// object's id, Raw the embedded object exactly as received (nil for a bare
// IRI), Type the embedded object's type.
type ObjectOrIRI struct {
	IRI  string
	Type Type
	Raw  json.RawMessage
}

// Ref is a bare IRI reference.
func Ref(iri string) ObjectOrIRI { return ObjectOrIRI{IRI: iri} }

// Embed marshals v as an embedded object.
func Embed(v any) (ObjectOrIRI, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ObjectOrIRI{}, err
	}
	var o ObjectOrIRI
	if err := o.UnmarshalJSON(b); err != nil {
		return ObjectOrIRI{}, err
	}
	if o.Raw == nil {
		return ObjectOrIRI{}, errors.New("embed: value does not marshal to a JSON object")
	}
	return o, nil
}

// IsZero reports an absent property.
func (o ObjectOrIRI) IsZero() bool { return o.IRI == "" && o.Raw == nil }

// Embedded reports whether the property held an object rather than an IRI.
func (o ObjectOrIRI) Embedded() bool { return o.Raw != nil }

// Decode unmarshals the embedded object into v. A bare IRI gives an error:
// fetch it first.
func (o ObjectOrIRI) Decode(v any) error {
	if o.Raw == nil {
		return fmt.Errorf("object %q is a bare IRI, not an embedded object", o.IRI)
	}
	return json.Unmarshal(o.Raw, v)
}

// MarshalJSON writes the embedded object, or the IRI as a string.
func (o ObjectOrIRI) MarshalJSON() ([]byte, error) {
	if o.Raw != nil {
		return o.Raw, nil
	}
	return json.Marshal(o.IRI)
}

// UnmarshalJSON accepts a string IRI, an object (its "id" and "type" are
// read when they are strings) or null.
func (o *ObjectOrIRI) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*o = ObjectOrIRI{}
	if len(b) == 0 {
		return errors.New("empty JSON value")
	}
	switch b[0] {
	case 'n':
		return json.Unmarshal(b, new(any)) // "null" → absent
	case '"':
		return json.Unmarshal(b, &o.IRI)
	case '{':
		var head struct {
			ID   json.RawMessage `json:"id"`
			Type json.RawMessage `json:"type"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return err
		}
		_ = json.Unmarshal(head.ID, &o.IRI) // not a string: no id
		var t string
		if json.Unmarshal(head.Type, &t) == nil {
			o.Type = Type(t)
		}
		o.Raw = append(json.RawMessage(nil), b...)
		return nil
	}
	return fmt.Errorf("expected an IRI or an object, got %.20s", b)
}

// IRIs is an addressing property (to, cc): PeerTube accepts a single IRI or
// an array. It always marshals as an array.
type IRIs []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *IRIs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = IRIs{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// Contains reports whether iri is in s.
func (s IRIs) Contains(iri string) bool {
	for _, x := range s {
		if x == iri {
			return true
		}
	}
	return false
}

// ActorRef is an entry of attributedTo: an object {type, id} as PeerTube 6.3
// writes it, or a bare actor URL as PeerTube 8 does. It marshals back in the
// form it has: as an object when Type is set.
type ActorRef struct {
	Type Type
	ID   string
}

// MarshalJSON writes {type, id}, or the bare URL when Type is empty.
func (r ActorRef) MarshalJSON() ([]byte, error) {
	if r.Type == "" {
		return json.Marshal(r.ID)
	}
	return json.Marshal(struct {
		Type Type   `json:"type"`
		ID   string `json:"id"`
	}{r.Type, r.ID})
}

// UnmarshalJSON accepts a URL string or an object with id and type.
func (r *ActorRef) UnmarshalJSON(b []byte) error {
	var o ObjectOrIRI
	if err := o.UnmarshalJSON(b); err != nil {
		return err
	}
	*r = ActorRef{Type: o.Type, ID: o.IRI}
	return nil
}

// ActorRefs is attributedTo: single or array on input, an array on output.
type ActorRefs []ActorRef

// UnmarshalJSON accepts one reference or an array of them; entries that are
// neither a string nor an object are skipped.
func (rs *ActorRefs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '[' {
		if bytes.Equal(b, []byte("null")) {
			*rs = nil
			return nil
		}
		var one ActorRef
		if err := one.UnmarshalJSON(b); err != nil {
			return err
		}
		*rs = ActorRefs{one}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(ActorRefs, 0, len(raw))
	for _, e := range raw {
		var r ActorRef
		if r.UnmarshalJSON(e) == nil && r.ID != "" {
			out = append(out, r)
		}
	}
	*rs = out
	return nil
}

// Find returns the first reference of type t.
func (rs ActorRefs) Find(t Type) (ActorRef, bool) {
	for _, r := range rs {
		if r.Type == t {
			return r, true
		}
	}
	return ActorRef{}, false
}

// Image is an icon, avatar or thumbnail.
type Image struct {
	Type      Type   `json:"type"`
	URL       string `json:"url"`
	MediaType string `json:"mediaType,omitempty"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

// UnmarshalJSON is tolerant of numeric strings in width and height.
func (im *Image) UnmarshalJSON(b []byte) error {
	type plain Image
	aux := struct {
		*plain
		Width  flexInt `json:"width"`
		Height flexInt `json:"height"`
	}{plain: (*plain)(im)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	im.Width, im.Height = int(aux.Width), int(aux.Height)
	return nil
}

// Images is an icon property: one object or an array on input (PeerTube
// accepts both), an array on output. Entries that are not objects are
// skipped.
type Images []Image

// UnmarshalJSON accepts one image or an array of them.
func (is *Images) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one Image
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*is = Images{one}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Images, 0, len(raw))
	for _, e := range raw {
		var im Image
		if json.Unmarshal(e, &im) == nil {
			out = append(out, im)
		}
	}
	*is = out
	return nil
}

// flexInt decodes an integer the way PeerTube reads one (validator.js isInt
// on String(value)): a JSON number with an integral value or a decimal string.
// null decodes as 0.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v == nil {
		*n = 0
		return nil
	}
	s := jsString(v)
	if !intPattern.MatchString(s) {
		return fmt.Errorf("%q is not an integer", s)
	}
	i, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	if err != nil {
		return err
	}
	*n = flexInt(i)
	return nil
}

// flexBool decodes a boolean the way PeerTube's isBooleanValid reads one: a
// JSON boolean or "true"/"false"/"1"/"0". Anything else leaves it unset.
type flexBool struct{ v, set bool }

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = flexBool{}
	switch x := v.(type) {
	case bool:
		*f = flexBool{x, true}
	case string:
		switch x {
		case "true", "1":
			*f = flexBool{true, true}
		case "false", "0":
			*f = flexBool{false, true}
		}
	}
	return nil
}

// Identifier is a PeerTube category, licence or language: {identifier, name}.
type Identifier struct {
	Identifier string `json:"identifier"`
	Name       string `json:"name,omitempty"`
}

// PropertyValue is a schema.org name/value pair (a file's attachment[]).
type PropertyValue struct {
	Type  Type   `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// withContext marshals v (whose type has no MarshalJSON of its own) with a
// leading "@context".
func withContext(ctx json.RawMessage, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, errors.New("withContext: not an object")
	}
	var buf bytes.Buffer
	buf.Grow(len(ctx) + len(body) + 16)
	buf.WriteString(`{"@context":`)
	buf.Write(ctx)
	if len(body) > 2 {
		buf.WriteByte(',')
	}
	buf.Write(body[1:])
	return buf.Bytes(), nil
}
