import Foundation
import Testing
@testable import StackCommands

struct RunSummaryTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_929_600)

    static func report(error: Error? = nil) -> PlanExecutor.Report {
        func phase(_ name: String, _ outcome: PhaseOutcome, _ start: Double?, _ seconds: Double, after: [String] = [], load: LoadPath? = nil,
                   cache: CacheState? = nil, reason: String? = nil) -> PhaseResult {
            PhaseResult(name: name, outcome: outcome, start: start.map { t0 + $0 }, seconds: seconds,
                        builder: load == nil ? nil : "local", driver: load == nil ? nil : "embedded-buildkit", load: load,
                        cache: cache, reason: reason, dependencies: after)
        }
        return PlanExecutor.Report(phases: [
            phase("desktop:ubuntu", .ok, 0, 2.5, load: .fingerprintHit, cache: .hot),
            phase("desktop:sway", .failed, 0, 1.25, load: LoadPath.none, cache: .cold, reason: "context file desktop/sway/desktop.conf changed"),
            phase("sandbox:image", .notRun, nil, 0, after: ["desktop:ubuntu", "desktop:sway"]),
        ], error: error, start: t0, seconds: 2.5)
    }

    static let schema = StackProcess.packageRoot.appendingPathComponent("docs/summary.schema.json")

    @Test func summaryValidatesAgainstTheDocumentedSchema() throws {
        let summary = RunSummary(report: Self.report(error: StackError.buildFailed(phase: "desktop:sway", status: "exited with code 1")),
                                 run: "r1", command: "build-sandbox", builder: BuilderChoice(backend: .embeddedBuildKit))
        #expect(summary.exitCode == 1 && summary.outcome == .failed)
        // The two desktops overlapped, but nothing followed them: no chain worth naming.
        #expect(summary.criticalPath == nil)
        let directory = try TemporaryDirectory("summary")
        defer { directory.remove() }
        let file = directory.url.appendingPathComponent("summary.json")
        try summary.json().write(to: file)
        // Python's jsonschema is the reference validator; CI installs it (.ci/run).
        let check = try TestDaemon.run("/usr/bin/env", ["python3", "-c", """
        import json, sys, jsonschema
        jsonschema.Draft202012Validator(json.load(open(sys.argv[2])), format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[1])))
        """, file.path, Self.schema.path])
        #expect(check.status == 0, "\(check.output)")
    }

    @Test func schemaRejectsWhatItShould() throws {
        // The validator really checks: a summary with an unknown outcome must fail.
        let directory = try TemporaryDirectory("summary")
        defer { directory.remove() }
        let file = directory.url.appendingPathComponent("bad.json")
        var text = String(decoding: try RunSummary(report: Self.report(), run: "r", command: "c", builder: nil).json(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"not-run\"", with: "\"later\"")
        try Data(text.utf8).write(to: file)
        let check = try TestDaemon.run("/usr/bin/env", ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
                                                        file.path, Self.schema.path])
        #expect(check.status != 0)
    }

    @Test func stepSummaryMarkdown() {
        let failure = StackError.buildFailed(phase: "desktop:sway", status: "exited with code 1")
        let summary = RunSummary(report: Self.report(error: failure), run: "r1", command: "build-sandbox", builder: nil)
        #expect(summary.markdown() == """
        ### stack build-sandbox: failed in 2.50 s

        | phase | seconds | outcome | load |
        | --- | ---: | --- | --- |
        | desktop:ubuntu | 2.50 | ok | fingerprint-hit |
        | desktop:sway | 1.25 | failed | none |
        | sandbox:image | - | not-run |  |


        """)
    }
}
