// GRDB conformances of the store's plain Codable records: their tables (columns are the records' CodingKeys).
import GRDB

extension JobRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job"
}

extension DocumentRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "document"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension UnitRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "unit"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension LeaseRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "lease"
}

extension OutputRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "output"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension MetricsRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "metrics"
}
