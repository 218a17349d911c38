import Foundation

/// Every way `stack` can fail on purpose. Each case knows its exit code (sysexits) and
/// renders as a message whose last sentence says what to do.
public enum StackError: Error, Equatable, Sendable {
    case usage(String)
    case configuration(file: String, keyPath: String, line: Int?, problem: String)
    case configurationMissing(searchedFrom: String)
    case dockerMissing(String)
    case composeFailed(command: String, said: String)
    case sandboxUnreachable(command: String, seconds: Int, said: String)
    case builderUnavailable(BuilderProblem)
    case noBuildKit(docker: String, version: String)
    case buildFailed(phase: String, status: String)
    case stepFailed(phase: String, message: String)
    case interrupted(signal: Int32)

    public var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .configuration, .configurationMissing, .composeFailed: return 78
        case .dockerMissing, .builderUnavailable, .noBuildKit, .sandboxUnreachable: return 69
        case .buildFailed, .stepFailed: return 1
        case .interrupted(let signal): return 128 + signal
        }
    }

    public var message: String {
        switch self {
        case .usage(let text):
            return text
        case let .configuration(file, keyPath, line, problem):
            let location = line.map { "\(file):\($0)" } ?? file
            let key = keyPath.isEmpty ? "" : " at `\(keyPath)`"
            let fix = line == nil ? "fix stack.yaml" : "fix that line of stack.yaml"
            return "\(location): \(problem)\(key); \(fix) (see the stack.yaml reference in README.md)."
        case .configurationMissing(let directory):
            return "no stack.yaml found in \(directory) or any folder above it; run stack inside a workspace or pass --workspace DIR."
        case .dockerMissing(let detail):
            return "\(detail); install the docker CLI or point STACK_DOCKER at one."
        case let .composeFailed(command, said):
            return "`\(command)` failed: \(said); fix the compose files named in stack.yaml's `compose.files`."
        case let .sandboxUnreachable(command, seconds, said):
            return "the sandbox's Docker daemon did not answer `\(command)` within \(seconds) s (\(said)); start the sandbox or fix `sandbox.nested_docker` in stack.yaml, then run build-sandbox again (images already built are kept)."
        case .builderUnavailable(let problem):
            return problem.message
        case let .noBuildKit(docker, version):
            return "\(docker) (docker CLI \(version)) has neither buildx nor a built-in BuildKit, so it cannot build without the shared builder; install the buildx plugin or set STACK_DOCKER to a CLI that has one (for example Debian's /usr/bin/docker 20.10)."
        case let .buildFailed(phase, status):
            return "\(phase): docker build \(status); read docker's output above for the failing step."
        case let .stepFailed(phase, message):
            return "\(phase): \(message)"
        case .interrupted(let signal):
            return "interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); children were stopped and files put back, run the command again to resume."
        }
    }
}

/// Why the configured shared builder cannot be used, with everything a person needs to act.
public struct BuilderProblem: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case missing
        case unreachable
        case buildxMissing
    }

    public var kind: Kind
    public var builder: String
    public var endpoint: String?
    public var dockerSaid: String

    public init(kind: Kind, builder: String, endpoint: String?, dockerSaid: String) {
        self.kind = kind
        self.builder = builder
        self.endpoint = endpoint
        self.dockerSaid = dockerSaid
    }

    public var message: String {
        let said = dockerSaid.isEmpty ? "" : " (docker said: \(dockerSaid))"
        switch kind {
        case .missing:
            return "shared builder \"\(builder)\" does not exist on this machine\(said); create it with `docker buildx create --name \(builder) --driver remote tcp://HOST:PORT`, or set `builder.fallback: local` in stack.yaml to build without the shared cache."
        case .unreachable:
            let at = endpoint.map { " at \($0)" } ?? ""
            return "shared builder \"\(builder)\"\(at) is not reachable\(said); start its buildkitd (or fix the endpoint with `docker buildx create --name \(builder) --driver remote --append …`), or set `builder.fallback: local` in stack.yaml to build without the shared cache."
        case .buildxMissing:
            return "docker buildx is not installed, so shared builder \"\(builder)\" cannot be used\(said); install the docker buildx plugin, or set `builder.fallback: local` in stack.yaml to build without the shared cache."
        }
    }
}
