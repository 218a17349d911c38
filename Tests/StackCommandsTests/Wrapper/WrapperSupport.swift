import Foundation
@testable import StackCommands

/// The docker wrapper run inside the test process against a `ScriptedRunner`: what docker was
/// asked, what the wrapper said, and the environment it handed the runner.
final class WrapperHarness: @unchecked Sendable {
    static let remote = "buildx-v0.24.0/03-buildx-inspect-helix-shared-reachable"
    static let dockerDriver = "buildx-v0.24.0/04-buildx-inspect-default-reachable"

    let runner: ScriptedRunner
    let output = RecordingConsole()
    private let lock = NSLock()
    private var handedEnvironment: [String: String]?

    /// `inspect` answers with the recorded builder (`remote`: helix-shared, remote driver;
    /// `dockerDriver`: default); `images` knows no tag unless `localImage` is given; builds
    /// exit with `buildExit`; `more` answers first.
    init(builder: String = remote, localImage: String? = nil, buildExit: Int32 = 0, _ more: [ScriptedRunner.Answer] = []) throws {
        runner = ScriptedRunner(more + [
            try ScriptedRunner.fixture(["buildx", "inspect"], builder),
            ScriptedRunner.exit(["images"], 0, stdout: localImage.map { $0 + "\n" } ?? ""),
            ScriptedRunner.exit(["buildx", "build"], buildExit),
        ])
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) -> Int32 {
        let world = RunEnvironment(
            environment: environment,
            currentDirectory: FileManager.default.temporaryDirectory,
            console: output.console,
            cancellator: Cancellator(),
            makeRunner: { [self] handed in
                lock.withLock { handedEnvironment = handed }
                return runner
            }
        )
        return DockerWrapper.run(arguments: arguments, world: world)
    }

    var invocations: [[String]] { runner.invocations.map(\.arguments) }
    var builds: [[String]] { invocations.filter { $0.starts(with: ["buildx", "build"]) } }
    var environment: [String: String]? { lock.withLock { handedEnvironment } }
}

/// A machine with the wrapper installed, in a temporary folder: `wrapper/docker` is a symlink
/// to the built `stack`, and `real/docker`, later on PATH, is FakeDocker/fake-docker, with its
/// rules and log beside it. `work/` is where commands run.
struct WrapperSandbox {
    static let fakeDocker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FakeDocker/fake-docker")

    let temporary: TemporaryDirectory
    var work: URL { temporary.url.appendingPathComponent("work") }
    var wrapper: URL { temporary.url.appendingPathComponent("wrapper/docker") }
    var stdinFile: URL { temporary.url.appendingPathComponent("fake-docker.stdin") }
    private var rulesFile: URL { temporary.url.appendingPathComponent("fake-docker.rules") }
    private var logFile: URL { temporary.url.appendingPathComponent("fake-docker.log") }

    init() throws {
        temporary = try TemporaryDirectory("stack-wrapper")
        let files = FileManager.default
        try files.createDirectory(at: work, withIntermediateDirectories: true)
        try files.createDirectory(at: wrapper.deletingLastPathComponent(), withIntermediateDirectories: true)
        try files.createSymbolicLink(at: wrapper, withDestinationURL: StackProcess.executable)
        let real = temporary.url.appendingPathComponent("real/docker")
        try files.createDirectory(at: real.deletingLastPathComponent(), withIntermediateDirectories: true)
        try files.createSymbolicLink(at: real, withDestinationURL: Self.fakeDocker)
        try rules([])
    }

    /// `(argv prefix, fixture file)` pairs; the first match wins.
    func rules(_ rules: [(prefix: String, fixture: URL)]) throws {
        try Data(rules.map { "\($0.prefix)\t\($0.fixture.path)\n" }.joined().utf8).write(to: rulesFile)
    }

    func recording(_ name: String) -> URL {
        Fixture.directory.appendingPathComponent(name + ".txt")
    }

    /// A file in the fixtures' layout for fake-docker to replay where no real recording fits.
    /// It is not a recording: `source` says where its output comes from.
    func standIn(_ name: String, output: String, exitCode: Int32, source: String) throws -> URL {
        let file = temporary.url.appendingPathComponent("stand-ins/\(name).txt")
        try temporary.write("stand-ins/\(name).txt", "$ \(name)\n# env: stand-in, \(source)\n\(output)\n# exit code: \(exitCode)\n")
        return file
    }

    /// `docker ARGUMENTS` as a shell runs it: `docker` looked up on PATH (the wrapper first, the
    /// fake further down), so stack sees `docker` as its argv[0]. Nothing of the test runner's
    /// environment is inherited, so no BUILDX_BUILDER or DOCKER_CONTEXT of the user's can pick
    /// the builder, and DOCKER_HOST names a socket where no daemon listens.
    func docker(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:]) throws -> StackProcess.Result {
        try run(URL(fileURLWithPath: "/usr/bin/env"), ["docker"] + arguments, stdin: stdin, environment: extra)
    }

    /// `stack docker ARGUMENTS`, the subcommand, in the same setting.
    func stackDocker(_ arguments: [String], environment extra: [String: String] = [:]) throws -> StackProcess.Result {
        try run(StackProcess.executable, ["docker"] + arguments, stdin: nil, environment: extra)
    }

    private func run(_ executable: URL, _ arguments: [String], stdin: String?, environment extra: [String: String]) throws -> StackProcess.Result {
        var environment = [
            "PATH": [wrapper.deletingLastPathComponent().path, temporary.url.appendingPathComponent("real").path, "/usr/bin", "/bin"].joined(separator: ":"),
            "FAKE_DOCKER_RULES": rulesFile.path,
            "FAKE_DOCKER_LOG": logFile.path,
            "FAKE_DOCKER_STDIN": stdinFile.path,
            "DOCKER_HOST": "unix://\(temporary.url.path)/no-daemon.sock",
            "DOCKER_CONFIG": temporary.url.appendingPathComponent("docker-config").path,
        ]
        environment.merge(extra) { _, new in new }
        return try StackProcess.run(arguments, in: work, environment: environment, inheriting: false, stdin: stdin, program: executable)
    }

    func invocations() throws -> [BuilderResolutionTests.LoggedInvocation] {
        guard FileManager.default.fileExists(atPath: logFile.path) else { return [] }
        return try String(contentsOf: logFile, encoding: .utf8).split(separator: "\n")
            .map(BuilderResolutionTests.LoggedInvocation.init(logLine:))
    }
}
