import Foundation
import Testing
@testable import StackCommands

/// A clock that moves one second each time it is read, so durations are predictable.
final class SteppingClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now = Date(timeIntervalSince1970: 1_795_929_600)

    func read() -> Date {
        lock.withLock {
            defer { now += 1 }
            return now
        }
    }
}

struct PlanExecutorTests {
    func executor(_ console: Console, runner: ScriptedRunner = ScriptedRunner([]), dryRun: Bool = false, jobs: Int = 1) -> PlanExecutor {
        let routine = BuildRoutine(
            runner: runner,
            resolver: BuilderResolver(runner: runner, settings: BuilderSettings(), environment: [:]),
            settings: BuildRoutine.Settings(), console: console, dryRun: dryRun
        )
        let clock = SteppingClock()
        return PlanExecutor(routine: routine, console: console, dryRun: dryRun, jobs: jobs, clock: clock.read)
    }

    struct Boom: Error {}

    @Test func failureStopsDependentsAndTheTableSaysSo() {
        let output = RecordingConsole()
        let phases = [
            Phase("one") { _ in },
            Phase("two", after: ["one"]) { _ in throw Boom() },
            Phase("three", after: ["two"]) { _ in Issue.record("must not run after its dependency failed") },
        ]
        let report = executor(output.console).execute(phases, cancellator: Cancellator())
        #expect(report.phases.map(\.outcome) == [.ok, .failed, .notRun])
        #expect(report.error is Boom)
        #expect(report.table(command: "demo") == """
        stack demo: timings
        phase  seconds  outcome
        one       1.00  ok
        two       1.00  failed
        three        -  not-run
        total     5.00  failed
        """)
        let records = report.records(run: "r", command: "demo", builder: nil)
        #expect(records.map(\.phase) == ["one", "two", "total"])
        #expect(records.last?.outcome == .failed)
    }

    @Test func skippedPhaseCountsAsDoneForItsDependents() {
        let output = RecordingConsole()
        let phases = [
            Phase("transfer") { $0.skip("already there") },
            Phase("after", after: ["transfer"]) { _ in },
        ]
        let report = executor(output.console).execute(phases, cancellator: Cancellator())
        #expect(report.phases.map(\.outcome) == [.skipped, .ok])
        #expect(output.stderr.contains("transfer: skipped, already there"))
    }

    @Test func interruptionMarksThePhaseAndStartsNothingNew() {
        let output = RecordingConsole()
        let cancellator = Cancellator()
        let phases = [
            Phase("build") { _ in cancellator.handle(SIGINT) },
            Phase("verify", after: ["build"]) { _ in Issue.record("must not start after Ctrl-C") },
        ]
        let report = executor(output.console).execute(phases, cancellator: cancellator)
        #expect(report.phases.map(\.outcome) == [.interrupted, .notRun])
        #expect(report.outcome == .interrupted)
        #expect((report.error as? StackError)?.exitCode == 130)
    }

    @Test func builderIsRecordedForTheBuildingPhaseEvenWhenTheBuildFails() throws {
        let output = RecordingConsole()
        let runner = ScriptedRunner([
            try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.24.0/04-buildx-inspect-default-reachable"),
            ScriptedRunner.exit(["buildx", "build"], 1),
        ])
        let phases = [Phase("image") { try $0.build(BuildRequest(context: ".")) }]
        let report = executor(output.console, runner: runner).execute(phases, cancellator: Cancellator())
        #expect(report.phases[0].outcome == .failed)
        #expect(report.phases[0].builder == "default" && report.phases[0].driver == "docker")
        #expect(report.error as? StackError == .buildFailed(phase: "image", status: "exited with code 1"))
    }

    @Test func builderIsInspectedOncePerRun() throws {
        let output = RecordingConsole()
        let runner = ScriptedRunner([
            try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.10.5/04-buildx-inspect-default-reachable"),
            ScriptedRunner.exit(["buildx", "build"], 0),
        ])
        let phases = ["a", "b", "c"].map { name in Phase(name) { try $0.build(BuildRequest(context: name)) } }
        _ = executor(output.console, runner: runner).execute(phases, cancellator: Cancellator())
        #expect(runner.invocations.map { Array($0.arguments.prefix(2)) } == [["buildx", "inspect"]] + Array(repeating: ["buildx", "build"], count: 3))
    }

    @Test func dryRunPrintsPhasesAndCommandsAndRunsNoBuild() throws {
        let output = RecordingConsole()
        let runner = ScriptedRunner([try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.24.0/04-buildx-inspect-default-reachable")])
        let phases = [
            Phase("prepare") { _ in },
            Phase("image", after: ["prepare"]) { try $0.build(BuildRequest(context: "ctx", tags: ["app:dev"])) },
        ]
        let report = executor(output.console, runner: runner, dryRun: true).execute(phases, cancellator: Cancellator())
        #expect(report.error == nil)
        #expect(output.stdout == """
        # phase prepare
        # phase image (after prepare)
        # image builds on builder default (docker driver, default)
        docker buildx build --builder default -t app:dev ctx

        """)
        #expect(runner.invocations.count == 1)
    }

    @Test func independentPhasesOverlapUpToTheJobLimit() {
        let output = RecordingConsole()
        // Each desktop waits for the other to have started: only concurrent execution passes.
        let started = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let phases = [
            Phase("desktop:a") { _ in
                started[0].signal()
                #expect(started[1].wait(timeout: .now() + 10) == .success, "desktop:b never ran beside desktop:a")
            },
            Phase("desktop:b") { _ in
                started[1].signal()
                #expect(started[0].wait(timeout: .now() + 10) == .success, "desktop:a never ran beside desktop:b")
            },
            Phase("sandbox", after: ["desktop:a", "desktop:b"]) { _ in },
        ]
        let report = executor(output.console, jobs: 2).execute(phases, cancellator: Cancellator())
        #expect(report.phases.map(\.outcome) == [.ok, .ok, .ok])
    }

    @Test func oneJobRunsInListOrderEvenWhenTheListIsNotSorted() {
        let output = RecordingConsole()
        let order = OrderLog()
        let phases = [
            Phase("second", after: ["first"]) { _ in order.append("second") },
            Phase("first") { _ in order.append("first") },
        ]
        let report = executor(output.console).execute(phases, cancellator: Cancellator())
        #expect(report.phases.map(\.outcome) == [.ok, .ok])
        #expect(order.items == ["first", "second"])
    }

    @Test func aFailureLetsRunningPhasesFinishAndStartsNothingNew() {
        let output = RecordingConsole()
        let slowStarted = DispatchSemaphore(value: 0)
        let phases = [
            Phase("slow") { _ in
                slowStarted.signal()
                Thread.sleep(forTimeInterval: 0.3)
            },
            Phase("fails") { _ in
                slowStarted.wait()
                throw Boom()
            },
            Phase("later") { _ in Issue.record("must not start after a failure") },
        ]
        let report = executor(output.console, jobs: 2).execute(phases, cancellator: Cancellator())
        #expect(report.phases.map(\.outcome) == [.ok, .failed, .notRun])
        #expect(output.stderr.contains("fails failed: starting nothing new; letting slow finish"))
    }

    @Test func aPhaseThatDoesNotStopTheRunLeavesTheOthersGoing() {
        let output = RecordingConsole()
        let phases = [
            Phase("transfer:a", stopsRunOnFailure: false) { _ in throw Boom() },
            Phase("transfer:b") { _ in },
            Phase("done", after: ["transfer:a", "transfer:b"]) { _ in },
        ]
        let report = executor(output.console).execute(phases, cancellator: Cancellator())
        #expect(report.phases.map(\.outcome) == [.failed, .ok, .notRun])
        #expect(report.outcome == .failed)
    }

    @Test func overlappingPhasesPrefixDockerOutput() throws {
        let output = RecordingConsole()
        let runner = ScriptedRunner([
            try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.24.0/04-buildx-inspect-default-reachable"),
            ScriptedRunner.exit(["buildx", "build"], 0, stderr: "#1 [internal] load build definition\n#1 DONE 0.0s\n"),
        ])
        let phases = ["api", "web"].map { name in Phase("service:\(name)") { try $0.build(BuildRequest(context: name)) } }
        _ = executor(output.console, runner: runner, jobs: 2).execute(phases, cancellator: Cancellator())
        // The two phases' lines may interleave; each line is whole and says whose it is.
        let lines = output.stderr.split(separator: "\n").map(String.init)
        for phase in ["service:api", "service:web"] {
            #expect(lines.filter { $0.hasPrefix("[\(phase)] #1 ") } == ["[\(phase)] #1 [internal] load build definition", "[\(phase)] #1 DONE 0.0s"])
        }
        // Plain progress, since BuildKit's redrawing display cannot share a terminal.
        #expect(runner.invocations.filter { $0.arguments.starts(with: ["buildx", "build"]) }.allSatisfy { $0.arguments.contains("--progress=plain") })
    }
}

extension PlanExecutorTests {
    @Test func aChainCannotOverlapButSiblingsCan() {
        let chain = [Phase("a") { _ in }, Phase("b", after: ["a"]) { _ in }, Phase("c", after: ["b"]) { _ in }]
        #expect(!PlanExecutor.someCanOverlap(chain))
        #expect(PlanExecutor.someCanOverlap(chain + [Phase("d", after: ["a"]) { _ in }]))
        #expect(PlanExecutor.someCanOverlap([Phase("x") { _ in }, Phase("y") { _ in }]))
    }

    @Test func aChainKeepsDockerOutputUnprefixedWhateverTheJobs() throws {
        let output = RecordingConsole()
        let runner = ScriptedRunner([
            try ScriptedRunner.fixture(["buildx", "inspect"], "buildx-v0.24.0/04-buildx-inspect-default-reachable"),
            ScriptedRunner.exit(["buildx", "build"], 0, stderr: "#1 DONE 0.0s\n"),
        ])
        let phases = [Phase("zed:check") { _ in }, Phase("zed:build", after: ["zed:check"]) { try $0.build(BuildRequest(context: "zed")) }]
        _ = executor(output.console, runner: runner, jobs: 4).execute(phases, cancellator: Cancellator())
        #expect(!output.stderr.contains("[zed:build]"))
        #expect(runner.invocations.last?.arguments.contains("--progress=plain") == false)
    }
}

extension PlanExecutorTests {
    @Test func tableShowsLoadPathsAndTheCriticalPathWhenPhasesOverlapped() {
        let t0 = Date(timeIntervalSince1970: 1_795_929_600)
        func phase(_ name: String, _ start: Double, _ seconds: Double, after: [String] = [], load: LoadPath? = nil) -> PhaseResult {
            PhaseResult(name: name, outcome: .ok, start: t0 + start, seconds: seconds, builder: nil, driver: nil, load: load, dependencies: after)
        }
        let report = PlanExecutor.Report(phases: [
            phase("zed", 0, 1),
            phase("desktop:a", 1, 2, after: ["zed"], load: .unchanged),
            phase("desktop:b", 1, 5, after: ["zed"], load: .loadedRegistry),
            phase("sandbox", 6, 1, after: ["desktop:a", "desktop:b"], load: LoadPath.none),
        ], error: nil, start: t0, seconds: 7)
        #expect(report.table(command: "build-sandbox") == """
        stack build-sandbox: timings
        phase      seconds  outcome  load
        zed           1.00  ok
        desktop:a     2.00  ok       unchanged
        desktop:b     5.00  ok       loaded-registry
        sandbox       1.00  ok       none
        total         7.00  ok
        critical path (7.00 s): zed → desktop:b → sandbox
        """)
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    var items: [String] { lock.withLock { list } }
    func append(_ item: String) { lock.withLock { list.append(item) } }
}
