import Foundation

/// What `stack timings` concludes about a phase or a run: the record's own `cache` field when
/// it has one, else what its load path and its run show, else `unknown`, never a guess.
public enum CacheClass: String, Encodable, Equatable, Sendable {
    case cold
    case hot
    case unknown

    init(_ state: CacheState) {
        switch state {
        case .cold: self = .cold
        case .hot: self = .hot
        }
    }
}

/// Encodes an absent value as `null` rather than leaving the key out, so every object of the
/// `--json` document has the same keys (as every line of the timings file does).
@propertyWrapper
public struct NullWhenAbsent<Value: Encodable & Equatable & Sendable>: Encodable, Equatable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A line of the timings file that is not a timing record; `stack timings` goes on without it.
public struct SkippedLine: Encodable, Equatable, Sendable {
    public var line: Int
    public var reason: String

    public func message(file: URL) -> String {
        "line \(line) of \(file.path) is not a timing record (\(reason)), skipped"
    }
}

/// One phase of a run as read back, with where it sits in the run and what the cache did.
public struct TimingsPhaseRun: Encodable, Equatable, Sendable {
    public var phase: String
    public var start: Date
    /// Seconds from the run's start to the phase's.
    public var offset: Double
    public var seconds: Double
    public var outcome: PhaseOutcome
    @NullWhenAbsent public var builder: String?
    @NullWhenAbsent public var driver: String?
    @NullWhenAbsent public var load: LoadPath?
    public var cache: CacheClass
}

/// The records of one run id, grouped.
public struct TimingsRun: Encodable, Equatable, Sendable {
    public var run: String
    public var command: String
    public var start: Date
    /// The total record's seconds; without one, the span of the phases.
    public var seconds: Double
    /// Nil when the run's total line is missing (the file ends in the middle of the run).
    @NullWhenAbsent public var outcome: PhaseOutcome?
    /// The builder the run resolved, from its total line.
    @NullWhenAbsent public var builder: String?
    @NullWhenAbsent public var driver: String?
    public var cache: CacheClass
    /// In the order they were written: the plan's.
    public var phases: [TimingsPhaseRun]
}

/// Per phase over the runs of one command: durations of the phases that did their work (`ok`)
/// or found it done (`skipped`); failed and interrupted ones are only counted, because their
/// durations say when they stopped, not what the work takes.
public struct PhaseStatistics: Encodable, Equatable, Sendable {
    public struct Split: Encodable, Equatable, Sendable {
        public var runs: Int
        @NullWhenAbsent public var median: Double?
    }

    public var phase: String
    public var runs: Int
    public var failed: Int
    @NullWhenAbsent public var median: Double?
    @NullWhenAbsent public var min: Double?
    @NullWhenAbsent public var max: Double?
    @NullWhenAbsent public var last: Double?
    public var cold: Split
    public var hot: Split
    public var unknown: Int
    /// Cold median over hot median; null unless both exist and the hot one is above zero.
    @NullWhenAbsent public var speedup: Double?
}

/// The history of one command: how many runs, the last one, and its phases' statistics
/// (the run totals last, as phase `total`).
public struct CommandHistory: Encodable, Equatable, Sendable {
    public var command: String
    public var runs: Int
    public var lastRun: String
    public var phases: [PhaseStatistics]

    enum CodingKeys: String, CodingKey {
        case command, runs, phases
        case lastRun = "last_run"
    }
}

/// Which runs to look at. Applied after every run was classified, so a run keeps the cache
/// class the whole file gives it (the first run of a command stays cold under `--since`).
public struct TimingsFilter: Encodable, Equatable, Sendable {
    @NullWhenAbsent public var command: String?
    @NullWhenAbsent public var run: String?
    @NullWhenAbsent public var since: Date?
    /// The last N runs that pass the other filters.
    @NullWhenAbsent public var limit: Int?

    public init(command: String? = nil, run: String? = nil, since: Date? = nil, limit: Int? = nil) {
        self.command = command
        self.run = run
        self.since = since
        self.limit = limit
    }

    /// `--since`: an ISO 8601 date (midnight UTC) or date-time; a time without a zone is UTC,
    /// like every time in the timings file.
    public static func date(_ text: String) -> Date? {
        let withZone: [ISO8601DateFormatter.Options] = [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]]
        let local: ISO8601DateFormatter.Options = [.withFullDate, .withTime, .withColonSeparatorInTime]
        let layouts = withZone + [local.union(.withFractionalSeconds), local, [.withFullDate]]
        for options in layouts {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    var summary: String {
        var parts: [String] = []
        if let command { parts.append("command \(command)") }
        if let run { parts.append("--run \(run)") }
        if let since { parts.append("--since \(TimingRecord.iso8601.string(from: since))") }
        if let limit { parts.append("--limit \(limit)") }
        return parts.joined(separator: ", ")
    }
}

public struct TimingsReadError: Error, CustomStringConvertible {
    public var path: String

