import Foundation
import Testing

extension DaemonSuites {
    /// `stack build` and `stack build-sandbox` as a user runs them: the real binary on a copy of
    /// the repository's example (a miniature Helix: a compose project, two desktops, a sandbox),
    /// against the test dockerd, the nested dockerd that stands in for the sandbox's daemon, and
    /// the local registry between them (see TestDaemon and .ci/run).
    @Suite(.serialized, .enabled(if: TestDaemon.sandboxEnabled,
                                 "needs the dockerds and the registry that .ci/run starts (STACK_TEST_DOCKER_HOST, STACK_TEST_NESTED_DOCKER_HOST, STACK_TEST_REGISTRY)"))
    struct PipelineDaemonTests {
        /// The images the compose project's profile services get: one named by compose's default
        /// (`<project>-<service>`), one by its own `image:`.
        static let profileImages = ["demos": "helix-example-demos", "runner": "helix-runner:latest"]
        static let desktops = ["ubuntu", "sway"]
        static let sandboxPhases = ["zed:check", "zed:build", "zed:verify"] + desktops.map { "desktop:\($0)" }
            + ["sandbox:image", "sandbox:restart"] + desktops.map { "transfer:\($0)" } + ["total"]

        /// The test services, and every variable the commands read pinned, so the CI's own
        /// environment cannot turn a profile or a desktop on.
        static func environment(_ extra: [String: String] = [:]) throws -> [String: String] {
            try TestDaemon.sandboxEnvironment()
                .merging(["GIT_SHA": "abc123", "WITH_DEMOS": "", "WITH_RUNNER": "", "EXPERIMENTAL_DESKTOPS": ""]) { _, new in new }
                .merging(extra) { _, new in new }
        }

        static func stack(_ arguments: [String], in workspace: TemporaryDirectory, environment: [String: String]) throws -> StackProcess.Result {
            try StackProcess.run(arguments, in: workspace.url, environment: environment)
        }

