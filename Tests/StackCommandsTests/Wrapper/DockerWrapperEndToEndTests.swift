import Foundation
import Testing
@testable import StackCommands

/// The built `stack` installed the documented way, `ln -s $(which stack) ~/bin/docker`, with
/// FakeDocker/fake-docker as the real docker further down PATH: what a person typing `docker …`
/// gets, and what the real docker is asked.
struct DockerWrapperEndToEndTests {
    typealias LoggedInvocation = BuilderResolutionTests.LoggedInvocation
    typealias Recording = BuilderResolutionTests.Recording

    enum Entry: String, CaseIterable, Sendable {
        /// `docker …` found on PATH: the symlink, argv[0] `docker`.
        case symlink
        /// `stack docker …`.
        case subcommand
    }

    // Not a build: the real docker runs in stack's place with the same arguments, and its exit
    // code (3 here, which stack never uses itself) is the caller's.
    @Test(arguments: Entry.allCases)
    func otherCommandsAreTheRealDockers(entry: Entry) throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        let listing = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES"
        try sandbox.rules([("ps", try sandbox.standIn("docker-ps", output: listing, exitCode: 3, source: "any output and a distinctive exit code"))])
        let arguments = ["ps", "-a", "--format", "table {{.ID}} {{.Names}}", "--", "-x"]
        let result = entry == .symlink ? try sandbox.docker(arguments) : try sandbox.stackDocker(arguments)

