import Testing
@testable import StackCommands

/// `BuilderInfo.parse` on real `docker buildx inspect` output of buildx v0.10.5 (remote
/// buildkitd v0.11.6 on :1234) and v0.24.0 (buildkitd v0.22.0 on :1235).
struct BuilderInfoParsingTests {
    private func parse(_ fixture: String) throws -> BuilderInfo {
        try #require(BuilderInfo.parse(inspectOutput: Fixture.load(fixture).output))
    }

    // The shared builder is up: the one case where stack builds on it. v0.10.5 says
    // `Buildkit:`; v0.24.0 says `BuildKit version:` and goes on with Labels and GC policy
    // blocks, which must not add nodes or overwrite the node's fields.
    @Test(arguments: [
        ("buildx-v0.10.5", "tcp://127.0.0.1:1234", "v0.11.6"),
        ("buildx-v0.24.0", "tcp://127.0.0.1:1235", "v0.22.0"),
    ])
    func reachableSharedBuilder(version: String, endpoint: String, buildkit: String) throws {
        let info = try parse("\(version)/03-buildx-inspect-helix-shared-reachable")
        #expect(info.name == "helix-shared")
        #expect(info.driver == "remote")
        #expect(info.nodes.map(\.name) == ["helix-shared0"])
        #expect(info.endpoint == endpoint)
        #expect(info.status == "running")
        #expect(info.nodes.first?.buildkitVersion == buildkit)
        #expect(info.isRunning)
    }

    // `inspect` with no name on a machine where `buildx use` was never run: the daemon's own
    // BuildKit, which is where a fallback build goes.
    @Test(arguments: [
        ("buildx-v0.10.5", "20.10.24+dfsg1"),
        ("buildx-v0.24.0", "v0.8+unknown"),
    ])
    func defaultBuilder(version: String, buildkit: String) throws {
        let info = try parse("\(version)/04-buildx-inspect-default-reachable")
        #expect(info.name == "default")
        #expect(info.driver == "docker")
        #expect(info.endpoint == "default")
        #expect(info.status == "running")
        #expect(info.nodes.first?.buildkitVersion == buildkit)
        #expect(info.isRunning)
    }

    // buildkitd stopped: `inspect` still exits 0, so only `Status: inactive` says the builder
    // is down (no BuildKit version is shown then). The endpoint is still there for the error
    // message. 42 is `inspect` with no name after `buildx use helix-shared`.
    @Test(arguments: [
        ("buildx-v0.10.5/41-unreachable-buildx-inspect-helix-shared", "tcp://127.0.0.1:1234"),
        ("buildx-v0.24.0/41-unreachable-buildx-inspect-helix-shared", "tcp://127.0.0.1:1235"),
        ("buildx-v0.24.0/42-unreachable-buildx-inspect-noarg-current-is-helix-shared", "tcp://127.0.0.1:1235"),
    ])
    func unreachableSharedBuilder(fixture: String, endpoint: String) throws {
        let info = try parse(fixture)
        #expect(info.name == "helix-shared")
        #expect(info.driver == "remote")
        #expect(info.endpoint == endpoint)
        #expect(info.status == "inactive")
        #expect(info.nodes.first?.buildkitVersion == nil)
        #expect(!info.isRunning)
    }
}
