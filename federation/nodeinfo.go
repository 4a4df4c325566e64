package federation

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// NodeInfo and host-meta: the discovery documents of an instance.
// /.well-known/nodeinfo links to the NodeInfo 2.0 document and, for
// PeerTube, to the instance actor with rel
// https://www.w3.org/ns/activitystreams#Application (a PeerTube admin who
// follows a host follows that actor). /.well-known/host-meta gives the
// WebFinger template.

// Well-known paths and link relations.
const (
	NodeInfoWellKnownPath = "/.well-known/nodeinfo"
	NodeInfo20Path        = "/nodeinfo/2.0.json"
	HostMetaPath          = "/.well-known/host-meta"
	RelNodeInfo20         = "http://nodeinfo.diaspora.software/ns/schema/2.0"
	RelInstanceActor      = "https://www.w3.org/ns/activitystreams#Application"
	RelLRDD               = "lrdd"
	MediaTypeXRD          = "application/xrd+xml"
)

// NodeInfoLinks is the /.well-known/nodeinfo document.
type NodeInfoLinks struct {
	Links []NodeInfoLink `json:"links"`
}

// NodeInfoLink is one of its links.
type NodeInfoLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// NewNodeInfoLinks is PeerTube's well-known document for an instance at
// baseURL (scheme://host) whose instance actor is instanceActor.
func NewNodeInfoLinks(baseURL, instanceActor string) NodeInfoLinks {
	base := strings.TrimSuffix(baseURL, "/")
	return NodeInfoLinks{Links: []NodeInfoLink{
		{Rel: RelNodeInfo20, Href: base + NodeInfo20Path},
		{Rel: RelInstanceActor, Href: instanceActor},
	}}
}

// ParseNodeInfoLinks decodes /.well-known/nodeinfo.
func ParseNodeInfoLinks(b []byte) (*NodeInfoLinks, error) {
	if err := isJSONObject(b); err != nil {
		return nil, fmt.Errorf("nodeinfo links: %w", err)
	}
	var l NodeInfoLinks
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("nodeinfo links: %w", err)
	}
	return &l, nil
}

// Find returns the href of rel.
func (l *NodeInfoLinks) Find(rel string) (string, bool) {
	for _, x := range l.Links {
		if x.Rel == rel && x.Href != "" {
			return x.Href, true
		}
	}
	return "", false
}

// NodeInfo is a NodeInfo 2.0 document.
type NodeInfo struct {
	Version           string           `json:"version"`
	Software          NodeInfoSoftware `json:"software"`
	Protocols         []string         `json:"protocols"`
	Services          NodeInfoServices `json:"services"`
	OpenRegistrations bool             `json:"openRegistrations"`
	Usage             NodeInfoUsage    `json:"usage"`
	// Metadata is free-form; PeerTube puts its taxonomy, node name and
	// configuration there.
	Metadata map[string]any `json:"metadata"`
}

// NodeInfoSoftware names the server software.
type NodeInfoSoftware struct {
	Name    string `json:"name"` // lower case: [a-z0-9-]
	Version string `json:"version"`
}

// NodeInfoServices are third-party services the node talks to.
type NodeInfoServices struct {
	Inbound  []string `json:"inbound"`
	Outbound []string `json:"outbound"`
}

// NodeInfoUsage is the usage statistics.
type NodeInfoUsage struct {
	Users         NodeInfoUsers `json:"users"`
	LocalPosts    int           `json:"localPosts"`
	LocalComments int           `json:"localComments"`
}

// NodeInfoUsers counts users.
type NodeInfoUsers struct {
	Total          int `json:"total"`
	ActiveMonth    int `json:"activeMonth"`
	ActiveHalfyear int `json:"activeHalfyear"`
}

// NewNodeInfo is a NodeInfo 2.0 document for an ActivityPub node with
// empty service lists (ready to fill).
func NewNodeInfo(software, version string) *NodeInfo {
	return &NodeInfo{
		Version:   "2.0",
		Software:  NodeInfoSoftware{Name: software, Version: version},
		Protocols: []string{"activitypub"},
		Services:  NodeInfoServices{Inbound: []string{}, Outbound: []string{}},
		Metadata:  map[string]any{},
	}
}

// ParseNodeInfo decodes a NodeInfo 2.x document.
func ParseNodeInfo(b []byte) (*NodeInfo, error) {
	if err := isJSONObject(b); err != nil {
		return nil, fmt.Errorf("nodeinfo: %w", err)
	}
	var n NodeInfo
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("nodeinfo: %w", err)
	}
	if !strings.HasPrefix(n.Version, "2.") {
		return nil, fmt.Errorf("nodeinfo: version %q is not 2.x", n.Version)
	}
	if n.Software.Name == "" {
		return nil, errors.New("nodeinfo: no software name")
	}
	return &n, nil
}

// HostMeta is the /.well-known/host-meta XRD document (and its JSON form,
// host-meta.json).
type HostMeta struct {
	Links []HostMetaLink `json:"links"`
}

// HostMetaLink is an XRD link.
type HostMetaLink struct {
	Rel      string `xml:"rel,attr" json:"rel"`
	Type     string `xml:"type,attr,omitempty" json:"type,omitempty"`
	Href     string `xml:"href,attr,omitempty" json:"href,omitempty"`
	Template string `xml:"template,attr,omitempty" json:"template,omitempty"`
}

const xrdNamespace = "http://docs.oasis-open.org/ns/xri/xrd-1.0"

// NewHostMeta is PeerTube's host-meta for an instance at baseURL: the lrdd
// link with the WebFinger template.
func NewHostMeta(baseURL string) *HostMeta {
	base := strings.TrimSuffix(baseURL, "/")
	return &HostMeta{Links: []HostMetaLink{{Rel: RelLRDD, Type: MediaTypeXRD, Template: base + WebFingerPath + "?resource={uri}"}}}
}

// XML is the XRD document as PeerTube serves it (json.Marshal gives the
// host-meta.json form).
func (h *HostMeta) XML() ([]byte, error) {
	doc := struct {
		XMLName xml.Name       `xml:"XRD"`
		NS      string         `xml:"xmlns,attr"`
		Links   []HostMetaLink `xml:"Link"`
	}{NS: xrdNamespace, Links: h.Links}
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	// encoding/xml writes <Link ...></Link>; PeerTube and Mastodon write
	// self-closing links. Both parse the same; keep the familiar form.
	body = bytes.ReplaceAll(body, []byte("></Link>"), []byte("/>"))
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), body...), nil
}

// ParseHostMeta reads host-meta as XML (XRD) or JSON.
func ParseHostMeta(b []byte) (*HostMeta, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("host-meta: empty")
	}
	if b[0] == '{' {
		var h HostMeta
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("host-meta: %w", err)
		}
		return &h, nil
	}
	var doc struct {
		XMLName xml.Name
		Links   []HostMetaLink `xml:"Link"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("host-meta: %w", err)
	}
	if doc.XMLName.Local != "XRD" {
		return nil, fmt.Errorf("host-meta: root element is %s, not XRD", doc.XMLName.Local)
	}
	return &HostMeta{Links: doc.Links}, nil
}

// WebFingerTemplate is the lrdd template ("…/.well-known/webfinger?resource={uri}").
func (h *HostMeta) WebFingerTemplate() (string, bool) {
	for _, l := range h.Links {
		if l.Rel == RelLRDD && l.Template != "" {
			return l.Template, true
		}
	}
	return "", false
}

func isJSONObject(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return nil
}