        #expect(result.status == 3)
        #expect(result.stdout == listing + "\n")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(try sandbox.invocations() == [LoggedInvocation(arguments)])
    }

    // `docker build -t x .` on a machine whose stack.yaml names the shared builder: the builder
    // is inspected, the daemon asked whether it has `x`, then buildx builds on it and loads.
    @Test(arguments: Recording.all)
    func buildGoesToTheSharedBuilderAndLoads(recording: Recording) throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        try sandbox.temporary.write("work/stack.yaml", "builder:\n  name: helix-shared\n")
        try sandbox.rules([
            ("buildx inspect helix-shared", sandbox.recording(recording.fixture(Recording.reachable))),
            ("buildx build --builder helix-shared", sandbox.recording(recording.fixture(Recording.localExport))),
        ])
        let result = try sandbox.docker(["build", "-t", "x", "."])

        #expect(result.status == 0, "\(result.stderr)")
        #expect(try sandbox.invocations() == [
            LoggedInvocation(["buildx", "inspect", "helix-shared"]),
            LoggedInvocation(["images", "--no-trunc", "-q", "x"]),
            LoggedInvocation(["buildx", "build", "--builder", "helix-shared", "--load", "-t", "x", "."]),
        ])
        #expect(!result.stderr.contains("==>") && !result.stderr.contains("timings"), "no phase header or table: \(result.stderr)")
        let records = try TimingsLog(file: sandbox.work.appendingPathComponent(TimingsSettings.defaultPath)).read()
        #expect(records.map(\.phase) == ["docker:build", TimingRecord.totalPhase])
        #expect(records.allSatisfy { $0.command == "docker build" && $0.builder == "helix-shared" })
    }

    // A Dockerfile piped in reaches docker's stdin (nothing before the build reads it), and
    // the build runs once, with a plain --load.
    @Test func dockerfileOnStdinReachesDocker() throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        try sandbox.rules([
            ("buildx inspect", sandbox.recording("buildx-v0.24.0/03-buildx-inspect-helix-shared-reachable")),
            ("buildx build --builder helix-shared", sandbox.recording("buildx-v0.24.0/13-remote-build-output-local")),
        ])
        let dockerfile = "FROM scratch\nCOPY . /\n"
        let result = try sandbox.docker(["build", "-t", "x", "-f", "-", "."], stdin: dockerfile)

        #expect(result.status == 0, "\(result.stderr)")
        #expect(try sandbox.invocations() == [
            LoggedInvocation(["buildx", "inspect"]),
            LoggedInvocation(["buildx", "build", "--builder", "helix-shared", "--load", "-t", "x", "-f", "-", "."]),
        ])
        #expect(try String(contentsOf: sandbox.stdinFile, encoding: .utf8) == dockerfile)
    }

    // A build that fails passes buildx's exit code on, with docker's words and none of stack's.
    @Test func failedBuildExitsAsBuildx() throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        try sandbox.rules([
            ("buildx inspect", sandbox.recording("buildx-v0.24.0/03-buildx-inspect-helix-shared-reachable")),
            ("buildx build", sandbox.recording("buildx-v0.24.0/50-nonexistent-builder-build")),
        ])
        let result = try sandbox.docker(["build", "-o", "out", "."])

        #expect(result.status == 1)
        #expect(result.stdout.contains("ERROR: no builder \"nosuch\" found"), "fake-docker replays to stdout: \(result.stdout)")
        #expect(!result.stderr.contains("stack: error"), "\(result.stderr)")
    }

    // The legacy 20.10 CLI without buildx (the outputs below are what Debian's /usr/bin/docker
    // 20.10.24 prints for these commands): the build runs on its built-in BuildKit.
    @Test func legacyCLIBuildsWithItsBuiltInBuildKit() throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        let noBuildx = try sandbox.standIn("docker-buildx", output: "docker: 'buildx' is not a docker command.\nSee 'docker --help'",
                                           exitCode: 1, source: "Debian docker.io 20.10.24 /usr/bin/docker without buildx")
        try sandbox.rules([
            ("buildx", noBuildx),
            ("version", try sandbox.standIn("docker-version", output: "20.10.24+dfsg1", exitCode: 0, source: "Debian docker.io 20.10.24 /usr/bin/docker")),
            ("build", sandbox.recording("buildx-v0.24.0/13-remote-build-output-local")),
        ])
        let result = try sandbox.docker(["build", "-t", "x", "."])

        #expect(result.status == 0, "\(result.stderr)")
        #expect(try sandbox.invocations() == [
            LoggedInvocation(["buildx", "inspect"]),
            LoggedInvocation(["buildx", "version"]),
            LoggedInvocation(["version", "--format", "{{.Client.Version}}"]),
            LoggedInvocation(["build", "-t", "x", "."], environment: ["DOCKER_BUILDKIT": "1"]),
        ])
        #expect(result.stderr.contains("warning: docker buildx is not installed"), "\(result.stderr)")
    }

    // The same with the real 20.10 CLI and no daemon: the build reaches it, and docker's own
    // complaint and exit code come back. Which complaint is a race inside the CLI (its API
    // call's `Cannot connect…` or its BuildKit session's `failed to dial gRPC: cannot connect…`).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/docker"), "needs Debian's docker 20.10 CLI at /usr/bin/docker"))
    func realLegacyCLIIsReached() throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        let result = try sandbox.docker(["build", "-t", "x", "."], environment: ["STACK_DOCKER": "/usr/bin/docker"])

        #expect(result.status == 1)
        #expect(result.stderr.lowercased().contains("cannot connect to the docker daemon"), "\(result.stderr)")
        #expect(!result.stderr.contains("stack: error"), "\(result.stderr)")
    }

    // `docker compose -f FILE build api`: compose reads the project with the user's options,
    // then the service is built through the routine.
    @Test func composeBuildGoesThroughTheRoutine() throws {
        let sandbox = try WrapperSandbox()
        defer { sandbox.temporary.remove() }
        try sandbox.rules([
            ("compose", try sandbox.standIn("docker-compose-config", output: ComposeTests.v2Config, exitCode: 0,
                                            source: "the shape `docker compose config --format json` prints (ComposeTests.v2Config)")),
            ("buildx inspect", sandbox.recording("buildx-v0.24.0/03-buildx-inspect-helix-shared-reachable")),
            ("buildx build --builder helix-shared", sandbox.recording("buildx-v0.24.0/13-remote-build-output-local")),
        ])
        let result = try sandbox.docker(["compose", "-f", "compose.yaml", "build", "api"])

        #expect(result.status == 0, "\(result.stderr)")
        #expect(try sandbox.invocations() == [
            LoggedInvocation(["compose", "version"]),
            LoggedInvocation(["compose", "-f", "compose.yaml", "config", "--format", "json", "api"]),
            LoggedInvocation(["buildx", "inspect"]),
            LoggedInvocation(["images", "--no-trunc", "-q", "helix-api:latest"]),
            LoggedInvocation(["buildx", "build", "--builder", "helix-shared", "-f", "/ws/api/Dockerfile.dev", "--build-arg", "MODE=dev",
                              "-t", "helix-api:latest", "--load", "/ws/api"]),
        ])
    }
}
