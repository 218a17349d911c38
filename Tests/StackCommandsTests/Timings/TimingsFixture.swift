import Foundation
import Testing
@testable import StackCommands

/// The timings fixture and the golden files of what `stack timings` makes of it.
///
/// Fixtures/timings/timings.jsonl is a realistic history: build-zed cold (A); build-sandbox cold
/// with --jobs 2, desktops and transfers overlapping (B); build cold (C); a hand-edited line whose
/// `seconds` is a string (line 19); build-sandbox hot, fingerprint-hit/unchanged loads and skipped
/// transfers (D); build-zed whose records carry the planned `cache` field (E); build with one
/// service rebuilt (F); build-sandbox with a failed transfer (G); build-sandbox with Zed rebuilt
/// and both desktops too, whose total line was cut off mid-write (H, the last line, no newline).
///
/// The goldens are under Fixtures/timings/golden/. After an intended change of output, rewrite
/// them with
///
///     STACK_UPDATE_GOLDEN=1 swift test --filter Timings
///
/// and review `git diff Tests/StackCommandsTests/Fixtures/timings/golden` before committing.
enum TimingsFixture {
    static let directory = Fixture.directory.appendingPathComponent("timings")
    static let file = directory.appendingPathComponent("timings.jsonl")
    static let updating = ProcessInfo.processInfo.environment["STACK_UPDATE_GOLDEN"] == "1"

    enum Run {
        static let buildZedCold = "20261127T164012Z-7c1e"
        static let sandboxCold = "20261127T164731Z-2b9f"
        static let buildCold = "20261128T090211Z-5b1e"
        static let sandboxHot = "20261128T093544Z-e40a"
        static let buildZedMarkedHot = "20261128T140507Z-91d3"
        static let buildPartlyHot = "20261129T081502Z-c07b"
        static let sandboxFailed = "20261129T084011Z-1f66"
        static let sandboxCutOff = "20261129T100512Z-9c4d"
    }

    static func history() throws -> TimingsHistory {
        try #require(try TimingsHistory.load(file))
    }

    /// The fixture's absolute path differs between machines; goldens hold `FIXTURES` instead.
    static func portable(_ text: String) -> String {
        text.replacingOccurrences(of: directory.path, with: "FIXTURES")
    }

    /// Compares with golden/NAME, or rewrites it under STACK_UPDATE_GOLDEN=1.
    static func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let golden = directory.appendingPathComponent("golden").appendingPathComponent(name)
        let text = portable(actual) + "\n"
        if updating {
            try Data(text.utf8).write(to: golden, options: .atomic)
            return
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == expected, "\(name) differs from its golden file; if the change is intended, run STACK_UPDATE_GOLDEN=1 swift test --filter Timings",
                sourceLocation: sourceLocation)
    }

    /// A JSON Lines file from records, with `cache` added to the lines that name one (the field
    /// TimingRecord does not write yet).
    static func jsonl(_ records: [(TimingRecord, CacheState?)]) throws -> Data {
        let encoder = TimingRecord.encoder()
        var data = Data()
        for (record, cache) in records {
            var line = String(decoding: try encoder.encode(record), as: UTF8.self)
            if let cache { line = "{\"cache\":\"\(cache.rawValue)\"," + line.dropFirst() }
            data.append(Data((line + "\n").utf8))
        }
        return data
    }

    static func history(_ records: [(TimingRecord, CacheState?)]) throws -> TimingsHistory {
        let (logged, skipped) = LoggedRecord.parse(try jsonl(records))
        return TimingsHistory(file: URL(fileURLWithPath: "/t.jsonl"), records: logged, skipped: skipped)
    }

    static let t0 = Date(timeIntervalSince1970: 1_795_929_600)

    /// A phase record `at` seconds after t0; a builder when it loads something.
    static func record(_ run: String, _ phase: String, at: Double, _ seconds: Double, _ outcome: PhaseOutcome = .ok,
                       load: LoadPath? = nil, command: String = "build-sandbox") -> TimingRecord {
        TimingRecord(run: run, command: command, phase: phase, start: t0 + at, seconds: seconds, outcome: outcome,
                     builder: load == nil ? nil : "helix-shared", driver: load == nil ? nil : "remote", load: load)
    }
}
