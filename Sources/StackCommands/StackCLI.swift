import ArgumentParser
import Foundation

public struct StackCLI: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "stack",
        abstract: "Builds Helix's images, always through the team's shared BuildKit builder.",
        discussion: """
        Exit codes: 0 ok, 1 a build step failed, 64 bad command line, 69 docker or the \
        builder unavailable, 78 bad stack.yaml, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
        """,
        version: version,
        subcommands: [
            BuildCommand.self, BuildZedCommand.self, BuildSandboxCommand.self, TimingsCommand.self,
            SetupBuilderCommand.self, DoctorCommand.self, DockerCommand.self,
        ]
    )

    public init() {}
}

/// Options every workspace command takes.
public struct WorkspaceOptions: ParsableArguments, Sendable {
    @Option(name: [.customShort("C"), .long], help: "The folder whose stack.yaml to use (default: the nearest one upwards).")
    public var workspace: String?

    @Flag(help: "Print the phases and the docker commands they would run; run nothing.")
    public var dryRun = false

    @Option(help: "How many independent phases may run at once (default: `jobs` in stack.yaml, else 1; 1 runs them one after another).")
    public var jobs: Int?

    @Option(help: "How images from a non-docker builder reach the daemon: smart, registry or tarball (default: `load.strategy` in stack.yaml, else smart).")
    public var loadStrategy: LoadStrategy?

    @Option(help: ArgumentHelp("Also write the run's phases and outcome as JSON to this file (schema: docs/summary.schema.json).", valueName: "file"))
    public var summaryJson: String?

    @Flag(help: "Build even when the inputs' fingerprint says nothing changed.")
    public var force = false

    @Flag(help: "Say, for each image that is rebuilt, the first input that changed.")
    public var explain = false

    public init() {}

    public func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs takes a whole number of at least 1.") }
    }
}

public enum StackMain {
    /// Parses the command line, runs the command, and exits with its documented code. Run as
    /// `docker` (argv[0], e.g. a symlink to stack earlier on PATH) every argument is docker's
    /// and goes to the docker wrapper before any of stack's own parsing.
    public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst()),
                           invokedAs: String = CommandLine.arguments.first ?? "stack") -> Never {
        Cancellator.shared.install()
        if URL(fileURLWithPath: invokedAs).lastPathComponent == "docker" {
            exit(DockerWrapper.run(arguments: arguments, world: .live()))
        }
        do {
            var command = try StackCLI.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch let error as StackError {
            Console.standard.info("stack: error: \(error.message)")
            exit(error.exitCode)
        } catch {
            StackCLI.exit(withError: error)
        }
    }
}

extension LoadStrategy: ExpressibleByArgument {}
