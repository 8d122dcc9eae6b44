import Foundation
import PostgresStore
import Store
import TestSupport
import Testing

/// The store implementations every contract test runs over: SQLite in memory and on disk, and
/// PostgreSQL on a real server the tests start (`PostgresTestServer`; a run without PostgreSQL
/// must say so with PIPELINE_TEST_NO_POSTGRES=1, else these tests fail).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory, onDisk, postgres
    var testDescription: String { rawValue }

    static var allCases: [StoreKind] { PostgresTestServer.disabled ? [.inMemory, .onDisk] : [.inMemory, .onDisk, .postgres] }
}

/// A settable clock, so that lease expiry is tested without sleeping.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: Double) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

/// A store of the given kind with its clock and (for disk) its folder, kept alive together.
struct StoreFixture {
    let store: any Store
    let clock: TestClock
    let folder: TemporaryDirectory

    init(_ kind: StoreKind) throws {
        let clock = TestClock()
        folder = TemporaryDirectory("store-test")
        switch kind {
        case .inMemory: store = try SQLiteStore(inMemory: { clock.now })
        case .onDisk: store = try SQLiteStore(path: folder.file("pipeline.sqlite"), now: { clock.now })
        case .postgres:
            // The server's clock, moved forward by what the test clock advanced.
            let start = clock.now
            store = try PostgresStore(address: try PostgresFixture.newDatabase(), clockOffset: { clock.now.timeIntervalSince(start) })
        }
        self.clock = clock
    }

    /// A job over `documents` (paths) with `prompts` prompts; `id` stands for the spec hash prefix.
    func submission(id: String = "aaaaaaaaaaaa", name: String = "job", documents: [String], prompts: Int = 2) -> JobSubmission {
        let job = JobRecord(id: id, name: name, specJSON: "{\"name\":\"\(name)\"}", specHash: id + String(repeating: "0", count: 52),
                            sourcePath: "/jobs/\(name).json", modelPath: nil, promptCount: prompts, submittedAt: clock.now)
        let records = documents.map { DocumentRecord(path: $0, contentHash: "hash-of-" + $0, byteCount: 100) }
        return JobSubmission(job: job, documents: records)
    }
}

func outputs(for lease: LeaseRecord, prompts: Int) -> [OutputRecord] {
    (0..<prompts).map { index in
        OutputRecord(unitID: lease.unitID, promptIndex: index, prompt: "prompt \(index)", text: "output \(index)",
                     promptTokenCount: 5, generatedTokenCount: 7, prefillSeconds: 0.01, decodeSeconds: 0.1,
                     finishReason: "length")
    }
}

func metrics(for lease: LeaseRecord, tokens: Int = 1000) -> MetricsRecord {
    MetricsRecord(unitID: lease.unitID, contentHash: "h", documentTokenCount: tokens, keptTokenCount: tokens,
                  truncatedHeadTokens: nil, truncatedTailTokens: nil, tokensIn: tokens + 10, tokensOut: 14,
                  prefillSeconds: 2, prefillTokensPerSecond: Double(tokens + 10) / 2, decodeSeconds: 0.2,
                  decodeTokensPerSecond: 70, documentPrefillSeconds: 1.9, perPromptPrefillSeconds: 3.9,
                  peakMemoryBytes: 1 << 20, strategyMix: "dense+f16", kvBytesInMemory: 4096, kvBytesOnDisk: 0,
                  wallSeconds: 2.5, runner: lease.owner)
}

/// New databases on the shared test cluster.
enum PostgresFixture {
    static func newDatabase() throws -> PostgresAddress {
        let server = try PostgresTestServer.shared()
        let name = try server.createDatabase()
        return PostgresAddress(user: server.user, password: nil, host: "127.0.0.1", port: server.port, database: name)
    }
}
