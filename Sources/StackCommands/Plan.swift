import Foundation

/// A named step of a command, with the phases it needs and what it does.
public struct Phase: Sendable {
    public var name: String
    public var dependencies: [String]
    /// False for phases whose failure should not stop unrelated work (one desktop's transfer
    /// failing leaves the others worth doing); the run still ends as failed.
    public var stopsRunOnFailure: Bool
    public var action: @Sendable (PhaseContext) throws -> Void

    public init(_ name: String, after dependencies: [String] = [], stopsRunOnFailure: Bool = true,
                action: @escaping @Sendable (PhaseContext) throws -> Void) {
        self.name = name
        self.dependencies = dependencies
        self.stopsRunOnFailure = stopsRunOnFailure
        self.action = action
    }
}

/// What a phase's action can use and report: the shared routine, the docker runner, dry-run
/// mode, and which builder it used (recorded even when the build then fails).
public final class PhaseContext: @unchecked Sendable {
    public let name: String
    public let routine: BuildRoutine
    public let console: Console
    public let dryRun: Bool
    /// Set when phases may overlap: docker's output then arrives line by line, prefixed. The
    /// routine also reads it line by line (to see cache hits) while a build runs.
    public internal(set) var outputLines: (@Sendable (String) -> Void)?
    public internal(set) var builder: BuilderChoice?
    /// How the phase's image reached the daemon, when it built one.
    public internal(set) var load: LoadPath?
    /// Whether its builds were all cache hits, when that could be seen.
    public internal(set) var cache: CacheState?
    /// Why it rebuilt, from the fingerprint check.
    public internal(set) var reason: String?
    public private(set) var skipped = false

    init(name: String, routine: BuildRoutine, console: Console, dryRun: Bool, prefixOutput: Bool) {
        self.name = name
        self.routine = routine
        self.console = console
        self.dryRun = dryRun
        if prefixOutput {
            let prefix = "[\(name)] "
            self.outputLines = { @Sendable line in console.info(prefix + line) }
        } else {
            self.outputLines = nil
        }
    }

    public var runner: any DockerRunning { routine.runner }

    /// Every build of every command goes through here.
    public func build(_ request: BuildRequest) throws {
        try routine.build(request, in: self)
    }

    /// Runs a docker command that is part of this phase's work (not a build): printed in a
    /// dry run, streamed otherwise; a non-zero exit fails the phase.
    public func run(_ invocation: DockerInvocation) throws {
        if dryRun {
            console.output(runner.commandLine(invocation))
            return
        }
        let status = try runner.stream(invocation, lines: outputLines)
        guard status.succeeded else {
            throw StackError.stepFailed(phase: name, message: "`\(runner.commandLine(invocation))` \(status); read its output above.")
        }
    }

    public func skip(_ reason: String) {
        skipped = true
        console.info("\(name): skipped, \(reason)")
    }
}

public struct PhaseResult: Equatable, Sendable {
    public var name: String
    public var outcome: PhaseOutcome
    public var start: Date?
    public var seconds: Double
    public var builder: String?
    public var driver: String?
    public var load: LoadPath?
    public var cache: CacheState?
    public var reason: String?
    public var dependencies: [String] = []

    static func notRun(_ phase: Phase) -> PhaseResult {
        PhaseResult(name: phase.name, outcome: .notRun, start: nil, seconds: 0, builder: nil, driver: nil, load: nil, cache: nil,
                    reason: nil, dependencies: phase.dependencies)
    }

    var end: Date? { start.map { $0 + seconds } }
}

/// Runs a command's phases as a graph: a phase starts once all it needs has succeeded (or
/// was skipped), up to `jobs` at a time. After a failure or an interruption nothing new
/// starts; phases already running are left to finish, because stopping a build half way
/// throws away work the shared cache would keep, and a stopped transfer leaves nothing to
/// clean up either way.
public struct PlanExecutor {
    public var routine: BuildRoutine
    public var console: Console
    public var dryRun: Bool
    public var jobs: Int
    /// Whether each phase's start is announced (`==> name`); off for the transparent wrapper.
    public var announcesPhases: Bool
    public var clock: @Sendable () -> Date

