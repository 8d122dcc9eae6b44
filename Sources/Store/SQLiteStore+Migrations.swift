// The store's schema, as named, append-only migrations: never edit one that has shipped; add a
// new one. Times are GRDB's UTC text timestamps ("yyyy-MM-dd HH:mm:ss.SSS"), which order correctly.
import GRDB

extension SQLiteStore {
    /// The first migration's name: a database that has not recorded it is not a pipeline store.
    static let firstMigration = "1 jobs, documents, units"

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration(firstMigration) { db in
            try db.execute(sql: """
                CREATE TABLE job (
                    id TEXT PRIMARY KEY NOT NULL,              -- from spec_hash: same content, same job
                    sequence INTEGER NOT NULL UNIQUE,          -- submission order ("latest job named …")
                    name TEXT NOT NULL,
                    spec_json TEXT NOT NULL,                   -- canonical spec (sorted keys, defaults filled)
                    spec_hash TEXT NOT NULL UNIQUE,            -- SHA-256 of spec_json
                    source_path TEXT NOT NULL,
                    model_path TEXT,
                    prompt_count INTEGER NOT NULL CHECK (prompt_count > 0),
                    submitted_at TEXT NOT NULL
                );
                CREATE INDEX job_by_name ON job(name, sequence);

                CREATE TABLE document (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    path TEXT NOT NULL,
                    content_hash TEXT,                         -- NULL: unreadable at submit time
                    byte_count INTEGER,
                    token_count INTEGER                        -- filled by the first unit that tokenizes it
                );
                CREATE UNIQUE INDEX document_identity ON document(path, ifnull(content_hash, ''));

                CREATE TABLE unit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    job_id TEXT NOT NULL REFERENCES job(id),
                    document_id INTEGER NOT NULL REFERENCES document(id),
                    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'leased', 'done', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    last_error TEXT,
                    created_at TEXT NOT NULL,
                    started_at TEXT,
                    finished_at TEXT,
                    UNIQUE (job_id, document_id)
                );
                CREATE INDEX unit_by_state ON unit(state, attempts, id);
                """)
        }

        migrator.registerMigration("2 leases") { db in
            try db.execute(sql: """
                CREATE TABLE lease (
                    unit_id INTEGER PRIMARY KEY NOT NULL REFERENCES unit(id),  -- at most one lease per unit
                    token TEXT NOT NULL,                       -- new per lease; every write checks it
                    owner TEXT NOT NULL,                       -- host, pid, random
                    attempt INTEGER NOT NULL,
                    acquired_at TEXT NOT NULL,
                    renewed_at TEXT NOT NULL,
                    expires_at TEXT NOT NULL
                );
                CREATE INDEX lease_by_expiry ON lease(expires_at);
                """)
        }

        migrator.registerMigration("3 outputs and metrics") { db in
            try db.execute(sql: """
                CREATE TABLE output (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    unit_id INTEGER NOT NULL REFERENCES unit(id),
                    prompt_index INTEGER NOT NULL CHECK (prompt_index >= 0),
                    prompt TEXT NOT NULL,
                    text TEXT NOT NULL,
                    prompt_token_count INTEGER NOT NULL,
                    generated_token_count INTEGER NOT NULL,
                    prefill_seconds REAL NOT NULL,
                    decode_seconds REAL NOT NULL,
                    finish_reason TEXT NOT NULL
                );
                CREATE UNIQUE INDEX output_per_prompt ON output(unit_id, prompt_index);

                CREATE TABLE metrics (
                    unit_id INTEGER PRIMARY KEY NOT NULL REFERENCES unit(id),
                    content_hash TEXT NOT NULL,
                    document_token_count INTEGER NOT NULL,
                    kept_token_count INTEGER NOT NULL,
                    truncated_head_tokens INTEGER,
                    truncated_tail_tokens INTEGER,
                    tokens_in INTEGER NOT NULL,
                    tokens_out INTEGER NOT NULL,
                    prefill_seconds REAL NOT NULL,
                    prefill_tokens_per_second REAL NOT NULL,
                    decode_seconds REAL NOT NULL,
                    decode_tokens_per_second REAL NOT NULL,
                    document_prefill_seconds REAL NOT NULL,
                    per_prompt_prefill_seconds REAL NOT NULL,  -- baseline: document re-prefilled per prompt
                    peak_memory_bytes INTEGER NOT NULL,
                    strategy_mix TEXT NOT NULL,
                    kv_bytes_in_memory INTEGER NOT NULL,
                    kv_bytes_on_disk INTEGER NOT NULL,
                    wall_seconds REAL NOT NULL,
                    runner TEXT NOT NULL
                );
                """)
        }