        static func inspect(_ image: String, _ format: String, host: String) throws -> String {
            let result = try TestDaemon.docker(["image", "inspect", "--format", format, image], host: host)
            guard result.status == 0 else { throw TestDaemon.CommandFailed(what: "docker image inspect \(image)", result: result) }
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        static func removeImages(_ images: some Sequence<String>, host: String) throws {
            _ = try TestDaemon.docker(["image", "rm", "--force"] + images, host: host)
        }

        /// `sandbox:restart` leaves the sandbox (and compose's network) in the test dockerd; a test
        /// takes them away again, so the daemon stops quickly and the next test starts clean.
        static func removeSandbox(host: String) throws {
            let containers = try TestDaemon.docker(["ps", "--all", "--quiet", "--filter", "label=com.docker.compose.project=helix-example"], host: host)
                .output.split(separator: "\n").map(String.init)
            if !containers.isEmpty { _ = try TestDaemon.docker(["rm", "--force"] + containers, host: host) }
            _ = try TestDaemon.docker(["network", "rm", "helix-example_default"], host: host)
        }

        // MARK: stack build

        @Test func buildBuildsTheDefaultServicesTwiceInARow() throws {
            let environment = try Self.environment()
            let host = environment["DOCKER_HOST"]!
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            try Self.removeImages(Self.profileImages.values, host: host)

            for attempt in 1...2 {
                let result = try Self.stack(["build"], in: workspace, environment: environment)
                #expect(result.status == 0, "run \(attempt) failed:\n\(result.stderr)")
            }

            // docker-compose.yaml's `target: dev` and build args (GIT_SHA given without a value) arrived.
            #expect(try Self.inspect("helix-api:latest", "{{range .Config.Env}}{{println .}}{{end}}", host: host).contains("HELIX_STAGE=dev"))
            #expect(try Self.inspect("helix-example-frontend", #"{{index .Config.Labels "git_sha"}} {{index .Config.Labels "app_env"}}"#, host: host) == "abc123 development")
            for image in Self.profileImages.values {
                #expect(try TestDaemon.imageID(image, host: host) == nil, "\(image) is behind a profile that is off, yet was built")
            }
            let runs = try PhaseRecord.runs(workspace)
            #expect(runs.count == 2)
            for run in runs {
                #expect(run.map(\.phase).sorted() == ["service:api", "service:frontend", "total"])
                #expect(run.allSatisfy { $0.outcome == "ok" && $0.command == "build" })
            }
        }

        @Test(arguments: [("WITH_DEMOS", "demos"), ("WITH_RUNNER", "runner")])
        func profileSwitchAlsoBuildsItsService(variable: String, service: String) throws {
            let environment = try Self.environment([variable: "1"])
            let host = environment["DOCKER_HOST"]!
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            try Self.removeImages(Self.profileImages.values, host: host)

            let result = try Self.stack(["build"], in: workspace, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            for (profileService, image) in Self.profileImages {
                #expect(try (TestDaemon.imageID(image, host: host) != nil) == (profileService == service), "\(image)")
            }
            #expect(try PhaseRecord.runs(workspace).last?.map(\.phase).sorted() == ["service:api", "service:frontend", "service:\(service)", "total"].sorted())
        }

        @Test func unknownServiceExits64AndNamesTheKnownOnes() throws {
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            let result = try Self.stack(["build", "nosuch"], in: workspace, environment: try Self.environment())
            #expect(result.status == 64)
            for name in ["nosuch", "api", "frontend", "demos", "runner"] {
                #expect(result.stderr.contains(name), "\(name) is not named in:\n\(result.stderr)")
            }
        }

        @Test func namedServiceIsTheOnlyOneBuilt() throws {
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            let result = try Self.stack(["build", "api"], in: workspace, environment: try Self.environment())
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try PhaseRecord.runs(workspace).map { $0.map(\.phase) } == [["service:api", "total"]])
        }

        @Test func failingServiceExitsOneAndTheTableNamesWhatDidNotRun() throws {
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            // Keeps the `dev` stage that compose's `target:` asks for, so the RUN is what fails.
            try workspace.write("example/api/Dockerfile", "FROM busybox:1.36 AS dev\nRUN exit 3\n")

            let result = try Self.stack(["build", "--jobs", "1"], in: workspace, environment: try Self.environment())
            #expect(result.status == 1, "\(result.stderr)")
            let table = tableOutcomes(result.stderr)
            #expect(table["service:api"] == "failed" && table["service:frontend"] == "not-run", "\(result.stderr)")
            let records = try PhaseRecord.runs(workspace).flatMap { $0 }
            #expect(records.map { "\($0.phase) \($0.outcome)" } == ["service:api failed", "total failed"])
        }

        // MARK: stack build-sandbox

        /// The first run starts from a change both desktops COPY, so their images are new to both
        /// daemons and the registry: everything is built and moved, with the two desktop builds
        /// side by side (`--jobs 2`). The second run finds the nested daemon up to date.
        @Test func buildSandboxTwiceMovesNewDesktopsIntoTheSandboxOnce() throws {
            let environment = try Self.environment()
            let host = environment["DOCKER_HOST"]!
            let nested = environment["SANDBOX_DOCKER_HOST"]!
            let workspace = try TemporaryDirectory.example()
            defer {
                workspace.remove()
                try? Self.removeSandbox(host: host)
            }
            let startScript = "example/desktop/start-desktop.sh"
            try workspace.write(startScript, try workspace.read(startScript) + "# \(UUID().uuidString)\n", executable: true)

            let first = try Self.stack(["build-sandbox", "--jobs", "2"], in: workspace, environment: environment)
            #expect(first.status == 0, "first run failed:\n\(first.stderr)")
            let second = try Self.stack(["build-sandbox"], in: workspace, environment: environment)
            #expect(second.status == 0, "second run failed:\n\(second.stderr)")

            let firstTable = tableOutcomes(first.stderr)
            let secondTable = tableOutcomes(second.stderr)
            for desktop in Self.desktops {
                #expect(firstTable["transfer:\(desktop)"] == "ok", "\(first.stderr)")
                #expect(secondTable["transfer:\(desktop)"] == "skipped", "\(second.stderr)")

                let id = try #require(try TestDaemon.imageID("helix-\(desktop):latest", host: host))
                let version = try workspace.read("example/sandbox-images/helix-\(desktop).version").trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(version == String(id.dropFirst("sha256:".count).prefix(6)))
                #expect(try TestDaemon.imageID("helix-\(desktop):latest", host: nested) == id, "the sandbox's daemon does not hold this build of \(desktop)")
            }
            // The sandbox already runs the image just built: it is not restarted (that would end its sessions).
            #expect(firstTable["sandbox:restart"] == "ok" && secondTable["sandbox:restart"] == "skipped", "\(second.stderr)")
            // `docker push` announces every push with this line.
            #expect(!second.stderr.contains("The push refers to repository"), "the second run pushed again:\n\(second.stderr)")

            // The restarted sandbox runs the image just built, which carries the versions just written.
            let sandboxID = try #require(try TestDaemon.imageID("helix-sandbox:latest", host: host))
            let container = try TestDaemon.docker(["ps", "--quiet", "--filter", "label=com.docker.compose.project=helix-example",
                                                   "--filter", "label=com.docker.compose.service=sandbox"], host: host).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try TestDaemon.docker(["container", "inspect", "--format", "{{.Image}}", container], host: host).output
                .trimmingCharacters(in: .whitespacesAndNewlines) == sandboxID)
            let carried = try TestDaemon.docker(["run", "--rm", "helix-sandbox:latest", "cat", "/opt/sandbox-images/helix-ubuntu.version"], host: host)
            #expect(carried.output == (try workspace.read("example/sandbox-images/helix-ubuntu.version")))

            let runs = try PhaseRecord.runs(workspace)
            #expect(runs.count == 2)
            for run in runs {
                #expect(run.map(\.phase).sorted() == Self.sandboxPhases.sorted())
                #expect(run.allSatisfy { $0.command == "build-sandbox" })
            }
            let desktopBuilds = runs.first?.filter { $0.phase.hasPrefix("desktop:") } ?? []
            #expect(desktopBuilds.count == 2 && desktopBuilds.allSatisfy { $0.outcome == "ok" && $0.seconds >= 1 }, "\(desktopBuilds)")
            // One after the other, the intervals would only touch (times are rounded to milliseconds);
            // side by side, each build's `sleep 1` runs while the other's does.
            if desktopBuilds.count == 2 {
                #expect(desktopBuilds[0].secondsShared(with: desktopBuilds[1]) >= 0.5, "with --jobs 2 the desktops were built one after the other: \(desktopBuilds)")
            }
        }

