package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	vocab "github.com/go-ap/activitypub"
)

// Activity is an ActivityPub activity as PeerTube exchanges them: Follow,
// Accept, Reject, Undo, Create, Announce, Update, Delete (and Like, Dislike,
// View, Flag, which Fourmi only recognises). Object and Actor keep both
// forms, bare IRI or embedded object.
type Activity struct {
	To        IRIs            `json:"to,omitempty"`
	Cc        IRIs            `json:"cc,omitempty"`
	Type      Type            `json:"type"`
	ID        string          `json:"id"`
	Actor     ObjectOrIRI     `json:"actor"`
	Object    ObjectOrIRI     `json:"object,omitzero"`
	Published string          `json:"published,omitempty"`
	Expires   string          `json:"expires,omitempty"` // View
	Content   string          `json:"content,omitempty"` // Flag: the reason
	Signature json.RawMessage `json:"signature,omitempty"`
}

// MarshalJSON writes the context PeerTube uses: its video context for a
// Create or Update carrying a Video, the base context otherwise.
func (a Activity) MarshalJSON() ([]byte, error) {
	type plain Activity
	ctx := contextBase
	if a.Object.Type == TypeVideo {
		ctx = contextVideo
	}
	return withContext(ctx, plain(a))
}

// ActorIRI is the actor's id, whether the actor was a bare IRI or embedded.
func (a *Activity) ActorIRI() string { return a.Actor.IRI }

// ObjectActivity decodes an embedded activity (the Follow in an Accept,
// Reject or Undo).
func (a *Activity) ObjectActivity() (*Activity, error) {
	var in Activity
	if err := a.Object.Decode(&in); err != nil {
		return nil, err
	}
	return &in, nil
}

// ParseActivity decodes an incoming activity. It checks the shape only (a
// JSON object with a string type, actor and object as IRIs or objects);
// ValidateActivity applies PeerTube's rules.
func ParseActivity(raw []byte) (*Activity, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("activity: not a JSON object")
	}
	var a Activity
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	if a.Type == "" {
		return nil, errors.New("activity: no type")
	}
	return &a, nil
}

// Envelope is the routing information of an incoming activity, read with
// go-ap/activitypub's generic decoder: enough to dispatch activity types
// Fourmi has no struct for (a Mastodon Like, a Create{Note}).
type Envelope struct {
	Type   Type
	ID     string
	Actor  string
	Object string // the object's IRI (or embedded object's id)
}

// ParseEnvelope decodes type, id, actor and object id of any AS2 activity.
func ParseEnvelope(raw []byte) (env Envelope, err error) {
	defer func() {
		// go-ap's decoder is not written for hostile input; never let it
		// take the inbox down.
		if r := recover(); r != nil {
			env, err = Envelope{}, fmt.Errorf("activity envelope: decoder panic: %v", r)
		}
	}()
	it, err := vocab.UnmarshalJSON(raw)
	if err != nil {
		return Envelope{}, fmt.Errorf("activity envelope: %w", err)
	}
	if vocab.IsNil(it) {
		return Envelope{}, errors.New("activity envelope: empty")
	}
	env = Envelope{Type: it.GetType(), ID: string(it.GetLink())}
	if !vocab.ActivityTypes.Contains(env.Type) && !vocab.IntransitiveActivityTypes.Contains(env.Type) {
		return env, fmt.Errorf("activity envelope: %q is not an activity type", env.Type)
	}
	if vocab.ActivityTypes.Contains(env.Type) {
		err = vocab.OnActivity(it, func(a *vocab.Activity) error {
			if !vocab.IsNil(a.Actor) {
				env.Actor = string(a.Actor.GetLink())
			}
			if !vocab.IsNil(a.Object) {
				env.Object = string(a.Object.GetLink())
			}
			return nil
		})
	} else {
		err = vocab.OnIntransitiveActivity(it, func(ia *vocab.IntransitiveActivity) error {
			if !vocab.IsNil(ia.Actor) {
				env.Actor = string(ia.Actor.GetLink())
			}
			return nil
		})
	}
	if err != nil {
		return env, fmt.Errorf("activity envelope: %w", err)
	}
	return env, nil
}

// NewFollow is actor's request to follow object.
func NewFollow(id, actor, object string) *Activity {
	return &Activity{Type: TypeFollow, ID: id, Actor: Ref(actor), Object: Ref(object)}
}

// NewAccept answers a Follow, embedding it whole as PeerTube expects.
func NewAccept(id, actor string, follow *Activity) (*Activity, error) {
	return answer(TypeAccept, id, actor, follow)
}

// NewReject refuses a Follow, embedding it whole.
func NewReject(id, actor string, follow *Activity) (*Activity, error) {
	return answer(TypeReject, id, actor, follow)
}

// NewUndo cancels inner (a Follow, Like, Announce…), embedding it whole.
func NewUndo(id, actor string, inner *Activity) (*Activity, error) {
	return answer(TypeUndo, id, actor, inner)
}

