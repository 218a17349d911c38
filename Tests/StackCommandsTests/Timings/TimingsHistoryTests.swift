import Foundation
import Testing
@testable import StackCommands

struct TimingsHistoryTests {
    typealias Run = TimingsFixture.Run

    // MARK: reading

    @Test func fixtureSkipsTheEditedAndTheCutOffLine() throws {
        let history = try TimingsFixture.history()
        #expect(history.skipped == [
            SkippedLine(line: 19, reason: "`seconds` is not a number"),
            SkippedLine(line: 57, reason: "not valid JSON: the last line has no newline, so its write was cut off"),
        ])
        #expect(history.skipped[0].message(file: URL(fileURLWithPath: "/w/.stack/timings.jsonl"))
            == "line 19 of /w/.stack/timings.jsonl is not a timing record (`seconds` is not a number), skipped")
        #expect(history.runs.map(\.run) == [Run.buildZedCold, Run.sandboxCold, Run.buildCold, Run.sandboxHot, Run.buildZedMarkedHot,
                                            Run.buildPartlyHot, Run.sandboxFailed, Run.sandboxCutOff])
    }

    @Test func runWithoutItsTotalLineSpansItsPhases() throws {
        let cutOff = try #require(try TimingsFixture.history().runs.last)
        #expect(cutOff.outcome == nil && cutOff.builder == nil)
        #expect(cutOff.phases.count == 9)
        // transfer:ubuntu, the last to end: 95.637 s after the start, for 31.245 s.
        #expect(cutOff.seconds == 126.882)
    }

    @Test func everyKindOfBadLineIsSkippedWithItsReason() {
        let good = #"{"builder":null,"command":"build","driver":null,"outcome":"ok","phase":"total","run":"r","seconds":1,"start":"2026-11-29T05:20:00.000Z"}"#
        let lines = [
            good,
            "",
            "   ",
            "[1, 2]",
            #"{"command":"build","outcome":"ok","phase":"total","seconds":1,"start":"2026-11-29T05:20:00.000Z"}"#,
            good.replacingOccurrences(of: #""seconds":1"#, with: #""seconds":null"#),
            good.replacingOccurrences(of: "2026-11-29T05:20:00.000Z", with: "yesterday"),
            good.replacingOccurrences(of: #""outcome":"ok""#, with: #""outcome":"great""#),
            good.replacingOccurrences(of: "{", with: #"{"cache":"warm","#),
            "\u{0}\u{0}\u{0}",
            String(good.prefix(40)),
        ]
        let (records, skipped) = LoggedRecord.parse(Data(lines.joined(separator: "\n").utf8))
        #expect(records.count == 1)
        #expect(skipped.map(\.line) == [4, 5, 6, 7, 8, 9, 10, 11])
        let reasons = skipped.map(\.reason)
        #expect(reasons[0] == "not a JSON object")
        #expect(reasons[1] == "no `run` field")
        #expect(reasons[2] == "`seconds` is null")
        #expect(reasons[3] == "`start` is not valid: not an ISO 8601 time: yesterday")
        #expect(reasons[4].hasPrefix("`outcome` is not valid: "))
        #expect(reasons[5].hasPrefix("`cache` is not valid: "))
        #expect(reasons[6] == "not valid JSON")
        #expect(reasons[7] == "not valid JSON: the last line has no newline, so its write was cut off")
    }

    /// Wherever a crash cuts the file, the reader goes on: only the cut line is lost.
    @Test func fileCutAnywhereStillReads() throws {
        let data = try Data(contentsOf: TimingsFixture.file)
        for length in stride(from: 0, to: data.count, by: 53) {
            let (records, skipped) = LoggedRecord.parse(data.prefix(length))
            let lineCount = data.prefix(length).split(separator: 0x0A, omittingEmptySubsequences: false).count
            #expect(skipped.allSatisfy { $0.line == 19 || $0.line == lineCount }, "cut at byte \(length)")
            #expect(records.count + skipped.count <= lineCount)
        }
    }

    @Test func missingFileIsNoHistory() throws {
        #expect(try TimingsHistory.load(URL(fileURLWithPath: "/nonexistent/.stack/timings.jsonl")) == nil)
    }

    @Test func runsAreOrderedByStartNotByWhenTheyWereWritten() throws {
        // Two runs side by side: the one that started first finished (and wrote) last.
        let history = try TimingsFixture.history([
            (TimingsFixture.record("late", "desktop:ubuntu", at: 10, 2, load: .loadedRegistry), nil),
            (TimingsFixture.record("late", TimingRecord.totalPhase, at: 10, 2), nil),
            (TimingsFixture.record("early", "desktop:ubuntu", at: 0, 30, load: .loadedRegistry), nil),
            (TimingsFixture.record("early", TimingRecord.totalPhase, at: 0, 30), nil),
        ])
        #expect(history.runs.map(\.run) == ["early", "late"])
        #expect(history.runs.map(\.cache) == [.cold, .unknown])
        #expect(history.lastRun(of: "build-sandbox")?.run == "late")
    }

    // MARK: cold and hot

    @Test func fixtureRunsAreClassifiedByTheDocumentedRules() throws {
        let runs = Dictionary(uniqueKeysWithValues: try TimingsFixture.history().runs.map { ($0.run, $0) })
        func classes(_ id: String) -> [String: CacheClass] {
            Dictionary(uniqueKeysWithValues: runs[id]!.phases.map { ($0.phase, $0.cache) })
        }
        // First run of each command: cold, skipped zed phases included.
        #expect(runs[Run.buildZedCold]?.cache == .cold && runs[Run.sandboxCold]?.cache == .cold && runs[Run.buildCold]?.cache == .cold)
        #expect(Set(classes(Run.sandboxCold).values) == [.cold])
        // Every build hit or unchanged, the rest skipped: the whole run is hot, restart included.
        #expect(runs[Run.sandboxHot]?.cache == .hot)
        #expect(Set(classes(Run.sandboxHot).values) == [.hot])
        // The record's own field beats everything: zed:build loaded nothing, yet is hot.
        #expect(runs[Run.buildZedMarkedHot]?.cache == .hot && classes(Run.buildZedMarkedHot)["zed:build"] == .hot)
        // One service rebuilt: the unchanged ones are hot, the rebuilt one and the run unknown.
        #expect(classes(Run.buildPartlyHot) == ["service:api": .unknown, "service:frontend": .hot, "service:docs": .hot])
        #expect(runs[Run.buildPartlyHot]?.cache == .unknown)
        // Nothing tells: unknown, not a guess.
        #expect(runs[Run.sandboxFailed]?.cache == .unknown && classes(Run.sandboxFailed)["desktop:ubuntu"] == .hot)
        #expect(classes(Run.sandboxFailed)["desktop:sway"] == .unknown && classes(Run.sandboxFailed)["transfer:ubuntu"] == .unknown)
        #expect(runs[Run.sandboxCutOff]?.cache == .unknown)
    }

    @Test func cacheFieldBeatsTheLoadPath() throws {
        let history = try TimingsFixture.history([
            (TimingsFixture.record("a", "desktop:ubuntu", at: 0, 1), nil),
            (TimingsFixture.record("b", "desktop:ubuntu", at: 10, 1, load: .fingerprintHit), .cold),
        ])
        #expect(history.runs[1].phases[0].cache == .cold)
        #expect(history.runs[1].cache == .unknown)
    }

    @Test func runWithNothingBuiltOrSkippedIsNotHot() throws {
        // A second run that failed in its first check built nothing: no evidence either way.
        let history = try TimingsFixture.history([
            (TimingsFixture.record("a", "zed:check", at: 0, 1), nil),
            (TimingsFixture.record("b", "zed:check", at: 10, 0.1, .failed), nil),
            (TimingsFixture.record("b", TimingRecord.totalPhase, at: 10, 0.1, .failed), nil),
        ])
        #expect(history.runs[1].cache == .unknown && history.runs[1].phases[0].cache == .unknown)
    }

    // MARK: statistics

    @Test func phaseStatisticsOverTheHistory() throws {
        let sandbox = try #require(try TimingsFixture.history().history(of: "build-sandbox"))
        #expect(sandbox.runs == 4 && sandbox.lastRun == Run.sandboxCutOff)
        #expect(sandbox.phases.map(\.phase) == ["zed:check", "zed:build", "zed:verify", "desktop:ubuntu", "desktop:sway", "sandbox:image",
                                                "sandbox:restart", "transfer:ubuntu", "transfer:sway", "total"])
        let byPhase = Dictionary(uniqueKeysWithValues: sandbox.phases.map { ($0.phase, $0) })
        // The failed transfer is counted, not measured.
        #expect(byPhase["transfer:sway"] == PhaseStatistics(
            phase: "transfer:sway", runs: 3, failed: 1, median: 22.871, min: 0.377, max: 25.433, last: 22.871,
            cold: .init(runs: 1, median: 25.433), hot: .init(runs: 1, median: 0.377), unknown: 1, speedup: 67.462))
        // Totals: B (cold) and D (hot); G failed; H has no total line.
        #expect(byPhase["total"] == PhaseStatistics(
            phase: "total", runs: 2, failed: 1, median: 122.31, min: 10.171, max: 234.449, last: 10.171,
            cold: .init(runs: 1, median: 234.449), hot: .init(runs: 1, median: 10.171), unknown: 0, speedup: 23.051))
        // A hot median of 0 ms gives no speedup rather than infinity.
        #expect(byPhase["zed:verify"]?.hot.median == 0 && byPhase["zed:verify"]?.speedup == nil)
    }

    @Test func medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        #expect(PhaseStatistics.median([4, 1, 3, 2]) == 2.5)
        #expect(PhaseStatistics.median([5]) == 5)
        #expect(PhaseStatistics.median([]) == nil)
    }

    @Test func commandsInTheOrderPeopleRunThem() throws {
        #expect(try TimingsFixture.history().commands == ["build", "build-zed", "build-sandbox"])
        let other = try TimingsFixture.history([
            (TimingsFixture.record("a", "x", at: 0, 1, command: "docker"), nil),
            (TimingsFixture.record("b", "x", at: 1, 1, command: "build-zed"), nil),
            (TimingsFixture.record("c", "x", at: 2, 1, command: "alpha"), nil),
        ])
        #expect(other.commands == ["build-zed", "alpha", "docker"])
    }

    // MARK: filters

    @Test func filtersKeepTheClassOfTheWholeFile() throws {
        let history = try TimingsFixture.history()
        let since = try history.filtered(TimingsFilter(since: TimingsFilter.date("2026-11-28")))
        #expect(since.runs.first?.run == Run.buildCold)
        // Still the first build of the file, so still cold, though older runs are filtered out.
        #expect(since.runs.first?.cache == .cold)
        #expect(try history.filtered(TimingsFilter(command: "build-sandbox", limit: 2)).runs.map(\.run) == [Run.sandboxFailed, Run.sandboxCutOff])
        #expect(try history.filtered(TimingsFilter(run: Run.sandboxHot)).runs.map(\.run) == [Run.sandboxHot])
        #expect(try history.filtered(TimingsFilter(since: TimingsFilter.date("2026-11-29T08:40:11.502Z"))).runs.map(\.run)
            == [Run.sandboxFailed, Run.sandboxCutOff])
        #expect(try history.filtered(TimingsFilter(command: "build", run: Run.sandboxHot)).runs.isEmpty)
        #expect(try history.filtered(TimingsFilter(limit: 3)).histories.map(\.command) == ["build", "build-sandbox"])
    }

    @Test func unknownRunIsACommandLineMistake() throws {
        #expect {
            try TimingsFixture.history().filtered(TimingsFilter(run: "nope"))
        } throws: { error in
            (error as? StackError)?.exitCode == 64
        }
    }

    @Test func sinceTakesISO8601DatesAndDateTimes() {
        let midnight = Date(timeIntervalSince1970: 1_795_824_000) // 2026-11-28T00:00:00Z
        #expect(TimingsFilter.date("2026-11-28") == midnight)
        #expect(TimingsFilter.date("2026-11-28T09:00:00Z") == midnight + 9 * 3600)
        #expect(TimingsFilter.date("2026-11-28T09:00:00") == midnight + 9 * 3600)
        #expect(TimingsFilter.date("2026-11-28T10:00:00.500+01:00") == midnight + 9 * 3600 + 0.5)
        #expect(TimingsFilter.date("2026-11-28T09:00:00.250") == midnight + 9 * 3600 + 0.25)
        #expect(TimingsFilter.date("yesterday") == nil)
        #expect(TimingsFilter.date("28/11/2026") == nil)
        #expect(TimingsFilter.date("") == nil)
    }
}
