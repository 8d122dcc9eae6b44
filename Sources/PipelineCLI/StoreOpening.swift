import Foundation
import PostgresStore
import Store

/// Opens the store an address names (`StoreAddress`): a path is SQLite, `postgres://` is
/// PostgreSQL; any other scheme is a usage error (64), never a path.
/// `readOnly`: a reader (status, results, plan, report) that never creates a store.
func openStore(_ text: String, createIfMissing: Bool = true, readOnly: Bool = false) throws -> any Store {
    switch try StoreAddress(parsing: text) {
    case .sqlite(let path): try SQLiteStore(path: path, createIfMissing: createIfMissing, readOnly: readOnly)
    case .postgres(let address): try PostgresStore(address: address, createIfMissing: createIfMissing && !readOnly)
    }
}

extension StoreOptions {
    /// The store of `--db` / `PIPELINE_DB` / the default file.
    func open(createIfMissing: Bool = true, readOnly: Bool = false) throws -> any Store {
        try openStore(databasePath, createIfMissing: createIfMissing, readOnly: readOnly)
    }
}

extension StoreOptions {
    /// The store in messages: its path, or its address without the password.
    var displayName: String {
        switch try? StoreAddress(parsing: databasePath) {
        case .postgres(let address): address.description
        case .sqlite(let path): path
        case nil: databasePath
        }
    }
}
