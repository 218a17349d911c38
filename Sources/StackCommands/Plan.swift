import Foundation

/// A named step of a command, with the phases it needs and what it does.
public struct Phase: Sendable {
    public var name: String
    public var dependencies: [String]
    public var action: @Sendable (PhaseContext) throws -> Void

    public init(_ name: String, after dependencies: [String] = [], action: @escaping @Sendable (PhaseContext) throws -> Void) {
        self.name = name
        self.dependencies = dependencies
        self.action = action
    }
}

/// What a phase's action can use and report: the shared routine, dry-run mode, and which
/// builder it used (recorded even when the build then fails).
public final class PhaseContext: @unchecked Sendable {
    public let name: String
    public let routine: BuildRoutine
    public let console: Console
    public let dryRun: Bool
    public internal(set) var builder: BuilderChoice?
    public private(set) var skipped = false

    init(name: String, routine: BuildRoutine, console: Console, dryRun: Bool) {
        self.name = name
        self.routine = routine
        self.console = console
        self.dryRun = dryRun
    }

    /// Every build of every command goes through here.
    public func build(_ request: BuildRequest) throws {
        try routine.build(request, in: self)
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
}

/// Runs a command's phases in order of their dependencies. A phase whose dependency did not
/// succeed is not run; after a failure or an interruption, nothing new starts.
public struct PlanExecutor {
    public var command: String
    public var runID: String
    public var routine: BuildRoutine
    public var console: Console
    public var dryRun: Bool
    public var clock: @Sendable () -> Date

    public init(command: String, runID: String, routine: BuildRoutine, console: Console, dryRun: Bool, clock: @escaping @Sendable () -> Date = Date.init) {
        self.command = command
        self.runID = runID
        self.routine = routine
        self.console = console
        self.dryRun = dryRun
        self.clock = clock
    }

    public struct Report {
        public var phases: [PhaseResult]
        public var error: Error?
        public var start: Date
        public var seconds: Double
    }

    public func execute(_ phases: [Phase], cancellator: Cancellator) -> Report {
        let runStart = clock()
        var results: [PhaseResult] = []
        var firstError: Error?
        var succeeded: Set<String> = []
        for phase in phases {
            let blocked = firstError != nil || cancellator.interruption != nil || !phase.dependencies.allSatisfy(succeeded.contains)
            if blocked {
                results.append(PhaseResult(name: phase.name, outcome: .notRun, start: nil, seconds: 0, builder: nil, driver: nil))
                continue
            }
            if dryRun {
                console.output("# phase \(phase.name)" + (phase.dependencies.isEmpty ? "" : " (after \(phase.dependencies.joined(separator: ", ")))"))
            } else {
                console.info("==> \(phase.name)")
            }
            let context = PhaseContext(name: phase.name, routine: routine, console: console, dryRun: dryRun)
            let start = clock()
            var outcome: PhaseOutcome
            do {
                try phase.action(context)
                try cancellator.throwIfInterrupted()
                outcome = context.skipped ? .skipped : .ok
                succeeded.insert(phase.name)
            } catch {
                if case StackError.interrupted = error { outcome = .interrupted } else { outcome = .failed }
                firstError = error
            }
            results.append(PhaseResult(
                name: phase.name, outcome: outcome, start: start, seconds: clock().timeIntervalSince(start),
                builder: context.builder?.builderName, driver: context.builder?.driver
            ))
        }
        return Report(phases: results, error: firstError, start: runStart, seconds: clock().timeIntervalSince(runStart))
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
                                outcome: phase.outcome, builder: phase.builder, driver: phase.driver)
        }
        return ran + [TimingRecord(run: run, command: command, phase: TimingRecord.totalPhase, start: start, seconds: seconds,
                                   outcome: outcome, builder: builder?.builderName, driver: builder?.driver)]
    }

    /// The end-of-run table, printed to stderr after every run, failed ones too.
    public func table(command: String) -> String {
        let rows = phases.map { ($0.name, $0.start == nil ? "-" : String(format: "%.2f", $0.seconds), $0.outcome.rawValue) }
            + [(TimingRecord.totalPhase, String(format: "%.2f", seconds), outcome.rawValue)]
        let nameWidth = max(5, rows.map(\.0.count).max() ?? 0)
        let secondsWidth = max(7, rows.map(\.1.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func padLeft(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        var lines = ["stack \(command): timings", "\(pad("phase", nameWidth))  \(padLeft("seconds", secondsWidth))  outcome"]
        lines += rows.map { "\(pad($0.0, nameWidth))  \(padLeft($0.1, secondsWidth))  \($0.2)" }
        return lines.joined(separator: "\n")
    }
}
