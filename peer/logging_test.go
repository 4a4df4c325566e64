package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// anacrolix's reader logs a player hanging up as an ERROR: it goes out at
// DEBUG; real errors stay errors.
func TestQuietCanceled(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(quietCanceled{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})}).With("component", "peer")
	log.Error("initial read failed", "err", fmt.Errorf("reading: %w", context.Canceled))
	if buf.Len() != 0 {
		t.Errorf("a cancellation was logged at INFO or above: %s", buf.String())
	}
	log.Error("error reading", "err", errors.New("input/output error"))
	if !strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "component=peer") {
		t.Errorf("a real error was not logged as one: %q", buf.String())
	}

	buf.Reset()
	debug := slog.New(quietCanceled{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	debug.Error("initial read failed", "err", context.Canceled)
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("with debug on, the cancellation is not at DEBUG: %q", buf.String())
	}
}
