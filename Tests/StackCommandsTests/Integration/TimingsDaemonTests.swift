import Foundation
import Testing

extension DaemonSuites {
    /// `stack timings` after the example's cold and hot runs of all three commands, on the real
    /// daemons: the markdown numbers are the jsonl's, the HTML timeline shows the desktops side
    /// by side, and a real browser draws it.
    @Suite(.serialized, .enabled(if: TestDaemon.sandboxEnabled, "needs the dockerds and the registry that .ci/run starts"))
    struct TimingsDaemonTests {
        typealias Pipeline = PipelineDaemonTests

        @Test func coldAndHotRunsOfAllThreeCommandsReportedAsRecorded() throws {
            let environment = try Pipeline.environment()
            let workspace = try TemporaryDirectory.example()
            defer {
                workspace.remove()
                try? Pipeline.removeSandbox(host: environment["DOCKER_HOST"]!)
            }
            // Content no earlier test built, so the first run of each command really is cold.
            let marker = "# \(UUID().uuidString)\n"
            for file in ["example/desktop/start-desktop.sh", "example/api/server.sh", "example/frontend/index.html", "example/zed/crates/zed/src/main.sh"] {
                try workspace.write(file, try workspace.read(file) + marker, executable: file.hasSuffix(".sh"))
            }
            let commands = [["build-zed", "release"], ["build"], ["build-sandbox", "--jobs", "2"]]
            for _ in 1...2 {
                for command in commands {
                    let result = try StackProcess.run(command, in: workspace.url, environment: environment)
                    #expect(result.status == 0, "\(command.joined(separator: " ")) failed:\n\(result.stderr)")
                }
            }

            let markdown = try StackProcess.run(["timings", "--markdown"], in: workspace.url, environment: environment)
            #expect(markdown.status == 0, "\(markdown.stderr)")
            let runs = try PhaseRecord.runs(workspace)
            var compared = 0
            for command in ["build-zed", "build", "build-sandbox"] {
                let pair = runs.filter { $0.first?.command == command }
                #expect(pair.count == 2)
                let rows = Self.markdownRows(markdown.stdout, command: command)
                #expect(!rows.isEmpty, "no table for \(command):\n\(markdown.stdout)")
                for (phase, cells) in rows {
                    let cold = pair[0].first { $0.phase == phase }
                    let hot = pair[1].first { $0.phase == phase }
                    if cells.cold != "-", let cold {
                        #expect(cells.cold == String(format: "%.2f s", cold.seconds), "\(command) \(phase) cold")
                        compared += 1
                    }
                    if cells.hot != "-", let hot {
                        #expect(cells.hot == String(format: "%.2f s", hot.seconds), "\(command) \(phase) hot:\n\(markdown.stdout)")
                        compared += 1
                    }
                }
                // Every image build of the second run found its work done.
                for build in pair[1] where build.phase.hasPrefix("desktop:") || build.phase.hasPrefix("service:") || build.phase == "zed:build" {
                    #expect(rows[build.phase]?.hot != "-", "\(command) \(build.phase) is not reported hot:\n\(markdown.stdout)")
                }
            }
            #expect(compared >= 20, "too few numbers to compare:\n\(markdown.stdout)")

            let page = workspace.url.appendingPathComponent("timeline.html")
            let html = try StackProcess.run(["timings", "--html", page.path, "--run", pair(runs, "build-sandbox")[0]], in: workspace.url, environment: environment)
            #expect(html.status == 0, "\(html.stderr)")
            let spans = Self.spans(try String(contentsOf: page, encoding: .utf8))
            let ubuntu = try #require(spans["desktop:ubuntu"])
            let sway = try #require(spans["desktop:sway"])
            #expect(min(ubuntu.upperBound, sway.upperBound) - max(ubuntu.lowerBound, sway.lowerBound) > 0.5,
                    "the desktops do not overlap on the timeline: \(ubuntu) \(sway)")

            // A real browser draws it (Debian's chromium; .ci/run installs it).
            let picture = workspace.url.appendingPathComponent("timeline.png")
            let render = try TestDaemon.run(StackProcess.packageRoot.appendingPathComponent("scripts/render-timings-png").path, [page.path, picture.path])
            #expect(render.status == 0, "\(render.output)")
            let size = (try? FileManager.default.attributesOfItem(atPath: picture.path)[.size] as? NSNumber)?.intValue ?? 0
            #expect(size > 20_000, "the rendered timeline is only \(size) bytes")
        }

        func pair(_ runs: [[PhaseRecord]], _ command: String) -> [String] {
            runs.filter { $0.first?.command == command }.compactMap { $0.first?.run }
        }

        /// `| phase | cold | hot | speedup |` rows of one command's section.
        static func markdownRows(_ text: String, command: String) -> [String: (cold: String, hot: String)] {
            var rows: [String: (cold: String, hot: String)] = [:]
            var inSection = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("### ") { inSection = line.hasPrefix("### stack \(command) ") }
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard inSection, line.hasPrefix("|"), cells.count == 4, cells[0] != "phase", !cells[0].hasPrefix("---") else { continue }
                rows[cells[0]] = (cells[1], cells[2])
            }
            return rows
        }

        /// Each bar's `<title>`: `NAME: S s, OUTCOME, from A s to B s; …`.
        static func spans(_ html: String) -> [String: ClosedRange<Double>] {
            var spans: [String: ClosedRange<Double>] = [:]
            let pattern = try! NSRegularExpression(pattern: #"<title>([^:<]+:[^:<]+): [0-9.]+ s, [a-z-]+, from ([0-9.]+) s to ([0-9.]+) s"#)
            for match in pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
                let group = { (index: Int) in String(html[Range(match.range(at: index), in: html)!]) }
                if let from = Double(group(2)), let to = Double(group(3)), from <= to { spans[group(1)] = from...to }
            }
            return spans
        }
    }
}
