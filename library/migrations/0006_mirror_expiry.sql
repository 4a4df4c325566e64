-- Fourmi library schema, version 6: mirrors expire. A CacheFile carries an
-- expiry date; the mirroring side refreshes it with Update{CacheFile}
-- before it passes, the origin stops listing a mirror once it passed.
-- Times are Unix milliseconds (0 = no expiry, as the rows written before).

ALTER TABLE mirrors ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mirrored_by ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