        /// A laptop without the sandbox: its daemon never answers. The documented outcome is a
        /// bounded wait, exit 69 with one sentence saying what to do, the built desktops and their
        /// versions kept, and the transfers not run.
        @Test func unreachableSandboxDaemonEndsIn69WithinTheBound() throws {
            let workspace = try TemporaryDirectory.example()
            let environment = try Self.environment(["SANDBOX_DOCKER_HOST": "unix://\(workspace.url.path)/no-sandbox.sock"])
            defer {
                workspace.remove()
                try? Self.removeSandbox(host: environment["DOCKER_HOST"]!)
            }
            try workspace.write("stack.yaml", try workspace.read("stack.yaml").replacingOccurrences(of: "wait_seconds: 30", with: "wait_seconds: 2"))

            let started = Date()
            let result = try Self.stack(["build-sandbox"], in: workspace, environment: environment)
            #expect(Date().timeIntervalSince(started) < 60, "the wait for the sandbox was not bounded")
            #expect(result.status == 69, "\(result.stderr)")
            #expect(result.stderr.contains("the sandbox's Docker daemon did not answer") && result.stderr.contains("no-sandbox.sock"), "\(result.stderr)")
            let table = tableOutcomes(result.stderr)
            #expect(table["sandbox:restart"] == "failed", "\(result.stderr)")
            for desktop in Self.desktops {
                #expect(table["desktop:\(desktop)"] == "ok" && table["transfer:\(desktop)"] == "not-run", "\(result.stderr)")
                #expect(FileManager.default.fileExists(atPath: workspace.url.appendingPathComponent("example/sandbox-images/helix-\(desktop).version").path))
            }
        }

