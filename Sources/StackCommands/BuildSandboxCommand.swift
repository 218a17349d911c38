import ArgumentParser
import Foundation

public struct BuildSandboxCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "build-sandbox",
        abstract: "Build the desktop images and the sandbox, restart it, and move the desktops into it.",
        discussion: """
        Phases: zed:check, zed:build, zed:verify (skipped when the Zed binary exists) → \
        desktop:<name> for each desktop (independent of each other) → sandbox:image → \
        sandbox:restart → transfer:<name> for each desktop. EXPERIMENTAL_DESKTOPS="a b" adds desktops.
        """
    )

    @OptionGroup public var options: WorkspaceOptions

    public init() {}

    public func run() throws {
        try CommandRun(command: "build-sandbox", options: options, world: .live()).execute { input in
            try SandboxBuild(workspace: input.workspace, environment: input.environment).phases(runner: input.runner)
        }
    }
}

/// The plan of `stack build-sandbox`, phase by phase as the bash script ran it.
public struct SandboxBuild: Sendable {
    public var workspace: Workspace
    public var environment: [String: String]

    public init(workspace: Workspace, environment: [String: String]) {
        self.workspace = workspace
        self.environment = environment
    }

    /// stack.yaml's production desktops, then EXPERIMENTAL_DESKTOPS, each once.
    public func desktopNames(_ settings: DesktopSettings) -> [String] {
        let experimental = (environment["EXPERIMENTAL_DESKTOPS"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        return (settings.production + experimental).reduce(into: []) { names, name in
            if !names.contains(name) { names.append(name) }
        }
    }

    public func phases(runner: any DockerRunning) throws -> [Phase] {
        let desktops = try workspace.section(\.desktops, "desktops", for: "build-sandbox")
        let sandbox = try workspace.section(\.sandbox, "sandbox", for: "build-sandbox")
        let compose = try workspace.compose(runner: runner, for: "build-sandbox")
        let nested = NestedDocker(arguments: sandbox.nestedDocker.map { EnvironmentExpansion.expand($0, environment: environment) })
        let registry = EnvironmentExpansion.expand(sandbox.registry, environment: environment)
        let registryFromSandbox = sandbox.registryFromSandbox.map { EnvironmentExpansion.expand($0, environment: environment) } ?? registry
        let versions = workspace.path(sandbox.versions)
        let names = desktopNames(desktops)

        let zed = try ZedBuild(workspace: workspace, buildType: .release).phases(onlyIfMissing: true)
        let zedDone = zed.last!.name

        let desktopPhases = names.map { name -> Phase in
            let image = desktops.imageName(name)
            let versionFile = versions.appendingPathComponent(ImageReference.repository(image) + ".version")
            let request = BuildRequest(
                context: workspace.path(desktops.context).path,
                dockerfile: workspace.path(desktops.dockerfiles).appendingPathComponent("Dockerfile.\(name)-helix").path,
                tags: [image]
            )
            return Phase("desktop:\(name)", after: [zedDone]) { phase in
                try phase.build(request)
                if phase.dryRun {
                    phase.console.output("# \(phase.name) writes \(versionFile.path): the first 6 hex digits of \(image)'s image ID")
                    return
                }
                let version = try ImageReference.version(of: image, runner: phase.runner, phase: phase.name)
                try FileManager.default.createDirectory(at: versions, withIntermediateDirectories: true)
                try Data("\(version)\n".utf8).write(to: versionFile, options: .atomic)
                phase.console.info("\(phase.name): \(image) is version \(version)")
            }
        }

        let sandboxImage = Phase("sandbox:image", after: desktopPhases.map(\.name)) { phase in
            try phase.build(BuildRequest(context: workspace.path(sandbox.context).path,
                                         dockerfile: workspace.path(sandbox.dockerfile).path, tags: [sandbox.image]))
        }

        let restart = Phase("sandbox:restart", after: [sandboxImage.name]) { phase in
            // Restarting ends every session inside the sandbox: only when its image changed
            // (or --force), as long as it is running.
            if !phase.dryRun, !phase.routine.settings.force,
               let running = try Self.runningImage(of: sandbox.service, compose: compose, runner: phase.runner),
               running == (try? ImageReference.id(of: sandbox.image, runner: phase.runner, phase: phase.name)) {
                try nested.waitUntilAnswering(within: sandbox.waitSeconds, phase: phase)
                phase.skip("the sandbox already runs \(sandbox.image) (\(running.prefix(19)))")
                return
            }
            try phase.run(compose.invocation(["rm", "-f", "-s", sandbox.service]))
            try phase.run(compose.invocation(["up", "-d", "--no-build", sandbox.service]))
            try nested.waitUntilAnswering(within: sandbox.waitSeconds, phase: phase)
        }

        let transfers = names.map { name -> Phase in
            let image = desktops.imageName(name)
            let transfer = Transfer(image: image, registry: registry, registryFromSandbox: registryFromSandbox, nested: nested,
                                    versionFile: versions.appendingPathComponent(ImageReference.repository(image) + ".version"))
            // One desktop failing to arrive leaves the others worth moving.
            return Phase("transfer:\(name)", after: ["desktop:\(name)", restart.name], stopsRunOnFailure: false) { phase in
                try transfer.run(in: phase)
            }
        }

        return zed + desktopPhases + [sandboxImage, restart] + transfers
    }
}

extension SandboxBuild {
    /// The image ID of the service's running container; nil when none runs.
    static func runningImage(of service: String, compose: Compose, runner: any DockerRunning) throws -> String? {
        // Compose labels its containers; asking docker directly spares starting compose (v1
        // is a Python program: about 0.3 s here).
        let project = compose.project ?? ComposeProject.defaultProjectName(firstFile: compose.files[0])
        let containers = try runner.capture(DockerInvocation(["ps", "-q", "--no-trunc", "--filter", "status=running",
                                                              "--filter", "label=com.docker.compose.project=\(project)",
                                                              "--filter", "label=com.docker.compose.service=\(service)"]), timeout: 60)
        guard containers.status.succeeded, let container = containers.stdout.split(separator: "\n").first else { return nil }
        let image = try runner.capture(DockerInvocation(["inspect", "--format", "{{.Image}}", String(container)]), timeout: 60)
        guard image.status.succeeded else { return nil }
        return image.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The docker CLI arguments that reach the daemon inside the sandbox.
public struct NestedDocker: Sendable {
    public var arguments: [String]

    public func invocation(_ arguments: [String]) -> DockerInvocation {
        DockerInvocation(self.arguments + arguments)
    }

    /// Polls `version` until the nested daemon answers; never waits past `seconds`.
    func waitUntilAnswering(within seconds: Double, phase: PhaseContext) throws {
        let probe = invocation(["version", "--format", "{{.Server.Version}}"])
        if phase.dryRun {
            phase.console.output("# \(phase.name) waits up to \(Int(seconds)) s until this answers:")
            phase.console.output(phase.runner.commandLine(probe))
            return
        }
        let deadline = Date().addingTimeInterval(seconds)
        var lastError = ""
        repeat {
            let result = try phase.runner.capture(probe, timeout: max(1, min(10, deadline.timeIntervalSinceNow)))
            if result.status.succeeded {
                phase.console.info("\(phase.name): the sandbox's Docker \(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) answers")
                return
            }
            lastError = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        throw StackError.sandboxUnreachable(command: phase.runner.commandLine(probe), seconds: Int(seconds), said: lastError)
    }
}

/// Moves one desktop image into the sandbox through the registry, so only changed layers
/// travel: tag and push on the host, pull and tag inside, then drop the registry tags.
struct Transfer: Sendable {
    var image: String
    var registry: String
    var registryFromSandbox: String
    var nested: NestedDocker
    var versionFile: URL

    func run(in phase: PhaseContext) throws {
        let version = phase.dryRun ? "VERSION" : try String(contentsOf: versionFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        if !phase.dryRun {
            let inside = try phase.runner.capture(nested.invocation(["image", "inspect", "--format", "{{.Id}}", image]), timeout: 30)
            if inside.status.succeeded, inside.stdout.hasPrefix("sha256:\(version)") {
                phase.skip("the sandbox already has \(image) at version \(version)")
                return
            }
        }
        let repository = ImageReference.repository(image)
        let pushed = "\(registry)/\(repository):\(version)"
        let pulled = "\(registryFromSandbox)/\(repository):\(version)"
        try phase.run(DockerInvocation(["tag", image, pushed]))
        defer { if !phase.dryRun { _ = try? phase.runner.capture(DockerInvocation(["rmi", pushed]), timeout: 60) } }
        try phase.run(DockerInvocation(["push", pushed]))
        try phase.run(nested.invocation(["pull", pulled]))
        try phase.run(nested.invocation(["tag", pulled, image]))
        try phase.run(nested.invocation(["rmi", pulled]))
        if phase.dryRun { phase.console.output(phase.runner.commandLine(DockerInvocation(["rmi", pushed]))) }
    }
}

public enum ImageReference {
    /// `helix-ubuntu` for `registry:5000/team/helix-ubuntu:latest`.
    public static func repository(_ image: String) -> String {
        var name = Substring(image)
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        return String(name)
    }

    static func id(of image: String, runner: any DockerRunning, phase: String) throws -> String {
        try runner.checked(DockerInvocation(["image", "inspect", "--format", "{{.Id}}", image]), phase: phase, timeout: 60)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first 6 hex digits of the image ID, as the sandbox's version files hold them.
    static func version(of image: String, runner: any DockerRunning, phase: String) throws -> String {
        String(try id(of: image, runner: runner, phase: phase).replacingOccurrences(of: "sha256:", with: "").prefix(6))
    }
}
