// A throw-away PostgreSQL cluster for the tests that need a real server: initdb + pg_ctl from
// Debian's packages (PIPELINE_TEST_PG_BIN, default the newest /usr/lib/postgresql/N/bin), in a temp folder,
// listening on 127.0.0.1 at a free port, trust authentication for user `pipeline`, no fsync.
// PostgreSQL refuses to run as root, so as root the cluster runs as `nobody` (runuser) in a
// folder chowned to it. One cluster per test process, started on first use; a watchdog process
// stops it and removes its folder within a second of the test process's exit, however it ends
// (no atexit handler: Swift and Foundation work during exit, with the test threads still running,
// once hung a test process after all its tests had passed).
//
// No PostgreSQL installed is a failure with a clear message, not a skip: a run that has no
// PostgreSQL says so explicitly with PIPELINE_TEST_NO_POSTGRES=1 (`PostgresTestServer.disabled`).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class PostgresTestServer: @unchecked Sendable {
    public let folder: String
    public let binaries: String
    public let port: Int
    public let user = "pipeline"
    /// Extra addresses it listens on besides 127.0.0.1, and the client networks (CIDR) it trusts
    /// besides loopback (network namespace tests).
    public let listenAddresses: [String]
    public let clientNetworks: [String]
    private let runAs: String?
    private let lock = NSLock()
    private var databaseCounter = 0

    /// True when the run has said it has no PostgreSQL (PIPELINE_TEST_NO_POSTGRES=1).
    public static var disabled: Bool { ProcessInfo.processInfo.environment["PIPELINE_TEST_NO_POSTGRES"] == "1" }

    /// PIPELINE_TEST_PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian's layout).
    public static var defaultBinaries: String {
        if let bin = ProcessInfo.processInfo.environment["PIPELINE_TEST_PG_BIN"] { return bin }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        return "/usr/lib/postgresql/\(versions.last ?? 15)/bin"
    }

    nonisolated(unsafe) private static var sharedServer: PostgresTestServer?
    private static let sharedLock = NSLock()

    /// The process's shared cluster, started on first call.
    public static func shared() throws -> PostgresTestServer {
        try sharedLock.withLock {
            if let sharedServer { return sharedServer }
            let server = try PostgresTestServer()
            sharedServer = server
            return server
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case notInstalled(String)
        case command(String, Int32, String)
        public var description: String {
            switch self {
            case .notInstalled(let path):
                "PostgreSQL is not installed (no \(path)/initdb): apt-get install -y postgresql, or set PIPELINE_TEST_PG_BIN, "
                    + "or run with PIPELINE_TEST_NO_POSTGRES=1 to say this run has no PostgreSQL"
            case .command(let what, let status, let output): "\(what) exited \(status): \(output)"
            }
        }
    }

    /// Starts a new cluster (most tests use `shared()`; fault tests start their own).
    public init(listenAddresses: [String] = [], clientNetworks: [String] = [],
                binaries: String = PostgresTestServer.defaultBinaries) throws {
        self.binaries = binaries
        self.listenAddresses = listenAddresses
        self.clientNetworks = clientNetworks
        guard FileManager.default.isExecutableFile(atPath: binaries + "/initdb") else { throw Failure.notInstalled(binaries) }
        runAs = getuid() == 0 ? "nobody" : nil
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if runAs != nil {
            try Self.command("/bin/chown", ["nobody:nogroup", folder])
            try Self.command("/bin/chmod", ["700", folder])
        }
        port = Self.freePort()
        try run("initdb", ["-D", folder + "/data", "-U", user, "--auth=trust", "-E", "UTF8", "--no-instructions", "--no-sync"])
        if !clientNetworks.isEmpty {
            let hba = folder + "/data/pg_hba.conf"
            let lines = clientNetworks.map { "host all all \($0) trust\n" }.joined()
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: hba))
            handle.seekToEndOfFile()
            handle.write(Data(lines.utf8))
            try handle.close()
        }
        try start()
        startWatchdog()
    }

    /// `postgres://pipeline@127.0.0.1:PORT/DATABASE`
    public func address(database: String, host: String = "127.0.0.1") -> String {
        "postgres://\(user)@\(host):\(port)/\(database)"
    }

    /// Creates a new, empty database and returns its name.
    public func createDatabase(prefix: String = "t") throws -> String {
        let name = lock.withLock {
            databaseCounter += 1
            return "\(prefix)_\(getpid())_\(databaseCounter)"
        }
        try psql("postgres", "CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL with psql (another client, another connection); returns its unaligned output rows.
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> [String] {
        let output = try Self.command(binaries + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                                           "-p", "\(port)", "-U", user, "-d", database, "-c", sql])
        return output.split(separator: "\n").map(String.init)
    }

    public func start() throws {
        let listen = (["127.0.0.1"] + listenAddresses).joined(separator: ",")
        try run("pg_ctl", ["-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60", "-o",
                           "-c listen_addresses=\(listen) -p \(port) -k \(folder) -c fsync=off -c synchronous_commit=off "
                           + "-c full_page_writes=off -c max_connections=200", "start"])
    }

    /// `fast`: sessions are ended, as a restart does; `immediate`: as a crash.
    public func stopServer(mode: String = "fast") throws {
        try run("pg_ctl", ["-D", folder + "/data", "-m", mode, "-w", "stop"])
    }

    /// Stops the cluster and removes its folder.
    public func stop() {
        _ = try? run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Stops the cluster and removes its folder once this process has ended, however it ends.
    private func startWatchdog() {
        let stop = (runAs.map { "/usr/sbin/runuser -u \($0) -- " } ?? "") + "\(binaries)/pg_ctl -D \(folder)/data -m immediate stop"
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf \(folder)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        if let runAs {
            return try Self.command("/usr/sbin/runuser", ["-u", runAs, "--", binaries + "/" + tool] + arguments)
        }
        return try Self.command(binaries + "/" + tool, arguments)
    }

    /// Runs a command to its end with posix_spawn + waitpid (Foundation's Process can miss the
    /// exit of `pg_ctl start`, whose server child keeps running); output captured in a file.
    @discardableResult
    static func command(_ executable: String, _ arguments: [String]) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure.command(executable, -1, String(cString: strerror(spawned))) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw Failure.command(([executable] + arguments).joined(separator: " "), exited ? code : -(status & 0x7f), output)
        }
        return output
    }

    /// A port nobody listens on now (bound to 0, read back, closed).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
