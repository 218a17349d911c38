import Foundation
import Testing
@testable import StackCommands

/// The routine's load paths on a remote builder, against docker answers replayed from the real
/// buildx v0.24.0 recordings (the remote driver cannot run here). Each branch of `smart`, and
/// the registry's fallbacks.
struct LoadStrategyTests {
    static let inspect = "buildx-v0.24.0/03-buildx-inspect-helix-shared-reachable"
    /// Fixture 12: the probe's iidfile holds the config digest, equal to the loaded image's ID.
    static let probe = "buildx-v0.24.0/12-remote-build-output-image-provenance-false-iidfile"

    static func recordedImageID() throws -> String {
        try Fixture.recorded(probe, after: "cat iidfile:")
    }

    /// The same Dockerfile built by buildx v0.10.5/buildkitd v0.11.6 got another ID: a real
    /// ID that differs from the probe's, standing for an older image in the daemon.
    static func olderImageID() throws -> String {
        try Fixture.recorded("buildx-v0.10.5/12-remote-build-output-image-iidfile", after: "cat iidfile")
    }

    static func localImage(_ id: String?) -> ScriptedRunner.Answer {
        ScriptedRunner.exit(["images", "--no-trunc", "-q", "foo"], 0, stdout: id.map { $0 + "\n" } ?? "")
    }

    /// The probe build, writing into its --iidfile what the recording's iidfile held.
    static func probeAnswer(iidfile content: String, fixture: String = probe) throws -> ScriptedRunner.Answer {
        var answer = try ScriptedRunner.fixture(["buildx", "build"], fixture)
        answer.containing = ["--iidfile"]
        answer.effect = { invocation in
            if let path = ScriptedRunner.value(of: "--iidfile", in: invocation) {
                try? Data(content.utf8).write(to: URL(fileURLWithPath: path))
            }
        }
        return answer
    }

    static func loadAnswer() throws -> ScriptedRunner.Answer {
        var answer = try ScriptedRunner.fixture(["buildx", "build"], "buildx-v0.24.0/11-remote-build-load")
        answer.containing = ["--load"]
        return answer
    }

    struct Run {
        var phase: PhaseResult
        var runner: ScriptedRunner
        var stderr: String

        /// The builds that ran, by what they were for.
        var builds: [String] {
            runner.invocations.filter { $0.arguments.starts(with: ["buildx", "build"]) }.map { invocation in
                invocation.arguments.contains("--iidfile") ? "probe" : invocation.arguments.contains("--load") ? "load"
                    : invocation.arguments.contains(where: { $0.contains("push=true") }) ? "push" : "plain"
            }
        }
    }

    func run(_ answers: [ScriptedRunner.Answer], strategy: LoadStrategy = .smart, registry: String? = nil) throws -> Run {
        let runner = ScriptedRunner([try ScriptedRunner.fixture(["buildx", "inspect"], Self.inspect)] + answers)
        let output = RecordingConsole()
        let routine = BuildRoutine(
            runner: runner,
            resolver: BuilderResolver(runner: runner, settings: BuilderSettings(name: "helix-shared"), environment: [:]),
            settings: BuildRoutine.Settings(load: LoadSettings(strategy: strategy, registry: registry)),
            console: output.console, dryRun: false
        )
        let executor = PlanExecutor(routine: routine, console: output.console, dryRun: false)
        let report = executor.execute([Phase("image:foo") { try $0.build(BuildRequest(context: ".", tags: ["foo"])) }], cancellator: Cancellator())
        return Run(phase: report.phases[0], runner: runner, stderr: output.stderr)
    }

    @Test func absentImageIsLoadedWithoutAProbe() throws {
        let run = try run([Self.localImage(nil), try Self.loadAnswer()])
        #expect(run.builds == ["load"])
        #expect(run.phase.load == .loadedTarball && run.phase.outcome == .ok)
    }

    @Test func unchangedImageIsProbedAndNotLoaded() throws {
        let id = try Self.recordedImageID()
        let run = try run([Self.localImage(id), try Self.probeAnswer(iidfile: id), try Self.loadAnswer()])
        #expect(run.builds == ["probe"])
        #expect(run.phase.load == .unchanged)
        #expect(run.stderr.contains("image:foo: unchanged"))
    }

