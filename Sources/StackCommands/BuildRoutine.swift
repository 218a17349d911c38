import Foundation

/// The one docker-build routine. Every image build of every command comes here: it resolves
/// the builder once per run, decides how the result reaches the daemon (`BuildRoute`), and
/// runs the docker invocations with their output streamed to the user.
public final class BuildRoutine: @unchecked Sendable {
    public struct Settings: Sendable {
        public var defaultBuildArgs: [BuildArgument]
        public var load: LoadSettings
        public var cacheRegistry: String?
        /// CI mode on a terminal: BuildKit's redrawing display becomes plain lines. Without a
        /// terminal docker's own `auto` mode prints plain lines already.
        public var plainProgress: Bool
        /// Read docker's output line by line (passing it on unchanged) to record whether every
        /// step was cached. Only where docker would print plain lines anyway: stderr is no
        /// terminal, and the run is not the transparent wrapper, whose stdout scripts may read.
        public var observeOutput: Bool
        /// Where fingerprint records live (the workspace's `.stack/`); nil turns them off.
        public var fingerprintState: URL?
        public var trustUnpinnedTags: Bool
        /// `--force`: build even when the fingerprint says nothing changed.
        public var force: Bool
        /// `--explain`: say which input made an image rebuild.
        public var explain: Bool

        public init(defaultBuildArgs: [BuildArgument] = [], load: LoadSettings = LoadSettings(), cacheRegistry: String? = nil,
                    plainProgress: Bool = false, observeOutput: Bool = false, fingerprintState: URL? = nil,
                    trustUnpinnedTags: Bool = false, force: Bool = false, explain: Bool = false) {
            self.defaultBuildArgs = defaultBuildArgs
            self.load = load
            self.cacheRegistry = cacheRegistry
            self.plainProgress = plainProgress
            self.observeOutput = observeOutput
            self.fingerprintState = fingerprintState
            self.trustUnpinnedTags = trustUnpinnedTags
            self.force = force
            self.explain = explain
        }
    }

    let runner: any DockerRunning
    let resolver: BuilderResolver
    let settings: Settings
    let console: Console
    let dryRun: Bool
    private let lock = NSLock()
    private var resolution: Result<BuilderChoice, Error>?
    private var baseImageIDs: [String: String?] = [:]

    public init(runner: any DockerRunning, resolver: BuilderResolver, settings: Settings, console: Console, dryRun: Bool) {
        self.runner = runner
        self.resolver = resolver
        self.settings = settings
        self.console = console
        self.dryRun = dryRun
    }

    /// The run's builder, inspected on first use only; a failure is remembered too, so a
    /// missing builder is reported once rather than per phase.
    public func builder() throws -> BuilderChoice {
        try lock.withLock {
            if resolution == nil {
                resolution = Result { try resolver.resolve() }
                if case .success(let choice) = resolution, let warning = choice.warning { console.info(warning) }
            }
            return try resolution!.get()
        }
    }

    /// The builder if one was resolved during this run.
    public var resolvedBuilder: BuilderChoice? {
        lock.withLock { try? resolution?.get() }
    }

    func build(_ request: BuildRequest, in phase: PhaseContext) throws {
        let builder = try builder()
        phase.builder = builder
        var request = request.withDefaultBuildArgs(settings.defaultBuildArgs)
        if phase.outputLines != nil || settings.plainProgress, request.progress == nil, !(request.passthrough ?? request.extraArguments).contains(where: { $0.hasPrefix("--progress") }) {
            request.progress = "plain"
        }
        let fingerprint = checkFingerprint(&request, on: builder, in: phase)
        if case .hit? = fingerprint { return }
        // Only `smart` compares with the daemon's images, and only for a result it must load.
        let needsLocalFacts = settings.load.strategy == .smart && !dryRun && BuildRoute.mustLoad(request, on: builder)
        let local = needsLocalFacts ? try localImageIDs(request.tags) : [:]
        let plan = BuildRoute.loadPlan(for: request, on: builder, strategy: settings.load.strategy, registry: settings.load.registry, localImageIDs: local)

        if dryRun {
            phase.console.output("# \(phase.name) builds on \(builder.summary)")
        } else {
            console.info("\(phase.name): building on \(builder.summary)")
        }
        let progress = BuildKitProgress()
        let original = phase.outputLines
        var shown = original
        if shown == nil, settings.observeOutput {
            let console = self.console
            shown = { @Sendable line in console.info(line) }
        }
        if let shown {
            phase.outputLines = { @Sendable line in
                progress.read(line)
                shown(line)
            }
        }
        defer {
            phase.outputLines = original
            if phase.load == .unchanged || phase.load == .fingerprintHit { phase.cache = .hot } else { phase.cache = progress.state }
        }
        switch plan {
        case let .single(output, path):
            try stream(BuildRoute.invocation(for: request, on: builder, output: output, cacheRegistry: settings.cacheRegistry), in: phase)
            phase.load = path
        case .probeFirst(let then):
            try probeThenLoad(request, on: builder, then: then, local: local, in: phase)
        case .registry(let reference):
            try loadThroughRegistry(request, reference: reference, on: builder, in: phase)
        }
        if case .miss(let pending, _)? = fingerprint { gate?.remember(pending) }
        // An image just built may be another's base: ask again from now on.
        if case .image = request.result { lock.withLock { baseImageIDs.removeAll() } }
    }

