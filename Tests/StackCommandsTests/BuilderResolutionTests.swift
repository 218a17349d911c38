import Foundation
import Testing
@testable import StackCommands

/// Runs the built `stack build-zed` against FakeDocker/fake-docker, which replays the real
/// buildx recordings of each version, and checks the exit code, what stack said, and the
/// exact docker command lines it ran. Each test has its own temporary folder, so they can
/// run in parallel.
struct BuilderResolutionTests {
    // The remote builder answers: the build goes to it by name, never through plain
    // `docker build`, which the 28.x CLI would send to `default` whatever `buildx use` says.
    @Test(arguments: Recording.all)
    func reachableBuilderGetsTheBuild(recording: Recording) throws {
        try withWorkspace { workspace in
            try workspace.rules([
                ("buildx inspect helix-shared", recording.fixture(Recording.reachable)),
                ("buildx build --builder helix-shared", recording.fixture(Recording.localExport)),
            ])
            let result = try workspace.stack("release")

            #expect(result.status == 0, "\(result.stderr)")
            #expect(try workspace.invocations() == [
                LoggedInvocation(["buildx", "inspect", "helix-shared"]),
                LoggedInvocation(workspace.buildArguments(builder: "helix-shared")),
            ])
            #expect(result.stderrLines.contains { $0.contains("helix-shared") && $0.contains("remote") && $0.contains(recording.endpoint) },
                    "\(result.stderr)")
            let records = try TimingsLog(file: workspace.root.appendingPathComponent(TimingsSettings.defaultPath)).read()
            let built = records.filter { $0.builder != nil }
            #expect(built.map(\.phase) == ["zed:build", TimingRecord.totalPhase])
            #expect(built.allSatisfy { $0.builder == "helix-shared" && $0.driver == "remote" && $0.outcome == .ok })
        }
    }

    // A dry run still asks buildx where the build would go (that is the answer it shows),
    // but runs no build and writes nothing: no output folder, .dockerignore or timings.
    @Test(arguments: Recording.all)
    func dryRunOnlyInspects(recording: Recording) throws {
        try withWorkspace { workspace in
            try workspace.rules([
                ("buildx inspect helix-shared", recording.fixture(Recording.reachable)),
                ("buildx build --builder helix-shared", recording.fixture(Recording.localExport)),
            ])
            let before = try workspace.files()
            let result = try workspace.stack("release", "--dry-run")

            #expect(result.status == 0, "\(result.stderr)")
            // No shell quoting expected: these paths hold only characters the shell leaves alone.
            let command = ([ZedWorkspace.fakeDocker.path] + workspace.buildArguments(builder: "helix-shared")).joined(separator: " ")
            #expect(result.stdoutLines.contains(command), "\(result.stdout)")
            #expect(try workspace.files() == before)
            #expect(try workspace.invocations() == [LoggedInvocation(["buildx", "inspect", "helix-shared"])])
        }
    }

    // buildkitd is down: `inspect` exits 0 and only says `Status: inactive`. With the default
    // `fallback: fail` stack stops before building rather than losing the shared cache.
    @Test(arguments: Recording.all)
    func unreachableBuilderStops(recording: Recording) throws {
        try withWorkspace { workspace in
            try workspace.rules([("buildx inspect helix-shared", recording.fixture(Recording.unreachable))])
            let result = try workspace.stack("release")

            #expect(result.status == 69)
            let message = try #require(result.errorMessage, "\(result.stderr)")
            #expect(message.contains("\"helix-shared\" at \(recording.endpoint) is not reachable"), "\(message)")
            #expect(message.contains("start its buildkitd"), "\(message)")
            #expect(message.contains("builder.fallback: local"), "\(message)")
            #expect(try workspace.invocations() == [LoggedInvocation(["buildx", "inspect", "helix-shared"])])
        }
    }

    // A builder name buildx does not know (`ERROR: no builder "nosuch" found`, exit 1) with
    // `required: true` (the default) stops with the fix. buildx's own message already says
    // what is wrong, so stack asks nothing more (no `buildx version`).
    @Test(arguments: Recording.all)
    func missingRequiredBuilderStops(recording: Recording) throws {
        try withWorkspace(BuilderSection(name: "nosuch")) { workspace in
            try workspace.rules([("buildx inspect nosuch", recording.fixture(Recording.unknownBuilder))])
            let result = try workspace.stack("release")

            #expect(result.status == 69)
            let message = try #require(result.errorMessage, "\(result.stderr)")
            #expect(message.contains("\"nosuch\" does not exist"), "\(message)")
            #expect(message.contains("docker buildx create --name nosuch"), "\(message)")
            #expect(try workspace.invocations() == [LoggedInvocation(["buildx", "inspect", "nosuch"])])
        }
    }

    // A newcomer's machine without the shared builder (`required: false`): one warning, and
    // the build goes to the local daemon's builder by name.
    @Test(arguments: Recording.all)
    func missingOptionalBuilderFallsBack(recording: Recording) throws {
        try withWorkspace(BuilderSection(name: "nosuch", required: false)) { workspace in
            try workspace.rules([
                ("buildx inspect nosuch", recording.fixture(Recording.unknownBuilder)),
                ("buildx build --builder default", recording.fixture(Recording.localExport)),
            ])
            try expectFallbackBuild(in: workspace, inspected: "nosuch", warningSays: "\"nosuch\" does not exist")
        }
    }

    // `fallback: local` lets an existing but dead builder give way to the local one, saying so.
    @Test(arguments: Recording.all)
    func unreachableBuilderFallsBackWhenAllowed(recording: Recording) throws {
        try withWorkspace(BuilderSection(fallback: "local")) { workspace in
            try workspace.rules([
                ("buildx inspect helix-shared", recording.fixture(Recording.unreachable)),
                ("buildx build --builder default", recording.fixture(Recording.localExport)),
            ])
            try expectFallbackBuild(in: workspace, inspected: "helix-shared", warningSays: "\"helix-shared\" cannot be used (Status: inactive)")
        }
    }

    // BUILDX_BUILDER names the builder as it does for buildx itself, over stack.yaml's name. No
    // builder `other` was recorded; 50 is what buildx really says for a name it does not know.
    @Test(arguments: Recording.all)
    func environmentBuilderOverridesConfiguration(recording: Recording) throws {
        try withWorkspace { workspace in
            try workspace.rules([("buildx inspect other", recording.fixture(Recording.unknownBuilder))])
            let result = try workspace.stack("release", environment: ["BUILDX_BUILDER": "other"])

            #expect(result.status == 69)
            let message = try #require(result.errorMessage, "\(result.stderr)")
            #expect(message.contains("shared builder \"other\" does not exist"), "\(message)")
            #expect(try workspace.invocations() == [
                LoggedInvocation(["buildx", "inspect", "other"], environment: ["BUILDX_BUILDER": "other"]),
            ])
        }
    }

    // The real 28.2.2 CLI without the buildx plugin: since Docker 23 its `docker build` needs
    // buildx too, so there is no BuildKit to fall back to even with `required: false`.
    @Test func dockerWithoutBuildxOrBuiltInBuildKitStops() throws {
        try withWorkspace(BuilderSection(required: false)) { workspace in
            let result = try workspace.stack("release", docker: "/usr/local/bin/docker")

            #expect(result.status == 69, "\(result.stderr)")
            let message = try #require(result.errorMessage, "\(result.stderr)")
            for word in ["/usr/local/bin/docker", "buildx", "STACK_DOCKER"] {
                #expect(message.contains(word), "\(message)")
            }
        }
    }

    // Debian's 20.10 CLI without buildx still has the daemon's BuildKit behind
    // DOCKER_BUILDKIT=1, which knows no --provenance.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/docker"),
                   "needs Debian's docker 20.10 CLI at /usr/bin/docker"))
    func legacyDockerUsesItsBuiltInBuildKit() throws {
        try withWorkspace(BuilderSection(required: false)) { workspace in
            let result = try workspace.stack("release", "--dry-run", docker: "/usr/bin/docker")

            #expect(result.status == 0, "\(result.stderr)")
            let command = "DOCKER_BUILDKIT=1 /usr/bin/docker build -f \(workspace.path("Dockerfile.zed-build"))"
                + " --build-arg BUILD_TYPE=release --output type=local,dest=\(workspace.path("zed-build")) \(workspace.path("zed"))"
            #expect(result.stdoutLines.contains(command), "\(result.stdout)")
            #expect(result.stderrLines.filter { $0.hasPrefix("warning:") }.count == 1, "\(result.stderr)")
        }
    }

    private func expectFallbackBuild(in workspace: ZedWorkspace, inspected builder: String, warningSays reason: String) throws {
        let result = try workspace.stack("release")

        #expect(result.status == 0, "\(result.stderr)")
        let warnings = result.stderrLines.filter { $0.hasPrefix("warning:") }
        #expect(warnings.count == 1 && warnings[0].contains(reason), "\(result.stderr)")
        #expect(try workspace.invocations() == [
            LoggedInvocation(["buildx", "inspect", builder]),
            LoggedInvocation(workspace.buildArguments(builder: "default")),
        ])
    }

    private func withWorkspace(_ builder: BuilderSection = BuilderSection(), _ body: (ZedWorkspace) throws -> Void) throws {
        let workspace = try ZedWorkspace(builder: builder)
        defer { workspace.temporary.remove() }
        try body(workspace)
    }
}