func answer(t Type, id, actor string, inner *Activity) (*Activity, error) {
	if inner == nil {
		return nil, fmt.Errorf("%s: nothing to embed", t)
	}
	obj, err := embedActivity(inner)
	if err != nil {
		return nil, err
	}
	return &Activity{Type: t, ID: id, Actor: Ref(actor), Object: obj}, nil
}

// embedActivity embeds an activity without its own @context, as PeerTube
// does.
func embedActivity(in *Activity) (ObjectOrIRI, error) {
	type plain Activity
	return Embed(plain(*in))
}

// NewCreate publishes object (a *Video, a *CacheFile) from actor.
func NewCreate(id, actor string, object any, to, cc IRIs) (*Activity, error) {
	return wrap(TypeCreate, id, actor, object, to, cc)
}

// NewUpdate republishes a changed object.
func NewUpdate(id, actor string, object any, to, cc IRIs) (*Activity, error) {
	return wrap(TypeUpdate, id, actor, object, to, cc)
}

func wrap(t Type, id, actor string, object any, to, cc IRIs) (*Activity, error) {
	obj, err := embedObject(object)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return &Activity{Type: t, ID: id, Actor: Ref(actor), Object: obj, To: to, Cc: cc}, nil
}

// embedObject embeds a Fourmi object without its @context (the activity
// carries it).
func embedObject(object any) (ObjectOrIRI, error) {
	switch o := object.(type) {
	case *Video:
		type plain Video
		return Embed(plain(*o))
	case *Actor:
		type plain Actor
		return Embed(plain(*o))
	case *Activity:
		return embedActivity(o)
	}
	return Embed(object)
}

// NewAnnounce shares objectIRI (a video) from actor. PeerTube lists a video
// announced by an Application or Group it follows; it ignores Announces from
// a Person.
func NewAnnounce(id, actor, objectIRI string, to, cc IRIs) *Activity {
	return &Activity{Type: TypeAnnounce, ID: id, Actor: Ref(actor), Object: Ref(objectIRI), To: to, Cc: cc}
}

// NewDelete removes objectIRI.
func NewDelete(id, actor, objectIRI string, to, cc IRIs) *Activity {
	return &Activity{Type: TypeDelete, ID: id, Actor: Ref(actor), Object: Ref(objectIRI), To: to, Cc: cc}
}

// CacheFile announces that a server mirrors a video file or HLS playlist
// (PeerTube's redundancy), sent in Create and Update and withdrawn by Undo.
type CacheFile struct {
	ID      string `json:"id"`
	Type    Type   `json:"type"`
	Object  string `json:"object"`            // the video's URL
	Expires string `json:"expires,omitempty"` // ISO 8601
	URL     Link   `json:"url"`               // the mirrored file (video/mp4 with height, size, fps) or playlist (application/x-mpegURL)
}

// MarshalJSON writes the base context first.
func (c CacheFile) MarshalJSON() ([]byte, error) {
	type plain CacheFile
	return withContext(contextBase, plain(c))
}

// Items is a collection's items: IRIs or embedded objects. Entries that are
// neither are skipped.
type Items []ObjectOrIRI

// UnmarshalJSON decodes an array of IRIs and objects.
func (it *Items) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Items, 0, len(raw))
	for _, e := range raw {
		var o ObjectOrIRI
		if o.UnmarshalJSON(e) == nil && !o.IsZero() {
			out = append(out, o)
		}
	}
	*it = out
	return nil
}

// OrderedCollection is an outbox, followers or following collection (or a
// plain Collection). PeerTube gives totalItems and a first page IRI.
type OrderedCollection struct {
	ID           string      `json:"id"`
	Type         Type        `json:"type"`
	TotalItems   int         `json:"totalItems"`
	First        ObjectOrIRI `json:"first,omitzero"`
	Last         string      `json:"last,omitempty"`
	OrderedItems Items       `json:"orderedItems,omitempty"`
	Items        Items       `json:"items,omitempty"`
}

// MarshalJSON writes the base context first.
func (c OrderedCollection) MarshalJSON() ([]byte, error) {
	type plain OrderedCollection
	return withContext(contextBase, plain(c))
}

// OrderedCollectionPage is a page of a collection.
type OrderedCollectionPage struct {
	ID           string `json:"id"`
	Type         Type   `json:"type"`
	PartOf       string `json:"partOf,omitempty"`
	OrderedItems Items  `json:"orderedItems"`
	Items        Items  `json:"items,omitempty"`
	TotalItems   int    `json:"totalItems"`
	Next         string `json:"next,omitempty"`
	Prev         string `json:"prev,omitempty"`
}

// MarshalJSON writes the base context first and orderedItems as an array
// even when empty.
func (p OrderedCollectionPage) MarshalJSON() ([]byte, error) {
	type plain OrderedCollectionPage
	if p.OrderedItems == nil {
		p.OrderedItems = Items{}
	}
	return withContext(contextBase, plain(p))
}

// all is the page's items, ordered or not.
func (p *OrderedCollectionPage) all() Items {
	if len(p.OrderedItems) > 0 {
		return p.OrderedItems
	}
	return p.Items
}
