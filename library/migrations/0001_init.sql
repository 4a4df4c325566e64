-- Fourmi library schema, version 1.
-- Times are Unix milliseconds (0 = never). Every table is STRICT.

-- PeerTube instances the user browses.
CREATE TABLE instances (
    host        TEXT PRIMARY KEY,           -- host[:port], lower case
    base_url    TEXT NOT NULL,              -- https://host
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    version     TEXT NOT NULL DEFAULT '',
    added_at    INTEGER NOT NULL,
    checked_at  INTEGER NOT NULL DEFAULT 0  -- last successful /api/v1/config
) STRICT;

-- Accounts and channels, keyed by handle (name@host; the URL when the name
-- is unknown).
CREATE TABLE actors (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('account', 'channel')),
    handle       TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    host         TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    avatar_url   TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, handle)
) STRICT;

-- Videos of the federation. uuid is the key; id is a stable rowid for FTS.
CREATE TABLE videos (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    url           TEXT NOT NULL DEFAULT '',
    origin        TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    views         INTEGER NOT NULL DEFAULT 0,
    likes         INTEGER NOT NULL DEFAULT 0,
    published_at  INTEGER NOT NULL DEFAULT 0,
    thumbnail_url TEXT NOT NULL DEFAULT '',
    preview_url   TEXT NOT NULL DEFAULT '',
    channel_id    INTEGER REFERENCES actors (id),
    account_id    INTEGER REFERENCES actors (id),
    nsfw          INTEGER NOT NULL DEFAULT 0,
    is_live       INTEGER NOT NULL DEFAULT 0,
    category      TEXT NOT NULL DEFAULT '',
    licence       TEXT NOT NULL DEFAULT '',
    language      TEXT NOT NULL DEFAULT '',
    tags          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    support       TEXT NOT NULL DEFAULT '',
    details_at    INTEGER NOT NULL DEFAULT 0,
    fetched_at    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX videos_by_published ON videos (published_at DESC);
CREATE INDEX videos_by_views ON videos (views DESC);
CREATE INDEX videos_by_channel ON videos (channel_id);
CREATE INDEX videos_by_account ON videos (account_id);

-- A video's playable files (web videos, then HLS), in the origin's order.
CREATE TABLE video_files (
    video_id    INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    resolution  INTEGER NOT NULL DEFAULT 0,
    label       TEXT NOT NULL DEFAULT '',
    width       INTEGER NOT NULL DEFAULT 0,
    height      INTEGER NOT NULL DEFAULT 0,
    size        INTEGER NOT NULL DEFAULT 0,
    fps         REAL NOT NULL DEFAULT 0,
    torrent_url TEXT NOT NULL DEFAULT '',
    magnet_uri  TEXT NOT NULL DEFAULT '',
    file_url    TEXT NOT NULL DEFAULT '',
    hls         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (video_id, position)
) STRICT;

-- Where each video was listed (a fallback for its details when the origin
-- does not answer).
CREATE TABLE video_listings (
    video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (video_id, base_url)
) STRICT;

-- Catalog pages as last fetched, and their ordered entries.
CREATE TABLE catalog_pages (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,               -- Source.Key()
    sort       TEXT NOT NULL,
    search     TEXT NOT NULL,
    page       INTEGER NOT NULL,
    page_size  INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    UNIQUE (source, sort, search, page, page_size)
) STRICT;
CREATE TABLE catalog_entries (
    page_id  INTEGER NOT NULL REFERENCES catalog_pages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    PRIMARY KEY (page_id, position)
) STRICT;
CREATE INDEX catalog_entries_by_video ON catalog_entries (video_id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Full-text search over every cached video. Triggers note which videos
-- changed in fts_pending; every write transaction ends by re-indexing them
-- (Library.inTx → flushFTS). Writing FTS5 from the triggers themselves would
-- flush FTS5's pending terms at each statement and make bulk inserts ~10×
-- slower. video_search_text says what is indexed.
CREATE VIRTUAL TABLE videos_fts USING fts5 (
    name, description, channel, account, tags,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- Not unique: a conflict resolution inside a trigger yields to the outer
-- statement's (an upsert), so duplicates are allowed and folded at flush.
CREATE TABLE fts_pending (
    video_id INTEGER NOT NULL
) STRICT;

CREATE VIEW video_search_text AS
SELECT v.id AS id,
       v.name AS name,
       v.description AS description,
       coalesce(c.display_name || ' ' || c.name, '') AS channel,
       coalesce(a.display_name || ' ' || a.name, '') AS account,
       coalesce((SELECT group_concat(value, ' ') FROM json_each(v.tags)), '') AS tags
FROM videos v
LEFT JOIN actors c ON c.id = v.channel_id
LEFT JOIN actors a ON a.id = v.account_id;

CREATE TRIGGER videos_fts_insert AFTER INSERT ON videos BEGIN
    INSERT INTO fts_pending (video_id) VALUES (new.id);
END;

CREATE TRIGGER videos_fts_update AFTER UPDATE OF name, description, channel_id, account_id, tags ON videos
WHEN old.name IS NOT new.name OR old.description IS NOT new.description
  OR old.channel_id IS NOT new.channel_id OR old.account_id IS NOT new.account_id
  OR old.tags IS NOT new.tags
BEGIN
    INSERT INTO fts_pending (video_id) VALUES (new.id);
END;

CREATE TRIGGER videos_fts_delete AFTER DELETE ON videos BEGIN
    INSERT INTO fts_pending (video_id) VALUES (old.id);
END;

CREATE TRIGGER actors_fts_update AFTER UPDATE OF name, display_name ON actors
WHEN old.name IS NOT new.name OR old.display_name IS NOT new.display_name
BEGIN
    INSERT INTO fts_pending (video_id)
    SELECT id FROM videos WHERE channel_id = new.id OR account_id = new.id;
END;
