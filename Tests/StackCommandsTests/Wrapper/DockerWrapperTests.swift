import Foundation
import Testing
@testable import StackCommands

/// Which command lines the wrapper builds and which it hands to the real docker.
struct DockerWrapperRouteTests {
    typealias Edit = DockerWrapper.EnvironmentEdit

    @Test(arguments: [
        (["build", "-t", "x", "."], ["-t", "x", "."], Edit()),
        (["image", "build", "."], ["."], Edit()),
        (["builder", "build", "."], ["."], Edit()),
        (["buildx", "build", "."], ["."], Edit()),
        (["buildx", "b", "."], ["."], Edit()),
        (["buildx", "--builder", "b", "build", "."], ["."], Edit(set: ["BUILDX_BUILDER": "b"])),
        (["-H", "tcp://h:2375", "build", "."], ["."], Edit(set: ["DOCKER_HOST": "tcp://h:2375"])),
        (["--host=ssh://h", "build", "."], ["."], Edit(set: ["DOCKER_HOST": "ssh://h"])),
        // --context beats DOCKER_HOST; DOCKER_CONTEXT alone would lose to it.
        (["--context=ci", "build", "."], ["."], Edit(set: ["DOCKER_CONTEXT": "ci"], unset: ["DOCKER_HOST"])),
        (["--config", "/c", "-c", "ci", "build", "."], ["."], Edit(set: ["DOCKER_CONFIG": "/c", "DOCKER_CONTEXT": "ci"], unset: ["DOCKER_HOST"])),
    ])
    func buildsGoThroughTheRoutine(arguments: [String], buildArguments: [String], environment: Edit) {
        #expect(DockerWrapper.route(arguments) == .build(DockerBuildArguments(buildArguments), environment: environment))
    }

    @Test(arguments: [
        [], ["ps"], ["ps", "-a"], ["-D", "ps"], ["image", "ls"], ["builder", "prune"], ["buildx", "ls"],
        ["buildx", "--builder", "b", "inspect"], ["build", "--help"], ["build", "-t", "x"], ["compose", "up", "-d"],
        ["compose", "-f", "a.yaml", "ps"], ["compose", "--dry-run", "up"], ["compose", "--dry-run", "build"], ["compose", "build", "--help"],
    ])
    func everythingElseGoesToTheRealDockerSilently(arguments: [String]) {
        #expect(DockerWrapper.route(arguments) == .passthrough(note: nil))
    }

    /// Builds stack cannot hand on go to the real docker, saying so.
    @Test(arguments: [
        ["-D", "build", "."], ["--tls", "build", "."], ["-H", "a", "-c", "b", "build", "."], ["-H", "a", "-H", "b", "build", "."],
        ["buildx", "--debug", "build", "."], ["compose", "-f", "-", "build"], ["compose", "build", "-f", "-"], ["compose", "--no-cache", "build"],
        ["compose", "build", "--push"], ["compose", "build", "-q", "api"], ["-l", "debug", "compose", "build"],
    ])
    func buildsStackCannotHandOnGoToTheRealDockerWithANote(arguments: [String]) throws {
        guard case .passthrough(let note?) = DockerWrapper.route(arguments) else {
            Issue.record("expected a pass-through with a note for \(arguments)")
            return
        }
        #expect(note.contains("not through the shared builder"), "\(note)")
    }

    // Compose's own options are persistent flags: after `build` they mean the same.
    @Test func composeBuildKeepsTheUsersProjectOptions() {
        let route = DockerWrapper.route([
            "compose", "-f", "a.yaml", "-p", "helix", "--profile", "demos", "--project-directory", "/ws",
            "build", "--build-arg", "A=1", "--build-arg=B", "--builder", "b", "--no-cache", "--pull=true", "api", "--env-file=.env.ci", "web",
        ])
        #expect(route == .composeBuild(DockerWrapper.ComposeBuild(
            options: ["-f", "a.yaml", "-p", "helix", "--profile", "demos", "--project-directory", "/ws", "--env-file=.env.ci"],
            services: ["api", "web"], buildArgs: ["A=1", "B"], builder: "b", buildFlags: ["--no-cache", "--pull"]
        ), environment: Edit()))
    }
}

