// Simulated machines for the fleet fault test: each host is a network namespace joined to this
// machine by a veth pair (10.231.K.2 inside, 10.231.K.1 on our side, where the test's PostgreSQL
// listens), made and removed by the test with iproute2; its runners also get a UTS namespace with
// the host's name, so leases and `status` show which machine runs what. Cutting a host's link
// sets our end of its veth down: packets are dropped, connections stall, nothing is reset.
//
// Needs root and `ip netns`. Where that is not available the test says so and falls back to
// runner processes on loopback, a cut link simulated by stopping the host's runners (SIGSTOP).
import Foundation

final class SimulatedHost: @unchecked Sendable {
    let name: String
    let namespace: String?
    let hostSide: String
    /// Our end of the link: the address the host's runners use to reach the server.
    let serverAddress: String
    let network: String

    /// Whether namespaces can be made here (root, iproute2, a probe namespace added and removed).
    /// PIPELINE_TEST_NO_NETNS=1 forces the loopback fallback (to test it where namespaces work).
    static let namespacesAvailable: Bool = {
        guard ProcessInfo.processInfo.environment["PIPELINE_TEST_NO_NETNS"] != "1", getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else { return false }
        let probe = "plprobe\(getpid() % 100_000)"
        guard (try? ip(["netns", "add", probe])) != nil else { return false }
        _ = try? ip(["netns", "del", probe])
        return true
    }()

    init(index: Int, name: String) throws {
        self.name = name
        let k = Int(getpid() % 100) * 2 + index + 10
        network = "10.231.\(k).0/30"
        guard Self.namespacesAvailable else {
            namespace = nil
            hostSide = ""
            serverAddress = "127.0.0.1"
            return
        }
        let tag = "pl\(getpid() % 100_000)\(index)"
        namespace = tag
        hostSide = tag + "h"
        serverAddress = "10.231.\(k).1"
        let inside = tag + "n"
        try Self.ip(["netns", "add", tag])
        try Self.ip(["link", "add", hostSide, "type", "veth", "peer", "name", inside])
        try Self.ip(["link", "set", inside, "netns", tag])
        try Self.ip(["addr", "add", "\(serverAddress)/30", "dev", hostSide])
        try Self.ip(["link", "set", hostSide, "up"])
        try Self.ip(["netns", "exec", tag, "ip", "addr", "add", "10.231.\(k).2/30", "dev", inside])
        try Self.ip(["netns", "exec", tag, "ip", "link", "set", inside, "up"])
        try Self.ip(["netns", "exec", tag, "ip", "link", "set", "lo", "up"])
    }

    /// The command line that runs `arguments` on this host.
    func command(_ arguments: [String]) -> (String, [String]) {
        guard let namespace else { return (arguments[0], Array(arguments.dropFirst())) }
        return ("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/bin/unshare", "--uts", "/bin/sh", "-c",
                                 "hostname \(name) && exec \"$0\" \"$@\""] + arguments)
    }

    func cutLink() throws { try Self.ip(["link", "set", hostSide, "down"]) }
    func restoreLink() throws { try Self.ip(["link", "set", hostSide, "up"]) }

    func remove() {
        guard let namespace else { return }
        _ = try? Self.ip(["link", "del", hostSide])
        _ = try? Self.ip(["netns", "del", namespace])
    }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw IPFailure(message: "ip \(arguments.joined(separator: " ")): \(output)") }
        return output
    }

    struct IPFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
