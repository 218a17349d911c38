import Foundation
import Testing
@testable import StackCommands

/// The fallback policy, in-process, for the cases the binary-level tests do not cover.
struct BuilderResolverTests {
    func resolver(_ runner: ScriptedRunner, _ settings: BuilderSettings, environment: [String: String] = [:]) -> BuilderResolver {
        BuilderResolver(runner: runner, settings: settings, environment: environment, inspectTimeout: 5)
    }

    // No builder named anywhere, and buildx's current builder is a stopped remote one
    // (fixture 42: `buildx use` made helix-shared current, then buildkitd went down).
    @Test func deadDefaultBuilderFailsWithItsName() throws {
        let runner = ScriptedRunner([try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.24.0/42-unreachable-buildx-inspect-noarg-current-is-helix-shared")])
        #expect(throws: StackError.builderUnavailable(BuilderProblem(kind: .unreachable, builder: "helix-shared", endpoint: "tcp://127.0.0.1:1235", dockerSaid: "Status: inactive"))) {
            try resolver(runner, BuilderSettings()).resolve()
        }
        #expect(runner.invocations == [DockerInvocation(["buildx", "inspect"])])
    }

    @Test func deadDefaultBuilderWithFallbackLocalBuildsLocallyAndSaysSo() throws {
        let runner = ScriptedRunner([try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.24.0/42-unreachable-buildx-inspect-noarg-current-is-helix-shared")])
        let choice = try resolver(runner, BuilderSettings(fallback: .local), environment: ["DOCKER_CONTEXT": "laptop"]).resolve()
        #expect(choice.backend == .buildx(name: "laptop", driver: "docker"))
        #expect(choice.warning?.contains("helix-shared") == true)
        #expect(choice.warning?.hasSuffix("whose cache is not shared.") == true)
    }

    // Something that never answers (a firewall dropping packets) must not hang the run.
    @Test func inspectThatTimesOutCountsAsUnreachable() throws {
        let runner = ScriptedRunner([ScriptedRunner.Answer(prefix: ["buildx", "inspect"], output: CapturedOutput(status: .timedOut(seconds: 5), stdout: "", stderr: ""))])
        #expect(throws: StackError.builderUnavailable(BuilderProblem(kind: .unreachable, builder: "helix-shared", endpoint: nil, dockerSaid: "`docker buildx inspect` gave no answer within 5 s"))) {
            try resolver(runner, BuilderSettings(name: "helix-shared")).resolve()
        }
    }

    // An explicit BUILDX_BUILDER is a person's choice: `required: false` does not excuse a typo in it.
    @Test func missingBuilderFromTheEnvironmentIsAnErrorEvenWhenNotRequired() throws {
        let runner = ScriptedRunner([try ScriptedRunner.fixture(["buildx", "inspect", "nosuch"], "buildx-v0.10.5/50-nonexistent-builder-build")])
        #expect(throws: StackError.self) {
            try resolver(runner, BuilderSettings(name: "helix-shared", required: false), environment: ["BUILDX_BUILDER": "nosuch"]).resolve()
        }
    }

    @Test func runnerTimeoutReallyStopsAHungChild() throws {
        let runner = SystemDockerRunner(program: "sleep", executable: "/bin/sleep", environment: [:], cancellator: Cancellator())
        let started = Date()
        let result = try runner.capture(DockerInvocation(["30"]), timeout: 0.5)
        #expect(result.status == .timedOut(seconds: 0.5))
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
