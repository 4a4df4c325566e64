// Package gui is Fourmi's desktop user interface, built with Fyne. It shows
// the federation's catalogs (Discover), a video's details with Play and its
// live BitTorrent numbers (Video), what the user watched, downloads and
// seeds (Library), and the preferences (Settings); "Open link…" (Ctrl+O), a
// dropped .torrent or `fourmi URL` (UI.Open) open a magnet, a .torrent or a
// PeerTube video. It is only a client of package library's API: it holds no
// logic of its own beyond presentation, library calls run on goroutines, and
// every change they make to widgets goes through fyne.Do. Fast-moving numbers
// (speeds, peers, pieces) are polled about once a second while they show.
//
// Keyboard: Ctrl+F search, Ctrl+O open a link, Ctrl+Enter play (on the Video
// screen; Space too when no control has the keyboard), Escape or Alt+Left
// back, Escape closes the Open link dialog; Tab walks every control.
package gui
