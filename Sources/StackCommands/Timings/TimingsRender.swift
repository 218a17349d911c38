import Foundation

/// The text forms of `stack timings`, pure functions of a history so that tests hold them
/// against golden files. Plain text only: no colours, so NO_COLOR and pipes need nothing special.
public enum TimingsRender {
    /// Columns of the `#` timeline in the table.
    public static let barWidth = 30

    /// The last run of each command: per phase its seconds, outcome, cache class, builder/driver,
    /// load path and a timeline bar, `#` from its start to its end on a line that is the run.
    public static func table(_ history: TimingsHistory) -> String {
        history.commands.compactMap(history.lastRun(of:)).map(runTable).joined(separator: "\n\n")
    }

    static func runTable(_ run: TimingsRun) -> String {
        let phases = run.phases.map { phase in
            [phase.phase, seconds(phase.seconds), phase.outcome.rawValue, phase.cache.rawValue,
             builder(phase.builder, phase.driver), phase.load?.rawValue ?? "-",
             bar(offset: phase.offset, seconds: phase.seconds, total: run.seconds)]
        }
        let total = [TimingRecord.totalPhase, seconds(run.seconds), run.outcome?.rawValue ?? "-", run.cache.rawValue,
                     builder(run.builder, run.driver), "-", bar(offset: 0, seconds: run.seconds, total: run.seconds)]
        let table = TextTable(columns: [("phase", .left), ("seconds", .right), ("outcome", .left), ("cache", .left),
                                        ("builder/driver", .left), ("load", .left), ("timeline", .left)],
                              rows: phases + [total])
        return ([summary(run)] + table.lines()).joined(separator: "\n")
    }

    /// The line above a run's table.
    static func summary(_ run: TimingsRun) -> String {
        let outcome = run.outcome?.rawValue ?? "outcome unknown (its total line is missing)"
        return "stack \(run.command): run \(run.run), started \(utc(run.start)), \(seconds(run.seconds)) s, \(outcome), cache \(run.cache.rawValue)"
    }

    /// `--history`: per command and phase, over the chosen runs.
    public static func history(_ history: TimingsHistory) -> String {
        history.histories.map { command in
            let rows = command.phases.map { phase in
                [phase.phase, "\(phase.runs)", "\(phase.failed)", seconds(phase.median), seconds(phase.min), seconds(phase.max),
                 seconds(phase.last), seconds(phase.cold.median), seconds(phase.hot.median), speedup(phase.speedup)]
            }
            let table = TextTable(columns: [("phase", .left), ("runs", .right), ("failed", .right), ("median", .right), ("min", .right),
                                            ("max", .right), ("last", .right), ("cold median", .right), ("hot median", .right),
                                            ("speedup", .right)],
                                  rows: rows)
            return (["stack \(command.command): \(runs(command.runs)), the last \(command.lastRun)"] + table.lines()).joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    /// `--markdown`: a cold/hot table per command, ready for a pull-request comment.
    public static func markdown(_ history: TimingsHistory) -> String {
        let tables = ColdHotTable.tables(history).map { table in
            let cells = [ColdHotTable.header, ["---", "---:", "---:", "---:"]] + table.rows
            let lines = cells.map { "| " + $0.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
            return (["### stack \(table.command) (\(runs(table.runs)))", ""] + lines).joined(separator: "\n")
        }
        return (tables + [ColdHotTable.legend]).joined(separator: "\n\n")
    }

    /// `--json`: the document docs/timings.schema.json describes.
    public static func json(_ history: TimingsHistory, filter: TimingsFilter) throws -> String {
        let document = TimingsDocument(file: history.file.path, filter: filter, skippedLines: history.skipped,
                                       runs: history.runs, commands: history.histories)
        let encoder = TimingRecord.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    static func seconds(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "-"
    }

    static func speedup(_ value: Double?) -> String {
        value.map { String(format: "%.1f×", $0) } ?? "-"
    }

    static func runs(_ count: Int) -> String {
        count == 1 ? "1 run" : "\(count) runs"
    }

    static func builder(_ builder: String?, _ driver: String?) -> String {
        guard let builder else { return "-" }
        return driver.map { "\(builder)/\($0)" } ?? builder
    }

    static func utc(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }

    /// `|  ####   |`: the columns from the phase's start to its end, the run being `barWidth` columns.
    static func bar(offset: Double, seconds: Double, total: Double) -> String {
        let columns = { (time: Double) in total > 0 ? min(barWidth, max(0, Int((time / total * Double(barWidth)).rounded()))) : 0 }
        let from = columns(offset)
        let to = max(from, columns(offset + seconds))
        return "|" + String(repeating: " ", count: from) + String(repeating: "#", count: to - from)
            + String(repeating: " ", count: barWidth - to) + "|"
    }
}

/// The `--json` document, described by docs/timings.schema.json (as RunSummary's: versioned
/// by `schema`, snake_case keys, fields only ever added).
public struct TimingsDocument: Encodable, Sendable {
    public static let schemaVersion = 1

    public var schema = TimingsDocument.schemaVersion
    public var file: String
    public var filter: TimingsFilter
    public var skippedLines: [SkippedLine]
    public var runs: [TimingsRun]
    public var commands: [CommandHistory]

    enum CodingKeys: String, CodingKey {
        case schema, file, filter, runs, commands
        case skippedLines = "skipped_lines"
    }
}

/// `| phase | cold | hot | speedup |` for one command: what --markdown and the HTML page show.
struct ColdHotTable {
    static let header = ["phase", "cold", "hot", "speedup"]
    static let legend = "cold, hot: median seconds of the runs the timings show as cold or hot (runs that show neither are left out); speedup: cold ÷ hot."

    var command: String
    var runs: Int
    var rows: [[String]]

    static func tables(_ history: TimingsHistory) -> [ColdHotTable] {
        history.histories.map { command in
            ColdHotTable(command: command.command, runs: command.runs, rows: command.phases.map { phase in
                [phase.phase, withUnit(phase.cold.median), withUnit(phase.hot.median), TimingsRender.speedup(phase.speedup)]
            })
        }
    }

    private static func withUnit(_ seconds: Double?) -> String {
        seconds.map { TimingsRender.seconds($0) + " s" } ?? "-"
    }
}

/// Columns padded to their widest cell, two spaces apart, no trailing spaces.
struct TextTable {
    enum Alignment {
        case left
        case right
    }

    var columns: [(title: String, alignment: Alignment)]
    var rows: [[String]]

    func lines() -> [String] {
        let all = [columns.map(\.title)] + rows
        let widths = columns.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            let cells = columns.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return columns[column].alignment == .left ? row[column] + padding : padding + row[column]
            }
            let line = cells.joined(separator: "  ")
            return String(line[..<(line.lastIndex { $0 != " " }.map(line.index(after:)) ?? line.startIndex)])
        }
    }
}
