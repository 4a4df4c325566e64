// Package gui is Fourmi's desktop user interface, built with Fyne. It shows
// the federation's catalogs (Discover), a video's details with Play and its
// live BitTorrent numbers (Video), what the user watched, downloads, seeds
// and published (Library, with My videos), the creator's Publish screen, the
// personal instance (Instance: hosting on/off, settings, followers,
// following), the preferences (Settings) and the followed channels' new
// videos (Subscriptions: feed, unseen badge, desktop notifications; a
// system tray menu keeps seeding with the window closed); "Open link…" (Ctrl+O), a
// dropped .torrent or `fourmi URL` (UI.Open) open a magnet, a .torrent or a
// PeerTube video, and a dropped video file goes to Publish. It is only a
// client of package library's API: it holds no logic of its own beyond
// presentation, library calls run on goroutines, and every change they make
// to widgets goes through fyne.Do. Fast-moving numbers (speeds, peers,
// pieces) are polled about once a second while they show; publishing and
// hosting progress arrive through library's subscriptions.
//
// Keyboard: Ctrl+F search, Ctrl+O open a link, Ctrl+P Publish, Ctrl+I
// Instance, Ctrl+S Subscriptions, Ctrl+Q quit, Ctrl+Enter play (on the Video screen; Space too when no control
// has the keyboard) or publish (on the Publish screen), Escape or Alt+Left
// back, Escape closes dialogs; Tab walks every control.
package gui
