import Foundation
import Testing

/// The real Docker daemon the integration tests build on. `.ci/run` starts a private
/// dockerd and sets STACK_TEST_DOCKER_HOST; without it the tests are skipped on a
/// developer's machine, but in CI (CI set) they run and fail, so a missing daemon is never
/// mistaken for a pass.
enum TestDaemon {
    static let host = ProcessInfo.processInfo.environment["STACK_TEST_DOCKER_HOST"]
    /// Debian's docker.io 20.10 CLI: BuildKit built in, no buildx (the 28.x CLI here has neither).
    static let cli = ProcessInfo.processInfo.environment["STACK_TEST_DOCKER"] ?? "/usr/bin/docker"
    static let baseImage = "busybox:1.36"

    static var enabled: Bool { host != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    /// The environment that points `stack` at the test daemon through the test CLI.
    static func environment() throws -> [String: String] {
        guard let host else {
            throw DaemonMissing()
        }
        try ensureBaseImage(host: host)
        return ["DOCKER_HOST": host, "STACK_DOCKER": cli]
    }

    struct DaemonMissing: Error, CustomStringConvertible {
        var description: String { "CI is set but STACK_TEST_DOCKER_HOST is not: .ci/run must start the test dockerd (see .ci/dockerd.sh)" }
    }

    nonisolated(unsafe) private static var imported = false
    private static let lock = NSLock()

    /// Nothing can be pulled here, so the example's only base image is made from the
    /// busybox-static binary and imported under the name the Dockerfiles use.
    static func ensureBaseImage(host: String) throws {
        try lock.withLock {
            if imported { return }
            if try docker(["image", "inspect", baseImage], host: host).status != 0 {
                let rootfs = try TemporaryDirectory("busybox-rootfs")
                defer { rootfs.remove() }
                try FileManager.default.createDirectory(at: rootfs.url.appendingPathComponent("bin"), withIntermediateDirectories: true)
                try FileManager.default.createDirectory(at: rootfs.url.appendingPathComponent("tmp"), withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs.url.appendingPathComponent("bin/busybox").path)
                let applets = try run("/bin/busybox", ["--list"])
                guard applets.status == 0 else { throw CommandFailed(what: "busybox --list", result: applets) }
                for applet in applets.output.split(separator: "\n") where applet != "busybox" {
                    try FileManager.default.createSymbolicLink(atPath: rootfs.url.appendingPathComponent("bin/\(applet)").path, withDestinationPath: "busybox")
                }
                let imported = try run("/bin/sh", ["-c", "tar -C \"$1\" -c . | \"$2\" import - \"$3\"", "sh", rootfs.url.path, cli, baseImage],
                                       environment: ["DOCKER_HOST": host])
                guard imported.status == 0 else { throw CommandFailed(what: "docker import", result: imported) }
            }
            imported = true
        }
    }

    static func docker(_ arguments: [String], host: String) throws -> CommandResult {
        try run(cli, arguments, environment: ["DOCKER_HOST": host])
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
