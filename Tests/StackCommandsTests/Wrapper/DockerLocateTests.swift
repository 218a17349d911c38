import Foundation
import Testing
@testable import StackCommands

/// With the wrapper installed, the first `docker` on PATH is stack itself: the docker stack
/// runs must be the next one, or every docker command would run the wrapper again.
struct DockerLocateTests {
    /// `wrapper/docker` → the built stack, `real/docker` a plain executable, in that PATH order.
    struct Machine {
        let temporary: TemporaryDirectory
        var wrapper: String { temporary.url.appendingPathComponent("wrapper/docker").path }
        var real: String { temporary.url.appendingPathComponent("real/docker").path }
        var stack: String? { SystemDockerRunner.realPath(StackProcess.executable.path) }

        init() throws {
            temporary = try TemporaryDirectory("stack-locate")
            try temporary.write("real/docker", "#!/bin/sh\n", executable: true)
            try FileManager.default.createDirectory(atPath: temporary.url.appendingPathComponent("wrapper").path, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: wrapper, withDestinationPath: StackProcess.executable.path)
        }

        func path(_ folders: String...) -> String {
            folders.map { temporary.url.appendingPathComponent($0).path }.joined(separator: ":")
        }

        func locate(_ environment: [String: String]) throws -> String {
            try SystemDockerRunner.locate(environment: environment, stackExecutable: stack).executable
        }
    }

    @Test func theWrapperOnPathIsPassedOver() throws {
        let machine = try Machine()
        defer { machine.temporary.remove() }
        #expect(try machine.locate(["PATH": machine.path("wrapper", "real")]) == machine.real)
        #expect(try machine.locate(["PATH": machine.path("wrapper", "real"), "STACK_DOCKER": "docker"]) == machine.real)
        #expect(try SystemDockerRunner.locate(environment: ["PATH": machine.path("wrapper", "real")], stackExecutable: nil).executable == machine.wrapper,
                "an unknown own path skips nothing")
    }

    @Test func onlyTheWrapperIsNoDocker() throws {
        let machine = try Machine()
        defer { machine.temporary.remove() }
        #expect(throws: StackError.dockerMissing("no `docker` found on PATH other than this stack (the `docker` wrapper)")) {
            try machine.locate(["PATH": machine.path("wrapper")])
        }
        #expect(throws: StackError.dockerMissing("STACK_DOCKER=\(machine.wrapper) is this stack executable (the `docker` wrapper), not the docker CLI")) {
            try machine.locate(["PATH": machine.path("wrapper", "real"), "STACK_DOCKER": machine.wrapper])
        }
    }

    // `ln -s /repo/stack ~/bin/docker`: the symlink leads to the launcher script, not to the
    // binary; the launcher names itself in STACK_LAUNCHER so that it is passed over too.
    @Test func aLinkToTheLauncherScriptIsPassedOver() throws {
        let machine = try Machine()
        defer { machine.temporary.remove() }
        let launcher = StackProcess.packageRoot.appendingPathComponent("stack").path
        let linked = machine.temporary.url.appendingPathComponent("launcher/docker").path
        try FileManager.default.createDirectory(atPath: machine.temporary.url.appendingPathComponent("launcher").path, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linked, withDestinationPath: launcher)
        #expect(try machine.locate(["PATH": machine.path("launcher", "real"), "STACK_LAUNCHER": launcher]) == machine.real)
        #expect(try machine.locate(["PATH": machine.path("launcher", "real")]) == linked, "without STACK_LAUNCHER the script is not known")
    }
}
