import Foundation

/// Everything that can go wrong in the store, as data. The CLI maps these to messages and exit
/// codes (`Errors+Store.swift`).
public enum StoreError: Error, Equatable, Sendable {
    /// No store file at this path (status/results before anything was submitted).
    case storeMissing(path: String)
    /// The file could not be opened or created (permissions, missing folder…).
    case cannotOpen(path: String, reason: String)
    /// The file is not an SQLite database.
    case notADatabase(path: String)
    /// An SQLite database of something else (it has tables, but not a pipeline store's): never written.
    case notAPipelineStore(path: String, tables: [String])
    /// The database file is damaged (truncated, overwritten): SQLite reports it malformed.
    case corrupt(path: String, detail: String)
    /// The store was migrated by a newer version of this program.
    case schemaFromNewerVersion(path: String)
    /// Another process held the database longer than the busy timeout.
    case busy(path: String, operation: String)
    /// No job with this id or name.
    case jobNotFound(reference: String)
    /// The lease on this unit expired and was taken by another runner, or released.
    case leaseLost(unitID: Int64, owner: String)
    /// A row the schema promises is missing (foreign data, manual edits).
    case inconsistent(path: String, detail: String)
    /// Any other SQLite error, with its extended result code.
    case database(path: String, operation: String, code: Int32, message: String)

    // Addresses and servers (PostgreSQL).
    /// `--db` has a scheme this program does not speak, or a malformed postgres:// address.
    case unsupportedAddress(address: String, reason: String)
    /// The server cannot be reached, refused the connection, or dropped it (restart, network).
    case unreachable(address: String, reason: String)
    /// Any other server error, with its SQLSTATE.
    case server(address: String, operation: String, sqlState: String, message: String)
    /// `store copy`: the destination already holds jobs, or runners still hold live leases.
    case copyRefused(reason: String)
}
