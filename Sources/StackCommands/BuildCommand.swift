import ArgumentParser
import Foundation

public struct BuildCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the compose project's images, one phase per service, through the shared builder.",
        discussion: """
        Reads the normalized compose configuration from compose itself (`docker compose config`, or \
        `docker-compose config` where only v1 is installed) and builds every service that has a \
        `build:` section as phase `service:<name>`, tagged with its `image:` or `<project>-<service>`. \
        Compose is never asked to build.
        """
    )

    @Argument(help: "Services to build (default: every buildable service of the active profiles).")
    public var services: [String] = []

    @Flag(help: "Also build the `runner` profile's services (like WITH_RUNNER=1).")
    public var withRunner = false

    @Flag(help: "Also build the `demos` profile's services (like WITH_DEMOS=1).")
    public var withDemos = false

    @OptionGroup public var options: WorkspaceOptions

    public init() {}

    public func run() throws {
        try CommandRun(command: "build", options: options, world: .live()).execute { input in
            try ServicesBuild(
                workspace: input.workspace,
                requested: services,
                profiles: ServicesBuild.profiles(withRunner: withRunner, withDemos: withDemos, environment: input.environment),
                environment: input.environment
            ).phases(runner: input.runner)
        }
    }
}

/// The plan of `stack build`: the compose project read once, then one phase per service.
public struct ServicesBuild: Sendable {
    public var workspace: Workspace
    public var requested: [String]
    public var profiles: [String]
    public var environment: [String: String]

    /// The bash script's switches, kept: WITH_RUNNER=1 and WITH_DEMOS=1, or the flags.
    public static func profiles(withRunner: Bool, withDemos: Bool, environment: [String: String]) -> [String] {
        var profiles: [String] = []
        if withRunner || environment["WITH_RUNNER"] == "1" { profiles.append("runner") }
        if withDemos || environment["WITH_DEMOS"] == "1" { profiles.append("demos") }
        return profiles
    }

    public func phases(runner: any DockerRunning) throws -> [Phase] {
        let compose = try workspace.compose(runner: runner, extraProfiles: profiles, for: "stack build")
        let project = try compose.readProject(runner: runner)
        let projectName = compose.project ?? project.name ?? ComposeProject.defaultProjectName(firstFile: compose.files[0])
        return try Self.chosen(from: project, activeProfiles: compose.profiles, requested: requested).compactMap { service in
            guard let request = service.buildRequest(project: projectName, environment: environment) else { return nil }
            return Phase("service:\(service.name)") { try $0.build(request) }
        }
    }

    /// The buildable services that are active with `activeProfiles`: all of them, or the
    /// `requested` ones (a usage error names those that are not). Shared with the docker
    /// wrapper's `docker compose build`.
    public static func chosen(from project: ComposeProject, activeProfiles: [String], requested: [String]) throws -> [ComposeProject.Service] {
        let buildable = project.buildable.filter { $0.isActive(with: activeProfiles) }
        let unknown = requested.filter { name in !buildable.contains { $0.name == name } }
        if !unknown.isEmpty {
            let inactive = project.buildable.filter { !$0.isActive(with: activeProfiles) }
                .map { "\($0.name) (profile \($0.profiles.joined(separator: "/")))" }
            let behindProfiles = inactive.isEmpty ? "" : "; behind a profile that is off: \(inactive.joined(separator: ", ")), turned on with --with-runner/--with-demos or WITH_RUNNER=1/WITH_DEMOS=1"
            throw StackError.usage("unknown service\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")); the buildable services are: \(buildable.map(\.name).joined(separator: ", "))\(behindProfiles).")
        }
        return requested.isEmpty ? buildable : buildable.filter { requested.contains($0.name) }
    }
}
