import ArgumentParser
import Foundation
import Testing
@testable import StackCommands

/// `stack timings` from its command line to what it prints and writes, in a workspace of its own.
struct TimingsCommandTests {
    /// What the command said, split as the terminal would get it.
    final class Said: @unchecked Sendable {
        private let lock = NSLock()
        private var out = ""
        private var err = ""

        lazy var console = Console(out: { text in self.lock.withLock { self.out += text } },
                                   err: { text in self.lock.withLock { self.err += text } })

        var stdout: String { lock.withLock { out } }
        var stderr: String { lock.withLock { err } }
    }

    /// A workspace whose stack.yaml puts the timings somewhere else than the default, holding the fixture.
    static func workspace(timings: Bool = true) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory("stack-timings")
        try directory.write("stack.yaml", "timings:\n  path: var/runs.jsonl\n")
        if timings {
            try directory.write("var/runs.jsonl", try String(contentsOf: TimingsFixture.file, encoding: .utf8))
        }
        return directory
    }

    static func run(_ arguments: [String], in directory: URL) throws -> Said {
        let said = Said()
        try TimingsCommand.parse(arguments).execute(from: directory, console: said.console)
        return said
    }

    @Test func markdownFromTheConfiguredTimingsFile() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let said = try Self.run(["--markdown", "-C", workspace.url.path], in: URL(fileURLWithPath: "/"))
        let golden = try String(contentsOf: TimingsFixture.directory.appendingPathComponent("golden/markdown.md"), encoding: .utf8)
        #expect(said.stdout == golden)
        let file = workspace.url.appendingPathComponent("var/runs.jsonl").path
        #expect(said.stderr == """
        line 19 of \(file) is not a timing record (`seconds` is not a number), skipped
        line 57 of \(file) is not a timing record (not valid JSON: the last line has no newline, so its write was cut off), skipped

        """)
    }

    @Test func historyOfOneCommandFoundUpwards() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try FileManager.default.createDirectory(at: workspace.url.appendingPathComponent("deep/er"), withIntermediateDirectories: true)
        let said = try Self.run(["--history", "build-zed", "--limit", "1"], in: workspace.url.appendingPathComponent("deep/er"))
        #expect(said.stdout == """
        stack build-zed: 1 run, the last \(TimingsFixture.Run.buildZedMarkedHot)
        phase       runs  failed  median   min   max  last  cold median  hot median  speedup
        zed:check      1       0    0.00  0.00  0.00  0.00            -        0.00        -
        zed:build      1       0    9.84  9.84  9.84  9.84            -        9.84        -
        zed:verify     1       0    0.00  0.00  0.00  0.00            -        0.00        -
        total          1       0    9.85  9.85  9.85  9.85            -        9.85        -

        """)
    }

    @Test func htmlIsWrittenWhereAskedRelativeToTheCurrentFolder() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let said = try Self.run(["--html", "out/page.html", "--run", TimingsFixture.Run.sandboxCold], in: workspace.url)
        let page = try workspace.read("out/page.html")
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains(TimingsFixture.Run.sandboxCold))
        #expect(said.stderr.contains("wrote \(workspace.url.appendingPathComponent("out/page.html").path)"))
        #expect(said.stdout.hasPrefix("stack build-sandbox: run \(TimingsFixture.Run.sandboxCold)"))
    }

    @Test func noTimingsYetIsNotAnError() throws {
        let workspace = try Self.workspace(timings: false)
        defer { workspace.remove() }
        let said = try Self.run(["--json", "--html", "page.html"], in: workspace.url)
        #expect(said.stdout.isEmpty)
        #expect(said.stderr == "no timings yet in \(workspace.url.appendingPathComponent("var/runs.jsonl").path); run a build first\n")
        #expect(!FileManager.default.fileExists(atPath: workspace.url.appendingPathComponent("page.html").path))
    }

    @Test func filtersThatMatchNothingSaySo() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let said = try Self.run(["--since", "2027-01-01"], in: workspace.url)
        #expect(said.stdout.isEmpty)
        #expect(said.stderr.hasSuffix("match --since 2027-01-01T00:00:00.000Z\n"))
    }

    @Test func badStackYAMLExits78() throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try workspace.write("stack.yaml", "timings:\n  pth: x\n")
        #expect {
            try Self.run([], in: workspace.url)
        } throws: { error in
            (error as? StackError)?.exitCode == 78
        }
    }

    @Test func commandLineMistakes() {
        for arguments in [["--since", "last week"], ["--limit", "0"], ["--json", "--markdown"], ["--history", "--json"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try TimingsCommand.parse(arguments) }
        }
    }

    @Test func theRenderFunctionTheCommandCalls() throws {
        let output = try TimingsReport.render(options: .init(format: .json, filter: TimingsFilter(command: "build"), html: true),
                                              file: TimingsFixture.file)
        #expect(output.stdout.contains("\"schema\" : 1"))
        #expect(output.notes.count == 2)
        #expect(output.html?.contains(TimingsFixture.Run.buildPartlyHot) == true)
    }
}
