import Foundation
import Testing

extension DaemonSuites {
    /// `stack build-zed` as a user runs it: the real binary, the repository's own example and
    /// stack.yaml, a real dockerd with BuildKit (see TestDaemon).
    @Suite(.serialized, .enabled(if: TestDaemon.enabled, "needs the test dockerd that .ci/run starts (STACK_TEST_DOCKER_HOST)"))
    struct BuildZedDaemonTests {
        /// BuildKit's plain progress: the titles of the steps reported `CACHED`. When phases may
        /// run side by side (stack.yaml's `jobs` above 1), stack prefixes docker's lines with `[phase] `.
        static func cachedSteps(_ output: String) -> Set<String> {
            var titles: [String: String] = [:]
            var cached: Set<String> = []
            for line in output.split(separator: "\n") {
                let progress = line.hasPrefix("[") ? line.drop { $0 != " " }.dropFirst() : line
                let parts = progress.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0].hasPrefix("#") else { continue }
                if parts[1].hasPrefix("[") { titles[parts[0]] = parts[1] }
                if parts[1] == "CACHED", let title = titles[parts[0]] { cached.insert(title) }
            }
            return cached
        }

        @Test func releaseBuildTwiceExtractsARunningBinaryThenHitsTheCache() throws {
            let environment = try TestDaemon.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }

            // Sources no earlier build saw, so the first run really compiles.
            try workspace.write("example/zed/crates/gpui/src/marker.sh", "# \(UUID().uuidString)\n")
            let first = try StackProcess.run(["build-zed", "release"], in: workspace.url, environment: environment)
            #expect(first.status == 0, "first run failed:\n\(first.stderr)")
            let binary = workspace.url.appendingPathComponent("example/zed-build/zed")
            let version = try TestDaemon.run(binary.path, ["--version"])
            #expect(version.status == 0 && version.output == "zed 0.190.0 (release)\n")
            #expect(first.stderr.contains("zed:verify: \(binary.path), "))

            // Nothing changed: the inputs' fingerprint matches the output's, so not even the builder is asked.
            let second = try StackProcess.run(["build-zed", "release"], in: workspace.url, environment: environment)
            #expect(second.status == 0, "second run failed:\n\(second.stderr)")
            #expect(second.stderr.contains("zed:build: fingerprint hit"), "\(second.stderr)")
            #expect(!second.stderr.contains("#1 [internal]"), "the builder was called:\n\(second.stderr)")

            // --force asks BuildKit anyway, which finds every step in its cache.
            let third = try StackProcess.run(["build-zed", "release", "--force"], in: workspace.url, environment: environment)
            #expect(third.status == 0, "forced run failed:\n\(third.stderr)")
            let cached = Self.cachedSteps(third.stderr)
            #expect(cached.contains { $0.contains("RUN --mount=type=cache") }, "the compile step was not cached:\n\(third.stderr)")
            #expect(cached.contains { $0.contains("COPY . .") })

            // The output folder is part of what a hit promises: a removed binary is built again.
            try FileManager.default.removeItem(at: binary)
            let fourth = try StackProcess.run(["build-zed", "release"], in: workspace.url, environment: environment)
            #expect(fourth.status == 0 && !fourth.stderr.contains("fingerprint hit"), "\(fourth.stderr)")
            #expect(FileManager.default.isExecutableFile(atPath: binary.path))

