import Crypto
import Foundation
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Everything that goes into one image build. When its digest equals the one stored with the
/// local image (or output folder), the builder would produce the same result, so the routine
/// can skip the builder call altogether.
///
/// The components have a fixed order, which is also the order `firstChange` reports in:
/// the format version, each context file, the Dockerfile, each build arg, the target, the
/// platform, the builder, each base image. Build args are a set keyed by name, as BuildKit
/// treats them: their order on the command line does not change the digest, and of two values
/// for one name the last wins, as with `docker build`.
public struct FingerprintInput: Sendable {
    /// Raised whenever the encoding changes, so that old records never match new digests.
    public static let formatVersion = 1

    public var contextEntries: [ContextDigest.Entry]
    public var dockerfile: Data
    public var buildArgs: [BuildArgument]
    public var target: String?
    public var platform: String?
    /// The builder's name, driver and endpoint count: another builder has another cache and
    /// may resolve the same tag differently.
    public var builder: BuilderChoice
    /// Each image the build reads (`DockerfileBases.images`) and what identifies it, as
    /// `DockerfileBases.fingerprintSafety` returns them.
    public var bases: [String: String]

    public init(contextEntries: [ContextDigest.Entry], dockerfile: Data, buildArgs: [BuildArgument], target: String?,
                platform: String?, builder: BuilderChoice, bases: [String: String]) {
        self.contextEntries = contextEntries
        self.dockerfile = dockerfile
        self.buildArgs = buildArgs
        self.target = target
        self.platform = platform
        self.builder = builder
        self.bases = bases
    }

    /// The components' digests, for `.stack/fingerprints/<key>.json`. Values are stored as
    /// digests only, so a build arg that carries a secret never lands on disk.
    public struct Record: Codable, Equatable, Sendable {
        public var version: Int
        /// The fingerprint itself: SHA-256 over every component below, in the fixed order.
        public var digest: String
        public var contextFiles: [String: String]
        public var dockerfile: String
        public var buildArgs: [String: String]
        public var target: String
        public var platform: String
        public var builder: String
        public var bases: [String: String]

        init(version: Int, contextFiles: [String: String], dockerfile: String, buildArgs: [String: String], target: String,
             platform: String, builder: String, bases: [String: String]) {
            self.version = version
            self.contextFiles = contextFiles
            self.dockerfile = dockerfile
            self.buildArgs = buildArgs
            self.target = target
            self.platform = platform
            self.builder = builder
            self.bases = bases
            digest = ""
            var hash = CanonicalHash()
            hash.add("stack fingerprint \(version)")
            for section in sections {
                for key in section.components.keys.sorted(by: Self.byteOrder) {
                    hash.add(section.label)
                    hash.add(key)
                    hash.add(section.components[key]!)
                }
            }
            digest = hash.finalize()
        }

        /// The fixed order. Sections of one component use the key "".
        var sections: [(label: String, components: [String: String])] {
            [
                ("context file", contextFiles),
                ("Dockerfile", ["": dockerfile]),
                ("build arg", buildArgs),
                ("target", ["": target]),
                ("platform", ["": platform]),
                ("builder", ["": builder]),
                ("base", bases),
            ]
        }

        /// UTF-8 byte order: the same on every machine, unlike `String`'s Unicode ordering.
        static func byteOrder(_ left: String, _ right: String) -> Bool {
            left.utf8.lexicographicallyPrecedes(right.utf8)
        }
    }

    public func record() -> Record {
        func optional(_ value: String?) -> String {
            var hash = CanonicalHash()
            hash.add(value == nil ? "unset" : "set")
            hash.add(value ?? "")
            return hash.finalize()
        }
        var builderHash = CanonicalHash()
        for part in [builder.builderName, builder.driver, builder.endpoint ?? ""] { builderHash.add(part) }
        return Record(
            version: Self.formatVersion,
            contextFiles: Dictionary(contextEntries.map { ($0.path, $0.digest) }, uniquingKeysWith: { _, last in last }),
            dockerfile: CanonicalHash.hex(SHA256.hash(data: dockerfile)),
            buildArgs: Dictionary(buildArgs.map { ($0.name, CanonicalHash.of($0.value)) }, uniquingKeysWith: { _, last in last }),
            target: optional(target),
            platform: optional(platform),
            builder: builderHash.finalize(),
            bases: bases.mapValues(CanonicalHash.of)
        )
    }

