import Foundation
@testable import StackCommands

/// A throw-away machine for `setup-builder` and `doctor`, run as the built `stack` with
/// `--root`: a workspace (`ws/`), a system tree (`root/`, holding /etc, /usr/local/bin and the
/// home folder), and FakeDocker/fake-docker's rules and log beside them.
struct Machine {
    typealias Recording = BuilderResolutionTests.Recording
    typealias LoggedInvocation = BuilderResolutionTests.LoggedInvocation

    /// $HOME as the commands see it; ~/.bashrc is `root/home/dev/.bashrc`.
    static let home = "/home/dev"
    static let bashrc = home + "/.bashrc"
    static let environmentFile = "/etc/environment"
    static let profileScript = "/etc/profile.d/stack-buildx.sh"
    static let fakeDocker = BuilderResolutionTests.ZedWorkspace.fakeDocker.path
    /// The real 28.x CLI of this machine, which has no buildx plugin.
    static let realDocker = "/usr/local/bin/docker"
    static var stack: String { SystemDockerRunner.realPath(StackProcess.executable.path) ?? StackProcess.executable.path }

    let temporary: TemporaryDirectory
    var workspace: URL { temporary.url.appendingPathComponent("ws") }
    var root: URL { temporary.url.appendingPathComponent("root") }
    private var rulesFile: URL { temporary.url.appendingPathComponent("fake-docker.rules") }
    private var logFile: URL { temporary.url.appendingPathComponent("fake-docker.log") }

    /// `builder` is stack.yaml's `builder` section, `extra` any further top-level YAML.
    init(builder: String = "name: helix-shared", extra: String = "") throws {
        temporary = try TemporaryDirectory("stack-setup")
        let section = builder.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n")
        try temporary.write("ws/stack.yaml", "builder:\n\(section)\n\(extra)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent(String(Self.home.dropFirst())), withIntermediateDirectories: true)
        try rules([])
    }

    /// A system path (`/etc/environment`) inside this machine's root.
    func system(_ path: String) -> URL {
        root.appendingPathComponent(String(path.dropFirst()))
    }

    func writeSystemFile(_ path: String, _ text: String) throws {
        try temporary.write("root" + path, text)
    }

    func readSystemFile(_ path: String) throws -> String {
        try temporary.read("root" + path)
    }

    /// `(argv prefix, fixture)` pairs for fake-docker; the first match wins. A fixture is a
    /// name under Fixtures/ (`buildx-v0.24.0/03-…`) or an absolute path.
    func rules(_ rules: [(prefix: String, fixture: String)]) throws {
        let lines = rules.map { rule in
            let path = rule.fixture.hasPrefix("/") ? rule.fixture : Fixture.directory.appendingPathComponent(rule.fixture + ".txt").path
            return "\(rule.prefix)\t\(path)\n"
        }
        try Data(lines.joined().utf8).write(to: rulesFile)
    }

    /// `stack ARGUMENTS --workspace ws --root root`, inheriting nothing from whoever runs the
    /// tests (their BUILDX_BUILDER or HOME must not count). DOCKER_HOST names a socket where
    /// no daemon listens and DOCKER_CONFIG an empty folder, so a real CLI touches neither a
    /// daemon nor the user's docker config and plugins.
    func stack(_ arguments: [String], docker: String = Machine.fakeDocker, path: String = "/usr/local/bin:/usr/bin:/bin",
               environment extra: [String: String] = [:]) throws -> StackProcess.Result {
        var environment = [
            "HOME": Self.home,
            "PATH": path,
            "STACK_DOCKER": docker,
            "FAKE_DOCKER_RULES": rulesFile.path,
            "FAKE_DOCKER_LOG": logFile.path,
            "DOCKER_HOST": "unix://\(temporary.url.path)/no-daemon.sock",
            "DOCKER_CONFIG": temporary.url.appendingPathComponent("docker-config").path,
        ]
        environment.merge(extra) { _, new in new }
        return try StackProcess.run(arguments + ["--workspace", workspace.path, "--root", root.path], in: workspace,
                                    environment: environment, inheriting: false)
    }

    func invocations() throws -> [LoggedInvocation] {
        guard FileManager.default.fileExists(atPath: logFile.path) else { return [] }
        return try String(contentsOf: logFile, encoding: .utf8).split(separator: "\n").map(LoggedInvocation.init(logLine:))
    }

    /// Every path under the root with its bytes, or `-> destination` for a link, to show that
    /// a run left the tree exactly as it was.
    func snapshot() throws -> [String: String] {
        var entries: [String: String] = [:]
        for relative in try FileManager.default.subpathsOfDirectory(atPath: root.path) {
            let path = root.appendingPathComponent(relative).path
            if let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                entries[relative] = "-> " + destination
            } else if let data = FileManager.default.contents(atPath: path) {
                entries[relative] = data.base64EncodedString()
            } else {
                entries[relative] = "(folder)"
            }
        }
        return entries
    }

    /// A stand-in for a docker answer that was not recorded, in the fixtures' layout so that
    /// fake-docker replays it; its `# env:` line says that it is one.
    func standIn(_ name: String, command: String, output: String, exitCode: Int32 = 0) throws -> String {
        let relative = "stand-ins/\(name).txt"
        try temporary.write(relative, "$ \(command)\n# env: NOT RECORDED, a stand-in written by the test\n\(output)\n# exit code: \(exitCode)\n")
        return temporary.url.appendingPathComponent(relative).path
    }

    func remove() {
        temporary.remove()
    }

    static func with(builder: String = "name: helix-shared", extra: String = "", _ body: (Machine) throws -> Void) throws {
        let machine = try Machine(builder: builder, extra: extra)
        defer { machine.remove() }
        try body(machine)
    }
}

extension StackProcess.Result {
    var outputLines: [String] { stdout.components(separatedBy: "\n") }
}
