import GGUF
import Model

extension ModelError: CLIReportable {
    var exitStatus: ExitStatus {
        switch self {
        case let .file(e): e.exitStatus
        case .contextOverflow, .invalidToken, .emptyPrompt: .dataError
        case .kvCache(.unsupportedGeometry): .dataError
        case .kvCache: .software
        default: .dataError
        }
    }
    var message: String { description }
}

extension GGUFError: CLIReportable {
    var exitStatus: ExitStatus {
        if case let .cannotOpen(_, reason) = self, reason.contains("No such file") { return .noInput }
        return .dataError
    }
    var message: String { description }
}
