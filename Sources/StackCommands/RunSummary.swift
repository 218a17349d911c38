import Foundation

/// One run, for machines: what `--summary-json FILE` writes and what CI's step summary shows.
/// The schema (docs/summary.schema.json) is versioned: fields are only ever added.
public struct RunSummary: Codable, Equatable, Sendable {
    public static let schemaVersion = 1

    public struct PhaseSummary: Codable, Equatable, Sendable {
        public var phase: String
        public var outcome: PhaseOutcome
        public var start: Date?
        public var seconds: Double
        public var after: [String]
        public var builder: String?
        public var driver: String?
        public var load: LoadPath?
        public var cache: CacheState?
        /// Why it rebuilt: the first input that changed, or why no fingerprint could be used.
        public var reason: String?
    }

    public var schema: Int
    public var run: String
    public var command: String
    public var outcome: PhaseOutcome
    public var exitCode: Int32
    public var start: Date
    public var seconds: Double
    public var builder: String?
    public var driver: String?
    public var phases: [PhaseSummary]
    /// The chain that decided the run's length, when phases ran side by side.
    public var criticalPath: [String]?

    enum CodingKeys: String, CodingKey {
        case schema, run, command, outcome, start, seconds, builder, driver, phases
        case exitCode = "exit_code"
        case criticalPath = "critical_path"
    }

    public init(report: PlanExecutor.Report, run: String, command: String, builder: BuilderChoice?) {
        schema = Self.schemaVersion
        self.run = run
        self.command = command
        outcome = report.outcome
        exitCode = report.error.map { ($0 as? StackError)?.exitCode ?? 1 } ?? 0
        start = report.start
        seconds = (report.seconds * 1000).rounded() / 1000
        self.builder = builder?.builderName
        driver = builder?.driver
        phases = report.phases.map { phase in
            PhaseSummary(phase: phase.name, outcome: phase.outcome, start: phase.start, seconds: (phase.seconds * 1000).rounded() / 1000,
                         after: phase.dependencies, builder: phase.builder, driver: phase.driver, load: phase.load,
                         cache: phase.cache, reason: phase.reason)
        }
        criticalPath = report.criticalPath.flatMap { $0.count > 1 ? $0.map(\.name) : nil }
    }

    public func json() throws -> Data {
        let encoder = TimingRecord.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return try encoder.encode(self)
    }

    /// A GitHub-flavoured table of the run, for `$GITHUB_STEP_SUMMARY`.
    public func markdown() -> String {
        var lines = ["### stack \(command): \(outcome.rawValue) in \(String(format: "%.2f", seconds)) s", "",
                     "| phase | seconds | outcome | load |", "| --- | ---: | --- | --- |"]
        lines += phases.map { phase in
            "| \(phase.phase) | \(phase.start == nil ? "-" : String(format: "%.2f", phase.seconds)) | \(phase.outcome.rawValue) | \(phase.load?.rawValue ?? "") |"
        }
        if let criticalPath { lines += ["", "Critical path: " + criticalPath.joined(separator: " → ")] }
        return lines.joined(separator: "\n") + "\n\n"
    }
}
