package main

import (
	"context"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/fourmi-app/fourmi/assets"
	"github.com/fourmi-app/fourmi/gui"
)

// appID is Fourmi's reverse-DNS application id (preferences, notifications).
const appID = "org.fourmi.Fourmi"

// runApp opens the library and the desktop window, and closes both when the
// window closes or the process is interrupted.
// open, when not empty, is a link to open at start (fourmi URL).
func runApp(ctx context.Context, env cliEnv, open string) error {
	logger := env.logger
	lib, closeLib, err := startLibrary(ctx, env)
	if err != nil {
		return err
	}
	defer closeLib()

	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("fourmi.png", assets.Icon))
	ui := gui.New(a, lib, logger.With("component", "gui"))
	defer ui.Close() // before lib.Close: stops catalog and thumbnail loads
	if os.Getenv("FOURMI_STARTUP_PROBE") != "" {
		// make bench: report when the window is up and the event loop runs.
		a.Lifecycle().SetOnStarted(func() { fmt.Fprintln(os.Stderr, "FOURMI_STARTED") })
	}
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	if open != "" {
		ui.Open(open)
	}
	ui.ShowAndRun()
	return nil
}
