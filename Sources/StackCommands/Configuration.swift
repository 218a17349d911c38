import Foundation

/// The decoded `stack.yaml`. Relative paths stay relative here; `Workspace` resolves them.
public struct StackConfiguration: Equatable, Sendable, Decodable {
    public var builder: BuilderSettings
    public var buildArgs: [BuildArgument]
    public var timings: TimingsSettings
    public var zed: ZedSettings?

    public init(
        builder: BuilderSettings = BuilderSettings(),
        buildArgs: [BuildArgument] = [],
        timings: TimingsSettings = TimingsSettings(),
        zed: ZedSettings? = nil
    ) {
        self.builder = builder
        self.buildArgs = buildArgs
        self.timings = timings
        self.zed = zed
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case builder
        case buildArgs = "build_args"
        case timings
        case zed
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        builder = try container.decodeIfPresent(BuilderSettings.self, forKey: .builder) ?? BuilderSettings()
        let args = try container.decodeIfPresent([String: String].self, forKey: .buildArgs) ?? [:]
        // A mapping has no order; sorting keeps the docker argv stable from run to run.
        buildArgs = args.keys.sorted().map { BuildArgument(name: $0, value: args[$0]!) }
        timings = try container.decodeIfPresent(TimingsSettings.self, forKey: .timings) ?? TimingsSettings()
        zed = try container.decodeIfPresent(ZedSettings.self, forKey: .zed)
    }
}

/// Which buildx builder every build goes through, and what to do when it cannot be used.
public struct BuilderSettings: Equatable, Sendable, Decodable {
    public enum Fallback: String, CaseIterable, Equatable, Sendable {
        /// Stop with exit 69: building elsewhere would silently lose the shared cache.
        case fail
        /// Warn once, then build with the local daemon's BuildKit.
        case local
    }

    /// The shared builder; nil means buildx's current default builder.
    public var name: String?
    /// When false, a builder that was never created on this machine (a newcomer's laptop) is
    /// not an error: the build runs on the local BuildKit with a warning. An existing but
    /// unreachable builder is still governed by `fallback`.
    public var required: Bool
    public var fallback: Fallback

    public init(name: String? = nil, required: Bool = true, fallback: Fallback = .fail) {
        self.name = name
        self.required = required
        self.fallback = fallback
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, required, fallback
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? true
        fallback = try container.decodeIfPresent(String.self, forKey: .fallback).map { text in
            guard let value = Fallback(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: .fallback, in: container, debugDescription: "expected fail or local")
            }
            return value
        } ?? .fail
    }
}

public struct TimingsSettings: Equatable, Sendable, Decodable {
    public static let defaultPath = ".stack/timings.jsonl"

    public var path: String

    public init(path: String = TimingsSettings.defaultPath) {
        self.path = path
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        path = try container.decodeIfPresent(String.self, forKey: .path) ?? TimingsSettings.defaultPath
    }
}

/// How `build-zed` builds the Zed editor from source inside a container.
public struct ZedSettings: Equatable, Sendable, Decodable {
    /// The Zed checkout; it is the build context.
    public var source: String
    /// A folder inside `source` that proves it is a Zed checkout (the bash script checked `crates/zed`).
    public var requiredCrate: String
    public var dockerfile: String
    /// Where the build's files land (`--output type=local,dest=…`).
    public var output: String
    /// The file inside `output` that a successful build must produce.
    public var binary: String
    /// The `.dockerignore` written into `source` for the build and removed afterwards.
    public var dockerignore: [String]

    public init(
        source: String,
        requiredCrate: String = "crates/zed",
        dockerfile: String,
        output: String,
        binary: String = "zed",
        dockerignore: [String] = []
    ) {
        self.source = source
        self.requiredCrate = requiredCrate
        self.dockerfile = dockerfile
        self.output = output
        self.binary = binary
        self.dockerignore = dockerignore
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source
        case requiredCrate = "required_crate"
        case dockerfile
        case output
        case binary
        case dockerignore
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        source = try container.decode(String.self, forKey: .source)
        requiredCrate = try container.decodeIfPresent(String.self, forKey: .requiredCrate) ?? "crates/zed"
        dockerfile = try container.decode(String.self, forKey: .dockerfile)
        output = try container.decode(String.self, forKey: .output)
        binary = try container.decodeIfPresent(String.self, forKey: .binary) ?? "zed"
        dockerignore = try container.decodeIfPresent([String].self, forKey: .dockerignore) ?? []
    }
}

public struct BuildArgument: Equatable, Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
