import Foundation
import Testing

extension DaemonSuites {
    /// The transparent wrapper installed the documented way (a `docker` symlink to stack early on
    /// PATH), in front of Debian's real 20.10 CLI and the test dockerd.
    @Suite(.serialized, .enabled(if: TestDaemon.enabled, "needs the test dockerd that .ci/run starts (STACK_TEST_DOCKER_HOST)"))
    struct WrapperDaemonTests {
        struct Installed {
            let folder: TemporaryDirectory
            let environment: [String: String]

            init() throws {
                folder = try TemporaryDirectory("stack-wrapper")
                try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("bin"), withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(atPath: folder.url.appendingPathComponent("bin/docker").path,
                                                           withDestinationPath: StackProcess.executable.path)
                let daemon = try TestDaemon.environment()
                // Only the real CLI's folder after the wrapper's: no STACK_DOCKER, as a person would have it.
                environment = ["PATH": "\(folder.url.appendingPathComponent("bin").path):\(URL(fileURLWithPath: TestDaemon.cli).deletingLastPathComponent().path):/bin",
                               "DOCKER_HOST": daemon["DOCKER_HOST"]!, "HOME": folder.url.path]
            }

            func docker(_ arguments: [String], in directory: URL? = nil) throws -> StackProcess.Result {
                try StackProcess.run(arguments, in: directory ?? folder.url, environment: environment, inheriting: false,
                                     program: folder.url.appendingPathComponent("bin/docker"))
            }
        }

        @Test func buildGoesThroughTheRoutineAndEverythingElseToTheRealDocker() throws {
            let installed = try Installed()
            defer { installed.folder.remove() }
            let tag = "stack-wrapper-test:\(UUID().uuidString.prefix(8).lowercased())"
            try installed.folder.write("ctx/Dockerfile", "FROM busybox:1.36\nRUN echo built > /built\n")

            let build = try installed.docker(["build", "-t", tag, "."], in: installed.folder.url.appendingPathComponent("ctx"))
            #expect(build.status == 0, "\(build.stderr)")
            // No builder is named and this CLI has no buildx: the routine says where it builds.
            #expect(build.stderr.contains("building with the local daemon's BuildKit"), "\(build.stderr)")
            let inspect = try installed.docker(["image", "inspect", "--format", "{{.Id}}", tag])
            #expect(inspect.status == 0 && inspect.stdout.hasPrefix("sha256:"), "\(inspect.stderr)")

            // Not a build: the real docker runs with the same arguments; its output and exit code are its own.
            let missing = try installed.docker(["image", "inspect", "stack-wrapper-test:nosuch"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("No such image"), "\(missing.stderr)")
            let listed = try installed.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(listed.status == 0 && listed.stdout.contains(tag), "\(listed.stdout)")
            _ = try installed.docker(["rmi", tag])
        }

        // Debian's 20.10 CLI has no compose plugin: through the wrapper, `docker compose build`
        // ends exactly as it does without it (compose is asked first, and its refusal is passed on).
        @Test func composeBuildWithoutThePluginEndsAsTheRealDockerDoes() throws {
            let installed = try Installed()
            defer { installed.folder.remove() }
            try installed.folder.write("docker-compose.yaml", "services:\n  app:\n    build: .\n")
            let wrapped = try installed.docker(["compose", "build"])
            let real = try StackProcess.run(["compose", "build"], in: installed.folder.url, environment: installed.environment, inheriting: false,
                                            program: URL(fileURLWithPath: TestDaemon.cli))
            #expect(real.status != 0)
            #expect(wrapped.status == real.status, "wrapper: \(wrapped.stderr)\nreal: \(real.stderr)")
            #expect(wrapped.stderr.contains("'compose' is not a docker command"), "\(wrapped.stderr)")
        }

        @Test func aFailingBuildExitsOneWithDockersOwnWords() throws {
            let installed = try Installed()
            defer { installed.folder.remove() }
            try installed.folder.write("ctx/Dockerfile", "FROM busybox:1.36\nRUN exit 3\n")
            let build = try installed.docker(["build", "-t", "stack-wrapper-test:failing", "."], in: installed.folder.url.appendingPathComponent("ctx"))
            #expect(build.status == 1, "\(build.stderr)")
            #expect(build.stderr.contains("exit code: 3"), "\(build.stderr)")
        }
    }
}