    public var description: String { "cannot read \(path); check that it is a file you may read" }
}

/// `.stack/timings.jsonl` read back: its runs in order of start, each classified cold, hot or
/// unknown, and the lines that were not records.
public struct TimingsHistory: Equatable, Sendable {
    /// The commands in the order people run them; others follow by name.
    public static let commandOrder = ["build", "build-zed", "build-sandbox"]

    public var file: URL
    public var skipped: [SkippedLine]
    public var runs: [TimingsRun]

    /// Nil when there is no file yet.
    public static func load(_ file: URL) throws -> TimingsHistory? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: file.path) else { throw TimingsReadError(path: file.path) }
        let (records, skipped) = LoggedRecord.parse(data)
        return TimingsHistory(file: file, records: records, skipped: skipped)
    }

    init(file: URL, records: [LoggedRecord], skipped: [SkippedLine]) {
        self.file = file
        self.skipped = skipped
        let groups = Dictionary(grouping: records, by: \.record.run).values
            .map { RunRecords($0) }
            .sorted { ($0.start, $0.id) < ($1.start, $1.id) }
        var commandsSeen: Set<String> = []
        runs = groups.map { $0.run(isFirstOfCommand: commandsSeen.insert($0.command).inserted) }
    }

    public var commands: [String] {
        let present = Set(runs.map(\.command))
        return Self.commandOrder.filter(present.contains) + present.subtracting(Self.commandOrder).sorted()
    }

    public func lastRun(of command: String) -> TimingsRun? {
        runs.last { $0.command == command }
    }

    /// An unknown `--run` is a mistake on the command line; the other filters may simply match nothing.
    public func filtered(_ filter: TimingsFilter) throws -> TimingsHistory {
        if let id = filter.run, !runs.contains(where: { $0.run == id }) {
            throw StackError.usage("there is no run \(id) in \(file.path); `stack timings` shows the last run of each command with its id.")
        }
        var chosen = runs.filter { run in
            (filter.command.map { run.command == $0 } ?? true)
                && (filter.run.map { run.run == $0 } ?? true)
                && (filter.since.map { run.start >= $0 } ?? true)
        }
        if let limit = filter.limit { chosen = Array(chosen.suffix(limit)) }
        var history = self
        history.runs = chosen
        return history
    }

    public func history(of command: String) -> CommandHistory? {
        let chosen = runs.filter { $0.command == command }
        guard let last = chosen.last else { return nil }
        let entries = chosen.flatMap(\.entries)
        let phases = entries.map(\.phase).reduce(into: [String]()) { names, name in
            if !names.contains(name) { names.append(name) }
        }
        let ordered = phases.filter { $0 != TimingRecord.totalPhase } + phases.filter { $0 == TimingRecord.totalPhase }
        return CommandHistory(command: command, runs: chosen.count, lastRun: last.run,
                              phases: ordered.map { name in PhaseStatistics(name, entries.filter { $0.phase == name }) })
    }

    public var histories: [CommandHistory] {
        commands.compactMap(history(of:))
    }
}

/// What one phase, or a run's total, contributes to the statistics.
struct PhaseEntry {
    var phase: String
    var seconds: Double
    var outcome: PhaseOutcome
    var cache: CacheClass
}

extension TimingsRun {
    /// Its phases, and its total when the total line is there.
    var entries: [PhaseEntry] {
        var entries = phases.map { PhaseEntry(phase: $0.phase, seconds: $0.seconds, outcome: $0.outcome, cache: $0.cache) }
        if let outcome { entries.append(PhaseEntry(phase: TimingRecord.totalPhase, seconds: seconds, outcome: outcome, cache: cache)) }
        return entries
    }
}

extension PhaseStatistics {
    init(_ phase: String, _ entries: [PhaseEntry]) {
        let done = entries.filter { $0.outcome == .ok || $0.outcome == .skipped }
        let seconds = done.map(\.seconds)
        func split(_ cache: CacheClass) -> Split {
            let matching = done.filter { $0.cache == cache }.map(\.seconds)
            return Split(runs: matching.count, median: Self.median(matching))
        }
        let cold = split(.cold)
        let hot = split(.hot)
        var speedup: Double?
        if let coldMedian = cold.median, let hotMedian = hot.median, hotMedian > 0 { speedup = Self.milliseconds(coldMedian / hotMedian) }
        self.init(phase: phase, runs: done.count, failed: entries.count - done.count, median: Self.median(seconds),
                  min: seconds.min(), max: seconds.max(), last: seconds.last, cold: cold, hot: hot,
                  unknown: done.count - cold.runs - hot.runs, speedup: speedup)
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return milliseconds(sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle])
    }

    /// The timings file's own precision.
    static func milliseconds(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}