    public init(routine: BuildRoutine, console: Console, dryRun: Bool, jobs: Int = 1,
                announcesPhases: Bool = true, clock: @escaping @Sendable () -> Date = Date.init) {
        self.routine = routine
        self.console = console
        self.dryRun = dryRun
        self.jobs = jobs
        self.announcesPhases = announcesPhases
        self.clock = clock
    }

    public struct Report {
        public var phases: [PhaseResult]
        public var error: Error?
        public var start: Date
        public var seconds: Double
    }

    /// Shared by the scheduler and the phase threads; guarded by `condition`.
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        var results: [String: PhaseResult] = [:]
        var running: Set<String> = []
        var errors: [Error] = []
        var stopping = false
    }

    public func execute(_ phases: [Phase], cancellator: Cancellator) -> Report {
        // A dry run prints one plan, in order; overlapping output would only blur it. A chain
        // (build-zed) never overlaps, so its docker output stays untouched whatever --jobs says.
        let limit = dryRun || !Self.someCanOverlap(phases) ? 1 : max(1, jobs)
        let runStart = clock()
        let state = State()
        state.condition.lock()
        while true {
            if cancellator.interruption != nil { state.stopping = true }
            var progressed = false
            for phase in phases where state.results[phase.name] == nil && !state.running.contains(phase.name) {
                let needs = phase.dependencies.map { state.results[$0]?.outcome }
                if needs.contains(where: { $0 != nil && $0 != .ok && $0 != .skipped }) {
                    state.results[phase.name] = .notRun(phase)
                    progressed = true
                } else if !state.stopping, state.running.count < limit, needs.allSatisfy({ $0 == .ok || $0 == .skipped }) {
                    state.running.insert(phase.name)
                    progressed = true
                    start(phase, state: state, cancellator: cancellator, prefixOutput: limit > 1)
                }
            }
            if state.running.isEmpty {
                if progressed { continue }
                break
            }
            state.condition.wait()
        }
        for phase in phases where state.results[phase.name] == nil { state.results[phase.name] = .notRun(phase) }
        state.condition.unlock()
        return Report(phases: phases.map { state.results[$0.name]! }, error: state.errors.first, start: runStart,
                      seconds: clock().timeIntervalSince(runStart))
    }

    private func start(_ phase: Phase, state: State, cancellator: Cancellator, prefixOutput: Bool) {
        let context = PhaseContext(name: phase.name, routine: routine, console: console, dryRun: dryRun, prefixOutput: prefixOutput)
        if dryRun {
            console.output("# phase \(phase.name)" + (phase.dependencies.isEmpty ? "" : " (after \(phase.dependencies.joined(separator: ", ")))"))
        } else if announcesPhases {
            console.info("==> \(phase.name)")
        }
        let clock = self.clock
        let console = self.console
        let work: @Sendable () -> Void = {
            let start = clock()
            var outcome: PhaseOutcome
            var failure: Error?
            do {
                try phase.action(context)
                try cancellator.throwIfInterrupted()
                outcome = context.skipped ? .skipped : .ok
            } catch {
                if case StackError.interrupted = error { outcome = .interrupted } else { outcome = .failed }
                failure = error
            }
            let result = PhaseResult(name: phase.name, outcome: outcome, start: start, seconds: clock().timeIntervalSince(start),
                                     builder: context.builder?.builderName, driver: context.builder?.driver, load: context.load,
                                     cache: context.cache, reason: context.reason, dependencies: phase.dependencies)
            state.condition.lock()
            state.results[phase.name] = result
            state.running.remove(phase.name)
            if let failure {
                state.errors.append(failure)
                if phase.stopsRunOnFailure || outcome == .interrupted {
                    if !state.stopping, !state.running.isEmpty {
                        console.info("\(phase.name) \(outcome.rawValue): starting nothing new; letting \(state.running.sorted().joined(separator: ", ")) finish")
                    }
                    state.stopping = true
                } else {
                    console.info("\(phase.name) failed: \(Self.describe(failure)); the other phases go on")
                }
            }
            state.condition.signal()
            state.condition.unlock()
        }
        if prefixOutput {
            Thread(block: work).start()
        } else {
            // One at a time: run on this thread (the scheduler holds the lock; release it meanwhile).
            state.condition.unlock()
            work()
            state.condition.lock()
        }
    }

    /// Whether two phases exist of which neither needs the other, directly or not.
    static func someCanOverlap(_ phases: [Phase]) -> Bool {
        let direct = Dictionary(phases.map { ($0.name, $0.dependencies) }, uniquingKeysWith: { first, _ in first })
        var closures: [String: Set<String>] = [:]
        func needs(_ name: String) -> Set<String> {
            if let known = closures[name] { return known }
            closures[name] = []
            let all = (direct[name] ?? []).reduce(into: Set<String>()) { result, dependency in
                result.insert(dependency)
                result.formUnion(needs(dependency))
            }
            closures[name] = all
            return all
        }
        let names = phases.map(\.name)
        for (index, first) in names.enumerated() {
            for second in names[(index + 1)...] where !needs(first).contains(second) && !needs(second).contains(first) {
                return true
            }
        }
        return false
    }

    static func describe(_ error: Error) -> String {
        (error as? StackError)?.message ?? "\(error)"
    }
}