// Nested so that these helpers' plain names stay out of the test module's namespace.
extension BuilderResolutionTests {
    /// One set of recordings (see Fixtures/README.md), with the endpoint its helix-shared had.
    struct Recording: Sendable, CustomTestStringConvertible {
        static let reachable = "03-buildx-inspect-helix-shared-reachable"
        static let unreachable = "41-unreachable-buildx-inspect-helix-shared"
        static let unknownBuilder = "50-nonexistent-builder-build"
        /// Replayed for fallback builds on `default` too: nothing stack does next depends on
        /// which builder ran the local exporter, and none was recorded for `default`.
        static let localExport = "13-remote-build-output-local"

        static let all = [
            Recording(version: "buildx-v0.10.5", endpoint: "tcp://127.0.0.1:1234"),
            Recording(version: "buildx-v0.24.0", endpoint: "tcp://127.0.0.1:1235"),
        ]

        var version: String
        var endpoint: String

        var testDescription: String { version }

        func fixture(_ name: String) -> String { "\(version)/\(name)" }
    }

    /// stack.yaml's `builder` section.
    struct BuilderSection {
        var name = "helix-shared"
        var required = true
        var fallback = "fail"
    }

    /// One line of fake-docker's log.
    struct LoggedInvocation: Equatable, CustomStringConvertible {
        var arguments: [String]
        /// BUILDX_BUILDER and DOCKER_BUILDKIT as docker saw them.
        var environment: [String: String]

