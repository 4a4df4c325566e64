-- Fourmi library schema, version 4: hosting (the mini-instance's Store).
-- Times are Unix milliseconds (0 = never). Every table is STRICT.

-- The instance configuration the server builds its actors from (one row).
CREATE TABLE host_instance (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    base_url             TEXT NOT NULL,
    name                 TEXT NOT NULL DEFAULT '',
    account_name         TEXT NOT NULL,
    account_display_name TEXT NOT NULL DEFAULT '',
    channel_name         TEXT NOT NULL,
    channel_display_name TEXT NOT NULL DEFAULT '',
    channel_description  TEXT NOT NULL DEFAULT '',
    avatar_path          TEXT NOT NULL DEFAULT '',
    trackers             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(trackers)),
    created              INTEGER NOT NULL
) STRICT;

-- The local actors' private keys (PKCS#8 PEM), one per role; never changed.
CREATE TABLE host_actor_keys (
    role TEXT PRIMARY KEY,
    pem  TEXT NOT NULL
) STRICT;

-- What the Video objects need beyond the publishing tables.
ALTER TABLE local_videos ADD COLUMN views INTEGER NOT NULL DEFAULT 0;
ALTER TABLE local_videos ADD COLUMN thumbnail_width INTEGER NOT NULL DEFAULT 0;
ALTER TABLE local_videos ADD COLUMN thumbnail_height INTEGER NOT NULL DEFAULT 0;
ALTER TABLE local_videos ADD COLUMN preview_width INTEGER NOT NULL DEFAULT 0;
ALTER TABLE local_videos ADD COLUMN preview_height INTEGER NOT NULL DEFAULT 0;

-- Remote actors following a local actor.
CREATE TABLE host_followers (
    local        TEXT NOT NULL,
    actor        TEXT NOT NULL,
    inbox        TEXT NOT NULL,
    shared_inbox TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    follow_id    TEXT NOT NULL DEFAULT '',
    follow_json  BLOB,
    created      INTEGER NOT NULL,
    PRIMARY KEY (local, actor)
) STRICT;
CREATE INDEX host_followers_by_created ON host_followers (created);

-- Remote actors the local account follows (FollowRemote).
CREATE TABLE host_following (
    actor     TEXT PRIMARY KEY,
    inbox     TEXT NOT NULL,
    follow_id TEXT NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    created   INTEGER NOT NULL
) STRICT;

-- Validated remote videos received through the inbox.
CREATE TABLE host_remote_videos (
    iri      TEXT PRIMARY KEY,
    uuid     TEXT NOT NULL,
    name     TEXT NOT NULL,
    actor    TEXT NOT NULL,
    json     BLOB NOT NULL,
    received INTEGER NOT NULL
) STRICT;
CREATE INDEX host_remote_videos_by_received ON host_remote_videos (received);

-- The durable delivery queue: one row per (activity, inbox). A claim sets
-- leased_until; a crashed claimer's rows come back when it passes.
-- Dropped rows stay for the failed count (and the user's curiosity).
CREATE TABLE host_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    activity     BLOB NOT NULL,
    signer       TEXT NOT NULL,
    inbox        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    leased_until INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created      INTEGER NOT NULL,
    dropped      INTEGER NOT NULL DEFAULT 0 CHECK (dropped IN (0, 1))
) STRICT;
CREATE INDEX host_deliveries_due ON host_deliveries (dropped, next_attempt, id);

-- Per-host circuit breakers.
CREATE TABLE host_breakers (
    host       TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL DEFAULT 0,
    open_until INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Federation owed for a change of a local video, written in the change's
-- own transaction and turned into deliveries once it committed (at once
-- when hosting runs, else when it starts): a crash in between loses nothing.
CREATE TABLE host_intents (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid    TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('publish', 'update', 'delete')),
    created INTEGER NOT NULL
) STRICT;