    @Test func changedImageIsProbedThenLoaded() throws {
        let run = try run([Self.localImage(try Self.olderImageID()), try Self.probeAnswer(iidfile: try Self.recordedImageID()), try Self.loadAnswer()])
        #expect(run.builds == ["probe", "load"])
        #expect(run.phase.load == .loadedTarball)
    }

    @Test func emptyIDFileMeansLoad() throws {
        // Fixture 14: without an output mode a remote builder leaves the iidfile empty.
        let empty = try Fixture.recorded("buildx-v0.24.0/14-remote-build-no-output-iidfile", after: "od -c iidfile:")
        #expect(empty == "0000000")
        let run = try run([Self.localImage(try Self.recordedImageID()), try Self.probeAnswer(iidfile: ""), try Self.loadAnswer()])
        #expect(run.builds == ["probe", "load"])
        #expect(run.phase.load == .loadedTarball)
    }

    @Test func failedProbeLoadsToBeSureAndAFailedLoadFailsThePhase() throws {
        // Fixture 52: a RUN step exiting 3 makes buildx exit 1.
        var failing = try ScriptedRunner.fixture(["buildx", "build"], "buildx-v0.24.0/52-remote-build-run-fails-stale-iidfile")
        failing.containing = []
        let run = try run([Self.localImage(try Self.recordedImageID()), failing])
        #expect(run.builds == ["probe", "load"])
        #expect(run.stderr.contains("the probe build exited with code 1; building with a load to be sure"))
        #expect(run.phase.outcome == .failed)
    }

    @Test func registryThatDoesNotAnswerFallsBackToTarballWithAWarning() throws {
        let closed = try ClosedPort()
        let run = try run([Self.localImage(nil), try Self.loadAnswer()], strategy: .registry, registry: "127.0.0.1:\(closed.port)")
        #expect(run.builds == ["load"])
        #expect(run.phase.load == .loadedTarball)
        #expect(run.stderr.contains("warning: image:foo: registry 127.0.0.1:\(closed.port) does not answer; loading the whole image with --load instead."))
    }

    @Test func registryPushThenPullThenTag() throws {
        let listener = try LoopbackListener()
        let registry = "127.0.0.1:\(listener.port)"
        // No push to a registry was recorded from the remote builder: the push build answers
        // exit 0 without output here, and only the argv is checked.
        var push = ScriptedRunner.exit(["buildx", "build"], 0)
        push.containing = ["--output", "type=image,name=\(registry)/foo:latest,push=true"]
        let run = try run([Self.localImage(nil), push, ScriptedRunner.exit(["pull"], 0), ScriptedRunner.exit(["tag"], 0), ScriptedRunner.exit(["rmi"], 0)],
                          strategy: .registry, registry: registry)
        #expect(run.builds == ["push"])
        let daemonSide = run.runner.invocations.filter { !$0.arguments.starts(with: ["buildx"]) && !$0.arguments.starts(with: ["images"]) }
        #expect(daemonSide.map(\.arguments) == [["pull", "\(registry)/foo:latest"], ["tag", "\(registry)/foo:latest", "foo"], ["rmi", "\(registry)/foo:latest"]])
        #expect(run.phase.load == .loadedRegistry)
    }

    @Test func failedPushFallsBackToTarball() throws {
        let listener = try LoopbackListener()
        var push = ScriptedRunner.exit(["buildx", "build"], 1)
        push.containing = ["--provenance=false"]
        let run = try run([Self.localImage(nil), push, try Self.loadAnswer()], strategy: .registry, registry: "127.0.0.1:\(listener.port)")
        #expect(run.builds == ["push", "load"])
        #expect(run.phase.load == .loadedTarball)
        #expect(run.stderr.contains("warning: image:foo: the push to 127.0.0.1:\(listener.port) exited with code 1"))
    }

    @Test func smartWithARegistryMovesChangedImagesThroughIt() throws {
        let listener = try LoopbackListener()
        let registry = "127.0.0.1:\(listener.port)"
        var push = ScriptedRunner.exit(["buildx", "build"], 0)
        push.containing = ["type=image,name=\(registry)/foo:latest,push=true"]
        let run = try run([Self.localImage(try Self.olderImageID()), try Self.probeAnswer(iidfile: try Self.recordedImageID()), push,
                           ScriptedRunner.exit(["pull"], 0), ScriptedRunner.exit(["tag"], 0), ScriptedRunner.exit(["rmi"], 0)],
                          registry: registry)
        #expect(run.builds == ["probe", "push"])
        #expect(run.phase.load == .loadedRegistry)
    }
}