        init(_ arguments: [String], environment: [String: String] = [:]) {
            self.arguments = arguments
            self.environment = environment
        }

        init(logLine: Substring) {
            var fields = logLine.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            var environment: [String: String] = [:]
            for name in ["BUILDX_BUILDER", "DOCKER_BUILDKIT"] where fields.first?.hasPrefix(name + "=") == true {
                environment[name] = String(fields.removeFirst().dropFirst(name.count + 1))
            }
            self.init(fields, environment: environment)
        }

        var description: String {
            (environment.keys.sorted().map { "\($0)=\(environment[$0]!)" } + arguments).joined(separator: " ")
        }
    }

    /// A temporary folder holding a workspace (`ws/`: stack.yaml and a miniature Zed checkout, as
    /// in example/) and, outside it, fake-docker's rules and log and docker's config folder, so
    /// that what stack writes into the workspace can be checked on its own.
    struct ZedWorkspace {
        static let fakeDocker = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("FakeDocker/fake-docker")

        let temporary: TemporaryDirectory
        var root: URL { temporary.url.appendingPathComponent("ws") }
        private var rulesFile: URL { temporary.url.appendingPathComponent("fake-docker.rules") }
        private var logFile: URL { temporary.url.appendingPathComponent("fake-docker.log") }

        init(builder: BuilderSection) throws {
            temporary = try TemporaryDirectory("stack-builder")
            try temporary.write("ws/stack.yaml", """
                builder:
                  name: \(builder.name)
                  required: \(builder.required)
                  fallback: \(builder.fallback)
                zed:
                  source: zed
                  dockerfile: Dockerfile.zed-build
                  output: zed-build
                  binary: zed
                  dockerignore:
                    - target/

                """)
            try temporary.write("ws/Dockerfile.zed-build", """
                FROM scratch
                ARG BUILD_TYPE=dev
                COPY . /

                """)
            try temporary.write("ws/zed/Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n")
            try temporary.write("ws/zed/crates/zed/src/main.rs", "fn main() {}\n")
            try rules([])
        }

