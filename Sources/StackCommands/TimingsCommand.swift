import ArgumentParser
import Foundation

public struct TimingsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "timings",
        abstract: "Show how long each phase of past runs took, cold and hot, from the workspace's timings file.",
        discussion: """
        Without a mode: the last run of each command, phase by phase, with a timeline bar. A phase \
        is hot when its record says so, or its image was found in place (load fingerprint-hit or \
        unchanged), or every build of its run was skipped or hot; the first run of a command in the \
        file is cold; anything else is unknown. Lines that are not timing records are skipped with \
        a warning. Needs no docker. Exit codes: 0 ok (also when there are no timings yet), 64 bad \
        command line or unknown --run, 78 bad stack.yaml.
        """
    )

    @Argument(help: "Only this command's runs: build, build-zed or build-sandbox.")
    public var command: String?

    @Flag(help: "What to print instead of the last runs' table.")
    public var format: TimingsReport.Format?

    @Option(help: ArgumentHelp("Also write a self-contained HTML page: the timeline of the chosen run (the last one) and the cold/hot tables.", valueName: "file"))
    public var html: String?

    @Option(name: .customLong("run"), help: ArgumentHelp("Only this run (the id in the table's first line).", valueName: "id"))
    public var runID: String?

    @Option(help: ArgumentHelp("Only runs started at or after this ISO 8601 date (midnight UTC) or date-time, e.g. 2026-11-28 or 2026-11-28T09:00:00Z.", valueName: "date"),
            transform: TimingsCommand.date)
    public var since: Date?

    @Option(help: ArgumentHelp("Only the last N runs (after the other filters).", valueName: "n"))
    public var limit: Int?

    @Option(name: [.customShort("C"), .long], help: "The folder whose stack.yaml to use (default: the nearest one upwards).")
    public var workspace: String?

    public init() {}

    public func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit takes a whole number of at least 1.") }
    }

    public func run() throws {
        try execute(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath), console: .standard)
    }

    /// All of `run` but where it starts and where it writes, so tests can drive it.
    func execute(from directory: URL, console: Console) throws {
        let found = try Workspace.locate(explicit: workspace, from: directory)
        let options = TimingsReport.Options(format: format, filter: TimingsFilter(command: command, run: runID, since: since, limit: limit),
                                            html: html != nil)
        let report = try TimingsReport.render(options: options, file: found.path(found.configuration.timings.path))
        report.notes.forEach(console.info)
        if let html, let page = report.html {
            let file = (html.hasPrefix("/") ? URL(fileURLWithPath: html) : directory.appendingPathComponent(html)).standardizedFileURL
            do {
                // CI asks for pages in artifact folders that do not exist yet.
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(page.utf8).write(to: file, options: .atomic)
            } catch {
                throw StackError.usage("cannot write \(file.path) (\(error.localizedDescription)); pass --html a file in a folder you can write to.")
            }
            console.info("wrote \(file.path)")
        }
        if !report.stdout.isEmpty { console.output(report.stdout) }
    }

    static func date(_ text: String) throws -> Date {
        guard let date = TimingsFilter.date(text) else {
            throw ValidationError("--since takes an ISO 8601 date or date-time (2026-11-28, 2026-11-28T09:00:00Z), not \"\(text)\".")
        }
        return date
    }
}

/// What `stack timings` prints for a timings file, apart from the workspace and the terminal.
public enum TimingsReport {
    public enum Format: String, EnumerableFlag, Sendable {
        case history
        case json
        case markdown

        public static func help(for value: Format) -> ArgumentHelp? {
            switch value {
            case .history: return "Per phase over the chosen runs: runs, median, min, max, last, cold and hot medians, speedup."
            case .json: return "Everything as one JSON document (docs/timings.schema.json)."
            case .markdown: return "Cold/hot medians and speedup per phase, as Markdown tables for a pull-request comment."
            }
        }
    }

    public struct Options: Equatable, Sendable {
        /// Nil: the last run of each command as a table.
        public var format: Format?
        public var filter: TimingsFilter
        public var html: Bool

        public init(format: Format? = nil, filter: TimingsFilter = TimingsFilter(), html: Bool = false) {
            self.format = format
            self.filter = filter
            self.html = html
        }
    }

    public struct Output: Equatable, Sendable {
        public var stdout: String
        /// For stderr: lines skipped, nothing to show, and why.
        public var notes: [String]
        /// The page, when asked for and there is a run to show.
        public var html: String?
    }

    public static func render(options: Options, file: URL) throws -> Output {
        guard let whole = try TimingsHistory.load(file) else {
            return Output(stdout: "", notes: ["no timings yet in \(file.path); run a build first"], html: nil)
        }
        let history = try whole.filtered(options.filter)
        var notes = history.skipped.map { $0.message(file: file) }
        let stdout: String
        switch options.format {
        case .json: stdout = try TimingsRender.json(history, filter: options.filter)
        case .history: stdout = TimingsRender.history(history)
        case .markdown: stdout = TimingsRender.markdown(history)
        case nil: stdout = TimingsRender.table(history)
        }
        if history.runs.isEmpty {
            let filters = options.filter.summary
            notes.append("no runs in \(file.path)" + (filters.isEmpty ? "" : " match \(filters)"))
        }
        let html = options.html ? history.runs.last.map { TimingsHTML.page(run: $0, history: history) } : nil
        return Output(stdout: stdout, notes: notes, html: html)
    }
}
