// Machine profiles: appended by `pipeline calibrate` (and refits from recorded runs), the newest
// read by the router's cost model. Rows are never updated, so a refit can be compared with the
// calibration it refined.
import Foundation
import GRDB

extension SQLiteStore {
    public func saveMachineProfile(json: Data, threads: Int, source: String) throws {
        try write("save machine profile") { db in
            try db.execute(sql: "INSERT INTO machine_profiles (measured_at, threads, profile_json, source) VALUES (?, ?, ?, ?)",
                           arguments: [now(), threads, String(decoding: json, as: UTF8.self), source])
        }
    }

    public func latestMachineProfile(threads: Int?) throws -> Data? {
        try read("read machine profile") { db in
            let text: String? = if let threads {
                try String.fetchOne(db, sql: "SELECT profile_json FROM machine_profiles WHERE threads = ? ORDER BY id DESC LIMIT 1",
                                    arguments: [threads])
            } else {
                try String.fetchOne(db, sql: "SELECT profile_json FROM machine_profiles ORDER BY id DESC LIMIT 1")
            }
            return text.map { Data($0.utf8) }
        }
    }
}
