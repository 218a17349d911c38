import Foundation

/// The decoded `stack.yaml`. Relative paths stay relative here; `Workspace` resolves them.
public struct StackConfiguration: Equatable, Sendable, Decodable {
    public var builder: BuilderSettings
    public var buildArgs: [BuildArgument]
    public var timings: TimingsSettings
    /// How many phases may run at once when `--jobs` is not given.
    public var jobs: Int
    public var zed: ZedSettings?
    public var compose: ComposeSettings?
    public var desktops: DesktopSettings?
    public var sandbox: SandboxSettings?
    public var load: LoadSettings
    public var cache: CacheSettings?
    public var fingerprint: FingerprintSettings

    public init(
        builder: BuilderSettings = BuilderSettings(),
        buildArgs: [BuildArgument] = [],
        timings: TimingsSettings = TimingsSettings(),
        jobs: Int = 1,
        zed: ZedSettings? = nil,
        compose: ComposeSettings? = nil,
        desktops: DesktopSettings? = nil,
        sandbox: SandboxSettings? = nil,
        load: LoadSettings = LoadSettings(),
        cache: CacheSettings? = nil,
        fingerprint: FingerprintSettings = FingerprintSettings()
    ) {
        self.builder = builder
        self.buildArgs = buildArgs
        self.timings = timings
        self.jobs = jobs
        self.zed = zed
        self.compose = compose
        self.desktops = desktops
        self.sandbox = sandbox
        self.load = load
        self.cache = cache
        self.fingerprint = fingerprint
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case builder
        case buildArgs = "build_args"
        case timings
        case jobs
        case zed
        case compose
        case desktops
        case sandbox
        case load
        case cache
        case fingerprint
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        builder = try container.decodeIfPresent(BuilderSettings.self, forKey: .builder) ?? BuilderSettings()
        let args = try container.decodeIfPresent([String: String].self, forKey: .buildArgs) ?? [:]
        // A mapping has no order; sorting keeps the docker argv stable from run to run.
        buildArgs = args.keys.sorted().map { BuildArgument(name: $0, value: args[$0]!) }
        timings = try container.decodeIfPresent(TimingsSettings.self, forKey: .timings) ?? TimingsSettings()
        jobs = try container.decodeIfPresent(Int.self, forKey: .jobs) ?? 1
        guard jobs >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .jobs, in: container, debugDescription: "expected a whole number of at least 1")
        }
        zed = try container.decodeIfPresent(ZedSettings.self, forKey: .zed)
        compose = try container.decodeIfPresent(ComposeSettings.self, forKey: .compose)
        desktops = try container.decodeIfPresent(DesktopSettings.self, forKey: .desktops)
        sandbox = try container.decodeIfPresent(SandboxSettings.self, forKey: .sandbox)
        load = try container.decodeIfPresent(LoadSettings.self, forKey: .load) ?? LoadSettings()
        cache = try container.decodeIfPresent(CacheSettings.self, forKey: .cache)
        fingerprint = try container.decodeIfPresent(FingerprintSettings.self, forKey: .fingerprint) ?? FingerprintSettings()
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
    /// The shared buildkitd (`tcp://host:port`) that `stack setup-builder` points the builder
    /// at; `BUILDKIT_HOST` overrides it.
    public var endpoint: String?

    public init(name: String? = nil, required: Bool = true, fallback: Fallback = .fail, endpoint: String? = nil) {
        self.name = name
        self.required = required
        self.fallback = fallback
        self.endpoint = endpoint
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, required, fallback, endpoint
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
        endpoint = try container.decodeIfPresent(String.self, forKey: .endpoint)
    }
}

public struct TimingsSettings: Equatable, Sendable, Decodable {
    public static let defaultPath = ".stack/timings.jsonl"

    public static let defaultKeep = 5000

    public var path: String
    /// The newest lines kept; older ones are dropped when a run appends past this.
    public var keep: Int

    public init(path: String = TimingsSettings.defaultPath, keep: Int = TimingsSettings.defaultKeep) {
        self.path = path
        self.keep = keep
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path, keep
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        path = try container.decodeIfPresent(String.self, forKey: .path) ?? TimingsSettings.defaultPath
        keep = try container.decodeIfPresent(Int.self, forKey: .keep) ?? TimingsSettings.defaultKeep
        guard keep >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .keep, in: container, debugDescription: "expected a whole number of at least 1")
        }
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

/// The compose project whose buildable services `stack build` builds.
public struct ComposeSettings: Equatable, Sendable, Decodable {
    public var files: [String]
    /// nil: what compose itself calls the project (v2 prints it; v1 uses the first file's folder name).
    public var project: String?
    /// Profiles that are always on; `--with-runner`/`WITH_RUNNER=1` and `--with-demos`/`WITH_DEMOS=1` add `runner` and `demos`.
    public var profiles: [String]

    public init(files: [String], project: String? = nil, profiles: [String] = []) {
        self.files = files
        self.project = project
        self.profiles = profiles
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case files, project, profiles
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        files = try container.decode([String].self, forKey: .files)
        project = try container.decodeIfPresent(String.self, forKey: .project)
        profiles = try container.decodeIfPresent([String].self, forKey: .profiles) ?? []
    }
}