extension PlanExecutor.Report {
    public var outcome: PhaseOutcome {
        if phases.contains(where: { $0.outcome == .interrupted }) { return .interrupted }
        return error == nil ? .ok : .failed
    }

    /// One record per phase that ran, and one for the whole run.
    public func records(run: String, command: String, builder: BuilderChoice?) -> [TimingRecord] {
        let ran = phases.compactMap { phase -> TimingRecord? in
            guard let start = phase.start else { return nil }
            return TimingRecord(run: run, command: command, phase: phase.name, start: start, seconds: phase.seconds,
                                outcome: phase.outcome, builder: phase.builder, driver: phase.driver, load: phase.load, cache: phase.cache,
                                reason: phase.reason)
        }
        return ran + [TimingRecord(run: run, command: command, phase: TimingRecord.totalPhase, start: start, seconds: seconds,
                                   outcome: outcome, builder: builder?.builderName, driver: builder?.driver, load: nil)]
    }

    /// The end-of-run table, printed to stderr after every run, failed ones too: each phase's
    /// seconds and outcome, how its image reached the daemon when it built one, the total, and
    /// the critical path when phases ran side by side.
    public func table(command: String) -> String {
        let showLoad = phases.contains { $0.load != nil }
        let rows = phases.map { ($0.name, $0.start == nil ? "-" : String(format: "%.2f", $0.seconds), $0.outcome.rawValue, $0.load?.rawValue ?? "") }
            + [(TimingRecord.totalPhase, String(format: "%.2f", seconds), outcome.rawValue, "")]
        let nameWidth = max(5, rows.map(\.0.count).max() ?? 0)
        let secondsWidth = max(7, rows.map(\.1.count).max() ?? 0)
        let outcomeWidth = max(7, rows.map(\.2.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func padLeft(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        func line(_ row: (String, String, String, String)) -> String {
            let base = "\(pad(row.0, nameWidth))  \(padLeft(row.1, secondsWidth))  "
            return showLoad && !row.3.isEmpty ? base + pad(row.2, outcomeWidth) + "  " + row.3 : base + row.2
        }
        var lines = ["stack \(command): timings", line(("phase", "seconds", "outcome", showLoad ? "load" : ""))]
        lines += rows.map(line)
        if let path = criticalPath, path.count > 1, let first = path.first?.start, let last = path.last?.end {
            lines.append(String(format: "critical path (%.2f s): ", last.timeIntervalSince(first)) + path.map(\.name).joined(separator: " → "))
        }
        return lines.joined(separator: "\n")
    }

    /// When phases overlapped: the chain that decided the run's length, found backwards from
    /// the phase that ended last through, at each step, the dependency that ended last.
    var criticalPath: [PhaseResult]? {
        let ran = phases.filter { $0.start != nil }
        let overlapped = ran.enumerated().contains { index, phase in
            ran[(index + 1)...].contains { other in phase.start! < other.end! && other.start! < phase.end! }
        }
        guard overlapped, var current = ran.max(by: { $0.end! < $1.end! }) else { return nil }
        var path = [current]
        while let previous = ran.filter({ current.dependencies.contains($0.name) }).max(by: { $0.end! < $1.end! }) {
            path.insert(previous, at: 0)
            current = previous
        }
        return path
    }
}
