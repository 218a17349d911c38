import Foundation

/// What a command needs from the world, passed in so tests can replace any part.
public struct RunEnvironment: Sendable {
    public var environment: [String: String]
    public var currentDirectory: URL
    public var console: Console
    public var cancellator: Cancellator
    public var makeRunner: @Sendable ([String: String]) throws -> any DockerRunning
    public var clock: @Sendable () -> Date
    public var stderrIsTerminal: Bool

    public init(
        environment: [String: String],
        currentDirectory: URL,
        console: Console,
        cancellator: Cancellator,
        makeRunner: @escaping @Sendable ([String: String]) throws -> any DockerRunning,
        clock: @escaping @Sendable () -> Date = Date.init,
        stderrIsTerminal: Bool = false
    ) {
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.console = console
        self.cancellator = cancellator
        self.makeRunner = makeRunner
        self.clock = clock
        self.stderrIsTerminal = stderrIsTerminal
    }

    /// CI mode: `CI` set (any value but empty or `false`), as CI systems do.
    public var ciMode: Bool {
        guard let value = environment["CI"], !value.isEmpty else { return false }
        return value.lowercased() != "false" && value != "0"
    }

    public static func live() -> RunEnvironment {
        RunEnvironment(
            environment: ProcessInfo.processInfo.environment,
            currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            console: .standard,
            cancellator: .shared,
            makeRunner: { try SystemDockerRunner.locate(environment: $0) },
            stderrIsTerminal: isatty(2) != 0
        )
    }
}

/// Runs one build command from start to end: workspace, builder, phases, timings, table.
public struct CommandRun {
    public var command: String
    public var options: WorkspaceOptions
    public var world: RunEnvironment
    /// For the `docker` wrapper: a stack.yaml is optional (without one, defaults apply and no
    /// timings are written), and no phase headers or end-of-run table are added to what
    /// docker prints, so scripts that read `docker build`'s output see what they expect.
    public var transparent: Bool

    public init(command: String, options: WorkspaceOptions, world: RunEnvironment, transparent: Bool = false) {
        self.command = command
        self.options = options
        self.world = world
        self.transparent = transparent
    }

    /// What a command needs to turn its flags and stack.yaml into phases.
    public struct PlanInput {
        public var workspace: Workspace
        public var runner: any DockerRunning
        public var environment: [String: String]
    }

    public func execute(plan: (PlanInput) throws -> [Phase]) throws {
        let found: Workspace?
        do {
            found = try Workspace.locate(explicit: options.workspace, from: world.currentDirectory)
        } catch StackError.configurationMissing where transparent {
            found = nil
        }
        let workspace = found ?? Workspace(root: world.currentDirectory, configuration: StackConfiguration())
        let runner = try world.makeRunner(world.environment)
        let phases = try plan(PlanInput(workspace: workspace, runner: runner, environment: world.environment))
        let routine = BuildRoutine(
            runner: runner,
            resolver: BuilderResolver(runner: runner, settings: workspace.configuration.builder, environment: world.environment),
            settings: BuildRoutine.Settings(
                defaultBuildArgs: workspace.configuration.buildArgs,
                load: LoadSettings(strategy: options.loadStrategy ?? workspace.configuration.load.strategy, registry: workspace.configuration.load.registry),
                cacheRegistry: workspace.configuration.cache?.registry,
                plainProgress: world.ciMode && world.stderrIsTerminal,
                observeOutput: !transparent && !world.stderrIsTerminal,
                fingerprintState: found != nil && workspace.configuration.fingerprint.enabled ? workspace.path(".stack") : nil,
                trustUnpinnedTags: workspace.configuration.fingerprint.trustUnpinnedTags,
                force: options.force,
                explain: options.explain
            ),
            console: world.console,
            dryRun: options.dryRun
        )
        let runID = Self.newRunID(at: world.clock())
        let executor = PlanExecutor(routine: routine, console: world.console, dryRun: options.dryRun,
                                    jobs: options.jobs ?? workspace.configuration.jobs, announcesPhases: !transparent, clock: world.clock)
        let report = executor.execute(phases, cancellator: world.cancellator)
        if !options.dryRun, found != nil {
            let log = TimingsLog(file: workspace.path(workspace.configuration.timings.path), keep: workspace.configuration.timings.keep)
            do {
                try log.append(report.records(run: runID, command: command, builder: routine.resolvedBuilder))
            } catch {
                world.console.info("warning: \(error)")
            }
            if !transparent { world.console.info(report.table(command: command)) }
        }
        if !options.dryRun {
            publish(RunSummary(report: report, run: runID, command: command, builder: routine.resolvedBuilder))
        }
        if let error = report.error { throw error }
    }

    /// `--summary-json FILE` (written whole, then renamed into place) and, on GitHub Actions,
    /// the run's table in the job's step summary. Failing to write either is a warning: the
    /// build's own outcome decides the exit code.
    private func publish(_ summary: RunSummary) {
        do {
            if let path = options.summaryJson {
                try summary.json().write(to: URL(fileURLWithPath: path, relativeTo: world.currentDirectory), options: .atomic)
            }
            if let stepSummary = world.environment["GITHUB_STEP_SUMMARY"], !stepSummary.isEmpty {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: stepSummary))
                defer { try? handle.close() }
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(summary.markdown().utf8))
            }
        } catch {
            world.console.info("warning: could not write the run summary: \(error.localizedDescription)")
        }
    }

    /// Sortable by time, unique enough for runs started in the same second.
    static func newRunID(at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date) + "-" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
    }
}
