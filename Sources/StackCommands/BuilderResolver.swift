import Foundation

/// Decides, once per run, which builder the builds use: `BUILDX_BUILDER`, else stack.yaml's
/// builder, else buildx's current default. It never builds somewhere else silently: when the
/// wanted builder cannot be used it fails (exit 69) or, where stack.yaml allows, falls back
/// to the local BuildKit with a warning.
public struct BuilderResolver: Sendable {
    public var runner: any DockerRunning
    public var settings: BuilderSettings
    public var environment: [String: String]
    /// `inspect` answers in well under a second (0.06–0.16 s in the recorded fixtures, also for
    /// a dead builder); the bound is for endpoints that swallow packets instead of refusing.
    public var inspectTimeout: Double

    public init(runner: any DockerRunning, settings: BuilderSettings, environment: [String: String], inspectTimeout: Double = 15) {
        self.runner = runner
        self.settings = settings
        self.environment = environment
        self.inspectTimeout = inspectTimeout
    }

    enum Request: Equatable {
        case named(String, fromEnvironment: Bool)
        case buildxDefault

        var label: String {
            switch self {
            case .named(let name, _): return name
            case .buildxDefault: return "buildx's default builder"
            }
        }
    }

    var request: Request {
        if let name = environment["BUILDX_BUILDER"], !name.isEmpty { return .named(name, fromEnvironment: true) }
        if let name = settings.name { return .named(name, fromEnvironment: false) }
        return .buildxDefault
    }

    public func resolve() throws -> BuilderChoice {
        let request = self.request
        var arguments = ["buildx", "inspect"]
        if case .named(let name, _) = request { arguments.append(name) }
        let inspect = try runner.capture(DockerInvocation(arguments), timeout: inspectTimeout)

        let problem: BuilderProblem
        switch inspect.status {
        case .exited(0):
            guard let info = BuilderInfo.parse(inspectOutput: inspect.stdout + "\n" + inspect.stderr) else {
                problem = BuilderProblem(kind: .unreachable, builder: request.label, endpoint: nil, dockerSaid: lastLine(inspect))
                break
            }
            if info.isRunning {
                return BuilderChoice(backend: .buildx(name: info.name, driver: info.driver), endpoint: info.endpoint)
            }
            problem = BuilderProblem(kind: .unreachable, builder: info.name, endpoint: info.endpoint, dockerSaid: "Status: \(info.status ?? "unknown")")
        case .timedOut(let seconds):
            problem = BuilderProblem(kind: .unreachable, builder: request.label, endpoint: nil, dockerSaid: "`docker buildx inspect` gave no answer within \(Int(seconds)) s")
        default:
            problem = try classifyFailure(inspect, request: request)
        }
        return try handle(problem, request: request)
    }

    private func classifyFailure(_ inspect: CapturedOutput, request: Request) throws -> BuilderProblem {
        let said = lastLine(inspect)
        if said.contains("no builder") && said.contains("found") {
            return BuilderProblem(kind: .missing, builder: request.label, endpoint: nil, dockerSaid: said)
        }
        let version = try runner.capture(DockerInvocation(["buildx", "version"]), timeout: inspectTimeout)
        if !version.status.succeeded {
            return BuilderProblem(kind: .buildxMissing, builder: request.label, endpoint: nil, dockerSaid: firstLine(version))
        }
        return BuilderProblem(kind: .unreachable, builder: request.label, endpoint: nil, dockerSaid: said)
    }

    private func handle(_ problem: BuilderProblem, request: Request) throws -> BuilderChoice {
        let reason: String
        switch request {
        case .buildxDefault where problem.kind == .buildxMissing:
            reason = "docker buildx is not installed and no shared builder is configured"
        case .named(_, fromEnvironment: false) where !settings.required && problem.kind != .unreachable:
            reason = problem.kind == .missing
                ? "shared builder \"\(problem.builder)\" does not exist on this machine"
                : "docker buildx is not installed, so shared builder \"\(problem.builder)\" cannot be used"
        case _ where settings.fallback == .local:
            reason = "shared builder \"\(problem.builder)\" cannot be used (\(problem.dockerSaid))"
        default:
            throw StackError.builderUnavailable(problem)
        }
        let warning = "warning: \(reason); building with the local daemon's BuildKit, whose cache is not shared."
        if problem.kind != .buildxMissing {
            let local = environment["DOCKER_CONTEXT"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            return BuilderChoice(backend: .buildx(name: local, driver: "docker"), warning: warning)
        }
        return try embeddedBuildKit(warning: warning)
    }

    /// CLIs before 23.0 build with the daemon's BuildKit when DOCKER_BUILDKIT=1; from 23.0 on
    /// that path needs buildx too, so such a CLI cannot build with BuildKit at all.
    private func embeddedBuildKit(warning: String) throws -> BuilderChoice {
        let version = try runner.capture(DockerInvocation(["version", "--format", "{{.Client.Version}}"]), timeout: inspectTimeout)
        let text = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let major = Int(text.prefix { $0.isNumber }), major < 23 else {
            throw StackError.noBuildKit(docker: runner.program, version: text.isEmpty ? "of unknown version" : text)
        }
        return BuilderChoice(backend: .embeddedBuildKit, warning: warning)
    }

    private func lastLine(_ output: CapturedOutput) -> String {
        let text = output.stderr.isEmpty ? output.stdout : output.stderr
        return text.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }

    private func firstLine(_ output: CapturedOutput) -> String {
        let text = output.stderr.isEmpty ? output.stdout : output.stderr
        return text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }
}
