import Foundation
import Testing
import TestSupport

/// The `pipeline` binary with store addresses: schemes are addresses (never paths), a server that
/// is not there is temporary (75), a foreign database is bad data (65), and `store copy` moves a
/// store with its outputs from SQLite to PostgreSQL.
@Suite struct FleetCLITests {
    @Test func anUnsupportedSchemeIsAUsageErrorAndNeverAPath() throws {
        let w = Workspace()
        let job = w.job("j")
        for address in ["mysql://h/db", "postgres:db", "sqlite://x.sqlite"] {
            let result = try Processes.pipeline(["submit", job], database: address, in: w.folder.path)
            #expect(result.status == 64, "\(address): \(result.stderr)")
            #expect(result.stderr.contains("--db"), "\(result.stderr)")
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: w.folder.path)
        #expect(!entries.contains { $0.contains(":") }, "\(entries)")
    }

    @Test func anUnreachableServerExits75() throws {
        let w = Workspace()
        let address = "postgres://pipeline@127.0.0.1:\(PostgresTestServer.freePort())/nothing"
        let result = try Processes.pipeline(["status"], database: address, in: w.folder.path)
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.stderr.contains("unreachable"), "\(result.stderr)")
    }

    @Test(.enabled(if: !PostgresTestServer.disabled, "PIPELINE_TEST_NO_POSTGRES=1: this run has no PostgreSQL"))
    func aForeignDatabaseExits65AndStaysUntouched() throws {
        let w = Workspace()
        let server = try PostgresTestServer.shared()
        let database = try server.createDatabase(prefix: "foreign")
        try server.psql(database, "CREATE TABLE customers (id int)")
        let result = try Processes.pipeline(["submit", w.job("j")], database: server.address(database: database), in: w.folder.path)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("not a pipeline store"), "\(result.stderr)")
        #expect(try server.psql(database, "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'")
                == ["customers"])
    }

    @Test(.enabled(if: !PostgresTestServer.disabled, "PIPELINE_TEST_NO_POSTGRES=1: this run has no PostgreSQL"))
    func storeCopyMovesJobsAndOutputsToPostgres() throws {
        let w = Workspace()
        _ = SyntheticModel.chat(seed: 11).write(in: w.folder, name: "models/tiny.gguf")
        w.documents(3, words: 20)
        let job = w.job("moved", prompts: ["A?", "B?"], extra: ["model": "../models/tiny.gguf", "max_new_tokens": 3])
        #expect(try Processes.pipeline(["submit", job], database: w.databasePath, in: w.folder.path).status == 0)
        let run = try Processes.pipeline(["run", "--once", "--threads", "1"], database: w.databasePath, in: w.folder.path)
        #expect(run.status == 0, "\(run.stderr)")

        let server = try PostgresTestServer.shared()
        let target = server.address(database: try server.createDatabase(prefix: "copy"))
        let copy = try Processes.pipeline(["store", "copy", "--from", w.databasePath, "--to", target, "--json"], database: "unused",
                                          in: w.folder.path)
        #expect(copy.status == 0, "\(copy.stderr)")
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(copy.stdout.utf8)) as? [String: Int])
        #expect(counts["jobs"] == 1 && counts["units"] == 3 && counts["done"] == 1 && counts["outputs"] == 2 && counts["metrics"] == 1)

        let before = try Processes.pipeline(["results", "moved", "--jsonl"], database: w.databasePath, in: w.folder.path)
        let after = try Processes.pipeline(["results", "moved", "--jsonl"], database: target, in: w.folder.path)
        #expect(after.status == 0 && after.stdout == before.stdout && !after.stdout.isEmpty, "\(after.stderr)")

        // The copied queue runs on the new store; a second copy into it is refused.
        let rest = try Processes.pipeline(["run", "--threads", "1"], database: target, in: w.folder.path)
        #expect(rest.status == 0, "\(rest.stderr)")
        let status = try Processes.pipeline(["status", "moved", "--json"], database: target, in: w.folder.path)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect((json["jobs"] as? [[String: Any]])?.first?["done"] as? Int == 3)
        let again = try Processes.pipeline(["store", "copy", "--from", w.databasePath, "--to", target], database: "unused", in: w.folder.path)
        #expect(again.status == 65 && again.stderr.contains("not empty"), "\(again.stderr)")
    }
}
