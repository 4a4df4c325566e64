package peer

import (
	"context"
	"errors"
	"log/slog"
)

// quietCanceled wraps the handler given to anacrolix/torrent: its stream
// reader logs at ERROR level ("initial read failed", "read failed after
// reader reset", ...) when a read ends because the player closed the
// connection, which players do at every seek. Records whose err is a
// context cancellation go out at DEBUG instead; everything else unchanged.
type quietCanceled struct{ slog.Handler }

func (h quietCanceled) Enabled(ctx context.Context, level slog.Level) bool {
	// Records at any level may turn out to be cancellations: decide in Handle.
	return h.Handler.Enabled(ctx, level)
}

func (h quietCanceled) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && isCancellation(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r = r.Clone()
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietCanceled) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietCanceled{h.Handler.WithAttrs(attrs)}
}

func (h quietCanceled) WithGroup(name string) slog.Handler {
	return quietCanceled{h.Handler.WithGroup(name)}
}

func isCancellation(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" {
			return true
		}
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, context.Canceled) {
			found = true
		}
		return false
	})
	return found
}
