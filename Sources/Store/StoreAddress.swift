// Where a store lives, from `--db` / `PIPELINE_DB`: a file path (SQLite, the default) or an
// address with a scheme. Anything that starts with a scheme (`letters:` before any `/`) is an
// address, never a path: `postgres://` and `postgresql://` open PostgreSQL
// (USER[:PASSWORD]@HOST[:PORT]/DATABASE, as libpq's URIs without parameters); any other scheme is
// refused. A file whose name has a colon before any slash is written `./name`.
import Foundation

public enum StoreAddress: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresAddress)

    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let firstSlash = text.firstIndex(of: "/") ?? text.endIndex
        guard let colon = text.firstIndex(of: ":"), colon < firstSlash, let first = text.first, first.isLetter,
              text[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) })
        else {
            self = .sqlite(path: text)
            return
        }
        let scheme = text[..<colon].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError.unsupportedAddress(address: PostgresAddress.redacting(text), reason: "unsupported scheme \"\(scheme):\" (a store is a file path or postgres://USER@HOST:PORT/DATABASE)")
        }
        self = .postgres(try PostgresAddress(parsing: text, environment: environment))
    }
}

/// A PostgreSQL server and database. `description` never shows the password.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    public init(user: String, password: String?, host: String, port: Int = 5432, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `postgres[ql]://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE`. USER defaults to `$PGUSER`,
    /// then `$USER`; PASSWORD to `$PGPASSWORD`. Query parameters (sslmode…) are not supported.
    public init(parsing text: String, environment: [String: String] = [:]) throws {
        func refuse(_ reason: String) -> StoreError {
            StoreError.unsupportedAddress(address: Self.redacting(text), reason: reason)
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql"
        else { throw refuse("not a postgres://USER@HOST:PORT/DATABASE address") }
        guard components.query == nil, components.fragment == nil else {
            throw refuse("parameters (?…) are not supported: give USER@HOST:PORT/DATABASE only")
        }
        guard let host = components.host, !host.isEmpty else { throw refuse("no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw refuse("no database name after the host") }
        if let port = components.port, !(1...65535).contains(port) { throw refuse("port \(port) is out of range") }
        let user = components.user.flatMap { $0.removingPercentEncoding ?? $0 }
            ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        self.init(user: user,
                  password: components.password.flatMap { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"],
                  host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host,
                  port: components.port ?? 5432, database: database.removingPercentEncoding ?? database)
    }

    public var description: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// The text with any password replaced by `***` (for error messages).
    static func redacting(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }
}