/// The wrapper run in-process against scripted docker answers: what it asks docker to do.
struct DockerWrapperRunTests {
    static let imageID = "sha256:808a04443ed25cca0f8bcb43bc118c7ce1cce3cc82b94b864de41f6705ede087"

    @Test func remoteBuilderGetsTheBuildWithTheUsersArgumentsAfterItsOwn() throws {
        let wrapper = try WrapperHarness()
        #expect(wrapper.run(["build", "-t", "x", "--build-arg", "A=1", "."]) == 0)
        #expect(wrapper.invocations == [
            ["buildx", "inspect"],
            ["images", "--no-trunc", "-q", "x"],
            ["buildx", "build", "--builder", "helix-shared", "--load", "-t", "x", "--build-arg", "A=1", "."],
        ])
        // Transparent: no phase header, no table, nothing on stdout.
        #expect(wrapper.output.stdout.isEmpty)
        #expect(!wrapper.output.stderr.contains("==>") && !wrapper.output.stderr.contains("timings"), "\(wrapper.output.stderr)")
    }

    @Test func dockerDriverNeedsNoLoad() throws {
        let wrapper = try WrapperHarness(builder: WrapperHarness.dockerDriver)
        #expect(wrapper.run(["buildx", "build", "-tx", "."]) == 0)
        #expect(wrapper.builds == [["buildx", "build", "--builder", "default", "-tx", "."]])
    }

    // With the tag already in the daemon the smart strategy probes first, building twice; a
    // build that reads stdin, or writes the user's own ID files, is built once with --load.
    @Test(arguments: [
        (["-t", "x", "."], false),
        (["-t", "x", "-f", "-", "."], true),
        (["-t", "x", "-"], true),
        (["-t", "x", "--iidfile", "/tmp/iid", "."], true),
    ])
    func stdinAndTheUsersIDFilesGetOnePlainLoad(arguments: [String], single: Bool) throws {
        let wrapper = try WrapperHarness(localImage: Self.imageID)
        #expect(wrapper.run(["build"] + arguments) == 0)
        if single {
            #expect(wrapper.builds == [["buildx", "build", "--builder", "helix-shared", "--load"] + arguments])
        } else {
            #expect(wrapper.builds.first?.contains("--iidfile") == true, "probe first: \(wrapper.builds)")
        }
    }

    // The user's --builder is asked about first (it becomes BUILDX_BUILDER, over the caller's
    // own), and leaves the argument list: the route puts the resolved builder in front.
    @Test func usersBuilderWins() throws {
        let wrapper = try WrapperHarness()
        #expect(wrapper.run(["build", "--builder", "mine", "-t", "x", "."], environment: ["BUILDX_BUILDER": "other"]) == 0)
        #expect(wrapper.invocations.first == ["buildx", "inspect", "mine"])
        #expect(wrapper.builds == [["buildx", "build", "--builder", "helix-shared", "--load", "-t", "x", "."]])
        #expect(wrapper.environment?["BUILDX_BUILDER"] == "mine")
    }

    @Test func globalOptionsReachEveryDockerCommandAsEnvironment() throws {
        let wrapper = try WrapperHarness()
        #expect(wrapper.run(["--context", "ci", "build", "."], environment: ["DOCKER_HOST": "unix:///elsewhere.sock"]) == 0)
        #expect(wrapper.environment == ["DOCKER_CONTEXT": "ci"])
    }

    // An output inside a group of short flags is the user's output all the same: no --load next to it.
    @Test func outputInsideAShorthandGroupIsKeptWithoutALoad() throws {
        let wrapper = try WrapperHarness()
        #expect(wrapper.run(["build", "-qo", "out", "."]) == 0)
        #expect(wrapper.builds == [["buildx", "build", "--builder", "helix-shared", "-qo", "out", "."]])
    }

    // docker's own output says why a build failed; the wrapper adds nothing and exits as buildx does.
    @Test func failedBuildExitsOneWithoutAMessageOfItsOwn() throws {
        let wrapper = try WrapperHarness(buildExit: 1)
        #expect(wrapper.run(["build", "."]) == 1)
        #expect(!wrapper.output.stderr.contains("error"), "\(wrapper.output.stderr)")
    }

    @Test func unreachableBuilderStopsWithTheFix() throws {
        let wrapper = try WrapperHarness(builder: "buildx-v0.24.0/41-unreachable-buildx-inspect-helix-shared")
        #expect(wrapper.run(["build", "."]) == 69)
        #expect(wrapper.builds.isEmpty)
        #expect(wrapper.output.stderr.contains("stack: error: shared builder \"helix-shared\""), "\(wrapper.output.stderr)")
    }
}

