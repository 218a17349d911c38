import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `stack` installed as `docker` (a symlink earlier on PATH) or run as `stack docker …`: image
/// builds go through the build routine, and so through the shared builder; every other command
/// line is handed to the real docker unchanged. The wrapper adds no flags, phase headers or
/// table of its own to what docker prints, so scripts that run docker see what they expect.
///
/// - `docker build …`, `docker image build …`, `docker builder build …`, `docker buildx build …`
///   (`buildx b`): one phase `docker:build`, the user's arguments kept exactly (see
///   `DockerBuildArguments`); the route adds `--builder NAME` and, when the builder keeps its
///   results and the user chose no output, `--load` or the smart probe's flags.
/// - `docker compose [options] build [--build-arg …] [--builder B] [--no-cache] [--pull] [SERVICE…]`:
///   the project as compose itself reads it with the user's own options, then one routine call
///   per service, as `stack build` does.
/// - anything else, and builds with options stack cannot hand on (said on stderr): `execve`
///   of the real docker with the same arguments, so its output, exit code and signals are
///   docker's own. The real docker is `STACK_DOCKER`, else the next `docker` on PATH that is
///   not this executable.
///
/// A user's own `--builder` wins over stack.yaml's builder: it is handed to the routine as
/// `BUILDX_BUILDER`, which buildx documents as the same thing, so it is inspected first and
/// treated like any builder named by `BUILDX_BUILDER`. Docker's global options `--host`,
/// `--context` and `--config` become `DOCKER_HOST`, `DOCKER_CONTEXT` and `DOCKER_CONFIG` for
/// every docker command of the build; other global options have no such equivalent.
/// There is no `--dry-run`: every argument is docker's.
public enum DockerWrapper {
    /// What the wrapper does with one docker command line.
    public enum Route: Equatable, Sendable {
        case build(DockerBuildArguments, environment: EnvironmentEdit)
        case composeBuild(ComposeBuild, environment: EnvironmentEdit)
        /// The real docker runs the command line unchanged; `note`, when set, is said first on
        /// stderr because the command builds without the shared builder.
        case passthrough(note: String?)
    }

    /// Environment variables that stand for docker's global options.
    public struct EnvironmentEdit: Equatable, Sendable {
        public var set: [String: String]
        public var unset: Set<String>

        public init(set: [String: String] = [:], unset: Set<String> = []) {
            self.set = set
            self.unset = unset
        }

        public func applied(to environment: [String: String]) -> [String: String] {
            environment.filter { !unset.contains($0.key) }.merging(set) { _, new in new }
        }

        /// nil when an option has no environment equivalent, or when docker would refuse the
        /// options (both `--host` and `--context`, or `--host` twice) and should say so itself.
        init?(_ options: [FlagSyntax.Token]) {
            self.init()
            var host: String?
            var context: String?
            for case .flag(let flag) in options {
                switch (flag.name, flag.value) {
                case ("config", let value?): set["DOCKER_CONFIG"] = value
                case ("host", let value?) where host == nil: host = value
                case ("context", let value?): context = value
                default: return nil
                }
            }
            switch (host, context) {
            case (let host?, nil):
                set["DOCKER_HOST"] = host
            case (nil, let context?):
                // The flag beats DOCKER_HOST; the variable alone would lose to it.
                set["DOCKER_CONTEXT"] = context
                unset = ["DOCKER_HOST"]
            case (nil, nil):
                break
            case (.some, .some):
                return nil
            }
        }
    }

    /// `docker compose … build …` as the wrapper runs it.
    public struct ComposeBuild: Equatable, Sendable {
        /// The user's options between `compose` and `build`, verbatim: they choose the files,
        /// project, profiles, env files and project directory, for `compose config` too.
        public var options: [String]
        public var services: [String]
        /// `--build-arg` values (`NAME=VALUE`, or `NAME` for the environment's value), which
        /// override the compose file's args of the same name, as compose does.
        public var buildArgs: [String]
        public var builder: String?
        /// `--no-cache`/`--pull`, which mean the same to `docker buildx build`.
        public var buildFlags: [String]
    }

    /// docker's global options (docker 20.10 to 28): `-c`, `-H`, `-l` and the TLS files take a value.
    static let globalSyntax = FlagSyntax(
        valueFlags: ["config", "context", "host", "log-level", "tlscacert", "tlscert", "tlskey"],
        shorthands: ["c": "context", "H": "host", "l": "log-level", "D": "debug", "v": "version", "h": "help"]
    )
    static let buildxSyntax = FlagSyntax(valueFlags: ["builder"], shorthands: ["D": "debug", "h": "help"])
    /// Compose v2's options that take a value: its own (persistent, so they may also follow
    /// `build`) and those of `compose build`.
    static let composeSyntax = FlagSyntax(
        valueFlags: ["ansi", "env-file", "file", "parallel", "profile", "progress", "project-directory", "project-name", "workdir",
                     "build-arg", "builder", "memory", "provenance", "sbom", "ssh"],
        shorthands: ["f": "file", "p": "project-name", "h": "help", "v": "version", "m": "memory", "q": "quiet"]
    )
    /// Compose options that only say how compose reads the project or prints.
    static let composeProjectOptions: Set<String> = [
        "ansi", "env-file", "file", "parallel", "profile", "progress", "project-directory", "project-name", "workdir",
        "all-resources", "compatibility", "no-ansi", "verbose",
    ]
    /// With these compose builds nothing: the real docker answers, with no note.
    static let composeNonBuilding: Set<String> = ["dry-run", "help", "version"]

