import ArgumentParser
import Foundation

public struct DoctorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this machine can build through the shared builder, and say how to fix what is missing.",
        discussion: """
        One line per check: ✓ passed, ✗ a required check failed, ! an optional one failed (builds \
        still work), - not checked (nothing to check, or a check it depends on failed). Every ✗ \
        and ! line ends in the fix. Required: stack.yaml is valid (when there is one), the docker \
        CLI is found, its daemon answers, docker buildx is installed, and the shared builder \
        exists and is running whenever a build would stop without it (exit 69; see the fallback \
        table in README.md). Optional: BUILDX_BUILDER in this shell and in /etc/environment, \
        /etc/profile.d/stack-buildx.sh and ~/.bashrc; the docker wrapper first on PATH; the \
        registries in load.registry and sandbox.registry answer. Exit 0 when every required \
        check passes, 78 when only stack.yaml is bad, else 69.
        """
    )

    @Option(name: [.customShort("C"), .long], help: "The folder whose stack.yaml to check (default: the nearest one upwards).")
    public var workspace: String?

    /// Tests run against a temporary tree: the files setup-builder writes, and $HOME, are read below it.
    @Option(help: .hidden)
    public var root: String?

    public init() {}

    public func run() throws {
        let world = RunEnvironment.live()
        let findings = Doctor(
            world: world,
            workspace: workspace,
            paths: SystemPaths(root: root, currentDirectory: world.currentDirectory),
            executable: SystemDockerRunner.currentExecutable
        ).examine()
        for finding in findings {
            world.console.output(finding.line)
        }
        let failed = findings.filter { $0.mark == .failed }
        guard !failed.isEmpty else {
            world.console.output("doctor: every required check passed.")
            return
        }
        world.console.output("doctor: \(failed.count) required check\(failed.count == 1 ? "" : "s") failed (✗ above).")
        throw ExitCode(failed.allSatisfy(\.isConfiguration) ? 78 : 69)
    }
}

/// One line of doctor's report.
struct Finding: Sendable {
    enum Mark: String, Sendable {
        case passed = "✓"
        case failed = "✗"
        case warning = "!"
        case notChecked = "-"
    }

    var mark: Mark
    var subject: String
    var text: String
    var fix: String?
    /// A stack.yaml problem: alone, it makes the exit code 78 rather than 69.
    var isConfiguration = false

    var line: String {
        "\(mark.rawValue) \(subject): \(text)" + (fix.map { " — fix: \($0)" } ?? "")
    }

    static func passed(_ subject: String, _ text: String) -> Finding {
        Finding(mark: .passed, subject: subject, text: text)
    }

    /// ✗ when builds cannot do without it, else !.
    static func problem(_ subject: String, _ text: String, fix: String, required: Bool) -> Finding {
        Finding(mark: required ? .failed : .warning, subject: subject, text: text, fix: fix)
    }

    static func notChecked(_ subject: String, _ text: String) -> Finding {
        Finding(mark: .notChecked, subject: subject, text: text)
    }
}

/// Examines the machine; every docker call goes through the runner and is bounded.
struct Doctor {
    var world: RunEnvironment
    var workspace: String?
    var paths: SystemPaths
    /// This stack's real path, to recognise the docker wrapper; nil when it cannot be found.
    var executable: String?
    /// `docker version` asks the daemon; a socket that swallows packets must not hang doctor.
    var dockerTimeout: Double = 10
    var registryTimeout: Double = 3

    /// The builder builds would use, as BuilderResolver picks it.
    struct Wanted {
        var name: String
        var fromEnvironment: Bool
    }

    func examine() -> [Finding] {
        var findings: [Finding] = []
        let (workspaceFinding, workspace) = checkWorkspace()
        findings.append(workspaceFinding)
        let configuration = workspace?.configuration ?? StackConfiguration()

        let (dockerFinding, docker) = checkDocker()
        findings.append(dockerFinding)
        // The runner, once buildx is known to be there.
        var buildx: (any DockerRunning)?
        if let docker {
            findings.append(checkDaemon(docker.runner))
            let buildxFinding = checkBuildx(docker, needed: buildxNeeded(configuration.builder, docker: docker))
            findings.append(buildxFinding)
            if buildxFinding.mark == .passed { buildx = docker.runner }
        } else {
            findings.append(.notChecked("daemon", "not checked: needs the docker CLI"))
            findings.append(.notChecked("buildx", "not checked: needs the docker CLI"))
        }

        let wanted = wantedBuilder(configuration.builder)
        switch (wanted, buildx) {
        case let (wanted?, runner?):
            let endpoint = workspace.flatMap { BuilderSetup.configuredEndpoint(workspace: $0, environment: world.environment) }
            findings += checkBuilder(wanted, settings: configuration.builder, endpoint: endpoint, runner: runner)
        case let (wanted?, nil):
            findings.append(.notChecked("builder \"\(wanted.name)\"", "not checked: needs docker buildx"))
        case (nil, _):
            findings.append(.problem("builder", "no shared builder is named, so builds go to buildx's current default builder and share no cache",
                                     fix: "set `builder.name` (and `builder.endpoint`) in stack.yaml, then run `stack setup-builder`", required: false))
        }

        let expected = configuration.builder.name ?? wanted?.name
        findings.append(checkShellVariable(expected: expected, configured: configuration.builder.name))
        findings += checkVariableFiles(expected: expected)
        findings.append(checkWrapper())
        findings += checkRegistries(configuration)
        return findings
    }

