-- Fourmi library schema, version 2: watching while seeding.
-- Times are Unix milliseconds (0 = never). Every table is STRICT.

-- Torrents the user downloads, watches and seeds (the Downloads/Seeding
-- list). A row lives until the user removes the torrent or the disk budget
-- evicts it; the peer engine's own cache only mirrors the active ones.
CREATE TABLE transfers (
    infohash        TEXT PRIMARY KEY CHECK (length(infohash) = 40 AND infohash NOT GLOB '*[^0-9a-f]*'),
    video_uuid      TEXT REFERENCES videos (uuid) ON DELETE SET NULL, -- NULL for a bare magnet/.torrent
    resolution      INTEGER NOT NULL DEFAULT 0,
    name            TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,   -- bytes; 0 until the metadata is known
    torrent_url     TEXT NOT NULL DEFAULT '',
    magnet_uri      TEXT NOT NULL DEFAULT '',
    web_seed_url    TEXT NOT NULL DEFAULT '',
    metainfo        BLOB,                         -- the .torrent once known: resumes without the network
    state           TEXT NOT NULL CHECK (state IN ('fetching-info', 'downloading', 'seeding', 'paused', 'finished', 'error')),
    keep_seeding    INTEGER NOT NULL DEFAULT 0,   -- resumed by the user after its limits: ratio and time no longer stop it
    added_at        INTEGER NOT NULL,
    completed_at    INTEGER NOT NULL DEFAULT 0,
    last_watched_at INTEGER NOT NULL DEFAULT 0,
    completed       INTEGER NOT NULL DEFAULT 0,   -- verified bytes when last seen
    uploaded        INTEGER NOT NULL DEFAULT 0,   -- totals across restarts
    from_web_seed   INTEGER NOT NULL DEFAULT 0,
    from_peers      INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX transfers_by_video ON transfers (video_uuid);

-- Videos the user played, with where they stopped (one row per video). The
-- reference has no ON DELETE action: a video in the history cannot be pruned
-- from the catalog cache without forgetting its history first.
CREATE TABLE history (
    video_uuid  TEXT PRIMARY KEY REFERENCES videos (uuid),
    position_ms INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    watched     INTEGER NOT NULL DEFAULT 0,       -- played to the end at least once
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX history_by_updated ON history (updated_at DESC);
