import GRDB

/// The catalog's tables. One row per file seen (so re-runs skip unchanged files), per patient,
/// study, series, instance and frame, and per problem. Raw patient identifiers live only in
/// `patients`; everything that leaves the catalog uses the pseudonymous keys.
enum CatalogSchema {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                );
                -- Every regular file an ingest looked at, with what it turned out to be.
                CREATE TABLE files (
                    path TEXT PRIMARY KEY NOT NULL,          -- absolute, standardized
                    size INTEGER NOT NULL,
                    mtime REAL NOT NULL,
                    status TEXT NOT NULL,                    -- instance | non_dicom | dicomdir | problem | duplicate
                    sop_instance_uid TEXT
                );
                CREATE TABLE patients (
                    patient_key TEXT PRIMARY KEY NOT NULL,   -- HMAC of the patient ID with the catalog secret
                    patient_id TEXT,
                    patient_name TEXT,
                    birth_date TEXT
                );
                CREATE TABLE studies (
                    study_instance_uid TEXT PRIMARY KEY NOT NULL,
                    study_key TEXT NOT NULL UNIQUE,          -- HMAC of the study UID
                    patient_key TEXT NOT NULL REFERENCES patients(patient_key),
                    accession_number TEXT,
                    study_date TEXT,
                    study_description TEXT
                );
                CREATE INDEX studies_accession ON studies(accession_number);
                CREATE TABLE series (
                    series_instance_uid TEXT PRIMARY KEY NOT NULL,
                    study_instance_uid TEXT NOT NULL REFERENCES studies(study_instance_uid),
                    modality TEXT,
                    manufacturer TEXT,
                    model_name TEXT,
                    series_description TEXT
                );
                CREATE TABLE instances (
                    sop_instance_uid TEXT PRIMARY KEY NOT NULL,
                    series_instance_uid TEXT NOT NULL REFERENCES series(series_instance_uid),
                    path TEXT NOT NULL UNIQUE,
                    sop_class_uid TEXT NOT NULL,
                    instance_number INTEGER,
                    transfer_syntax_uid TEXT NOT NULL,
                    photometric_interpretation TEXT,
                    rows INTEGER NOT NULL,
                    columns INTEGER NOT NULL,
                    number_of_frames INTEGER NOT NULL,
                    samples_per_pixel INTEGER NOT NULL,
                    bits_allocated INTEGER NOT NULL,
                    is_image INTEGER NOT NULL,
                    is_ultrasound INTEGER NOT NULL,
                    region_count INTEGER NOT NULL,
                    frame_time_ms REAL,
                    metadata_json TEXT NOT NULL              -- DicomMetadata (no patient identifiers)
                );
                CREATE INDEX instances_series ON instances(series_instance_uid);
                CREATE TABLE frames (
                    sop_instance_uid TEXT NOT NULL REFERENCES instances(sop_instance_uid) ON DELETE CASCADE,
                    frame_index INTEGER NOT NULL,
                    content_sha256 TEXT,                     -- of the decoded RGB frame, when verified
                    PRIMARY KEY (sop_instance_uid, frame_index)
                );
                CREATE TABLE problems (
                    path TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    message TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: series by study") { db in
            // Study-level lookups (manifests, reports) go study -> series -> instances.
            try db.execute(sql: "CREATE INDEX series_study ON series(study_instance_uid)")
        }
        migrator.registerMigration("v3: study queue of listen --predict") { db in
            // One row per study a DICOM node (`listen --predict`) received: see `StudyQueueEntry`.
            try db.execute(sql: """
                CREATE TABLE study_queue (
                    study_instance_uid TEXT PRIMARY KEY NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('received', 'predicted', 'sent', 'failed')),
                    arrivals INTEGER NOT NULL,               -- new instances received so far: the study's input generation
                    last_arrival REAL NOT NULL,              -- seconds since 1970 of the last instance received
                    predictions INTEGER NOT NULL DEFAULT 0,  -- predictions committed (one per generation predicted)
                    predicted_arrivals INTEGER,              -- the generation the last committed prediction was made from
                    sr_path TEXT,                            -- the SR for the PACS, relative to the store
                    attempts INTEGER NOT NULL DEFAULT 0,     -- failed sends of that SR
                    next_attempt REAL,                       -- when a failed send is tried again
                    failed_stage TEXT,                       -- predict | send, when state = failed
                    failure TEXT,                            -- why (no patient identifiers)
                    sends INTEGER NOT NULL DEFAULT 0,        -- sends committed (PACS answered Success)
                    sent_at REAL
                );
                CREATE INDEX study_queue_state ON study_queue(state);
                """)
        }
        return migrator
    }
}