    /// Hex SHA-256 over the canonical encoding of every component.
    public func digest() -> String {
        record().digest
    }

    /// Why a build is needed, in one sentence about the first component (in the fixed order)
    /// that differs, e.g. "context file src/main.go changed"; nil when nothing differs.
    public static func firstChange(from old: Record, to new: Record) -> String? {
        guard old.version == new.version else { return "the fingerprint format changed" }
        for (before, after) in zip(old.sections, new.sections) {
            let keys = Set(before.components.keys).union(after.components.keys).sorted(by: Record.byteOrder)
            for key in keys where before.components[key] != after.components[key] {
                let name = key.isEmpty ? before.label : "\(before.label) \(key)"
                if before.components[key] == nil { return "\(name) added" }
                if after.components[key] == nil { return "\(name) removed" }
                return "\(name) changed"
            }
        }
        return nil
    }
}

/// Whether a Dockerfile's inputs can be known exactly before building it.
public enum FingerprintSafety: Equatable, Sendable {
    /// Each image the build reads, with what identifies it: for `FingerprintInput.bases`.
    case safe(bases: [String: String])
    /// One sentence saying which input could change without the fingerprint seeing it.
    case unsafe(String)
}

extension DockerfileBases {
    /// Identity recorded for an unpinned tag the caller chose to trust: the fingerprint then
    /// ignores what the tag points at.
    static let trustedTag = "trusted unpinned tag"

    /// A fingerprint is safe when each image the build reads is pinned by digest or, when the
    /// builder takes images from the local daemon (the docker driver, or the daemon's own
    /// BuildKit), present there with the ID in `localImageIDs` (by reference). A remote builder
    /// resolves a tag itself, perhaps to an image newer than the one built last time, so a tag
    /// is only safe there when the caller opts into `trustUnpinnedTags`. `ADD` from the network
    /// without `--checksum` is never safe.
    public func fingerprintSafety(builderSeesLocalImages: Bool, localImageIDs: [String: String], trustUnpinnedTags: Bool) -> FingerprintSafety {
        var identities: [String: String] = [:]
        for image in images {
            switch image {
            case .pinned(let reference):
                identities[reference] = String(reference[reference.range(of: "@", options: .backwards)!.upperBound...])
            case .tag(let reference):
                if builderSeesLocalImages, let id = localImageIDs[reference] {
                    identities[reference] = id
                } else if trustUnpinnedTags {
                    identities[reference] = Self.trustedTag
                } else if builderSeesLocalImages {
                    return .unsafe("base \(reference) is not pinned by digest and is not in the local daemon, so the build would pull whatever it names now")
                } else {
                    return .unsafe("base \(reference) is not pinned by digest, and a remote builder may resolve it to a newer image")
                }
            case .scratch, .stage:
                continue
            }
        }
        if let download = downloads.first {
            return .unsafe("ADD \(download) fetches a file on every build without --checksum, so the fingerprint cannot see its content")
        }
        return .safe(bases: identities)
    }
}

/// Why a fingerprint could not be computed; the caller then builds as if there were none.
public struct FingerprintError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }

    /// For a failed system call: `errno` is read before `what` is built, which may clobber it.
    static func system(_ what: @autoclosure () -> String) -> FingerprintError {
        let code = errno
        return FingerprintError("\(what()): \(String(cString: strerror(code)))")
    }
}

/// SHA-256 over a sequence of strings, each preceded by its length, so that no two different
/// sequences encode alike ("ab" + "c" differs from "a" + "bc").
struct CanonicalHash {
    private var hasher = SHA256()

    mutating func add(_ field: String) {
        var length = UInt64(field.utf8.count).bigEndian
        withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
        var field = field
        field.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    func finalize() -> String {
        Self.hex(hasher.finalize())
    }

    static func of(_ field: String) -> String {
        var hash = CanonicalHash()
        hash.add(field)
        return hash.finalize()
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
