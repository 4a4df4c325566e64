package gui

import (
	"context"
	"fmt"
	"image"
	_ "image/gif" // thumbnail formats PeerTube serves
	_ "image/jpeg"
	_ "image/png"
	"os"
	"time"
)

// thumbCacheSize bounds the decoded images kept in memory (a 240×135
// thumbnail is ~130 KB decoded, previews ~1.6 MB).
const thumbCacheSize = 120

// thumbs loads images through library.Thumbnail (which keeps the disk
// cache) and decodes them off the UI thread. Its maps belong to the UI
// thread; loads run on at most four goroutines.
type thumbs struct {
	u       *UI
	cache   map[string]image.Image
	order   []string             // insertion order, for eviction
	failed  map[string]time.Time // when it failed; retried a minute later
	pending map[string]bool
	sem     chan struct{}
	// listeners hear of every image loaded (screens refresh what shows it)
	listeners []func(url string, img image.Image)
}

func newThumbs(u *UI) *thumbs {
	return &thumbs{u: u, cache: map[string]image.Image{}, failed: map[string]time.Time{},
		pending: map[string]bool{}, sem: make(chan struct{}, 4)}
}

// listen registers f to hear, on the UI thread, of each image loaded.
func (t *thumbs) listen(f func(url string, img image.Image)) {
	t.listeners = append(t.listeners, f)
}

// get returns the image at url when it is loaded. Otherwise it starts
// loading it (once) and tells the listeners when done; they hear nothing
// when the image cannot be had (the placeholder stays).
func (t *thumbs) get(url string) image.Image {
	if url == "" {
		return nil
	}
	if at, ok := t.failed[url]; ok {
		if time.Since(at) < time.Minute {
			return nil
		}
		delete(t.failed, url)
	}
	if img, ok := t.cache[url]; ok {
		return img
	}
	if t.pending[url] {
		return nil
	}
	t.pending[url] = true
	t.u.goRun(func(ctx context.Context) {
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		img, err := t.load(ctx, url)
		<-t.sem
		if ctx.Err() != nil {
			return
		}
		t.u.do(func() { t.loaded(url, img, err) })
	})
	return nil
}

func (t *thumbs) load(ctx context.Context, url string) (image.Image, error) {
	path, err := t.u.lib.Thumbnail(ctx, url)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", url, err)
	}
	return img, nil
}

func (t *thumbs) loaded(url string, img image.Image, err error) {
	delete(t.pending, url)
	if err != nil {
		t.u.log.Debug("thumbnail", "url", url, "err", err)
		t.failed[url] = time.Now()
		return
	}
	if len(t.order) >= thumbCacheSize {
		drop := t.order[:thumbCacheSize/4]
		for _, u := range drop {
			delete(t.cache, u)
		}
		t.order = append(t.order[:0], t.order[thumbCacheSize/4:]...)
	}
	t.cache[url] = img
	t.order = append(t.order, url)
	for _, f := range t.listeners {
		f(url, img)
	}
}
