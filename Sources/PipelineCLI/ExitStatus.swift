import ArgumentParser
import Foundation

/// The documented exit codes (sysexits.h).
enum ExitStatus: Int32 {
    case ok = 0
    case usage = 64
    case dataError = 65
    case noInput = 66
    case software = 70
    case cantCreate = 73
    case tempFail = 75
}

/// An error the CLI knows how to report: its message and exit status. Each target's error enum
/// conforms in a file of its own (`Errors+<Target>.swift`); the targets themselves know nothing
/// of exit codes.
protocol CLIReportable: Error {
    var exitStatus: ExitStatus { get }
    var message: String { get }
}

/// A failure raised by the CLI itself.
struct CLIFailure: CLIReportable {
    let exitStatus: ExitStatus
    let message: String
    init(_ status: ExitStatus, _ message: String) {
        exitStatus = status
        self.message = message
    }
}

/// Runs a command body, turning any error into a message on stderr and a documented exit code.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as CLIReportable {
        FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
        throw ExitCode(e.exitStatus.rawValue)
    } catch let e as ExitCode {
        throw e
    } catch let e where e is CleanExit || e is ValidationError {
        throw e
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(ExitStatus.software.rawValue)
    }
}

/// For commands that are registered but whose capability has not landed: says so and exits 70.
func notImplemented(_ what: String) throws -> Never {
    FileHandle.standardError.write(Data("error: \(what) is not implemented yet\n".utf8))
    throw ExitCode(ExitStatus.software.rawValue)
}
