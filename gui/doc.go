// Package gui is Fourmi's desktop user interface, built with Fyne. It shows
// the federation's catalogs (Discover), a video's details (Video) and the
// preferences (Settings), and is only a client of package library's API: it
// holds no logic of its own beyond presentation, and every change it makes to
// widgets from a goroutine goes through fyne.Do.
package gui
