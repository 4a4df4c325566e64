// Command barefyne is the baseline of make bench: a bare Fyne window the size
// of Fourmi's, to tell Fourmi's own memory from the toolkit's and the GL
// driver's (under Xvfb, Mesa's software renderer alone is most of it).
package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("org.fourmi.BareFyne")
	w := a.NewWindow("bare Fyne")
	w.SetContent(widget.NewLabel("baseline"))
	w.Resize(fyne.NewSize(1200, 780))
	a.Lifecycle().SetOnStarted(func() { fmt.Fprintln(os.Stderr, "FOURMI_STARTED") })
	w.ShowAndRun()
}
