import Store

/// How store failures read and exit: a busy store is temporary (75, cron retries), a missing
/// store or job is missing input (66), a file that is not a store is bad data (65).
extension StoreError: CLIReportable {
    var exitStatus: ExitStatus {
        switch self {
        case .storeMissing, .cannotOpen, .jobNotFound: .noInput
        case .notADatabase, .notAPipelineStore, .corrupt, .schemaFromNewerVersion: .dataError
        case .busy, .leaseLost, .unreachable: .tempFail
        case .inconsistent, .database, .server: .software
        case .unsupportedAddress: .usage
        case .copyRefused: .dataError
        }
    }

    var message: String {
        switch self {
        case .storeMissing(let path):
            "no store at \(path): submit a job first (or pass --db / set PIPELINE_DB)"
        case .cannotOpen(let path, let reason):
            "cannot open the store \(path): \(reason)"
        case .notADatabase(let path):
            "\(path) is not a pipeline store (not an SQLite database)"
        case .notAPipelineStore(let path, let tables):
            "\(path) is a database but not a pipeline store (its tables: \(tables.prefix(8).joined(separator: ", "))); nothing was written"
        case .corrupt(let path, let detail):
            "the store \(path) is damaged: \(detail); restore it from a backup"
        case .schemaFromNewerVersion(let path):
            "the store \(path) was written by a newer version of pipeline"
        case .busy(let path, let operation):
            "the store \(path) is busy (\(operation)); try again later"
        case .jobNotFound(let reference):
            "no job with id or name \"\(reference)\""
        case .leaseLost(let unitID, let owner):
            "runner \(owner) lost its lease on unit \(unitID)"
        case .inconsistent(let path, let detail):
            "the store \(path) is inconsistent: \(detail)"
        case .database(let path, let operation, let code, let message):
            "store \(path): \(operation) failed: SQLite error \(code): \(message)"
        case .unsupportedAddress(let address, let reason):
            "--db \(address): \(reason)"
        case .unreachable(let address, let reason):
            "the store \(address) is unreachable (\(reason)); try again later"
        case .server(let address, let operation, let sqlState, let message):
            "store \(address): \(operation) failed: PostgreSQL error \(sqlState): \(message)"
        case .copyRefused(let reason):
            "store copy refused: \(reason)"
        }
    }
}
