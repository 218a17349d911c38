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
    /// Image labels (`--label`), written in name order: the routine's fingerprint goes here.
    public var labels: [String: String] = [:]
    /// The caller's own docker flags, passed through in order and never second-guessed.
    public var extraArguments: [String]
    /// A person's own `docker build` arguments (the wrapper), context included, kept exactly
    /// as given: the route then adds only its documented flags (`--builder`, `--load`, the
    /// probe's) in front of them. The fields above still describe the build (tags for load
    /// decisions, context for fingerprints) but are not turned into flags again.
    public var passthrough: [String]?

    public init(
        context: String,
        dockerfile: String? = nil,
        tags: [String] = [],
        buildArgs: [BuildArgument] = [],
        target: String? = nil,
        result: Result = .image,
        provenance: Bool? = nil,
        progress: String? = nil,
        extraArguments: [String] = [],
        passthrough: [String]? = nil
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
        self.passthrough = passthrough
    }

    /// Whether the caller already said where the result goes (`--output`, `-o`, `--load`,
    /// `--push`). A person's own arguments are read the way docker's flag parser reads them,
    /// so an output inside a group of short flags (`-qo DEST`) counts and a flag value that
    /// merely looks like one (`--label -o`) does not.
    public var callerChoseOutput: Bool {
        if let passthrough { return DockerBuildArguments(passthrough).choseOutput }
        return extraArguments.contains { argument in
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

/// How an image built by a non-`docker` driver gets into the local daemon.
public enum LoadStrategy: String, CaseIterable, Equatable, Sendable {
    /// Probe first (`--output type=image --iidfile`, costs ~0 when cached); load only when
    /// the image differs from the local one.
    case smart
    /// Push to a registry and pull: only changed layers travel.
    case registry
    /// Plain `--load`: the whole image as a tarball, every time.
    case tarball
}

/// What happened to get a phase's result where it is needed (the `load` field of timings).
public enum LoadPath: String, Codable, Equatable, Sendable {
    case fingerprintHit = "fingerprint-hit"
    case unchanged
    case loadedRegistry = "loaded-registry"
    case loadedTarball = "loaded-tarball"
    /// Nothing to load: the docker driver, a local output, or the caller's own output flags.
    case none
}

/// The docker command lines for a request on a builder. Pure functions: every branch of
/// the build routine is decided here, where tests can see it without a daemon.
public enum BuildRoute {
    /// Where the build's result goes, as flags the route adds.
    public enum Output: Equatable, Sendable {
        /// What the request itself asks for: a local directory, or nothing more (docker driver).
        case asRequested
        /// `--load`: stream the image to the daemon as a tarball.
        case load
        /// The smart probe: build to the builder's image store only and write the image ID.
        case probe(iidfile: String, metadataFile: String)
        /// Push to a registry under `reference`.
        case push(reference: String)
    }

    /// How the routine gets an image request's result into the daemon.
    public enum LoadPlan: Equatable, Sendable {
        /// One build; nothing to load, or `--load` already in it (`path` says which).
        case single(Output, path: LoadPath)
        /// Probe, then compare with the local image, then load only if it changed.
        case probeFirst(then: LoadStrategy)
        /// Push to `reference` and pull it back.
        case registry(reference: String)
    }

    /// Decides the load plan. `localImageIDs` holds the ID of each of the request's tags in the
    /// local daemon (nil: absent); it is only consulted by `smart`.
    public static func loadPlan(for request: BuildRequest, on builder: BuilderChoice, strategy: LoadStrategy,
                                registry: String?, localImageIDs: [String: String?]) -> LoadPlan {
        guard mustLoad(request, on: builder) else { return .single(.asRequested, path: .none) }
        let changedVia: LoadStrategy = registry == nil ? .tarball : .registry
        switch strategy {
        case .tarball:
            return .single(.load, path: .loadedTarball)
        case .registry:
            guard let registry, let reference = registryReference(request, registry: registry) else { return .single(.load, path: .loadedTarball) }
            return .registry(reference: reference)
        case .smart:
            let present = request.tags.compactMap { localImageIDs[$0] ?? nil }
            if present.isEmpty {
                if changedVia == .registry, let registry, let reference = registryReference(request, registry: registry) {
                    return .registry(reference: reference)
                }
                return .single(.load, path: .loadedTarball)
            }
            return .probeFirst(then: changedVia)
        }
    }

    /// Whether the result must be moved into the daemon: an image from a builder that keeps
    /// its results (not the `docker` driver), where the caller chose no output of its own.
    public static func mustLoad(_ request: BuildRequest, on builder: BuilderChoice) -> Bool {
        guard case .image = request.result else { return false }
        return builder.needsLoad && !request.callerChoseOutput
    }

    /// After the probe: unchanged when every tag the daemon has already points at the probed
    /// image (tags it lacks are then added with `docker tag`); anything else loads.
    public enum ProbeVerdict: Equatable, Sendable {
        case unchanged(tagsToAdd: [String])
        case changed
    }

    public static func verdict(probedImageID: String?, tags: [String], localImageIDs: [String: String?]) -> ProbeVerdict {
        guard let probed = probedImageID?.trimmingCharacters(in: .whitespacesAndNewlines), probed.hasPrefix("sha256:"), probed.count == 71 else {
            return .changed
        }
        let present = tags.filter { (localImageIDs[$0] ?? nil) != nil }
        guard !present.isEmpty, present.allSatisfy({ localImageIDs[$0] == probed }) else { return .changed }
        return .unchanged(tagsToAdd: tags.filter { (localImageIDs[$0] ?? nil) == nil })
    }

    /// `REGISTRY/<repository>:<tag>` for the request's first tag.
    static func registryReference(_ request: BuildRequest, registry: String) -> String? {
        guard let tag = request.tags.first else { return nil }
        let repository = ImageReference.repository(tag)
        let version = tag.split(separator: "/").last.flatMap { last in last.split(separator: ":", maxSplits: 1).dropFirst().first }.map(String.init) ?? "latest"
        return "\(registry)/\(repository):\(version)"
    }

    /// `cacheRegistry` (stack.yaml `cache.registry`) shares BuildKit's cache through a registry
    /// on machines without the shared builder.
    public static func invocation(for request: BuildRequest, on builder: BuilderChoice, output: Output = .asRequested,
                                  cacheRegistry: String? = nil) -> DockerInvocation {
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
        let additions = outputFlags(output, request: request) + cacheFlags(cacheRegistry, builder: builder)
        if let passthrough = request.passthrough {
            return DockerInvocation(arguments + additions + passthrough, environment: environment)
        }
        if let dockerfile = request.dockerfile { arguments += ["-f", dockerfile] }
        if let target = request.target { arguments += ["--target", target] }
        for argument in request.buildArgs { arguments += ["--build-arg", "\(argument.name)=\(argument.value)"] }
        for tag in request.tags { arguments += ["-t", tag] }
        for name in request.labels.keys.sorted() { arguments += ["--label", "\(name)=\(request.labels[name]!)"] }
        // The 20.10 CLI's built-in BuildKit knows no --provenance and adds no attestations.
        if let provenance = request.provenance, case .buildx = builder.backend, !additions.contains(where: { $0.hasPrefix("--provenance") }) {
            arguments.append("--provenance=\(provenance)")
        }
        arguments += additions
        arguments += request.extraArguments
        arguments.append(request.context)
        return DockerInvocation(arguments, environment: environment)
    }

    private static func cacheFlags(_ reference: String?, builder: BuilderChoice) -> [String] {
        guard let reference else { return [] }
        switch builder.backend {
        case .buildx(_, let driver) where driver != "docker":
            return ["--cache-from", "type=registry,ref=\(reference)", "--cache-to", "type=registry,ref=\(reference),mode=max"]
        case .buildx:
            // The docker driver cannot export cache; it can still use what others exported.
            return ["--cache-from", "type=registry,ref=\(reference)"]
        case .embeddedBuildKit:
            // The 20.10 CLI's built-in BuildKit takes only an image reference to import from.
            return ["--cache-from", reference]
        }
    }

    private static func outputFlags(_ output: Output, request: BuildRequest) -> [String] {
        switch output {
        case .asRequested:
            if case .directory(let destination) = request.result { return ["--output", "type=local,dest=\(destination)"] }
            return []
        case .load:
            return ["--load"]
        case let .probe(iidfile, metadataFile):
            // Both flags matter: without an output a remote builder leaves the iidfile empty
            // (fixture 14); with provenance the ID is a manifest list's, not the image's (12b).
            return ["--output", "type=image", "--provenance=false", "--iidfile", iidfile, "--metadata-file", metadataFile]
        case .push(let reference):
            return ["--output", "type=image,name=\(reference),push=true", "--provenance=false"]
        }
    }
}