/// A timing record as read back.
struct LoggedRecord {
    var record: TimingRecord
    var cache: CacheState? { record.cache }

    /// Every record in file order; a line that is not one (cut off by a crash, edited by hand)
    /// is skipped with the reason, never fatal. Blank lines are not worth a word.
    static func parse(_ data: Data) -> (records: [LoggedRecord], skipped: [SkippedLine]) {
        let decoder = TimingRecord.decoder()
        var records: [LoggedRecord] = []
        var skipped: [SkippedLine] = []
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where line.contains(where: { !Self.isWhitespace($0) }) {
            let json = Data(line)
            do {
                records.append(LoggedRecord(record: try decoder.decode(TimingRecord.self, from: json)))
            } catch {
                // Only the last piece has no newline after it: an append that never finished.
                let unfinished = index == lines.count - 1
                skipped.append(SkippedLine(line: index + 1, reason: Self.reason(error, unfinished: unfinished)))
            }
        }
        return (records, skipped)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D
    }

    /// Our own words, so the message is the same on every platform.
    static func reason(_ error: Error, unfinished: Bool) -> String {
        func key(_ path: [CodingKey]) -> String { "`" + path.map(\.stringValue).joined(separator: ".") + "`" }
        switch error as? DecodingError {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return unfinished ? "not valid JSON: the last line has no newline, so its write was cut off" : "not valid JSON"
        case .dataCorrupted(let context):
            return "\(key(context.codingPath)) is not valid: \(context.debugDescription)"
        case .keyNotFound(let missing, _):
            return "no \(key([missing])) field"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "not a JSON object"
        case .typeMismatch(let type, let context):
            let expected = type == Double.self || type == Int.self ? "number" : type == String.self ? "string" : "\(type)"
            return "\(key(context.codingPath)) is not a \(expected)"
        case .valueNotFound(_, let context):
            return "\(key(context.codingPath)) is null"
        default:
            return "\(error)"
        }
    }
}

/// The records of one run id before classification.
private struct RunRecords {
    var id: String
    var command: String
    var total: LoggedRecord?
    var phases: [LoggedRecord]
    var start: Date

    init(_ records: [LoggedRecord]) {
        id = records[0].record.run
        command = records[0].record.command
        total = records.last { $0.record.phase == TimingRecord.totalPhase }
        phases = records.filter { $0.record.phase != TimingRecord.totalPhase }
        start = total?.record.start ?? phases.map(\.record.start).min() ?? records[0].record.start
    }

    /// A run is hot when every phase that built on a builder (or was skipped) was skipped or hot;
    /// else the first run of a command in the file is cold; else nothing tells, so it is unknown.
    func run(isFirstOfCommand: Bool) -> TimingsRun {
        let builds = phases.filter { $0.record.builder != nil || $0.record.outcome == .skipped }
        let hotRun = !builds.isEmpty && builds.allSatisfy { $0.record.outcome == .skipped || Self.evidence($0) == .hot }
        func classify(_ logged: LoggedRecord?) -> CacheClass {
            logged.flatMap(Self.evidence) ?? (hotRun ? .hot : isFirstOfCommand ? .cold : .unknown)
        }
        let phaseRuns = phases.map { logged in
            let record = logged.record
            return TimingsPhaseRun(phase: record.phase, start: record.start, offset: PhaseStatistics.milliseconds(record.start.timeIntervalSince(start)),
                                   seconds: record.seconds, outcome: record.outcome, builder: record.builder, driver: record.driver,
                                   load: record.load, cache: classify(logged))
        }
        let span = phaseRuns.map { $0.offset + $0.seconds }.max() ?? 0
        return TimingsRun(run: id, command: command, start: start, seconds: total?.record.seconds ?? PhaseStatistics.milliseconds(span),
                          outcome: total?.record.outcome, builder: total?.record.builder, driver: total?.record.driver,
                          cache: classify(total), phases: phaseRuns)
    }

    /// What the record itself says: its `cache` field, else a load that found the image in place.
    static func evidence(_ logged: LoggedRecord) -> CacheClass? {
        if let cache = logged.cache { return CacheClass(cache) }
        switch logged.record.load {
        case .fingerprintHit, .unchanged: return .hot
        default: return nil
        }
    }
}
