// Calibration rows: appended by `pipeline eval`, read by the router's fidelity table.
import GRDB

extension CalibrationRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "calibration"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension SQLiteStore {
    @discardableResult
    public func record(_ calibration: CalibrationRecord) throws -> CalibrationRecord {
        try write("record calibration of \(calibration.strategy)") { db in
            var row = calibration
            try row.insert(db)
            return row
        }
    }

    public func calibrations() throws -> [CalibrationRecord] {
        try read("read calibrations") { db in try CalibrationRecord.order(Column("id")).fetchAll(db) }
    }
}