    private var gate: FingerprintGate? {
        settings.fingerprintState.map { state in
            FingerprintGate(stateDirectory: state.appendingPathComponent("fingerprints"), workspaceState: state,
                            trustUnpinnedTags: settings.trustUnpinnedTags, runner: runner,
                            baseImageID: { [self] reference in try baseImageID(reference) })
        }
    }

    /// Base images are asked about once until the run builds an image (which may be a base):
    /// the desktops and the sandbox share busybox in the example.
    private func baseImageID(_ reference: String) throws -> String? {
        if let known = lock.withLock({ baseImageIDs[reference] }) { return known }
        let result = try runner.capture(DockerInvocation(["image", "inspect", "--format", "{{.Id}}", reference]), timeout: 60)
        let id = result.status.succeeded ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        lock.withLock { baseImageIDs[reference] = .some(id) }
        return id
    }

    /// Before any builder call: when nothing that goes into the result changed and the result
    /// is in place, the phase is done (`fingerprint-hit`). Otherwise the image gets its new
    /// fingerprint as a label, and the phase records why it rebuilt. nil: not checked at all.
    private func checkFingerprint(_ request: inout BuildRequest, on builder: BuilderChoice, in phase: PhaseContext) -> FingerprintGate.Verdict? {
        // A person's own `docker build` (the wrapper) is passed through untouched: no label.
        guard let gate, request.passthrough == nil, !settings.force else { return nil }
        if dryRun {
            phase.console.output("# \(phase.name) first compares the inputs' fingerprint; the build below runs only when something changed")
            return nil
        }
        let verdict = gate.check(request, builder: builder)
        switch verdict {
        case .hit(let digest):
            console.info("\(phase.name): fingerprint hit (\(digest.prefix(12))), nothing that goes into it changed; no builder call")
            phase.load = .fingerprintHit
            phase.cache = .hot
        case .miss(let pending, let reason):
            phase.reason = reason
            if settings.explain { console.info("\(phase.name): rebuilding because \(reason)") }
            if pending.output == nil { request.labels[FingerprintGate.label] = pending.record.digest }
        case .notUsed(let reason):
            phase.reason = "no fingerprint: \(reason)"
            console.info("\(phase.name): building without a fingerprint check, because \(reason)")
        }
        return verdict
    }