/// `docker compose … build`: the project as compose reads it with the user's options, one
/// routine call per service.
struct DockerWrapperComposeTests {
    @Test func eachServiceIsBuiltThroughTheRoutineWithTheUsersOverrides() throws {
        let wrapper = try WrapperHarness([ScriptedRunner.exit(["compose"], 0, stdout: ComposeTests.v2Config)])
        let status = wrapper.run(["compose", "-f", "/ws/compose.yaml", "build", "--build-arg", "MODE=prod", "--build-arg", "TOKEN", "--no-cache"],
                                 environment: ["TOKEN": "t0k"])
        #expect(status == 0, "\(wrapper.output.stderr)")
        #expect(wrapper.invocations.prefix(2) == [["compose", "version"], ["compose", "-f", "/ws/compose.yaml", "config", "--format", "json"]])
        #expect(wrapper.builds == [
            ["buildx", "build", "--builder", "helix-shared", "-f", "/ws/api/Dockerfile.dev", "--build-arg", "MODE=prod", "--build-arg", "TOKEN=t0k",
             "-t", "helix-api:latest", "--load", "--no-cache", "/ws/api"],
            ["buildx", "build", "--builder", "helix-shared", "-f", "/elsewhere/Dockerfile", "--build-arg", "MODE=prod", "--build-arg", "TOKEN=t0k",
             "-t", "helix-web", "--load", "--no-cache", "/ws/web"],
        ])
    }

    @Test func namedServicesAreAskedOfComposeAndBuiltAlone() throws {
        let wrapper = try WrapperHarness([ScriptedRunner.exit(["compose"], 0, stdout: ComposeTests.v2Config)])
        #expect(wrapper.run(["compose", "build", "web"]) == 0)
        #expect(wrapper.invocations.prefix(2) == [["compose", "version"], ["compose", "config", "--format", "json", "web"]])
        #expect(wrapper.builds.map { $0.last } == ["/ws/web"])
    }

    // An unknown service, a broken file or a CLI without the compose plugin: compose's own
    // words and exit code, as `docker compose build` would give them.
    @Test func composesRefusalIsPassedOn() throws {
        let said = "no such service: nosuch\n"
        let wrapper = try WrapperHarness([ScriptedRunner.exit(["compose", "version"], 0), ScriptedRunner.exit(["compose"], 15, stderr: said)])
        #expect(wrapper.run(["compose", "build", "nosuch"]) == 15)
        #expect(wrapper.output.stderr == said)
        #expect(wrapper.builds.isEmpty)
    }

    // Without the compose plugin nothing can read the project as `docker compose` would: the
    // real docker gets the command line as it was and answers it itself.
    @Test func withoutThePluginTheRealDockerAnswers() throws {
        let wrapper = try WrapperHarness([ScriptedRunner.exit(["compose", "version"], 1), ScriptedRunner.exit(["compose", "build"], 1)])
        #expect(wrapper.run(["compose", "build", "web"]) == 1)
        #expect(wrapper.invocations == [["compose", "version"], ["compose", "build", "web"]])
    }
}
