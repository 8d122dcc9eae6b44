// Keeps a unit's lease alive while its runner works: renews it every `interval` seconds on a
// background queue. When renewal finds the lease gone (it expired and another runner took the
// unit), it raises `lost`, which the executor sees through `isCancelled`; the runner then writes
// nothing for the unit. Transient store errors (busy) are retried at the next beat.
import Foundation
import Dispatch
import Store

final class Heartbeat: @unchecked Sendable {
    private let timer: any DispatchSourceTimer
    let lost = StopFlag()

    init(store: any Store, lease: LeaseRecord, leaseSeconds: Double, interval: Double) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "pipeline.heartbeat.\(lease.unitID)"))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler { [lost] in
            guard !lost.isRaised else { return }
            do {
                try store.renew(lease, leaseSeconds: leaseSeconds)
            } catch StoreError.leaseLost {
                lost.raise("lease on unit \(lease.unitID) lost")
            } catch {
                // Busy or transient: the lease has `leaseSeconds` of slack; try again next beat.
            }
        }
        timer.resume()
    }

    func stop() { timer.cancel() }
}
