// A thread-safe flag: "stop taking work" for a runner, "stop this unit" for an executor. Set from
// signal handlers (SIGINT, SIGTERM), heartbeats (lease lost) or tests.
import Foundation
import Dispatch

public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var reasonText: String?

    public init() {}

    public var isRaised: Bool { lock.withLock { raised } }
    public var reason: String? { lock.withLock { reasonText } }

    public func raise(_ reason: String) {
        lock.withLock {
            if !raised { reasonText = reason }
            raised = true
        }
    }

    // MARK: Signals

    private static let signalSources = SignalSources()

    /// Raises this flag on SIGINT or SIGTERM (the signal's default action is disabled, so the
    /// runner can release its unit and exit cleanly). A second signal exits at once with
    /// 128 + signal; the abandoned lease then expires and the unit is redone by a later run.
    public func raiseOnTerminationSignals() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                if isRaised { exit(128 + signalNumber) }
                raise(signalNumber == SIGINT ? "SIGINT" : "SIGTERM")
            }
            source.resume()
            Self.signalSources.keep(source)
        }
    }
}

/// Keeps signal sources alive for the life of the process.
private final class SignalSources: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    func keep(_ source: any DispatchSourceSignal) { lock.withLock { sources.append(source) } }
}