    /// Smart load: a probe build that exports nothing (~0 s when cached) says which image the
    /// builder would produce; only a different one is loaded.
    private func probeThenLoad(_ request: BuildRequest, on builder: BuilderChoice, then: LoadStrategy, local: [String: String?], in phase: PhaseContext) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("stack-probe-\(UUID().uuidString)")
        let iidfile = scratch.appendingPathComponent("iid").path
        let metadata = scratch.appendingPathComponent("metadata.json").path
        if dryRun {
            phase.console.output(runner.commandLine(BuildRoute.invocation(for: request, on: builder, output: .probe(iidfile: iidfile, metadataFile: metadata), cacheRegistry: settings.cacheRegistry)))
            phase.console.output("# \(phase.name) loads only if the probed image differs from the local one:")
            try loadChanged(request, on: builder, via: then, in: phase)
            return
        }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let probe = BuildRoute.invocation(for: request, on: builder, output: .probe(iidfile: iidfile, metadataFile: metadata), cacheRegistry: settings.cacheRegistry)
        let status = try runner.stream(probe, lines: phase.outputLines)
        guard status.succeeded else {
            console.info("\(phase.name): the probe build \(status); building with a load to be sure")
            return try loadChanged(request, on: builder, via: then, in: phase)
        }
        switch BuildRoute.verdict(probedImageID: Self.probedImageID(iidfile: iidfile, metadataFile: metadata), tags: request.tags, localImageIDs: local) {
        case .unchanged(let missingTags):
            let id = (local.values.compactMap { $0 }.first ?? "")
            for tag in missingTags { try checkedRun(DockerInvocation(["tag", id, tag]), in: phase) }
            console.info("\(phase.name): unchanged, \(request.tags.joined(separator: ", ")) is already \(id.prefix(19)) in the daemon; nothing loaded")
            phase.load = .unchanged
        case .changed:
            try loadChanged(request, on: builder, via: then, in: phase)
        }
    }

    private func loadChanged(_ request: BuildRequest, on builder: BuilderChoice, via strategy: LoadStrategy, in phase: PhaseContext) throws {
        if strategy == .registry, let registry = settings.load.registry, let reference = BuildRoute.registryReference(request, registry: registry) {
            return try loadThroughRegistry(request, reference: reference, on: builder, in: phase)
        }
        try stream(BuildRoute.invocation(for: request, on: builder, output: .load, cacheRegistry: settings.cacheRegistry), in: phase)
        phase.load = .loadedTarball
    }

    /// Push from the builder, pull into the daemon: only the layers the daemon lacks travel.
    /// A registry that does not answer or a failed push falls back to `--load`, with a warning.
    private func loadThroughRegistry(_ request: BuildRequest, reference: String, on builder: BuilderChoice, in phase: PhaseContext) throws {
        let push = BuildRoute.invocation(for: request, on: builder, output: .push(reference: reference), cacheRegistry: settings.cacheRegistry)
        let fetch = [DockerInvocation(["pull", reference])] + request.tags.map { DockerInvocation(["tag", reference, $0]) } + [DockerInvocation(["rmi", reference])]
        if dryRun {
            for invocation in [push] + fetch { phase.console.output(runner.commandLine(invocation)) }
            return
        }
        let registry = String(reference.prefix { $0 != "/" })
        guard EndpointProbe.canConnect(to: registry, timeout: 3) else {
            console.info("warning: \(phase.name): registry \(registry) does not answer; loading the whole image with --load instead.")
            return try loadTarball(request, on: builder, in: phase)
        }
        let pushed = try runner.stream(push, lines: phase.outputLines)
        guard pushed.succeeded else {
            console.info("warning: \(phase.name): the push to \(registry) \(pushed); loading the whole image with --load instead.")
            return try loadTarball(request, on: builder, in: phase)
        }
        for invocation in fetch.dropLast() { try checkedRun(invocation, in: phase) }
        _ = try? runner.capture(fetch.last!, timeout: 60)
        console.info("\(phase.name): loaded through registry \(registry) (only changed layers moved)")
        phase.load = .loadedRegistry
    }

    private func loadTarball(_ request: BuildRequest, on builder: BuilderChoice, in phase: PhaseContext) throws {
        try stream(BuildRoute.invocation(for: request, on: builder, output: .load, cacheRegistry: settings.cacheRegistry), in: phase)
        phase.load = .loadedTarball
    }

    private func stream(_ invocation: DockerInvocation, in phase: PhaseContext) throws {
        if dryRun {
            phase.console.output(runner.commandLine(invocation))
            return
        }
        let status = try runner.stream(invocation, lines: phase.outputLines)
        guard status.succeeded else { throw StackError.buildFailed(phase: phase.name, status: status.description) }
    }

    private func checkedRun(_ invocation: DockerInvocation, in phase: PhaseContext) throws {
        let status = try runner.stream(invocation, lines: phase.outputLines)
        guard status.succeeded else {
            throw StackError.stepFailed(phase: phase.name, message: "`\(runner.commandLine(invocation))` \(status); read its output above.")
        }
    }

    /// The ID of each tag in the local daemon (nil when absent): the facts `smart` compares with.
    private func localImageIDs(_ tags: [String]) throws -> [String: String?] {
        var ids: [String: String?] = [:]
        for tag in tags {
            let result = try runner.capture(DockerInvocation(["images", "--no-trunc", "-q", tag]), timeout: 60)
            let id = result.stdout.split(separator: "\n").first.map(String.init)
            ids[tag] = result.status.succeeded ? id : nil
        }
        return ids
    }

    /// The metadata file's `containerimage.config.digest` (fixture 15: the image ID), else the
    /// iidfile (fixture 12: the same ID when provenance is off).
    static func probedImageID(iidfile: String, metadataFile: String) -> String? {
        if let data = FileManager.default.contents(atPath: metadataFile),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let digest = object["containerimage.config.digest"] as? String {
            return digest
        }
        return (try? String(contentsOfFile: iidfile, encoding: .utf8)).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Reads BuildKit's plain progress to tell whether every Dockerfile step was a cache hit:
/// `#N [stage k/n] INSTRUCTION` names a step, `#N CACHED` marks it a hit. A phase may run
/// several builds (the smart probe, then the load); each starts again at `#1`, and one step
/// built in any of them makes the phase cold.
final class BuildKitProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var steps: Set<String> = []
    private var cached: Set<String> = []
    private var builtEarlier = false

    func read(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].hasPrefix("#"), parts[0].dropFirst().allSatisfy(\.isNumber) else { return }
        let step = String(parts[0])
        lock.withLock {
            if step == "#1", !steps.isEmpty {
                builtEarlier = builtEarlier || !steps.isSubset(of: cached)
                steps = []
                cached = []
            }
            // A FROM step only resolves the base image (the 20.10 daemon's BuildKit reports a
            // local one `DONE`, never `CACHED`); it builds nothing, so it does not count.
            if parts[1].hasPrefix("["), !parts[1].hasPrefix("[internal]"), !parts[1].contains("] FROM ") { steps.insert(step) }
            if parts[1] == "CACHED" { cached.insert(step) }
        }
    }

    /// nil when no step was seen (docker's output went elsewhere, or the legacy builder ran).
    var state: CacheState? {
        lock.withLock {
            if builtEarlier { return .cold }
            guard !steps.isEmpty else { return nil }
            return steps.isSubset(of: cached) ? .hot : .cold
        }
    }
}
