import Foundation

/// One docker command line: which program, the arguments after it, and environment
/// variables set on top of the inherited environment.
public struct DockerInvocation: Equatable, Hashable, Sendable {
    public enum Tool: Equatable, Hashable, Sendable {
        /// The docker CLI (`STACK_DOCKER`, else `docker`).
        case docker
        /// The standalone Compose v1 program, where the CLI has no `compose` plugin.
        case composeV1
    }

    public var tool: Tool
    public var arguments: [String]
    public var environment: [String: String]

    public init(_ arguments: [String], environment: [String: String] = [:], tool: Tool = .docker) {
        self.tool = tool
        self.arguments = arguments
        self.environment = environment
    }

    /// The command as a person would paste it into a shell.
    public func commandLine(program: String) -> String {
        let assignments = environment.keys.sorted().map { "\($0)=\(ShellQuoting.quote(environment[$0]!))" }
        return (assignments + [ShellQuoting.quote(program)] + arguments.map(ShellQuoting.quote)).joined(separator: " ")
    }
}

public enum ProcessStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    /// Killed by the runner because it outlived its bound.
    case timedOut(seconds: Double)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signalled(let signal): return "was killed by signal \(signal)"
        case .timedOut(let seconds): return "did not finish within \(Int(seconds)) s and was stopped"
        }
    }
}

public struct CapturedOutput: Equatable, Sendable {
    public var status: ProcessStatus
    public var stdout: String
    public var stderr: String

    public init(status: ProcessStatus, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The one seam between `stack` and Docker: every docker process starts here. Everything
/// above it turns requests into `DockerInvocation`s, which tests can check without a daemon.
public protocol DockerRunning: Sendable {
    /// The docker program as the user named it (`docker`, or `STACK_DOCKER`), for messages and dry runs.
    var program: String { get }
    /// The standalone compose program as the user named it (`docker-compose`, or `STACK_DOCKER_COMPOSE`).
    var composeProgram: String { get }
    /// Runs the command to its end. With `lines` nil, stdin, stdout and stderr are inherited,
    /// so docker's progress display reaches the user unchanged; otherwise stdout and stderr
    /// are read together and handed over line by line (for phases that run side by side).
    func stream(_ invocation: DockerInvocation, lines: (@Sendable (String) -> Void)?) throws -> ProcessStatus
    /// Runs with stdout and stderr collected; stopped with SIGKILL once `timeout` seconds pass.
    func capture(_ invocation: DockerInvocation, timeout: Double?) throws -> CapturedOutput
    /// Replaces this process with docker (the wrapper's pass-through), so docker's output,
    /// signals and exit code are its own; returns only when that fails, with the exit code.
    func replaceProcess(with invocation: DockerInvocation) -> Int32
}

extension DockerRunning {
    public func commandLine(_ invocation: DockerInvocation) -> String {
        invocation.commandLine(program: invocation.tool == .docker ? program : composeProgram)
    }

    /// Runs and fails with `StackError.stepFailed` unless docker exits 0; returns its stdout.
    @discardableResult
    public func checked(_ invocation: DockerInvocation, phase: String, timeout: Double? = nil) throws -> String {
        let result = try capture(invocation, timeout: timeout)
        guard result.status.succeeded else {
            let said = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            throw StackError.stepFailed(phase: phase, message: "`\(commandLine(invocation))` \(result.status): \(said)")
        }
        return result.stdout
    }
}

public enum ShellQuoting {
    private static let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-")

    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
