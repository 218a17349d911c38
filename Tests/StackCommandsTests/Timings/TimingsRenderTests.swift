import Foundation
import Testing
@testable import StackCommands

/// The text outputs against golden files (see TimingsFixture for how to rewrite them).
struct TimingsRenderTests {
    @Test func tableOfTheLastRunOfEachCommand() throws {
        let table = TimingsRender.table(try TimingsFixture.history())
        try TimingsFixture.expectGolden(table, "table.txt")
        #expect(!table.contains("\u{1B}"), "no ANSI escapes, whatever the terminal")
    }

    @Test func history() throws {
        try TimingsFixture.expectGolden(TimingsRender.history(try TimingsFixture.history()), "history.txt")
    }

    @Test func markdown() throws {
        let markdown = TimingsRender.markdown(try TimingsFixture.history())
        try TimingsFixture.expectGolden(markdown, "markdown.md")
        #expect(markdown.components(separatedBy: "| phase | cold | hot | speedup |").count == 4)
    }

    @Test func json() throws {
        try TimingsFixture.expectGolden(try TimingsRender.json(try TimingsFixture.history(), filter: TimingsFilter()), "timings.json")
    }

    static let schema = StackProcess.packageRoot.appendingPathComponent("docs/timings.schema.json")

    /// Python's jsonschema is the reference validator, as for --summary-json; CI installs it (.ci/run).
    static func validate(_ json: String) throws -> TestDaemon.CommandResult {
        let directory = try TemporaryDirectory("timings-json")
        defer { directory.remove() }
        try directory.write("timings.json", json)
        return try TestDaemon.run("/usr/bin/env", ["python3", "-c", """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[2]))
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[1])))
        """, directory.url.appendingPathComponent("timings.json").path, Self.schema.path])
    }

    @Test func jsonValidatesAgainstTheDocumentedSchema() throws {
        let history = try TimingsFixture.history()
        let filter = TimingsFilter(command: "build-sandbox", since: TimingsFilter.date("2026-11-28"), limit: 2)
        for (history, filter) in [(history, TimingsFilter()), (try history.filtered(filter), filter)] {
            let check = try Self.validate(try TimingsRender.json(history, filter: filter))
            #expect(check.status == 0, "\(check.output)")
        }
    }

    @Test func schemaRejectsAnUnknownCacheClass() throws {
        let json = try TimingsRender.json(try TimingsFixture.history(), filter: TimingsFilter())
        let check = try Self.validate(json.replacingOccurrences(of: "\"unknown\"", with: "\"lukewarm\""))
        #expect(check.status != 0)
    }

    @Test func barsSitWhereThePhaseRanWithinTheRun() {
        #expect(TimingsRender.bar(offset: 0, seconds: 10, total: 10) == "|" + String(repeating: "#", count: 30) + "|")
        #expect(TimingsRender.bar(offset: 5, seconds: 2.5, total: 10) == "|" + String(repeating: " ", count: 15) + "########"
            + String(repeating: " ", count: 7) + "|")
        #expect(TimingsRender.bar(offset: 0, seconds: 0, total: 0) == "|" + String(repeating: " ", count: 30) + "|")
    }

    @Test func markdownEscapesPipes() throws {
        let history = try TimingsFixture.history([(TimingsFixture.record("a", "odd|name", at: 0, 1), nil)])
        #expect(TimingsRender.markdown(history).contains("| odd\\|name | 1.00 s | - | - |"))
    }
}
