import Testing
@testable import StackCommands

/// The route is the whole decision of the build routine; these pin the exact argv for each
/// driver, result kind and caller flag.
struct BuildRouteTests {
    let remote = BuilderChoice(backend: .buildx(name: "helix-shared", driver: "remote"), endpoint: "tcp://127.0.0.1:1234")
    let dockerDriver = BuilderChoice(backend: .buildx(name: "default", driver: "docker"))
    let embedded = BuilderChoice(backend: .embeddedBuildKit)

    let image = BuildRequest(
        context: "/ws/api",
        dockerfile: "/ws/api/Dockerfile",
        tags: ["helix-api:latest", "helix-api:dev"],
        buildArgs: [BuildArgument(name: "TAG", value: "1.2")],
        target: "runtime"
    )

    @Test func remoteImageIsLoadedIntoTheDaemon() {
        // A remote builder keeps its result in the builder unless --load (fixture 10 vs 11).
        #expect(BuildRoute.invocations(for: image, on: remote) == [DockerInvocation([
            "buildx", "build", "--builder", "helix-shared",
            "-f", "/ws/api/Dockerfile", "--target", "runtime", "--build-arg", "TAG=1.2",
            "-t", "helix-api:latest", "-t", "helix-api:dev", "--load", "/ws/api",
        ])])
    }

    @Test(arguments: ["docker-container", "kubernetes", "remote"])
    func everyNonDockerDriverLoads(driver: String) {
        let builder = BuilderChoice(backend: .buildx(name: "b", driver: driver))
        #expect(BuildRoute.invocations(for: image, on: builder)[0].arguments.filter { $0 == "--load" }.count == 1)
    }

    @Test func dockerDriverImageNeedsNoLoad() {
        // The docker driver builds inside the daemon, so the image is there already.
        let argv = BuildRoute.invocations(for: image, on: dockerDriver)[0].arguments
        #expect(argv.prefix(4) == ["buildx", "build", "--builder", "default"])
        #expect(!argv.contains("--load"))
    }

    @Test(arguments: [["--push"], ["--load"], ["--output", "type=registry"], ["--output=type=docker"], ["-o", "out"], ["-otype=tar,dest=x.tar"]])
    func callersOwnOutputIsKeptAndNoLoadAdded(flags: [String]) {
        var request = image
        request.extraArguments = flags
        let argv = BuildRoute.invocations(for: request, on: remote)[0].arguments
        #expect(argv.suffix(flags.count + 1) == ArraySlice(flags + ["/ws/api"]))
        #expect(argv.filter { $0 == "--load" }.count == (flags == ["--load"] ? 1 : 0))
    }

    @Test func directoryResultUsesTheLocalExporterAndNoLoad() {
        let request = BuildRequest(context: "/zed", dockerfile: "/ws/Dockerfile.zed-build",
                                   buildArgs: [BuildArgument(name: "BUILD_TYPE", value: "release")],
                                   result: .directory("/ws/zed-build"), provenance: false)
        #expect(BuildRoute.invocations(for: request, on: remote) == [DockerInvocation([
            "buildx", "build", "--builder", "helix-shared", "-f", "/ws/Dockerfile.zed-build",
            "--build-arg", "BUILD_TYPE=release", "--provenance=false",
            "--output", "type=local,dest=/ws/zed-build", "/zed",
        ])])
    }

    @Test func embeddedBuildKitUsesDockerBuildWithBuildKitOnAndNoProvenanceFlag() {
        // The 20.10 CLI's `docker build` knows no --provenance; DOCKER_BUILDKIT=1 selects BuildKit (fixture 33b).
        let request = BuildRequest(context: "/zed", result: .directory("/out"), provenance: false)
        #expect(BuildRoute.invocations(for: request, on: embedded) == [DockerInvocation(
            ["build", "--output", "type=local,dest=/out", "/zed"], environment: ["DOCKER_BUILDKIT": "1"]
        )])
    }

    @Test func embeddedBuildKitPutsImagesInTheDaemonWithoutLoad() {
        #expect(!BuildRoute.invocations(for: image, on: embedded)[0].arguments.contains("--load"))
    }

    @Test func stackYamlBuildArgsComeFirstAndRequestValuesWin() {
        let request = BuildRequest(context: ".", buildArgs: [BuildArgument(name: "TAG", value: "mine")])
            .withDefaultBuildArgs([BuildArgument(name: "BASE", value: "busybox:1.36"), BuildArgument(name: "TAG", value: "default")])
        #expect(request.buildArgs == [BuildArgument(name: "BASE", value: "busybox:1.36"), BuildArgument(name: "TAG", value: "mine")])
    }

    @Test func commandLineIsShellQuoted() {
        let invocation = DockerInvocation(["build", "--build-arg", "MSG=it's here", "."], environment: ["DOCKER_BUILDKIT": "1"])
        #expect(invocation.commandLine(program: "/usr/bin/docker") == #"DOCKER_BUILDKIT=1 /usr/bin/docker build --build-arg 'MSG=it'\''s here' ."#)
    }
}