    public static func route(_ arguments: [String]) -> Route {
        let (globals, start) = globalSyntax.tokens(arguments, untilWord: true)
        let command = Array(arguments[start...])
        let environment = EnvironmentEdit(globals)
        switch command.first {
        case "build":
            return build(Array(command.dropFirst()), environment)
        case "image", "builder":
            guard command.dropFirst().first == "build" else { return .passthrough(note: nil) }
            return build(Array(command.dropFirst(2)), environment)
        case "buildx":
            return buildx(Array(command.dropFirst()), environment)
        case "compose":
            return compose(Array(command.dropFirst()), environment)
        default:
            return .passthrough(note: nil)
        }
    }

    private static let globalOptionsNote = "docker's global options other than --host, --context and --config have no environment equivalent stack could hand its docker commands"

    private static func build(_ arguments: [String], _ environment: EnvironmentEdit?) -> Route {
        guard let environment else {
            return .passthrough(note: "\(globalOptionsNote); this build runs on the real docker unchanged, not through the shared builder.")
        }
        let build = DockerBuildArguments(arguments)
        // Help, and a missing context, are docker's to answer, without a builder lookup first.
        guard !build.asksForHelp, build.context != nil else { return .passthrough(note: nil) }
        return .build(build, environment: environment)
    }

    /// `docker buildx [--builder NAME] build|b …`; `--builder` there means `BUILDX_BUILDER`.
    private static func buildx(_ arguments: [String], _ environment: EnvironmentEdit?) -> Route {
        let (options, start) = buildxSyntax.tokens(arguments, untilWord: true)
        guard start < arguments.count, ["build", "b"].contains(arguments[start]) else { return .passthrough(note: nil) }
        var environment = environment
        for case .flag(let flag) in options {
            guard flag.name == "builder", let builder = flag.value else {
                return .passthrough(note: "`docker buildx --\(flag.name)` is not handled by stack; this build runs on the real docker unchanged, not through the shared builder.")
            }
            environment?.set["BUILDX_BUILDER"] = builder
        }
        return build(Array(arguments[(start + 1)...]), environment)
    }

    private static func compose(_ arguments: [String], _ environment: EnvironmentEdit?) -> Route {
        let (leading, start) = composeSyntax.tokens(arguments, untilWord: true)
        guard start < arguments.count, arguments[start] == "build" else { return .passthrough(note: nil) }
        func bypass(_ reason: String) -> Route {
            .passthrough(note: "\(reason); this `docker compose build` runs on the real docker unchanged, not through the shared builder.")
        }
        guard let environment else { return bypass(globalOptionsNote) }
        var build = ComposeBuild(options: [], services: [], buildArgs: [], builder: nil, buildFlags: [])
        /// A compose-level option, before or after `build`: kept for `compose config` as the
        /// user wrote it (`words` holds it), or the reason the line goes to the real docker.
        func project(_ flag: FlagSyntax.Flag, in words: [String]) -> Route? {
            if composeNonBuilding.contains(flag.name) { return .passthrough(note: nil) }
            // `compose config` runs with stdin closed; a compose file on stdin could not reach it.
            if flag.name == "file", flag.value == "-" { return bypass("the compose file comes on stdin") }
            guard composeProjectOptions.contains(flag.name) else { return bypass("compose's option `--\(flag.name)` is not handled by stack") }
            build.options += flag.positions.map { words[$0] }
            return nil
        }
        for case .flag(let flag) in leading {
            if let route = project(flag, in: arguments) { return route }
        }
        let rest = Array(arguments[(start + 1)...])
        for token in composeSyntax.tokens(rest).tokens {
            switch token {
            case .word(let service, _):
                build.services.append(service)
            case .terminator:
                break
            case .flag(let flag):
                switch (flag.name, flag.value) {
                case ("build-arg", let value?): build.buildArgs.append(value)
                case ("builder", let value?): build.builder = value
                case ("no-cache", nil), ("no-cache", "true"), ("pull", nil), ("pull", "true"): build.buildFlags.append("--\(flag.name)")
                case ("no-cache", "false"), ("pull", "false"): break
                case _ where composeProjectOptions.contains(flag.name) || composeNonBuilding.contains(flag.name):
                    if let route = project(flag, in: rest) { return route }
                default: return bypass("`docker compose build --\(flag.name)` is not handled by stack (only --build-arg, --builder, --no-cache and --pull are)")
                }
            }
        }
        return .composeBuild(build, environment: environment)
    }

