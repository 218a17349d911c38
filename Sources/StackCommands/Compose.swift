import Foundation
import Yams

/// Talks to whichever Compose is installed, only to read the project and to recreate a
/// service; Compose is never asked to build (every build goes through the routine).
public struct Compose: Sendable {
    public enum Flavor: Equatable, Sendable {
        /// `docker compose` (v2, the CLI plugin).
        case plugin
        /// `docker-compose` (v1, a program of its own, as in Debian 12).
        case standalone
    }

    public var flavor: Flavor
    public var files: [String]
    public var project: String?
    public var profiles: [String]

    public init(flavor: Flavor, files: [String], project: String?, profiles: [String]) {
        self.flavor = flavor
        self.files = files
        self.project = project
        self.profiles = profiles
    }

    /// One `docker compose version` tells whether the plugin is there.
    public static func detectFlavor(runner: any DockerRunning) throws -> Flavor {
        try runner.capture(DockerInvocation(["compose", "version"]), timeout: 15).status.succeeded ? .plugin : .standalone
    }

    public func invocation(_ arguments: [String]) -> DockerInvocation {
        let global = files.flatMap { ["-f", $0] } + (project.map { ["-p", $0] } ?? []) + profiles.flatMap { ["--profile", $0] }
        switch flavor {
        case .plugin: return DockerInvocation(["compose"] + global + arguments)
        case .standalone: return DockerInvocation(global + arguments, tool: .composeV1)
        }
    }

    /// The normalized configuration: JSON from v2, YAML from v1 (both read as YAML).
    public var configInvocation: DockerInvocation {
        invocation(flavor == .plugin ? ["config", "--format", "json"] : ["config"])
    }

    public func readProject(runner: any DockerRunning) throws -> ComposeProject {
        let result = try runner.capture(configInvocation, timeout: 60)
        guard result.status.succeeded else {
            throw StackError.composeFailed(command: runner.commandLine(configInvocation), said: result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        do {
            return try ComposeProject.parse(result.stdout)
        } catch {
            throw StackError.composeFailed(command: runner.commandLine(configInvocation), said: "its output could not be read: \(error)")
        }
    }
}

/// The parts of a normalized compose configuration that say what to build.
public struct ComposeProject: Equatable, Sendable {
    public struct Service: Equatable, Sendable {
        public var name: String
        public var image: String?
        public var build: Build?
        /// A service with profiles exists only when one of them is active. Compose v1's
        /// `config` lists such services regardless, so stack filters them itself.
        public var profiles: [String]

        public func isActive(with active: [String]) -> Bool {
            profiles.isEmpty || profiles.contains(where: active.contains)
        }
    }

    public struct Build: Equatable, Sendable {
        public var context: String
        public var dockerfile: String?
        public var target: String?
        /// A nil value is an argument named without a value: compose takes it from the environment.
        public var args: [(name: String, value: String?)]

        public static func == (lhs: Build, rhs: Build) -> Bool {
            lhs.context == rhs.context && lhs.dockerfile == rhs.dockerfile && lhs.target == rhs.target
                && lhs.args.map(\.name) == rhs.args.map(\.name) && lhs.args.map(\.value) == rhs.args.map(\.value)
        }
    }

    /// v2 prints the project name; v1 does not.
    public var name: String?
    public var services: [Service]

    public static func parse(_ text: String) throws -> ComposeProject {
        guard let root = try Yams.compose(yaml: text), let services = root["services"]?.mapping else {
            return ComposeProject(name: nil, services: [])
        }
        let parsed = services.map { key, value -> Service in
            Service(name: key.string ?? "", image: value["image"]?.string, build: value["build"].flatMap(parseBuild),
                    profiles: value["profiles"]?.sequence?.compactMap(\.string) ?? [])
        }
        return ComposeProject(name: root["name"]?.string, services: parsed.sorted { $0.name < $1.name })
    }

    private static func parseBuild(_ node: Node) -> Build? {
        if let context = node.string { return Build(context: context, dockerfile: nil, target: nil, args: []) }
        guard let context = node["context"]?.string else { return nil }
        var args: [(String, String?)] = []
        if let mapping = node["args"]?.mapping {
            args = mapping.compactMap { key, value in key.string.map { ($0, value.null == nil ? value.string : nil) } }
        } else if let list = node["args"]?.sequence {
            args = list.compactMap(\.string).map { item in
                guard let equals = item.firstIndex(of: "=") else { return (item, nil) }
                return (String(item[..<equals]), String(item[item.index(after: equals)...]))
            }
        }
        return Build(context: context, dockerfile: node["dockerfile"]?.string, target: node["target"]?.string, args: args)
    }

    public var buildable: [Service] { services.filter { $0.build != nil } }

    /// Compose's own image name for a service without `image:`.
    public static func defaultImage(project: String, service: String) -> String {
        "\(project)-\(service)"
    }

    /// v1's project name when none is given: the first compose file's folder, as compose normalizes it.
    public static func defaultProjectName(firstFile: String) -> String {
        let folder = URL(fileURLWithPath: firstFile).deletingLastPathComponent().lastPathComponent.lowercased()
        return String(folder.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }
}

extension ComposeProject.Service {
    /// The build request the routine gets for this service: an image in the local daemon.
    public func buildRequest(project: String, environment: [String: String]) -> BuildRequest? {
        guard let build else { return nil }
        let dockerfile = build.dockerfile.map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: build.context).appendingPathComponent($0).path }
        let args = build.args.compactMap { argument -> BuildArgument? in
            guard let value = argument.value ?? environment[argument.name] else { return nil }
            return BuildArgument(name: argument.name, value: value)
        }
        return BuildRequest(
            context: build.context,
            dockerfile: dockerfile,
            tags: [image ?? ComposeProject.defaultImage(project: project, service: name)],
            buildArgs: args,
            target: build.target,
            result: .image
        )
    }
}
