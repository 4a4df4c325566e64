package gui

import (
	"errors"

	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/library"
)

// fieldChecks is the validation display shared by the forms the library
// checks (Publish's metadata, the Instance settings): a message under each
// field the user touched, or under every field once they tried to submit.
type fieldChecks struct {
	fields  []string                 // the form's fields, in order
	errs    map[string]*widget.Label // the message under each field
	touched map[string]bool          // nil while the form is built
	all     bool                     // every message shows
	valid   bool
	last    library.ValidationError
	other   error // a validation failure that names no field

	onChange func() // after every check (the screen enables its button)
	relayout func() // a message showed or hid: the rows below moved
}

func newFieldChecks(fields []string) fieldChecks {
	return fieldChecks{fields: fields, errs: map[string]*widget.Label{}}
}

// show takes the library's verdict on the form and shows the messages of
// the touched fields (all of them after a submit).
func (c *fieldChecks) show(err error) {
	c.last, c.other = nil, nil
	var ve library.ValidationError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		c.last = ve
	default:
		c.other = err
	}
	c.valid = err == nil
	moved := false
	for _, name := range c.fields {
		msg := ""
		if c.all || c.touched[name] {
			msg = c.last.For(name)
		}
		moved = c.setError(name, msg) || moved
	}
	if moved && c.relayout != nil {
		c.relayout()
	}
	if c.onChange != nil {
		c.onChange()
	}
}

// setError shows msg under field ("" hides it) and reports whether the
// form's layout changed.
func (c *fieldChecks) setError(field, msg string) bool {
	l := c.errs[field]
	changed := l.Text != msg || l.Visible() != (msg != "")
	if l.Text != msg {
		l.SetText(msg)
	}
	setVisible(l, msg != "")
	return changed
}

// errorFor is the message shown under field ("" when none shows).
func (c *fieldChecks) errorFor(field string) string {
	if l := c.errs[field]; l != nil && l.Visible() {
		return l.Text
	}
	return ""
}