    /// Runs the command line and returns the exit code; the pass-through never returns.
    public static func run(arguments: [String], world: RunEnvironment) -> Int32 {
        switch route(arguments) {
        case .passthrough(let note):
            if let note { world.console.info("stack: \(note)") }
            return execRealDocker(arguments, world: world)
        case let .build(build, environment):
            var world = world
            world.environment = environment.applied(to: world.environment)
            if let builder = build.builder { world.environment["BUILDX_BUILDER"] = builder }
            return runBuild(build, world: world)
        case let .composeBuild(compose, environment):
            var composing = world
            composing.environment = environment.applied(to: world.environment)
            // Without the compose plugin nothing can read the project the way `docker compose`
            // would; the real docker then answers `docker compose build` itself, as without stack.
            let runner = try? composing.makeRunner(composing.environment)
            guard let runner, (try? Compose.detectFlavor(runner: runner)) == .plugin else {
                return execRealDocker(arguments, world: world)
            }
            if let builder = compose.builder { composing.environment["BUILDX_BUILDER"] = builder }
            return runComposeBuild(compose, world: composing)
        }
    }

    private static func runBuild(_ build: DockerBuildArguments, world: RunEnvironment) -> Int32 {
        let request = build.request
        return exitCode(world: world) {
            var options = try WorkspaceOptions.parse([])
            if build.needsSingleBuild { options.loadStrategy = .tarball }
            try CommandRun(command: "docker build", options: options, world: world, transparent: true).execute { _ in
                [Phase("docker:build") { try $0.build(request) }]
            }
        }
    }

    /// Compose refused the project (an unknown service, a broken file, no compose plugin):
    /// the user gets what compose said and its exit code, as from `docker compose build`.
    private struct ComposeRefused: Error {
        var code: Int32
        var said: String
    }

    private static func runComposeBuild(_ compose: ComposeBuild, world: RunEnvironment) -> Int32 {
        exitCode(world: world) {
            try CommandRun(command: "docker compose build", options: try WorkspaceOptions.parse([]), world: world, transparent: true).execute { input in
                try composePhases(compose, runner: input.runner, world: world)
            }
        }
    }

    /// One phase per service to build, from `compose config` with the user's own options.
    /// Compose v2 lists only the services whose profiles are active (and those named, whose
    /// profiles it switches on), so every profile it lists counts as active.
    static func composePhases(_ compose: ComposeBuild, runner: any DockerRunning, world: RunEnvironment) throws -> [Phase] {
        let config = DockerInvocation(["compose"] + compose.options + ["config", "--format", "json"] + compose.services)
        let answer = try runner.capture(config, timeout: 60)
        guard answer.status.succeeded else {
            guard case .exited(let code) = answer.status else {
                throw StackError.composeFailed(command: runner.commandLine(config), said: "it \(answer.status)")
            }
            throw ComposeRefused(code: code, said: answer.stderr)
        }
        let project: ComposeProject
        do {
            project = try ComposeProject.parse(answer.stdout)
        } catch {
            throw StackError.composeFailed(command: runner.commandLine(config), said: "its output could not be read: \(error)")
        }
        let name = project.name ?? ComposeProject.defaultProjectName(firstFile: world.currentDirectory.appendingPathComponent("compose.yaml").path)
        let overrides = compose.buildArgs.map { argument -> (name: String, value: String?) in
            guard let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
            return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
        }
        let active = project.services.flatMap(\.profiles)
        return try ServicesBuild.chosen(from: project, activeProfiles: active, requested: compose.services).compactMap { service in
            var service = service
            service.build?.args.removeAll { argument in overrides.contains { $0.name == argument.name } }
            service.build?.args += overrides
            guard var request = service.buildRequest(project: name, environment: world.environment) else { return nil }
            request.extraArguments = compose.buildFlags
            return Phase("service:\(service.name)") { [request] in try $0.build(request) }
        }
    }

    private static func exitCode(world: RunEnvironment, _ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch let refused as ComposeRefused {
            if !refused.said.isEmpty { world.console.info(refused.said.trimmingCharacters(in: .newlines)) }
            return refused.code
        } catch {
            return report(error, world: world)
        }
    }

    /// Says why, as `stack` does, except for a failed build: docker's own output above says why.
    private static func report(_ error: Error, world: RunEnvironment) -> Int32 {
        guard let error = error as? StackError else {
            world.console.info("stack: error: \(error)")
            return 1
        }
        if case .buildFailed = error { return error.exitCode }
        world.console.info("stack: error: \(error.message)")
        return error.exitCode
    }

    /// Replaces this process with the real docker: the same arguments, `argv[0]` `docker`, so
    /// docker's exit code and signals reach the caller as if the wrapper were not there.
    /// Returns only when docker cannot be started.
    static func execRealDocker(_ arguments: [String], world: RunEnvironment) -> Int32 {
        let docker: any DockerRunning
        do {
            docker = try world.makeRunner(world.environment)
        } catch {
            return report(error, world: world)
        }
        let code = docker.replaceProcess(with: DockerInvocation(arguments))
        if code == 126 || code == 127 {
            world.console.info("stack: error: cannot run \(docker.program) \(arguments.first ?? ""): \(String(cString: strerror(errno))); check STACK_DOCKER or PATH.")
        }
        return code
    }
}
