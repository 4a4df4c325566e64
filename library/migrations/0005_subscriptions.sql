-- Fourmi library schema, version 5: subscriptions, the subscription feed
-- and mirrors. Times are Unix milliseconds (0 = never). Every table is STRICT.

-- Channels and accounts the user follows, polled in the background (and
-- followed over ActivityPub when hosting runs).
CREATE TABLE subscriptions (
    id            INTEGER PRIMARY KEY,
    actor         TEXT NOT NULL UNIQUE,          -- the actor IRI (https://host/video-channels/NAME)
    kind          TEXT NOT NULL CHECK (kind IN ('channel', 'account')),
    host          TEXT NOT NULL,                 -- host[:port], lower case
    base_url      TEXT NOT NULL,                 -- scheme://host of the REST API
    name          TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    avatar_url    TEXT NOT NULL DEFAULT '',
    remote_id     INTEGER NOT NULL DEFAULT 0,    -- PeerTube's numeric id (its RSS feed)
    outbox        TEXT NOT NULL DEFAULT '',
    via           TEXT NOT NULL DEFAULT 'rest' CHECK (via IN ('rest', 'outbox')), -- how it is polled
    mirror_latest INTEGER NOT NULL DEFAULT 0 CHECK (mirror_latest >= 0),
    state         TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'error', 'gone')),
    error         TEXT NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0,    -- consecutive failed polls
    missing       INTEGER NOT NULL DEFAULT 0,    -- consecutive 404/410 answers
    etag          TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    last_poll     INTEGER NOT NULL DEFAULT 0,
    next_poll     INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL
) STRICT;

-- The subscription feed: videos of subscriptions, with when they were
-- first seen and whether the user saw them.
CREATE TABLE feed (
    video_uuid      TEXT PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    first_seen      INTEGER NOT NULL,
    unseen          INTEGER NOT NULL DEFAULT 1 CHECK (unseen IN (0, 1))
) STRICT;
CREATE INDEX feed_by_subscription ON feed (subscription_id);
CREATE INDEX feed_unseen ON feed (unseen);

-- Videos kept downloaded and seeded because of a subscription's
-- MirrorLatest, and the CacheFile announced for each (when hosting). An
-- evicted mirror stays, released, so that it is not downloaded again.
CREATE TABLE mirrors (
    video_uuid      TEXT PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    infohash        TEXT NOT NULL,
    cache_file      BLOB,                        -- the Create{CacheFile} sent, for the Undo
    inbox           TEXT NOT NULL DEFAULT '',    -- where it was sent
    released        INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1)),
    created         INTEGER NOT NULL
) STRICT;

-- CacheFiles other instances announced for our own videos (they mirror
-- them: PeerTube's redundancy), withdrawn by their Undo.
CREATE TABLE mirrored_by (
    cache_file TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    video_url  TEXT NOT NULL,
    file_url   TEXT NOT NULL,
    json       BLOB NOT NULL,
    received   INTEGER NOT NULL
) STRICT;
CREATE INDEX mirrored_by_video ON mirrored_by (video_url);
