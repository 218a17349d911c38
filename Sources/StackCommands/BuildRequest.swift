import Foundation

/// Plain data describing one image build; the routine decides how docker runs it.
public struct BuildRequest: Equatable, Sendable {
    public enum Result: Equatable, Sendable {
        /// The image must end up in the local Docker daemon under `tags`.
        case image
        /// The final stage's files are written to this directory (`--output type=local`).
        case directory(String)
    }

    public var context: String
    public var dockerfile: String?
    public var tags: [String]
    public var buildArgs: [BuildArgument]
    public var target: String?
    public var result: Result
    /// nil leaves buildx's default; false adds `--provenance=false` (no attestation manifest).
    public var provenance: Bool?
    /// BuildKit's progress display (`plain` when phases overlap); nil leaves docker's choice.
    public var progress: String?
    /// The caller's own docker flags, passed through in order and never second-guessed.
    public var extraArguments: [String]

    public init(
        context: String,
        dockerfile: String? = nil,
        tags: [String] = [],
        buildArgs: [BuildArgument] = [],
        target: String? = nil,
        result: Result = .image,
        provenance: Bool? = nil,
        progress: String? = nil,
        extraArguments: [String] = []
    ) {
        self.context = context
        self.dockerfile = dockerfile
        self.tags = tags
        self.buildArgs = buildArgs
        self.target = target
        self.result = result
        self.provenance = provenance
        self.progress = progress
        self.extraArguments = extraArguments
    }

    /// Whether the caller already said where the result goes (`--output`, `-o`, `--load`, `--push`).
    public var callerChoseOutput: Bool {
        extraArguments.contains { argument in
            argument == "--load" || argument == "--push" || argument == "-o" || argument == "--output"
                || argument.hasPrefix("--output=") || argument.hasPrefix("--load=") || argument.hasPrefix("--push=")
                || (argument.hasPrefix("-o") && !argument.hasPrefix("--"))
        }
    }

    /// stack.yaml's build args first, each overridden by the request's own value of the same name.
    public func withDefaultBuildArgs(_ defaults: [BuildArgument]) -> BuildRequest {
        var merged = defaults.filter { argument in !buildArgs.contains { $0.name == argument.name } }
        merged.append(contentsOf: buildArgs)
        var copy = self
        copy.buildArgs = merged
        return copy
    }
}

/// The docker command lines for a request on a builder. A pure function: every branch of
/// the build routine is decided here, where tests can see it without a daemon.
public enum BuildRoute {
    public static func invocations(for request: BuildRequest, on builder: BuilderChoice) -> [DockerInvocation] {
        var arguments: [String]
        var environment: [String: String] = [:]
        switch builder.backend {
        case .buildx(let name, _):
            // Never plain `docker build`: the 28.x CLI hands buildx BUILDX_BUILDER=default,
            // ignoring `buildx use`, and the 20.10 CLI does not use buildx at all.
            arguments = ["buildx", "build", "--builder", name]
        case .embeddedBuildKit:
            arguments = ["build"]
            environment["DOCKER_BUILDKIT"] = "1"
        }
        if let progress = request.progress { arguments.append("--progress=\(progress)") }
        if let dockerfile = request.dockerfile { arguments += ["-f", dockerfile] }
        if let target = request.target { arguments += ["--target", target] }
        for argument in request.buildArgs { arguments += ["--build-arg", "\(argument.name)=\(argument.value)"] }
        for tag in request.tags { arguments += ["-t", tag] }
        // The 20.10 CLI's built-in BuildKit knows no --provenance and adds no attestations.
        if let provenance = request.provenance, case .buildx = builder.backend {
            arguments.append("--provenance=\(provenance)")
        }
        switch request.result {
        case .directory(let destination):
            arguments += ["--output", "type=local,dest=\(destination)"]
        case .image where builder.needsLoad && !request.callerChoseOutput:
            arguments.append("--load")
        case .image:
            break
        }
        arguments += request.extraArguments
        arguments.append(request.context)
        return [DockerInvocation(arguments, environment: environment)]
    }
}
