import Foundation

/// The one docker-build routine. Every image build of every command comes here: it resolves
/// the builder once per run, turns the request into docker invocations (`BuildRoute`), and
/// runs them with docker's output streamed to the user.
public final class BuildRoutine: @unchecked Sendable {
    let runner: any DockerRunning
    let resolver: BuilderResolver
    let defaultBuildArgs: [BuildArgument]
    let console: Console
    let dryRun: Bool
    private let lock = NSLock()
    private var resolution: Result<BuilderChoice, Error>?

    public init(runner: any DockerRunning, resolver: BuilderResolver, defaultBuildArgs: [BuildArgument], console: Console, dryRun: Bool) {
        self.runner = runner
        self.resolver = resolver
        self.defaultBuildArgs = defaultBuildArgs
        self.console = console
        self.dryRun = dryRun
    }

    /// The run's builder, inspected on first use only; a failure is remembered too, so a
    /// missing builder is reported once rather than per phase.
    public func builder() throws -> BuilderChoice {
        try lock.withLock {
            if resolution == nil {
                resolution = Result { try resolver.resolve() }
                if case .success(let choice) = resolution, let warning = choice.warning { console.info(warning) }
            }
            return try resolution!.get()
        }
    }

    /// The builder if one was resolved during this run.
    public var resolvedBuilder: BuilderChoice? {
        lock.withLock { try? resolution?.get() }
    }

    func build(_ request: BuildRequest, in phase: PhaseContext) throws {
        let builder = try builder()
        phase.builder = builder
        var request = request.withDefaultBuildArgs(defaultBuildArgs)
        if phase.outputLines != nil, request.progress == nil, !request.extraArguments.contains(where: { $0.hasPrefix("--progress") }) {
            request.progress = "plain"
        }
        let invocations = BuildRoute.invocations(for: request, on: builder)
        if dryRun {
            console.output("# \(phase.name) builds on \(builder.summary)")
            for invocation in invocations { console.output(runner.commandLine(invocation)) }
            return
        }
        console.info("\(phase.name): building on \(builder.summary)")
        for invocation in invocations {
            let status = try runner.stream(invocation, lines: phase.outputLines)
            guard status.succeeded else { throw StackError.buildFailed(phase: phase.name, status: status.description) }
        }
    }
}