        migrator.registerMigration("4 calibration") { db in
            try db.execute(sql: """
                CREATE TABLE calibration (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    strategy TEXT NOT NULL,                    -- dense, topk, da-topk, lsh
                    parameters TEXT NOT NULL,                  -- key=value,... as the strategy describes itself
                    kv_format TEXT NOT NULL,
                    context_tokens INTEGER NOT NULL CHECK (context_tokens >= 0),
                    model TEXT NOT NULL,
                    steps INTEGER NOT NULL CHECK (steps >= 0),
                    documents INTEGER NOT NULL CHECK (documents >= 0),
                    mean_kl REAL NOT NULL,
                    max_kl REAL NOT NULL,
                    top1_agreement REAL NOT NULL,
                    confident_top1_agreement REAL NOT NULL,    -- where the reference's top-1/top-2 margin ≥ 0.1
                    perplexity REAL NOT NULL,
                    reference_perplexity REAL NOT NULL,
                    needles INTEGER,
                    needles_reference_passed INTEGER,
                    needles_kept INTEGER,
                    index_bytes INTEGER,
                    indexed_kv_bytes INTEGER,
                    measured_at TEXT NOT NULL
                );
                CREATE INDEX calibration_by_mix ON calibration(strategy, kv_format, context_tokens);
                """)
        }

        migrator.registerMigration("5 machine profiles") { db in
            try db.execute(sql: """
                CREATE TABLE machine_profiles (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    measured_at TEXT NOT NULL,
                    threads INTEGER NOT NULL CHECK (threads > 0),
                    profile_json TEXT NOT NULL,                -- Planner's MachineProfile, JSON-encoded
                    source TEXT NOT NULL CHECK (source IN ('calibrate', 'refit'))
                );
                CREATE INDEX machine_profiles_by_threads ON machine_profiles(threads, id);
                """)
        }

        migrator.registerMigration("6 predictions and KV snapshots") { db in
            try db.execute(sql: """
                ALTER TABLE metrics ADD COLUMN kv_snapshot TEXT;              -- loaded | saved | none
                ALTER TABLE metrics ADD COLUMN batch_size INTEGER;
                ALTER TABLE metrics ADD COLUMN kv_peak_resident_bytes INTEGER;
                ALTER TABLE metrics ADD COLUMN predicted_seconds REAL;        -- the router's CostModel, before the run
                ALTER TABLE metrics ADD COLUMN predicted_prefill_seconds REAL;
                ALTER TABLE metrics ADD COLUMN predicted_decode_seconds REAL;
                ALTER TABLE metrics ADD COLUMN predicted_peak_memory_bytes INTEGER;
                """)
        }

        migrator.registerMigration("7 abandoned leases") { db in
            try db.execute(sql: """
                ALTER TABLE unit ADD COLUMN abandoned_leases INTEGER NOT NULL DEFAULT 0 CHECK (abandoned_leases >= 0);
                """)
        }

        migrator.registerMigration("8 fidelity tiers and routes") { db in
            try db.execute(sql: """
                ALTER TABLE metrics ADD COLUMN route_reason TEXT;                    -- why the unit ran its mix
                ALTER TABLE calibration ADD COLUMN probable_top1_agreement REAL;     -- where dense's top-1 probability ≥ 0.5
                ALTER TABLE calibration ADD COLUMN answers_compared INTEGER;          -- greedy answers compared with dense's
                ALTER TABLE calibration ADD COLUMN answers_changed INTEGER;           -- of them, differing within 32 tokens
                """)
        }

        return migrator
    }

    func migrate() throws {
        try Self.mapErrors(path: path, operation: "migrate") {
            let migrator = Self.migrator
            let superseded = try reader.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded { throw StoreError.schemaFromNewerVersion(path: path) }
            try migrator.migrate(writer)
        }
    }
}
