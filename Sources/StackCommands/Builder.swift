import Foundation

/// What `docker buildx inspect` says about a builder.
public struct BuilderInfo: Equatable, Sendable {
    public struct Node: Equatable, Sendable {
        public var name: String
        public var endpoint: String?
        public var status: String?
        public var buildkitVersion: String?
    }

    public var name: String
    public var driver: String
    public var nodes: [Node]

    /// Only the status text says whether a builder is up: `inspect` exits 0 for a dead one.
    public var isRunning: Bool { nodes.contains { $0.status == "running" } }
    public var endpoint: String? { nodes.first?.endpoint }
    public var status: String? { nodes.first?.status }

    /// Parses the human layout of buildx v0.10 to v0.24. The builder's own fields come before
    /// `Nodes:`; each node starts with its own `Name:`. Lines that are not `Key: value`
    /// (labels, GC policy, stray stderr such as http2 warnings) are passed over.
    public static func parse(inspectOutput text: String) -> BuilderInfo? {
        var name: String?
        var driver: String?
        var nodes: [Node] = []
        var inNodes = false
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.hasPrefix(" ") || line.hasPrefix("\t") { continue }
            if line.trimmingCharacters(in: .whitespaces) == "Nodes:" {
                inNodes = true
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !inNodes {
                switch key {
                case "Name": name = value
                case "Driver": driver = value
                default: break
                }
                continue
            }
            switch key {
            case "Name": nodes.append(Node(name: value))
            case "Endpoint": nodes.indices.last.map { nodes[$0].endpoint = value }
            case "Status": nodes.indices.last.map { nodes[$0].status = value }
            case "Buildkit", "BuildKit version", "BuildKit": nodes.indices.last.map { nodes[$0].buildkitVersion = value }
            default: break
            }
        }
        guard let name, let driver else { return nil }
        return BuilderInfo(name: name, driver: driver, nodes: nodes)
    }
}

extension BuilderInfo.Node {
    init(name: String) {
        self.init(name: name, endpoint: nil, status: nil, buildkitVersion: nil)
    }
}

/// Where the builds of one run go, decided once per run.
public struct BuilderChoice: Equatable, Sendable {
    public enum Backend: Equatable, Sendable {
        /// `docker buildx build --builder NAME`.
        case buildx(name: String, driver: String)
        /// `DOCKER_BUILDKIT=1 docker build`: a pre-23 CLI without buildx using the daemon's BuildKit.
        case embeddedBuildKit
    }

    public var backend: Backend
    public var endpoint: String?
    /// Set when this is not the shared builder: said once, at the start of the first build.
    public var warning: String?

    public init(backend: Backend, endpoint: String? = nil, warning: String? = nil) {
        self.backend = backend
        self.endpoint = endpoint
        self.warning = warning
    }

    public var builderName: String {
        switch backend {
        case .buildx(let name, _): return name
        case .embeddedBuildKit: return "local"
        }
    }

    public var driver: String {
        switch backend {
        case .buildx(_, let driver): return driver
        case .embeddedBuildKit: return "embedded-buildkit"
        }
    }

    /// Drivers other than `docker` keep results in the builder until they are loaded.
    public var needsLoad: Bool {
        if case .buildx(_, let driver) = backend { return driver != "docker" }
        return false
    }

    public var summary: String {
        switch backend {
        case let .buildx(name, driver):
            let at = endpoint.map { ", \($0)" } ?? ""
            return "builder \(name) (\(driver) driver\(at))"
        case .embeddedBuildKit:
            return "local daemon's BuildKit (DOCKER_BUILDKIT=1 docker build, no buildx)"
        }
    }
}
