import Foundation
import Store

/// `status`: which machine runs what — live leases grouped by the runner's host.
struct HostLine: Encodable, Equatable {
    var host: String
    /// Runner identities (`host:pid:random`) holding leases on this host.
    var runners: [String]
    var units: [Int64]
    /// Seconds until the soonest of its leases expires unless renewed.
    var soonestExpirySeconds: Double

    enum CodingKeys: String, CodingKey {
        case host, runners, units
        case soonestExpirySeconds = "soonest_expiry_seconds"
    }

    /// One line per host, hosts in name order; only the leases of `jobID` when given.
    static func lines(_ leases: [ActiveLease], jobID: String?) -> [HostLine] {
        let chosen = leases.filter { jobID == nil || $0.jobID == jobID }
        return Dictionary(grouping: chosen, by: \.host).map { host, leases in
            HostLine(host: host, runners: Array(Set(leases.map(\.owner))).sorted(), units: leases.map(\.unitID).sorted(),
                     soonestExpirySeconds: leases.map(\.expiresInSeconds).min() ?? 0)
        }.sorted { $0.host < $1.host }
    }

    static func printText(_ lines: [HostLine]) {
        guard !lines.isEmpty else { return }
        print("")
        print("runners by host (live leases):")
        for line in lines {
            print("  \(line.host): \(line.units.count) units, \(line.runners.count) runners (\(line.runners.joined(separator: ", ")))"
                  + String(format: ", next expiry in %.0f s unless renewed", line.soonestExpirySeconds))
        }
    }
}
