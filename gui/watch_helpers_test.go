package gui

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// dressed makes a stand-in video look like a catalog entry (description,
// tags, category, licence, channel) for the Video screen and the
// screenshots, with an id far from the synthetic videos' (100 + k).
func dressed(srv *peertubetest.Server) func(*peertube.VideoDetails) {
	return func(d *peertube.VideoDetails) {
		d.ID += 5000
		d.Views = 42
		d.Description = "Filmed in the colony behind the lab. **" + d.Name + "**, shared over BitTorrent by the people who watch it."
		d.TruncatedDescription = d.Description
		d.Category = peertube.IDLabel{ID: 15, Label: "Science & Technology"}
		d.Licence = peertube.IDLabel{ID: 1, Label: "Attribution"}
		d.Language = peertube.StringLabel{ID: "en", Label: "English"}
		d.Tags = []string{"ants", "nature"}
		d.PreviewPath = "/lazy-static/previews/" + d.UUID + ".jpg"
		d.Channel = peertube.Actor{ID: 2, Name: "ants_channel", DisplayName: "Ant colony films", URL: srv.URL + "/video-channels/ants_channel", Host: srv.Host()}
		d.Privacy = peertube.IDLabel{ID: 1, Label: "Public"}
	}
}

// filelessVideo is a dressed video with no files (no streaming playlist
// at all).
func filelessVideo(srv *peertubetest.Server, name string, seconds int) peertube.VideoDetails {
	d := testkit.VideoDetails(srv, testkit.NewUUID(), name, seconds)
	dressed(srv)(&d)
	d.StreamingPlaylists = nil
	return d
}

// writeTorrent writes a .torrent into a temporary file.
func writeTorrent(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dropped.torrent")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