    private func checkWorkspace() -> (Finding, Workspace?) {
        let subject = "stack.yaml"
        do {
            let workspace = try Workspace.locate(explicit: self.workspace, from: world.currentDirectory)
            return (.passed(subject, "\(workspace.configurationFile.path) is valid"), workspace)
        } catch StackError.configurationMissing(let directory) {
            return (.notChecked(subject, "none in \(directory) or above; builder settings take their defaults"), nil)
        } catch {
            // Its message already ends in the fix (the file, the line and the key).
            let message = (error as? StackError)?.message ?? "\(error)"
            return (Finding(mark: .failed, subject: subject, text: message, isConfiguration: true), nil)
        }
    }

    /// The docker CLI found, and where it is, for messages.
    struct DockerCLI {
        var runner: any DockerRunning
        var location: String
        var version: String

        /// Before 23.0 the CLI has BuildKit built in (`DOCKER_BUILDKIT=1 docker build`).
        var hasBuiltInBuildKit: Bool { Int(version.prefix { $0.isNumber }).map { $0 < 23 } ?? false }
    }

    private func checkDocker() -> (Finding, DockerCLI?) {
        let subject = "docker CLI"
        let runner: any DockerRunning
        do {
            runner = try world.makeRunner(world.environment)
        } catch {
            let message = (error as? StackError)?.message ?? "\(error)"
            return (Finding(mark: .failed, subject: subject, text: message), nil)
        }
        let source = world.environment["STACK_DOCKER"].map { $0.isEmpty ? "PATH" : "STACK_DOCKER" } ?? "PATH"
        let location = (runner as? SystemDockerRunner)?.executable ?? runner.program
        // The client prints its version even when the daemon is down (and then exits 1).
        let version = try? runner.capture(DockerInvocation(["version", "--format", "{{.Client.Version}}"]), timeout: dockerTimeout)
        guard let client = version?.stdout.split(separator: "\n").first.map({ $0.trimmingCharacters(in: .whitespaces) }), !client.isEmpty else {
            let said = version.map { $0.lastLineSaid } ?? ""
            return (.problem(subject, "\(location) (from \(source)) does not say its version\(said.isEmpty ? "" : " (it said: \(said))")",
                             fix: "point STACK_DOCKER at a working docker CLI", required: true), nil)
        }
        return (.passed(subject, "\(location) (from \(source)), version \(client)"), DockerCLI(runner: runner, location: location, version: client))
    }

