import Foundation
@testable import StackCommands

/// A docker stand-in inside the test process: answers each invocation from a script of
/// (argv prefix → result) and records every invocation it was given.
final class ScriptedRunner: DockerRunning, @unchecked Sendable {
    struct Answer {
        var prefix: [String]
        var output: CapturedOutput
        /// What the real command left behind besides its output (an iidfile, say).
        var effect: (@Sendable (DockerInvocation) -> Void)? = nil
        /// Arguments that must also appear anywhere in the invocation (`--iidfile`, `--load`).
        var containing: [String] = []

        func matches(_ invocation: DockerInvocation) -> Bool {
            invocation.arguments.starts(with: prefix) && containing.allSatisfy(invocation.arguments.contains)
        }
    }

    let program = "docker"
    let composeProgram = "docker-compose"
    private let lock = NSLock()
    private var answers: [Answer]
    private(set) var invocations: [DockerInvocation] = []

    init(_ answers: [Answer]) {
        self.answers = answers
    }

    /// Answers `prefix` with a recorded real fixture's output and exit code.
    static func fixture(_ prefix: [String], _ name: String) throws -> Answer {
        let fixture = try Fixture.load(name)
        return Answer(prefix: prefix, output: CapturedOutput(status: .exited(fixture.exitCode), stdout: fixture.output, stderr: ""))
    }

    /// The value following `flag` in an invocation's arguments.
    static func value(of flag: String, in invocation: DockerInvocation) -> String? {
        invocation.arguments.firstIndex(of: flag).flatMap { invocation.arguments.indices.contains($0 + 1) ? invocation.arguments[$0 + 1] : nil }
    }

    static func exit(_ prefix: [String], _ code: Int32, stdout: String = "", stderr: String = "") -> Answer {
        Answer(prefix: prefix, output: CapturedOutput(status: .exited(code), stdout: stdout, stderr: stderr))
    }

    private func answer(_ invocation: DockerInvocation) -> CapturedOutput {
        lock.withLock {
            invocations.append(invocation)
            guard let answer = answers.first(where: { $0.matches(invocation) }) else {
                return CapturedOutput(status: .exited(127), stdout: "", stderr: "ScriptedRunner: no answer for \(invocation.arguments)")
            }
            answer.effect?(invocation)
            return answer.output
        }
    }

    func stream(_ invocation: DockerInvocation, lines: (@Sendable (String) -> Void)?) throws -> ProcessStatus {
        let output = answer(invocation)
        if let lines {
            (output.stdout + output.stderr).split(separator: "\n").forEach { lines(String($0)) }
        }
        return output.status
    }

    func capture(_ invocation: DockerInvocation, timeout: Double?) throws -> CapturedOutput {
        answer(invocation)
    }

    /// Recorded like any other invocation; the answer's exit code stands for docker's.
    func replaceProcess(with invocation: DockerInvocation) -> Int32 {
        if case .exited(let code) = answer(invocation).status { return code }
        return 1
    }
}

/// Collects what a command printed, split the way a terminal would see it.
final class RecordingConsole: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""

    var stdout: String { lock.withLock { outText } }
    var stderr: String { lock.withLock { errText } }

    lazy var console = Console(
        out: { [unowned self] text in self.lock.withLock { self.outText += text } },
        err: { [unowned self] text in self.lock.withLock { self.errText += text } }
    )
}
