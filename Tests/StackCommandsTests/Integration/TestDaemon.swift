import Foundation
import Testing

/// Every suite that builds on the test dockerd, one suite after the other. Their builds must not
/// overlap: on dockerd 20.10's BuildKit, a build that runs while another client's builds run
/// could miss its own cache on the next run (seen here: build-zed's WORKDIR, COPY and RUN steps
/// redone after a `stack build` overlapped the first build), and BuildZedDaemonTests checks that
/// cache.
@Suite(.serialized) enum DaemonSuites {}

/// The real Docker daemon the integration tests build on, and the two services the sandbox
/// tests also need. `.ci/run` starts a private dockerd and sets STACK_TEST_DOCKER_HOST, plus a
/// second dockerd standing in for the one inside Helix's sandbox (STACK_TEST_NESTED_DOCKER_HOST)
/// and a local registry (STACK_TEST_REGISTRY, `host:port`). Without them the tests are skipped
/// on a developer's machine, but in CI (CI set) they run and fail, so a missing service is
/// never mistaken for a pass.
enum TestDaemon {
    private static let variables = ProcessInfo.processInfo.environment
    static let host = variables["STACK_TEST_DOCKER_HOST"]
    static let nestedHost = variables["STACK_TEST_NESTED_DOCKER_HOST"]
    static let registry = variables["STACK_TEST_REGISTRY"]
    /// Debian's docker.io 20.10 CLI: BuildKit built in, no buildx (the 28.x CLI here has neither).
    static let cli = variables["STACK_TEST_DOCKER"] ?? "/usr/bin/docker"
    static let baseImage = "busybox:1.36"
    private static let inCI = variables["CI"] != nil

    static var enabled: Bool { host != nil || inCI }
    static var sandboxEnabled: Bool { (host != nil && nestedHost != nil && registry != nil) || inCI }

    /// The environment that points `stack` at the test daemon through the test CLI.
    static func environment() throws -> [String: String] {
        guard let host else {
            throw ServicesMissing(variables: ["STACK_TEST_DOCKER_HOST"])
        }
        try ensureBaseImage(host: host)
        return ["DOCKER_HOST": host, "STACK_DOCKER": cli]
    }

    /// `environment()` plus what stack.yaml's `sandbox` section reads: the nested daemon as
    /// `nested_docker` reaches it, and the registry the desktops travel through.
    static func sandboxEnvironment() throws -> [String: String] {
        let missing = ["STACK_TEST_DOCKER_HOST": host, "STACK_TEST_NESTED_DOCKER_HOST": nestedHost, "STACK_TEST_REGISTRY": registry]
            .filter { $0.value == nil }.keys.sorted()
        guard missing.isEmpty, let nestedHost, let registry else {
            throw ServicesMissing(variables: missing)
        }
        return try environment().merging(["SANDBOX_DOCKER_HOST": nestedHost, "SANDBOX_REGISTRY": registry]) { _, new in new }
    }

    struct ServicesMissing: Error, CustomStringConvertible {
        var variables: [String]
        var description: String {
            "CI is set but \(variables.joined(separator: ", ")) \(variables.count == 1 ? "is" : "are") not: .ci/run must start the test dockerd, the nested dockerd and the registry (.ci/services.sh)"
        }
    }

    /// Nothing can be pulled here: the services script (.ci/services.sh, which .ci/run and
    /// scripts/with-daemons use) imports the example's only base image into the daemon.
    static func ensureBaseImage(host: String) throws {
        guard try docker(["image", "inspect", baseImage], host: host).status == 0 else {
            throw BaseImageMissing(host: host)
        }
    }

    struct BaseImageMissing: Error, CustomStringConvertible {
        var host: String
        var description: String { "\(host) has no \(TestDaemon.baseImage): start the test daemons with .ci/services.sh (scripts/with-daemons swift test), which imports it" }
    }

    static func docker(_ arguments: [String], host: String) throws -> CommandResult {
        try run(cli, arguments, environment: ["DOCKER_HOST": host])
    }

    /// The image's ID (`sha256:…`), or nil when the daemon has no image of that name.
    static func imageID(_ image: String, host: String) throws -> String? {
        let result = try docker(["image", "inspect", "--format", "{{.Id}}", image], host: host)
        return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    struct CommandResult {
        var status: Int32
        var output: String
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var what: String
        var result: CommandResult
        var description: String { "\(what) failed (\(result.status)): \(result.output)" }
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
