import Testing
@testable import StackCommands

/// Cache hits read from BuildKit's real plain progress (recorded buildx v0.10.5 and v0.24.0).
struct BuildKitProgressTests {
    func state(_ fixtures: [String]) throws -> CacheState? {
        let progress = BuildKitProgress()
        for name in fixtures {
            for line in try Fixture.load(name).output.split(separator: "\n") { progress.read(String(line)) }
        }
        return progress.state
    }

    @Test(arguments: ["buildx-v0.10.5", "buildx-v0.24.0"])
    func everyStepCachedIsHot(version: String) throws {
        // Fixture 11: a rebuild of an unchanged context, every step `CACHED`.
        #expect(try state(["\(version)/11-remote-build-load"]) == .hot)
    }

    @Test(arguments: ["buildx-v0.10.5", "buildx-v0.24.0"])
    func aStepThatRanIsCold(version: String) throws {
        // Fixture 16: the first build with a cache mount runs its RUN step.
        #expect(try state(["\(version)/16-remote-build-cache-mount-run1"]) == .cold)
    }

    @Test func aColdProbeFollowedByACachedLoadStaysCold() throws {
        // The smart path runs two builds in one phase; the second one hits what the first built.
        #expect(try state(["buildx-v0.24.0/16-remote-build-cache-mount-run1", "buildx-v0.24.0/11-remote-build-load"]) == .cold)
        #expect(try state(["buildx-v0.24.0/11-remote-build-load", "buildx-v0.24.0/11-remote-build-load"]) == .hot)
    }

    @Test func noStepsSeenIsUnknown() throws {
        // Fixture 50: buildx stops before any step (unknown builder).
        #expect(try state(["buildx-v0.24.0/50-nonexistent-builder-build"]) == nil)
    }

    @Test func aFromStepDoesNotCountButTheStepAfterItDoes() throws {
        // Fixture 18b: the daemon's BuildKit reports `FROM` of a local image `DONE`, never
        // `CACHED`; the RUN after it ran (`DONE 0.2s`), so the build is cold because of the RUN.
        #expect(try state(["buildx-v0.10.5/18b-default-docker-driver-build-from-local-image"]) == .cold)
        let progress = BuildKitProgress()
        for line in ["#4 [1/2] FROM docker.io/local/busybox:1", "#4 DONE 0.0s", "#5 [2/2] RUN echo hello > /hello.txt", "#5 CACHED"] {
            progress.read(line)
        }
        #expect(progress.state == .hot)
    }
}