        /// Input fingerprints over the whole pipeline: nothing changed → no builder call for any
        /// image; one desktop's own file edited → only that desktop (and the sandbox image, which
        /// carries its new version) is rebuilt, `--explain` names the file, and only it travels.
        @Test func fingerprintsSkipTheBuilderAndRebuildOnlyWhatChanged() throws {
            let environment = try Self.environment()
            let workspace = try TemporaryDirectory.example()
            defer {
                workspace.remove()
                try? Self.removeSandbox(host: environment["DOCKER_HOST"]!)
            }
            let first = try Self.stack(["build-sandbox"], in: workspace, environment: environment)
            #expect(first.status == 0, "\(first.stderr)")

            let second = try Self.stack(["build-sandbox"], in: workspace, environment: environment)
            #expect(second.status == 0, "\(second.stderr)")
            let images = ["desktop:ubuntu", "desktop:sway", "sandbox:image"]
            let secondRun = try #require(try PhaseRecord.runs(workspace).last)
            for phase in images {
                #expect(secondRun.first { $0.phase == phase }?.load == "fingerprint-hit", "\(phase):\n\(second.stderr)")
                // A builder call would print BuildKit's first step.
                #expect(!second.stderr.contains("[\(phase)] #1 "), "\(phase) called the builder:\n\(second.stderr)")
            }

            try workspace.write("example/desktop/sway/desktop.conf", try workspace.read("example/desktop/sway/desktop.conf") + "output=HDMI-A-1\n")
            let third = try Self.stack(["build-sandbox", "--explain"], in: workspace, environment: environment)
            #expect(third.status == 0, "\(third.stderr)")
            #expect(third.stderr.contains("desktop:sway: rebuilding because context file desktop/sway/desktop.conf changed"), "\(third.stderr)")
            let thirdRun = try #require(try PhaseRecord.runs(workspace).last)
            #expect(thirdRun.first { $0.phase == "desktop:ubuntu" }?.load == "fingerprint-hit")
            #expect(thirdRun.first { $0.phase == "desktop:sway" }?.load != "fingerprint-hit")
            #expect(thirdRun.first { $0.phase == "desktop:sway" }?.reason == "context file desktop/sway/desktop.conf changed")
            let table = tableOutcomes(third.stderr)
            #expect(table["transfer:ubuntu"] == "skipped" && table["transfer:sway"] == "ok", "\(third.stderr)")
        }

        // MARK: --dry-run

        struct DryRun: Sendable, CustomTestStringConvertible {
            var arguments: [String]
            var phases: [String]
            /// (earlier, later): phases that must be printed in this order.
            var order: [(String, String)]
            /// Text the printed commands must hold; DOCKER, NESTED and REGISTRY stand for the test's CLI, nested daemon and registry.
            var commands: [String]

            var testDescription: String { arguments.joined(separator: " ") }
        }

        static let dryRuns = [
            DryRun(arguments: ["build"], phases: ["service:api", "service:frontend"], order: [],
                   commands: ["DOCKER build "]),
            DryRun(arguments: ["build-sandbox"], phases: sandboxPhases.filter { $0 != "total" },
                   order: [("zed:check", "zed:build"), ("zed:build", "zed:verify")]
                       + desktops.flatMap { [("zed:verify", "desktop:\($0)"), ("desktop:\($0)", "sandbox:image"), ("desktop:\($0)", "transfer:\($0)")] }
                       + [("sandbox:image", "sandbox:restart")] + desktops.map { ("sandbox:restart", "transfer:\($0)") },
                   commands: ["DOCKER build ", "--host NESTED", "REGISTRY/helix-ubuntu"]),
            DryRun(arguments: ["build-zed", "release"], phases: ["zed:check", "zed:build", "zed:verify"],
                   order: [("zed:check", "zed:build"), ("zed:build", "zed:verify")], commands: ["DOCKER build "]),
        ]

