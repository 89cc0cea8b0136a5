BEGIN TRANSACTION;
CREATE TABLE assets (
	id VARCHAR(32) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	source TEXT NOT NULL, 
	version INTEGER NOT NULL, 
	size_bytes BIGINT NOT NULL, 
	state VARCHAR(32) NOT NULL, 
	error TEXT, 
	duration_ms INTEGER, 
	width INTEGER, 
	height INTEGER, 
	has_audio BOOLEAN, 
	stage VARCHAR(32), 
	progress FLOAT, 
	loudness_i FLOAT, 
	loudness_tp FLOAT, 
	loudness_lra FLOAT, 
	publication VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (sha256)
);
INSERT INTO "assets" VALUES('abababababab','abababababababababababababababababababababababababababababababab','x.mp4',1,10,'new',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'2026-11-24 07:31:43.274000','2026-11-24 07:31:43.274000');
CREATE TABLE captions (
	asset_id VARCHAR(32) NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	path TEXT NOT NULL, 
	state VARCHAR(32) NOT NULL, 
	cue_count INTEGER NOT NULL, 
	engine VARCHAR(64) NOT NULL, 
	model TEXT NOT NULL, 
	reviewer TEXT, 
	approved_at DATETIME, 
	approved_sha256 VARCHAR(64), 
	override_reason TEXT, 
	PRIMARY KEY (asset_id, language), 
	FOREIGN KEY(asset_id) REFERENCES assets (id)
);
CREATE TABLE events (
	id INTEGER NOT NULL, 
	asset_id VARCHAR(32) NOT NULL, 
	state VARCHAR(32) NOT NULL, 
	at DATETIME NOT NULL, 
	detail TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(asset_id) REFERENCES assets (id)
);
INSERT INTO "events" VALUES(1,'abababababab','new','2026-11-24 07:31:43.274000','found x.mp4');
CREATE TABLE renditions (
	asset_id VARCHAR(32) NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	path TEXT NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	size_bytes BIGINT NOT NULL, 
	codecs VARCHAR(64), 
	frame_rate FLOAT, 
	bandwidth INTEGER, 
	average_bandwidth INTEGER, 
	PRIMARY KEY (asset_id, name), 
	FOREIGN KEY(asset_id) REFERENCES assets (id)
);
CREATE TABLE schema_version (
	version INTEGER NOT NULL
);
INSERT INTO "schema_version" VALUES(1);
CREATE TABLE share_links (
	id VARCHAR(32) NOT NULL, 
	asset_id VARCHAR(32) NOT NULL, 
	object_key TEXT NOT NULL, 
	audience TEXT, 
	created_by TEXT, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(asset_id) REFERENCES assets (id)
);
CREATE INDEX ix_events_asset_id ON events (asset_id);
CREATE INDEX ix_share_links_asset_id ON share_links (asset_id);
COMMIT;