    private func checkDaemon(_ runner: any DockerRunning) -> Finding {
        let subject = "daemon"
        let daemon = world.environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : "at \($0) (DOCKER_HOST)" } ?? "of the current docker context"
        let fix = "start dockerd, or point DOCKER_HOST (or DOCKER_CONTEXT) at one that runs"
        do {
            let answer = try runner.capture(DockerInvocation(["version", "--format", "{{.Server.Version}}"]), timeout: dockerTimeout)
            let version = answer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if answer.status.succeeded, !version.isEmpty {
                return .passed(subject, "the daemon \(daemon) answers, version \(version)")
            }
            let said = answer.lastLineSaid
            return .problem(subject, "the daemon \(daemon) does not answer (`docker version` \(answer.status)\(said.isEmpty ? "" : ": \(said)"))", fix: fix, required: true)
        } catch {
            return .problem(subject, "cannot ask the daemon: \(error)", fix: fix, required: true)
        }
    }

    /// Whether builds stop without buildx, by BuilderResolver's rules: they go on (locally,
    /// with a warning) when no builder is named, or stack.yaml's builder may be missing
    /// (`required: false`) or fall back (`fallback: local`) — but only if this CLI has BuildKit
    /// built in.
    private func buildxNeeded(_ settings: BuilderSettings, docker: DockerCLI) -> Bool {
        guard docker.hasBuiltInBuildKit else { return true }
        guard let wanted = wantedBuilder(settings) else { return false }
        if settings.fallback == .local { return false }
        return wanted.fromEnvironment || settings.required
    }

    private func checkBuildx(_ docker: DockerCLI, needed: Bool) -> Finding {
        let subject = "buildx"
        let fix = "install the docker buildx plugin (Debian 13 and later: `apt-get install docker-buildx`; Docker's apt repository: `docker-buildx-plugin`), or set STACK_DOCKER to a CLI that has one"
        do {
            let answer = try docker.runner.capture(DockerInvocation(["buildx", "version"]), timeout: dockerTimeout)
            // `github.com/docker/buildx v0.24.0 d0e5e86…` (fixture 01).
            if answer.status.succeeded {
                let words = answer.firstLineSaid.split(separator: " ")
                return .passed(subject, "docker buildx \(words.count > 1 ? String(words[1]) : answer.firstLineSaid)")
            }
            let consequence = needed ? "" : "; builds use this CLI's built-in BuildKit instead, without the shared cache"
            return .problem(subject, "not installed for \(docker.location) (docker said: \(answer.firstLineSaid))\(consequence)", fix: fix, required: needed)
        } catch {
            return .problem(subject, "cannot run `docker buildx version`: \(error)", fix: fix, required: true)
        }
    }

    private func wantedBuilder(_ settings: BuilderSettings) -> Wanted? {
        if let name = world.environment["BUILDX_BUILDER"], !name.isEmpty { return Wanted(name: name, fromEnvironment: true) }
        return settings.name.map { Wanted(name: $0, fromEnvironment: false) }
    }

    /// Required exactly when BuilderResolver would stop the build (exit 69) over this problem:
    /// with `fallback: local` nothing stops, and a builder stack.yaml marks `required: false`
    /// may be missing (but, once created, must answer).
    private func checkBuilder(_ wanted: Wanted, settings: BuilderSettings, endpoint: (value: String, source: String)?, runner: any DockerRunning) -> [Finding] {
        let subject = "builder \"\(wanted.name)\""
        let stops = settings.fallback == .fail
        let fallbackNote = stops ? "" : "; builds fall back to the local BuildKit, without the shared cache"
        let lookup: BuilderLookup
        do {
            lookup = try BuilderLookup.inspect(wanted.name, runner: runner)
        } catch {
            return [.problem(subject, "cannot run `docker buildx inspect \(wanted.name)`: \(error)", fix: "check the docker CLI above", required: stops)]
        }
        switch lookup {
        case .missing(let said):
            let create = endpoint.map { "run `stack setup-builder` (it creates the builder at \($0.value))" }
                ?? "set `builder.endpoint` in stack.yaml (or BUILDKIT_HOST) to the shared buildkitd, then run `stack setup-builder`"
            let required = stops && (wanted.fromEnvironment || settings.required)
            return [.problem(subject, "does not exist on this machine (docker said: \(said))\(fallbackNote)", fix: create, required: required)]
        case .failed(let said):
            return [.problem(subject, "`docker buildx inspect \(wanted.name)` \(said)\(fallbackNote)", fix: "fix what docker says (`docker buildx ls` lists the builders)", required: stops)]
        case .found(let info):
            let at = info.endpoint.map { " at \($0)" } ?? ""
            var findings: [Finding]
            if info.isRunning {
                let version = info.nodes.first?.buildkitVersion.map { ", BuildKit \($0)" } ?? ""
                findings = [.passed(subject, "\(info.driver) driver\(at), running\(version)")]
            } else {
                let endpointText = info.endpoint ?? "its endpoint"
                findings = [.problem(subject, "\(info.driver) driver\(at) is not reachable (Status: \(info.status ?? "unknown"))\(fallbackNote)",
                                     fix: "start the buildkitd at \(endpointText), or re-create the builder at the right endpoint: `docker buildx rm \(wanted.name)`, then `stack setup-builder`",
                                     required: stops)]
            }
            if let endpoint, let actual = info.endpoint, actual != endpoint.value {
                findings.append(.problem("builder endpoint", "\"\(wanted.name)\" points at \(actual), but \(endpoint.source) says \(endpoint.value)",
                                         fix: "`docker buildx rm \(wanted.name)`, then `stack setup-builder`", required: false))
            }
            return findings
        }
    }

    /// The 28.x CLI hands a plain `docker build` to buildx with BUILDX_BUILDER=default unless
    /// the variable is set (fixture 23c), so without it scripts miss the shared builder.
    private func checkShellVariable(expected: String?, configured: String?) -> Finding {
        let subject = "BUILDX_BUILDER"
        let value = world.environment["BUILDX_BUILDER"].flatMap { $0.isEmpty ? nil : $0 }
        switch (value, expected) {
        case (nil, nil):
            return .notChecked(subject, "not set in this shell, and no builder is named")
        case (nil, let name?):
            return .problem(subject, "not set in this shell, so a plain `docker build` goes to buildx's `default` builder, not \"\(name)\"",
                            fix: "open a new shell after `stack setup-builder`, or `export BUILDX_BUILDER=\(name)`", required: false)
        case (let value?, let name?) where configured != nil && value != name:
            return .problem(subject, "this shell has BUILDX_BUILDER=\(value), but stack.yaml names \"\(name)\", so builds go to \(value)",
                            fix: "`export BUILDX_BUILDER=\(name)` (and `stack setup-builder` for new shells), or change `builder.name`", required: false)
        case (let value?, _):
            return .passed(subject, "BUILDX_BUILDER=\(value) in this shell")
        }
    }

    private func checkVariableFiles(expected: String?) -> [Finding] {
        let files: [BuilderVariableFile]
        do {
            files = try BuilderVariableFile.all(paths: paths, environment: world.environment)
        } catch {
            let message = (error as? StackError)?.message ?? "\(error)"
            return [.problem("BUILDX_BUILDER files", message, fix: "set HOME", required: false)]
        }
        guard let expected else {
            return [.notChecked("BUILDX_BUILDER files", "not checked: no builder is named")]
        }
        return files.map { file in
            let fix = "run `stack setup-builder`"
            do {
                guard let edit = try file.plannedEdit(builder: expected) else {
                    return .passed(file.path, "sets BUILDX_BUILDER=\(expected)")
                }
                let state = edit.creates ? "does not exist" : "does not give BUILDX_BUILDER=\(expected)"
                return .problem(file.path, "\(state) (setup-builder would \(edit.changes.joined(separator: ", ")))", fix: fix, required: false)
            } catch {
                let message = (error as? StackError)?.message ?? "\(error)"
                return .problem(file.path, message, fix: fix, required: false)
            }
        }
    }

    private func checkWrapper() -> Finding {
        let subject = "docker wrapper"
        guard let executable else { return .notChecked(subject, "not checked: cannot tell where this stack executable is") }
        guard let first = SystemDockerRunner.findExecutable("docker", path: world.environment["PATH"]) else {
            return .problem(subject, "there is no `docker` on PATH", fix: "`stack setup-builder --install-wrapper DIR` with a DIR on PATH", required: false)
        }
        let launcher = world.environment["STACK_LAUNCHER"].flatMap(SystemDockerRunner.realPath)
        if let resolved = SystemDockerRunner.realPath(first), resolved == executable || resolved == launcher {
            return .passed(subject, "the first `docker` on PATH, \(first), is this stack")
        }
        return .problem(subject, "the first `docker` on PATH is \(first), not stack, so a plain `docker build` skips the shared-builder checks",
                        fix: "`stack setup-builder --install-wrapper DIR` with a DIR that comes before \(URL(fileURLWithPath: first).deletingLastPathComponent().path) on PATH",
                        required: false)
    }

    /// Optional: without an answering registry, builds load images with `--load` (with a
    /// warning) and only build-sandbox's transfers cannot run.
    private func checkRegistries(_ configuration: StackConfiguration) -> [Finding] {
        var registries: [(address: String, key: String)] = []
        if let registry = configuration.load.registry { registries.append((registry, "load.registry")) }
        if let registry = configuration.sandbox?.registry {
            let address = EnvironmentExpansion.expand(registry, environment: world.environment)
            if !registries.contains(where: { $0.address == address }) { registries.append((address, "sandbox.registry")) }
        }
        guard !registries.isEmpty else {
            return [.notChecked("registry", "none configured (load.registry, sandbox.registry)")]
        }
        return registries.map { registry in
            if EndpointProbe.canConnect(to: registry.address, timeout: registryTimeout) {
                return .passed("registry", "\(registry.address) (\(registry.key)) answers")
            }
            return .problem("registry", "\(registry.address) (\(registry.key)) does not answer within \(Int(registryTimeout)) s",
                            fix: "start the registry, or fix `\(registry.key)` in stack.yaml", required: false)
        }
    }
}
