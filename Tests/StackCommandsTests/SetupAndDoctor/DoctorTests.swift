import Foundation
import Testing
@testable import StackCommands
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `stack doctor --root` on a temporary machine on which everything is in order
/// except what a test changes: FakeDocker/fake-docker replays the real buildx recordings, the
/// BUILDX_BUILDER files are written, the docker wrapper is first on PATH and a registry port
/// answers. One test runs the real 28.x CLI, which has no buildx plugin on this machine.
struct DoctorTests {
    typealias Recording = Machine.Recording

    /// What one machine differs in from a healthy one.
    struct Setup {
        var recording = Recording.all[1]
        var builder = "name: helix-shared"
        /// stack.yaml in full, replacing the one `builder` and the registry make.
        var stackYAML: String?
        /// The fixture that answers `buildx inspect helix-shared`.
        var inspect = "03-buildx-inspect-helix-shared-reachable"
        var docker = Machine.fakeDocker
        /// BUILDX_BUILDER in the shell doctor runs in.
        var shellBuilder: String? = "helix-shared"
    }

    static func doctor(_ setup: Setup = Setup()) throws -> StackProcess.Result {
        let registry = try LoopbackListener()
        defer { withExtendedLifetime(registry) {} }
        var result: StackProcess.Result?
        try Machine.with(builder: setup.builder + "\nendpoint: \(setup.recording.endpoint)", extra: "load:\n  registry: 127.0.0.1:\(registry.port)\n") { machine in
            if let yaml = setup.stackYAML {
                try machine.temporary.write("ws/stack.yaml", yaml)
            }
            try machine.writeSystemFile(Machine.environmentFile, "BUILDX_BUILDER=helix-shared\n")
            try machine.writeSystemFile(Machine.profileScript, "export BUILDX_BUILDER=helix-shared\n")
            try machine.writeSystemFile(Machine.bashrc, "export BUILDX_BUILDER=helix-shared\n")
            let wrapperDirectory = machine.temporary.url.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: wrapperDirectory, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: wrapperDirectory.appendingPathComponent("docker").path, withDestinationPath: Machine.stack)
            // `docker version` was not recorded: these stand-ins give the versions the
            // recordings name (CLI 28.2.2, dockerd 20.10.24 as Debian packages it).
            try machine.rules([
                ("version --format {{.Client.Version}}", try machine.standIn("client-version", command: "docker version --format {{.Client.Version}}", output: "28.2.2")),
                ("version --format {{.Server.Version}}", try machine.standIn("server-version", command: "docker version --format {{.Server.Version}}", output: "20.10.24+dfsg1")),
                ("buildx version", setup.recording.fixture("01-buildx-version")),
                ("buildx inspect helix-shared", setup.recording.fixture(setup.inspect)),
            ])
            result = try machine.stack(["doctor"], docker: setup.docker, path: "\(wrapperDirectory.path):/usr/local/bin:/usr/bin:/bin",
                                       environment: setup.shellBuilder.map { ["BUILDX_BUILDER": $0] } ?? [:])
        }
        return try #require(result)
    }

    @Test(arguments: Recording.all)
    func healthyMachinePasses(recording: Recording) throws {
        let result = try Self.doctor(Setup(recording: recording))

        #expect(result.status == 0, "\(result.stdout)")
        let checks = result.outputLines.dropLast(2)
        #expect(checks.allSatisfy { $0.hasPrefix("✓ ") }, "\(result.stdout)")
        #expect(checks.contains("✓ buildx: docker buildx \(recording.version.dropFirst("buildx-".count))"), "\(result.stdout)")
        #expect(checks.contains { $0.hasPrefix("✓ builder \"helix-shared\": remote driver at \(recording.endpoint), running") }, "\(result.stdout)")
        #expect(checks.contains { $0.hasPrefix("✓ docker wrapper:") }, "\(result.stdout)")
        #expect(checks.contains { $0.hasPrefix("✓ registry: 127.0.0.1:") }, "\(result.stdout)")
        #expect(result.outputLines.suffix(2) == ["doctor: every required check passed.", ""])
    }

    // buildkitd is down (41): `inspect` exits 0 with `Status: inactive`. The ✗ line names the
    // endpoint and ends in the fix; builds would stop, so doctor exits 69.
    @Test(arguments: Recording.all)
    func unreachableBuilderFails(recording: Recording) throws {
        let result = try Self.doctor(Setup(recording: recording, inspect: "41-unreachable-buildx-inspect-helix-shared"))

        #expect(result.status == 69, "\(result.stdout)")
        let failed = result.outputLines.filter { $0.hasPrefix("✗ ") }
        #expect(failed.count == 1, "\(result.stdout)")
        let line = try #require(failed.first)
        #expect(line.hasPrefix("✗ builder \"helix-shared\": remote driver at \(recording.endpoint) is not reachable (Status: inactive)"), "\(line)")
        #expect(line.contains("— fix: start the buildkitd at \(recording.endpoint)"), "\(line)")
        #expect(line.contains("`stack setup-builder`"), "\(line)")
    }

    // A builder that was never created fails the run only when builds would stop over it:
    // stack.yaml's `required: false` makes it a warning, and doctor exits 0. (BUILDX_BUILDER
    // is not set here: a builder it names is required whatever stack.yaml says.)
    @Test(arguments: [true, false])
    func missingBuilderIsRequiredOnlyWhenBuildsNeedIt(required: Bool) throws {
        let result = try Self.doctor(Setup(builder: "name: helix-shared\nrequired: \(required)", inspect: "50-nonexistent-builder-build", shellBuilder: nil))

        #expect(result.status == (required ? 69 : 0), "\(result.stdout)")
        let line = try #require(result.outputLines.first { $0.contains("builder \"helix-shared\":") }, "\(result.stdout)")
        #expect(line.hasPrefix(required ? "✗ " : "! "), "\(line)")
        #expect(line.contains("does not exist on this machine"), "\(line)")
        #expect(line.hasSuffix("— fix: run `stack setup-builder` (it creates the builder at \(Recording.all[1].endpoint))"), "\(line)")
    }

    // Only stack.yaml is wrong: its line says where and how to fix it, and the exit code is 78.
    @Test func badStackYamlAloneExits78() throws {
        let result = try Self.doctor(Setup(stackYAML: "builder:\n  name: helix-shared\n  fallbak: local\n"))

        #expect(result.status == 78, "\(result.stdout)")
        let failed = result.outputLines.filter { $0.hasPrefix("✗ ") }
        #expect(failed.count == 1, "\(result.stdout)")
        #expect(failed.first?.contains("stack.yaml:3: unknown key `fallbak`") == true, "\(result.stdout)")
        #expect(failed.first?.contains("fix that line of stack.yaml") == true, "\(result.stdout)")
    }

    // The acceptance test: the real 28.x CLI on this machine has no buildx, and doctor says so
    // (with docker's own words) and how to fix it. The daemon is not there either.
    @Test func realDockerWithoutBuildxSaysHowToFixIt() throws {
        let result = try Self.doctor(Setup(docker: Machine.realDocker))

        #expect(result.status == 69, "\(result.stdout)")
        let line = try #require(result.outputLines.first { $0.hasPrefix("✗ buildx:") }, "\(result.stdout)")
        #expect(line.contains("not installed for \(Machine.realDocker)"), "\(line)")
        #expect(line.contains("docker said: docker: unknown command: docker buildx"), "\(line)")
        #expect(line.contains("— fix: install the docker buildx plugin"), "\(line)")
        #expect(line.hasSuffix("or set STACK_DOCKER to a CLI that has one"), "\(line)")
        #expect(result.outputLines.contains { $0.hasPrefix("✓ docker CLI: \(Machine.realDocker) (from STACK_DOCKER), version 28.") }, "\(result.stdout)")
        #expect(result.outputLines.contains { $0.hasPrefix("✗ daemon:") && $0.contains("Cannot connect to the Docker daemon") }, "\(result.stdout)")
        #expect(result.outputLines.contains("- builder \"helix-shared\": not checked: needs docker buildx"), "\(result.stdout)")
    }

    // Debian's 20.10 CLI has no buildx but BuildKit built in, and stack.yaml lets a missing
    // builder go (`required: false`): builds still work, so a missing buildx is only a warning.
    @Test func missingBuildxIsOnlyAWarningWhereBuildsGoOnWithout() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/docker"), "Debian's docker.io CLI is missing")
        let result = try Self.doctor(Setup(stackYAML: "builder:\n  name: helix-shared\n  required: false\n", docker: "/usr/bin/docker", shellBuilder: nil))
        let line = try #require(result.outputLines.first { $0.contains(" buildx:") }, "\(result.stdout)")
        #expect(line.hasPrefix("! buildx: not installed for /usr/bin/docker"), "\(line)")
        #expect(line.contains("builds use this CLI's built-in BuildKit instead"), "\(line)")
    }
}