/// The desktop images `build-sandbox` builds and moves into the sandbox.
public struct DesktopSettings: Equatable, Sendable, Decodable {
    /// Built on every run; `EXPERIMENTAL_DESKTOPS="a b"` adds more.
    public var production: [String]
    /// The folder holding `Dockerfile.<name>-helix`.
    public var dockerfiles: String
    public var context: String
    /// The image name, with `{name}` standing for the desktop's name.
    public var image: String

    public init(production: [String], dockerfiles: String, context: String, image: String = "helix-{name}:latest") {
        self.production = production
        self.dockerfiles = dockerfiles
        self.context = context
        self.image = image
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case production, dockerfiles, context, image
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        production = try container.decode([String].self, forKey: .production)
        dockerfiles = try container.decodeIfPresent(String.self, forKey: .dockerfiles) ?? "."
        context = try container.decodeIfPresent(String.self, forKey: .context) ?? "."
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? "helix-{name}:latest"
    }

    public func imageName(_ desktop: String) -> String {
        image.replacingOccurrences(of: "{name}", with: desktop)
    }
}

/// The Docker-in-Docker sandbox: its image, its compose service, how to reach the Docker
/// daemon inside it, and the registry that carries desktop images into it.
public struct SandboxSettings: Equatable, Sendable, Decodable {
    public var dockerfile: String
    public var context: String
    public var image: String
    /// The compose service `sandbox:restart` recreates.
    public var service: String
    /// Where `helix-<name>.version` files go.
    public var versions: String
    /// Docker CLI arguments that reach the daemon inside the sandbox: in Helix
    /// `[exec, helix-sandbox, docker]`, in tests `[--host, unix:///…]`. `${VAR}` and
    /// `${VAR:-default}` are taken from the environment.
    public var nestedDocker: [String]
    /// How long `sandbox:restart` waits for the nested daemon to answer.
    public var waitSeconds: Double
    /// The registry the host pushes desktop images to (`host:port`).
    public var registry: String
    /// The same registry as the nested daemon reaches it; defaults to `registry`.
    public var registryFromSandbox: String?

    public init(
        dockerfile: String, context: String, image: String = "helix-sandbox:latest", service: String = "sandbox",
        versions: String = "sandbox-images", nestedDocker: [String], waitSeconds: Double = 60,
        registry: String, registryFromSandbox: String? = nil
    ) {
        self.dockerfile = dockerfile
        self.context = context
        self.image = image
        self.service = service
        self.versions = versions
        self.nestedDocker = nestedDocker
        self.waitSeconds = waitSeconds
        self.registry = registry
        self.registryFromSandbox = registryFromSandbox
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dockerfile, context, image, service, versions
        case nestedDocker = "nested_docker"
        case waitSeconds = "wait_seconds"
        case registry
        case registryFromSandbox = "registry_from_sandbox"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        dockerfile = try container.decode(String.self, forKey: .dockerfile)
        context = try container.decodeIfPresent(String.self, forKey: .context) ?? "."
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? "helix-sandbox:latest"
        service = try container.decodeIfPresent(String.self, forKey: .service) ?? "sandbox"
        versions = try container.decodeIfPresent(String.self, forKey: .versions) ?? "sandbox-images"
        nestedDocker = try container.decode([String].self, forKey: .nestedDocker)
        waitSeconds = try container.decodeIfPresent(Double.self, forKey: .waitSeconds) ?? 60
        registry = try container.decode(String.self, forKey: .registry)
        registryFromSandbox = try container.decodeIfPresent(String.self, forKey: .registryFromSandbox)
    }
}

/// How images from a non-`docker` builder reach the local daemon.
public struct LoadSettings: Equatable, Sendable, Decodable {
    public var strategy: LoadStrategy
    /// The registry (`host:port`) the `registry` strategy, and `smart` when an image changed,
    /// move images through; without one they use `--load`.
    public var registry: String?

    public init(strategy: LoadStrategy = .smart, registry: String? = nil) {
        self.strategy = strategy
        self.registry = registry
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case strategy, registry
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        strategy = try container.decodeIfPresent(String.self, forKey: .strategy).map { text in
            guard let value = LoadStrategy(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: .strategy, in: container, debugDescription: "expected smart, registry or tarball")
            }
            return value
        } ?? .smart
        registry = try container.decodeIfPresent(String.self, forKey: .registry)
    }
}

/// A registry that holds BuildKit's cache, for machines without the shared builder.
public struct CacheSettings: Equatable, Sendable, Decodable {
    public var registry: String

    public init(registry: String) {
        self.registry = registry
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case registry
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        registry = try container.decode(String.self, forKey: .registry)
    }
}

/// Skipping the builder when nothing that goes into an image changed.
public struct FingerprintSettings: Equatable, Sendable, Decodable {
    public var enabled: Bool
    /// Take an unpinned base tag (`busybox:1.36`) as unchanging on builders that cannot see the
    /// local daemon's images. Off by default: such a tag may move on the registry.
    public var trustUnpinnedTags: Bool

    public init(enabled: Bool = true, trustUnpinnedTags: Bool = false) {
        self.enabled = enabled
        self.trustUnpinnedTags = trustUnpinnedTags
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled
        case trustUnpinnedTags = "trust_unpinned_tags"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        trustUnpinnedTags = try container.decodeIfPresent(Bool.self, forKey: .trustUnpinnedTags) ?? false
    }
}
