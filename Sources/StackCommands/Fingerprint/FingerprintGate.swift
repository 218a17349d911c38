import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The routine's first question for a request: is its result already where it is needed,
/// built from exactly these inputs? Then no builder is called at all (`fingerprint-hit`).
/// Images carry the fingerprint as a label; local outputs have it in a record under
/// `.stack/fingerprints/` with a listing of the output folder, which must still match.
struct FingerprintGate: Sendable {
    static let label = "io.helix.stack.fingerprint"

    var stateDirectory: URL
    /// The workspace's `.stack` folder, left out of any context that contains it (it changes
    /// on every run, and no build reads it).
    var workspaceState: URL
    var trustUnpinnedTags: Bool
    var runner: any DockerRunning
    /// The local daemon's ID for a base image, asked once per run however many images use it.
    var baseImageID: @Sendable (String) throws -> String?

    enum Verdict {
        case hit(digest: String)
        /// Build, then `remember`. `reason` names the first input that changed since the last
        /// recorded build, when one was recorded.
        case miss(Pending, reason: String)
        /// Build as if there were no fingerprints, for the reason given.
        case notUsed(String)
    }

    struct Pending {
        var key: String
        var record: FingerprintInput.Record
        var output: URL?
    }

    /// What is stored per image or output.
    struct Stored: Codable {
        var key: String
        var record: FingerprintInput.Record
        var outputListing: [String: String]?
    }

    func check(_ request: BuildRequest, builder: BuilderChoice) -> Verdict {
        do {
            return try evaluate(request, builder: builder)
        } catch {
            return .notUsed("\(error)")
        }
    }

    private func evaluate(_ request: BuildRequest, builder: BuilderChoice) throws -> Verdict {
        let flags = request.extraArguments
        if flags.contains("--no-cache") { return .notUsed("--no-cache asks for a rebuild") }
        if let hidden = flags.first(where: { ["--secret", "--ssh", "--build-context", "--platform"].contains($0.split(separator: "=").first.map(String.init) ?? $0) }) {
            return .notUsed("\(hidden) is an input the fingerprint cannot see")
        }
        let context = URL(fileURLWithPath: request.context)
        let dockerfile = request.dockerfile.map { URL(fileURLWithPath: $0) } ?? context.appendingPathComponent("Dockerfile")
        let dockerfileData = try Data(contentsOf: dockerfile)
        let arguments = Dictionary(request.buildArgs.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        let bases = try DockerfileBases(parsing: String(decoding: dockerfileData, as: UTF8.self), buildArgs: arguments)

        let seesLocalImages = !builder.needsLoad
        var localIDs: [String: String] = [:]
        if seesLocalImages {
            for case .tag(let reference) in bases.images {
                localIDs[reference] = try baseImageID(reference)
            }
        }
        let identities: [String: String]
        switch bases.fingerprintSafety(builderSeesLocalImages: seesLocalImages, localImageIDs: localIDs, trustUnpinnedTags: trustUnpinnedTags) {
        case .safe(let bases): identities = bases
        case .unsafe(let reason): return .notUsed(reason)
        }

        let digest = try ContextDigest(context: context, ignore: try Dockerignore.load(context: context, dockerfile: dockerfile),
                                       cacheFile: stateDirectory.appendingPathComponent("files.json"))
        let entries = Self.entriesRead(digest.entries, sources: bases.contextSources, excluding: Self.relative(workspaceState, to: context))
        let input = FingerprintInput(contextEntries: entries, dockerfile: dockerfileData, buildArgs: request.buildArgs, target: request.target,
                                     platform: nil, builder: builder, bases: identities)
        let record = input.record()
        let output: URL? = { if case .directory(let path) = request.result { return URL(fileURLWithPath: path) } else { return nil } }()
        let key = output.map { "output \($0.path)" } ?? "image \(request.tags.joined(separator: " "))"
        let stored = storedRecord(key)

        let pending = Pending(key: key, record: record, output: output)
        if try isInPlace(record.digest, request: request, output: output, stored: stored) {
            // The image may come from another workspace's build: keep this one's record, so
            // that a later change here can be named.
            if stored?.record != record { remember(pending) }
            return .hit(digest: record.digest)
        }
        let reason = stored.flatMap { FingerprintInput.firstChange(from: $0.record, to: record) }
            ?? (stored == nil ? "no earlier build of it was recorded" : "its result is no longer where the last build put it")
        return .miss(pending, reason: reason)
    }

    /// After a successful build: the record that later runs compare with.
    func remember(_ pending: Pending) {
        let stored = Stored(key: pending.key, record: pending.record, outputListing: pending.output.map(Self.listing))
        let file = recordFile(pending.key)
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(stored).write(to: file, options: .atomic)
        } catch {
            // Without the record the next run builds again; nothing is lost but time.
        }
    }

