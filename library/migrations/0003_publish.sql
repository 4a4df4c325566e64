-- Fourmi library schema, version 3: publishing.
-- Times are Unix milliseconds (0 = never). Every table is STRICT.

-- The creator's own videos ("My videos") and their publishing jobs. A row
-- is created queued by Publish; the runner takes the oldest queued one,
-- marks it running and ends it done, failed or cancelled. A job found
-- running at start-up was interrupted: it goes back to queued and is redone
-- from a clean directory (<data>/videos/<uuid>/).
CREATE TABLE local_videos (
    uuid         TEXT PRIMARY KEY CHECK (length(uuid) = 36),
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    category     INTEGER NOT NULL DEFAULT 0,
    licence      INTEGER NOT NULL DEFAULT 0,
    language     TEXT NOT NULL DEFAULT '',
    privacy      INTEGER NOT NULL DEFAULT 1 CHECK (privacy IN (1, 2, 3)),
    nsfw         INTEGER NOT NULL DEFAULT 0,
    support      TEXT NOT NULL DEFAULT '',
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL,                    -- the original file as given
    resolutions  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(resolutions)), -- requested ladder
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    steps        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(steps)), -- progress, saved at coarse grain
    overall      REAL NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    thumbnail    TEXT NOT NULL DEFAULT '',
    preview      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    published_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX local_videos_by_state ON local_videos (state, created_at);

-- One published output file per resolution, with its torrent.
CREATE TABLE local_files (
    video_uuid   TEXT NOT NULL REFERENCES local_videos (uuid) ON DELETE CASCADE,
    resolution   INTEGER NOT NULL,
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    fps          REAL NOT NULL DEFAULT 0,
    size         INTEGER NOT NULL,
    path         TEXT NOT NULL,
    infohash     TEXT NOT NULL CHECK (length(infohash) = 40 AND infohash NOT GLOB '*[^0-9a-f]*'),
    torrent_path TEXT NOT NULL,
    magnet       TEXT NOT NULL,
    web_seed_url TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (video_uuid, resolution)
) STRICT;
CREATE INDEX local_files_by_infohash ON local_files (infohash);
