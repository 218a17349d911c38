import Testing
@testable import StackCommands

/// The route is the whole decision of the build routine; these pin the exact argv for each
/// driver, result kind, load strategy and caller flag.
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
    let id = "sha256:808a04443ed25cca0f8bcb43bc118c7ce1cce3cc82b94b864de41f6705ede087"

    func plan(_ request: BuildRequest, _ builder: BuilderChoice, _ strategy: LoadStrategy, registry: String? = nil,
              local: [String: String?] = [:]) -> BuildRoute.LoadPlan {
        BuildRoute.loadPlan(for: request, on: builder, strategy: strategy, registry: registry, localImageIDs: local)
    }

    @Test func loadedBuildArgv() {
        // A remote builder keeps its result in the builder unless --load (fixture 10 vs 11).
        #expect(BuildRoute.invocation(for: image, on: remote, output: .load) == DockerInvocation([
            "buildx", "build", "--builder", "helix-shared",
            "-f", "/ws/api/Dockerfile", "--target", "runtime", "--build-arg", "TAG=1.2",
            "-t", "helix-api:latest", "-t", "helix-api:dev", "--load", "/ws/api",
        ]))
    }

    @Test(arguments: ["docker-container", "kubernetes", "remote"])
    func everyNonDockerDriverLoads(driver: String) {
        let builder = BuilderChoice(backend: .buildx(name: "b", driver: driver))
        #expect(plan(image, builder, .tarball) == .single(.load, path: .loadedTarball))
        #expect(plan(image, builder, .smart) == .single(.load, path: .loadedTarball), "no tag in the daemon: nothing to compare with")
    }

    @Test(arguments: LoadStrategy.allCases)
    func dockerDriverAndEmbeddedBuildKitNeedNoLoad(strategy: LoadStrategy) {
        // Both build inside the daemon, so the image is there already.
        #expect(plan(image, dockerDriver, strategy, registry: "127.0.0.1:5000") == .single(.asRequested, path: .none))
        #expect(plan(image, embedded, strategy, registry: "127.0.0.1:5000") == .single(.asRequested, path: .none))
        #expect(!BuildRoute.invocation(for: image, on: dockerDriver).arguments.contains("--load"))
    }

    @Test(arguments: [["--push"], ["--load"], ["--output", "type=registry"], ["--output=type=docker"], ["-o", "out"], ["-otype=tar,dest=x.tar"]])
    func callersOwnOutputIsKeptAndNothingAdded(flags: [String]) {
        var request = image
        request.extraArguments = flags
        #expect(plan(request, remote, .smart, local: ["helix-api:latest": id]) == .single(.asRequested, path: .none))
        let argv = BuildRoute.invocation(for: request, on: remote).arguments
        #expect(argv.suffix(flags.count + 1) == ArraySlice(flags + ["/ws/api"]))
        #expect(argv.filter { $0 == "--load" }.count == (flags == ["--load"] ? 1 : 0))
    }

    @Test func smartProbesWhenTheDaemonHasATag() {
        #expect(plan(image, remote, .smart, local: ["helix-api:latest": id, "helix-api:dev": nil]) == .probeFirst(then: .tarball))
        #expect(plan(image, remote, .smart, registry: "127.0.0.1:5000", local: ["helix-api:latest": id]) == .probeFirst(then: .registry))
    }

    @Test func probeArgvHasBothFlagsThatMakeTheIDFileHoldTheImageID() {
        // Without an output the iidfile stays empty (fixture 14); with provenance it holds a
        // manifest-list digest that changes on every build (12b). Both flags, as in fixture 12.
        let argv = BuildRoute.invocation(for: image, on: remote, output: .probe(iidfile: "/t/iid", metadataFile: "/t/m.json")).arguments
        #expect(argv.suffix(8) == ["--output", "type=image", "--provenance=false", "--iidfile", "/t/iid", "--metadata-file", "/t/m.json", "/ws/api"])
        #expect(!argv.contains("--load"))
    }

    @Test func requestsOwnProvenanceIsNotRepeatedNextToTheProbes() {
        var request = image
        request.provenance = true
        let argv = BuildRoute.invocation(for: request, on: remote, output: .probe(iidfile: "i", metadataFile: "m")).arguments
        #expect(argv.filter { $0.hasPrefix("--provenance") } == ["--provenance=false"])
    }

    @Test func probeVerdicts() {
        let tags = ["helix-api:latest", "helix-api:dev"]
        #expect(BuildRoute.verdict(probedImageID: id, tags: tags, localImageIDs: ["helix-api:latest": id, "helix-api:dev": id]) == .unchanged(tagsToAdd: []))
        #expect(BuildRoute.verdict(probedImageID: id, tags: tags, localImageIDs: ["helix-api:latest": id, "helix-api:dev": nil]) == .unchanged(tagsToAdd: ["helix-api:dev"]))
        #expect(BuildRoute.verdict(probedImageID: id + "\n", tags: tags, localImageIDs: ["helix-api:latest": id]) == .unchanged(tagsToAdd: ["helix-api:dev"]))
        let other = "sha256:" + String(repeating: "0", count: 64)
        #expect(BuildRoute.verdict(probedImageID: id, tags: tags, localImageIDs: ["helix-api:latest": other]) == .changed)
        #expect(BuildRoute.verdict(probedImageID: id, tags: tags, localImageIDs: ["helix-api:latest": id, "helix-api:dev": other]) == .changed)
        // Empty iidfile (fixture 14) or anything that is not an image ID: load to be sure.
        #expect(BuildRoute.verdict(probedImageID: "", tags: tags, localImageIDs: ["helix-api:latest": id]) == .changed)
        #expect(BuildRoute.verdict(probedImageID: nil, tags: tags, localImageIDs: ["helix-api:latest": id]) == .changed)
    }

    @Test func registryStrategyPushesUnderTheRegistryName() {
        #expect(plan(image, remote, .registry, registry: "127.0.0.1:5000") == .registry(reference: "127.0.0.1:5000/helix-api:latest"))
        #expect(plan(image, remote, .registry) == .single(.load, path: .loadedTarball), "no registry configured")
        #expect(BuildRoute.invocation(for: image, on: remote, output: .push(reference: "127.0.0.1:5000/helix-api:latest")).arguments.suffix(4)
                == ["--output", "type=image,name=127.0.0.1:5000/helix-api:latest,push=true", "--provenance=false", "/ws/api"])
    }

    @Test func directoryResultUsesTheLocalExporterAndNoLoad() {
        let request = BuildRequest(context: "/zed", dockerfile: "/ws/Dockerfile.zed-build",
                                   buildArgs: [BuildArgument(name: "BUILD_TYPE", value: "release")],
                                   result: .directory("/ws/zed-build"), provenance: false)
        #expect(plan(request, remote, .smart) == .single(.asRequested, path: .none))
        #expect(BuildRoute.invocation(for: request, on: remote) == DockerInvocation([
            "buildx", "build", "--builder", "helix-shared", "-f", "/ws/Dockerfile.zed-build",
            "--build-arg", "BUILD_TYPE=release", "--provenance=false",
            "--output", "type=local,dest=/ws/zed-build", "/zed",
        ]))
    }

    @Test func embeddedBuildKitUsesDockerBuildWithBuildKitOnAndNoProvenanceFlag() {
        // The 20.10 CLI's `docker build` knows no --provenance; DOCKER_BUILDKIT=1 selects BuildKit (fixture 33b).
        let request = BuildRequest(context: "/zed", result: .directory("/out"), provenance: false)
        #expect(BuildRoute.invocation(for: request, on: embedded) == DockerInvocation(
            ["build", "--output", "type=local,dest=/out", "/zed"], environment: ["DOCKER_BUILDKIT": "1"]
        ))
    }

    @Test func passthroughKeepsTheUsersArgumentsAndOnlyAddsInFront() {
        var request = BuildRequest(context: ".", tags: ["x"], passthrough: ["-tx", "--build-arg", "A=1", "--", "."])
        #expect(BuildRoute.invocation(for: request, on: remote, output: .load).arguments
                == ["buildx", "build", "--builder", "helix-shared", "--load", "-tx", "--build-arg", "A=1", "--", "."])
        request.passthrough = ["-o", "out", "."]
        #expect(plan(request, remote, .smart) == .single(.asRequested, path: .none))
    }

    @Test(arguments: [
        ("remote", ["--cache-from", "type=registry,ref=reg/cache", "--cache-to", "type=registry,ref=reg/cache,mode=max"]),
        ("docker", ["--cache-from", "type=registry,ref=reg/cache"]),
    ])
    func registryCacheFlags(driver: String, flags: [String]) {
        let builder = BuilderChoice(backend: .buildx(name: "b", driver: driver))
        let argv = BuildRoute.invocation(for: BuildRequest(context: "."), on: builder, cacheRegistry: "reg/cache").arguments
        #expect(argv == ["buildx", "build", "--builder", "b"] + flags + ["."])
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