        func path(_ relative: String) -> String {
            root.appendingPathComponent(relative).path
        }

        /// The build-zed command line for a `release` build on `builder`.
        func buildArguments(builder: String) -> [String] {
            ["buildx", "build", "--builder", builder, "-f", path("Dockerfile.zed-build"),
             "--build-arg", "BUILD_TYPE=release", "--provenance=false",
             "--output", "type=local,dest=\(path("zed-build"))", path("zed")]
        }

        /// `(argv prefix, fixture name)` pairs; the first match wins.
        func rules(_ rules: [(prefix: String, fixture: String)]) throws {
            let lines = rules.map { "\($0.prefix)\t\(Fixture.directory.appendingPathComponent($0.fixture + ".txt").path)\n" }
            try Data(lines.joined().utf8).write(to: rulesFile)
        }

        /// `stack build-zed ARGUMENTS` inheriting nothing, so a BUILDX_BUILDER or DOCKER_CONTEXT
        /// of whoever runs the tests cannot pick the builder. DOCKER_HOST names a socket where no
        /// daemon listens and DOCKER_CONFIG an empty folder, so the real CLIs touch neither a
        /// daemon nor the user's docker config (nor find plugins installed there).
        func stack(_ arguments: String..., docker: String = ZedWorkspace.fakeDocker.path, environment extra: [String: String] = [:]) throws -> StackProcess.Result {
            var environment = [
                "STACK_DOCKER": docker,
                "FAKE_DOCKER_RULES": rulesFile.path,
                "FAKE_DOCKER_LOG": logFile.path,
                "FAKE_DOCKER_OUTPUT_FILE": "zed", // stack.yaml's `binary`, which zed:verify looks for
                "DOCKER_HOST": "unix://\(temporary.url.path)/no-daemon.sock",
                "DOCKER_CONFIG": temporary.url.appendingPathComponent("docker-config").path,
            ]
            environment.merge(extra) { _, new in new }
            return try StackProcess.run(["build-zed"] + arguments + ["--workspace", root.path], in: root,
                                        environment: environment, inheriting: false)
        }

        func invocations() throws -> [LoggedInvocation] {
            guard FileManager.default.fileExists(atPath: logFile.path) else { return [] }
            return try String(contentsOf: logFile, encoding: .utf8).split(separator: "\n").map(LoggedInvocation.init(logLine:))
        }

        /// Every path in the workspace, relative to it.
        func files() throws -> Set<String> {
            Set(try FileManager.default.subpathsOfDirectory(atPath: root.path))
        }
    }
}

fileprivate extension StackProcess.Result {
    var stdoutLines: [String] { stdout.components(separatedBy: "\n") }
    var stderrLines: [String] { stderr.components(separatedBy: "\n") }

    /// The sentence after `stack: error: `.
    var errorMessage: String? {
        stderrLines.first { $0.hasPrefix("stack: error: ") }.map { String($0.dropFirst("stack: error: ".count)) }
    }
}