    private func isInPlace(_ digest: String, request: BuildRequest, output: URL?, stored: Stored?) throws -> Bool {
        if let output {
            guard let stored, stored.record.digest == digest, let listing = stored.outputListing else { return false }
            return listing == Self.listing(output) && !listing.isEmpty
        }
        guard !request.tags.isEmpty else { return false }
        let labels = try runner.capture(DockerInvocation(["image", "inspect", "--format", "{{index .Config.Labels \"\(Self.label)\"}}"] + request.tags), timeout: 60)
        guard labels.status.succeeded else { return false }
        let found = labels.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return found.count == request.tags.count && found.allSatisfy { $0 == digest }
    }

    private func storedRecord(_ key: String) -> Stored? {
        guard let data = FileManager.default.contents(atPath: recordFile(key).path) else { return nil }
        return try? JSONDecoder().decode(Stored.self, from: data)
    }

    private func recordFile(_ key: String) -> URL {
        let name = SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined().prefix(32)
        return stateDirectory.appendingPathComponent("records/\(name).json")
    }

    /// The context entries the Dockerfile reads: all of them, or (when its COPY/ADD sources and
    /// bind mounts are known) those at or below a source, so that a file only another image
    /// copies does not change this one's fingerprint.
    static func entriesRead(_ entries: [ContextDigest.Entry], sources: [String]?, excluding state: String?) -> [ContextDigest.Entry] {
        let kept = state.map { state in entries.filter { $0.path != state && !$0.path.hasPrefix(state + "/") } } ?? entries
        guard let sources else { return kept }
        let patterns = sources.map(normalize)
        return kept.filter { entry in patterns.contains { covers($0, entry.path) } }
    }

    private static func normalize(_ source: String) -> String {
        var path = source
        while path.hasPrefix("./") { path.removeFirst(2) }
        while path.hasPrefix("/") { path.removeFirst() }
        while path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Whether `pattern` (a COPY source: a path or a glob) names `path` or a folder above it.
    private static func covers(_ pattern: String, _ path: String) -> Bool {
        let components = path.split(separator: "/").map(String.init)
        for count in 1...max(1, components.count) {
            let prefix = components.prefix(count).joined(separator: "/")
            if prefix == pattern || fnmatch(pattern, prefix, FNM_PATHNAME) == 0 { return true }
        }
        return false
    }

    private static func relative(_ url: URL, to base: URL) -> String? {
        let path = url.standardizedFileURL.path
        let root = base.standardizedFileURL.path
        guard path.hasPrefix(root + "/") else { return nil }
        return String(path.dropFirst(root.count + 1))
    }

    /// Name → size and modification time of every file below `folder`: enough to notice that
    /// an output was removed, replaced or edited since it was built.
    static func listing(_ folder: URL) -> [String: String] {
        var listing: [String: String] = [:]
        let root = folder.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [:] }
        while let relative = walker.nextObject() as? String {
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0 else { continue }
            listing[relative] = "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return listing
    }
}
