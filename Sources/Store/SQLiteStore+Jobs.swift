// Submitting jobs and looking them up.
import Foundation
import GRDB

extension SQLiteStore {
    public func submit(_ submission: JobSubmission) throws -> SubmitReceipt {
        try write("submit job \(submission.job.id)") { db in
            let jobID = submission.job.id
            let created: Bool
            if try JobRecord.exists(db, key: jobID) {
                created = false
            } else {
                var job = submission.job
                let last = try Int64.fetchOne(db, sql: "SELECT max(sequence) FROM job") ?? 0
                job.sequence = last + 1
                try job.insert(db)
                created = true
            }
            var added = 0
            let timestamp = now()
            for var document in submission.documents {
                document.id = try Int64.fetchOne(db, sql: "SELECT id FROM document WHERE path = ? AND content_hash IS ?",
                                                 arguments: [document.path, document.contentHash])
                if document.id == nil { try document.insert(db) }
                guard let documentID = document.id else {
                    throw StoreError.inconsistent(path: path, detail: "document \(document.path) has no id after insert")
                }
                let known = try UnitRecord.filter(Column("job_id") == jobID && Column("document_id") == documentID)
                    .fetchCount(db) > 0
                if !known {
                    var unit = UnitRecord(jobID: jobID, documentID: documentID, createdAt: timestamp)
                    try unit.insert(db)
                    added += 1
                }
            }
            let count = try UnitRecord.filter(Column("job_id") == jobID).fetchCount(db)
            return SubmitReceipt(jobID: jobID, created: created, unitsAdded: added, unitCount: count)
        }
    }

    public func job(_ reference: String) throws -> JobRecord {
        let found = try read("find job \(reference)") { db -> JobRecord? in
            if let job = try JobRecord.fetchOne(db, key: reference) { return job }
            return try JobRecord.filter(Column("name") == reference).order(Column("sequence").desc).fetchOne(db)
        }
        guard let found else { throw StoreError.jobNotFound(reference: reference) }
        return found
    }

    public func jobs() throws -> [JobRecord] {
        try read("list jobs") { db in try JobRecord.order(Column("sequence")).fetchAll(db) }
    }
}