            let records = try workspace.timingRecords()
            let runs = Array(records.compactMap { $0["phase"] as? String == "total" ? $0["run"] as? String : nil }.prefix(3))
            #expect(runs.count == 3)
            for run in runs {
                let phases = records.filter { $0["run"] as? String == run }
                #expect(phases.map { $0["phase"] as? String } == ["zed:check", "zed:build", "zed:verify", "total"])
                #expect(phases.allSatisfy { $0["outcome"] as? String == "ok" && $0["command"] as? String == "build-zed" && $0["start"] is String && $0["seconds"] is Double })
                let build = phases[1]
                #expect(build["builder"] as? String == "local" && build["driver"] as? String == "embedded-buildkit")
            }
            let loads = runs.map { run in records.first { $0["run"] as? String == run && $0["phase"] as? String == "zed:build" }?["load"] as? String }
            let caches = runs.map { run in records.first { $0["run"] as? String == run && $0["phase"] as? String == "zed:build" }?["cache"] as? String }
            #expect(loads == ["none", "fingerprint-hit", "none"])
            #expect(caches == ["cold", "hot", "hot"])
            // The newcomer case: no helix-shared on this machine, so one warning says the cache is not shared.
            #expect(first.stderr.contains("warning: ") && first.stderr.contains("cache is not shared"))
            #expect(first.stderr.contains("phase ") && first.stderr.contains("zed:build "))
        }

        @Test func usersDockerignoreIsPutBackByteForByte() throws {
            let environment = try TestDaemon.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            let original = Data("# the user's own rules\r\n*.log\nno-final-newline".utf8)
            let ignoreFile = workspace.url.appendingPathComponent("example/zed/.dockerignore")
            try original.write(to: ignoreFile)

            let result = try StackProcess.run(["build-zed", "dev"], in: workspace.url, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try Data(contentsOf: ignoreFile) == original)
            #expect(!FileManager.default.fileExists(atPath: ignoreFile.path + ".stack-original"))
        }

        @Test func withoutAUserDockerignoreNoneIsLeftBehind() throws {
            let environment = try TestDaemon.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            let result = try StackProcess.run(["build-zed"], in: workspace.url, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            let zedFiles = try FileManager.default.contentsOfDirectory(atPath: workspace.url.appendingPathComponent("example/zed").path)
            #expect(!zedFiles.contains { $0.hasPrefix(".dockerignore") })
            let version = try TestDaemon.run(workspace.url.appendingPathComponent("example/zed-build/zed").path, ["--version"])
            #expect(version.output == "zed 0.190.0 (dev)\n")
        }

        @Test func cacheMountKeepsUnchangedCratesCompiledAcrossBuilds() throws {
            let environment = try TestDaemon.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            // A marker only this test's build carries, so the cache mount's first state is known.
            try workspace.write("example/zed/crates/gpui/src/marker.sh", "# \(UUID().uuidString)\n")
            let first = try StackProcess.run(["build-zed", "dev"], in: workspace.url, environment: environment)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("Compiling gpui"))

            try workspace.write("example/zed/crates/editor/src/lib.sh", "editor_open() { gpui_window \"changed ($1)\"; }\n")
            let second = try StackProcess.run(["build-zed", "dev"], in: workspace.url, environment: environment)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("Fresh gpui"), "the cache mount did not keep gpui's object:\n\(second.stderr)")
            #expect(second.stderr.contains("Compiling editor"))
            let run = try TestDaemon.run(workspace.url.appendingPathComponent("example/zed-build/zed").path, ["notes.txt"])
            #expect(run.output == "window: changed (notes.txt)\n")
        }

        @Test func failingBuildExitsOneAndTheTableNamesWhatDidNotRun() throws {
            let environment = try TestDaemon.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            try workspace.write("example/Dockerfile.zed-build", "FROM busybox:1.36\nRUN echo compiling; exit 3\n")

            let result = try StackProcess.run(["build-zed", "release"], in: workspace.url, environment: environment)
            #expect(result.status == 1)
            #expect(result.stderr.contains("stack: error: zed:build: docker build exited with code 1"))
            #expect(result.stderr.range(of: #"zed:build\s+[0-9.]+\s+failed"#, options: .regularExpression) != nil)
            #expect(result.stderr.range(of: #"zed:verify\s+-\s+not-run"#, options: .regularExpression) != nil)
            let records = try workspace.timingRecords()
            #expect(records.map { $0["outcome"] as? String } == ["ok", "failed", "failed"])
            #expect(!FileManager.default.fileExists(atPath: workspace.url.appendingPathComponent("example/zed/.dockerignore").path))
        }

        /// CI mode: nothing but plain text, and a summary that the documented schema accepts.
        @Test func ciModePrintsNoEscapesAndWritesAValidSummary() throws {
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            let stepSummary = workspace.url.appendingPathComponent("step-summary.md")
            try Data("# earlier steps\n".utf8).write(to: stepSummary)
            let environment = try TestDaemon.environment().merging(["CI": "true", "GITHUB_STEP_SUMMARY": stepSummary.path]) { _, new in new }
            let result = try StackProcess.run(["build-zed", "release", "--summary-json", "summary.json"], in: workspace.url, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!(result.stdout + result.stderr).contains("\u{1B}"), "an escape sequence was printed")
            let check = try TestDaemon.run("/usr/bin/env", ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
                                                            workspace.url.appendingPathComponent("summary.json").path,
                                                            StackProcess.packageRoot.appendingPathComponent("docs/summary.schema.json").path])
            #expect(check.status == 0, "\(check.output)")
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: workspace.url.appendingPathComponent("summary.json"))) as? [String: Any]
            #expect(summary?["outcome"] as? String == "ok" && summary?["exit_code"] as? Int == 0)
            #expect((summary?["phases"] as? [[String: Any]])?.compactMap { $0["phase"] as? String } == ["zed:check", "zed:build", "zed:verify"])
            // GitHub Actions' step summary gets the run's table appended, after what was there.
            let markdown = try String(contentsOf: stepSummary, encoding: .utf8)
            #expect(markdown.hasPrefix("# earlier steps\n### stack build-zed: ok in "), "\(markdown)")
            #expect(markdown.contains("| phase | seconds | outcome | load |") && markdown.contains("| zed:build | "), "\(markdown)")
        }

        @Test func ctrlCStopsDockerRestoresFilesAndExits130() throws {
            let environment = try TestDaemon.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            try workspace.write("example/Dockerfile.zed-build", "FROM busybox:1.36\nRUN echo started-\(UUID().uuidString); sleep 60\n")
            try workspace.write("example/zed/.dockerignore", "mine\n")

            let process = Process()
            process.executableURL = StackProcess.executable
            process.arguments = ["build-zed", "release"]
            process.currentDirectoryURL = workspace.url
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let started = Date()
            // Wait until docker is really in the RUN step, then press Ctrl-C.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("started-"), Date().timeIntervalSince(started) < 60 {
                seen.append(errors.fileHandleForReading.availableData)
            }
            process.interrupt()
            seen.append(errors.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            let stderr = String(decoding: seen, as: UTF8.self)

            #expect(process.terminationStatus == 130, "\(stderr)")
            #expect(Date().timeIntervalSince(started) < 50, "the sleeping build was not cancelled")
            #expect(try workspace.read("example/zed/.dockerignore") == "mine\n")
            #expect(stderr.range(of: #"zed:build\s+[0-9.]+\s+interrupted"#, options: .regularExpression) != nil, "\(stderr)")
            let records = try workspace.timingRecords()
            #expect(records.last?["outcome"] as? String == "interrupted")
        }
    }
}