        @Test(arguments: dryRuns)
        func dryRunPrintsThePlanInOrderAndChangesNothing(_ dryRun: DryRun) throws {
            let environment = try Self.environment()
            let workspace = try TemporaryDirectory.example()
            defer { workspace.remove() }
            let files = workspace.tree()
            let daemons = try DaemonState(environment)

            let result = try Self.stack(dryRun.arguments + ["--dry-run"], in: workspace, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")

            let printed = PrintedPhase.parse(result.stdout)
            let names = printed.map(\.name)
            #expect(names.sorted() == dryRun.phases.sorted(), "\(result.stdout)")
            for (index, phase) in printed.enumerated() {
                #expect(phase.after.allSatisfy { names.prefix(index).contains($0) }, "\(phase.name) printed before what it needs:\n\(result.stdout)")
            }
            for (earlier, later) in dryRun.order {
                #expect((names.firstIndex(of: earlier) ?? .max) < (names.firstIndex(of: later) ?? .min), "\(earlier) must come before \(later):\n\(result.stdout)")
            }
            let commands = result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
            for fragment in dryRun.commands {
                let expected = fragment.replacingOccurrences(of: "DOCKER", with: TestDaemon.cli)
                    .replacingOccurrences(of: "NESTED", with: environment["SANDBOX_DOCKER_HOST"]!)
                    .replacingOccurrences(of: "REGISTRY", with: environment["SANDBOX_REGISTRY"]!)
                #expect(commands.contains(expected), "no command holds `\(expected)`:\n\(result.stdout)")
            }

            #expect(workspace.tree() == files, "the dry run wrote into the workspace")
            #expect(try DaemonState(environment) == daemons, "the dry run changed a daemon")
        }
    }
}

/// One line of `.stack/timings.jsonl`.
struct PhaseRecord: CustomStringConvertible {
    var run: String
    var command: String
    var phase: String
    var outcome: String
    var start: Date
    var seconds: Double
    var load: String?
    var reason: String?

    var description: String { "\(phase) \(outcome) from \(start) for \(seconds) s" }

    /// The workspace's records, one array per run, runs and phases in the order written.
    static func runs(_ workspace: TemporaryDirectory) throws -> [[PhaseRecord]] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let records = try workspace.timingRecords().map { fields in
            PhaseRecord(run: fields["run"] as? String ?? "", command: fields["command"] as? String ?? "",
                        phase: fields["phase"] as? String ?? "", outcome: fields["outcome"] as? String ?? "",
                        start: try #require(formatter.date(from: fields["start"] as? String ?? ""), "start of \(fields)"),
                        seconds: fields["seconds"] as? Double ?? -1,
                        load: fields["load"] as? String, reason: fields["reason"] as? String)
        }
        var order: [String] = []
        for record in records where !order.contains(record.run) { order.append(record.run) }
        return order.map { run in records.filter { $0.run == run } }
    }

    /// How long both phases were running at once.
    func secondsShared(with other: PhaseRecord) -> Double {
        min(start + seconds, other.start + other.seconds).timeIntervalSince(max(start, other.start))
    }
}

/// A `# phase NAME (after A, B)` line of a dry run.
struct PrintedPhase {
    var name: String
    var after: [String]

    static func parse(_ stdout: String) -> [PrintedPhase] {
        stdout.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("# phase ") else { return nil }
            let rest = line.dropFirst("# phase ".count)
            guard let open = rest.range(of: " (after "), rest.hasSuffix(")") else { return PrintedPhase(name: String(rest), after: []) }
            let after = rest[open.upperBound...].dropLast().components(separatedBy: ", ")
            return PrintedPhase(name: String(rest[..<open.lowerBound]), after: after)
        }
    }
}

/// What a run could leave in the daemons: images and containers of the test dockerd, images of
/// the nested one (a push shows as a tag in the first, a transfer as an image in the second).
struct DaemonState: Equatable {
    var images: Set<String>
    var containers: Set<String>
    var nestedImages: Set<String>

    init(_ environment: [String: String]) throws {
        func lines(_ arguments: [String], _ host: String) throws -> Set<String> {
            let result = try TestDaemon.docker(arguments, host: host)
            guard result.status == 0 else { throw TestDaemon.CommandFailed(what: "docker \(arguments.joined(separator: " "))", result: result) }
            return Set(result.output.split(separator: "\n").map(String.init))
        }
        let imageList = ["image", "ls", "--all", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]
        images = try lines(imageList, environment["DOCKER_HOST"]!)
        containers = try lines(["ps", "--all", "--no-trunc", "--format", "{{.ID}}"], environment["DOCKER_HOST"]!)
        nestedImages = try lines(imageList, environment["SANDBOX_DOCKER_HOST"]!)
    }
}
