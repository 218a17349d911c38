import Foundation
import Yams

/// The folder a `stack.yaml` describes, with its decoded configuration.
public struct Workspace: Equatable, Sendable {
    public static let fileName = "stack.yaml"

    public var root: URL
    public var configuration: StackConfiguration

    public init(root: URL, configuration: StackConfiguration) {
        self.root = root
        self.configuration = configuration
    }

    public var configurationFile: URL { root.appendingPathComponent(Workspace.fileName) }

    /// Resolves a path from stack.yaml, which is relative to the workspace unless absolute.
    public func path(_ relative: String) -> URL {
        if relative.hasPrefix("/") { return URL(fileURLWithPath: relative).standardizedFileURL }
        return root.appendingPathComponent(relative).standardizedFileURL
    }

    /// A stack.yaml section a command cannot do without.
    public func section<T>(_ keyPath: KeyPath<StackConfiguration, T?>, _ key: String, for command: String) throws -> T {
        guard let value = configuration[keyPath: keyPath] else {
            throw StackError.configuration(file: configurationFile.path, keyPath: key, line: nil,
                                           problem: "there is no `\(key)` section, which \(command) needs")
        }
        return value
    }

    /// The compose project as stack.yaml describes it, with `extraProfiles` switched on too.
    public func compose(runner: any DockerRunning, extraProfiles: [String] = [], for command: String) throws -> Compose {
        let settings = try section(\.compose, "compose", for: command)
        return Compose(
            flavor: try Compose.detectFlavor(runner: runner),
            files: settings.files.map { path($0).path },
            project: settings.project,
            profiles: settings.profiles + extraProfiles.filter { !settings.profiles.contains($0) }
        )
    }

    /// `--workspace DIR` when given, else the nearest folder upwards from `directory` that holds a stack.yaml.
    public static func locate(explicit: String?, from directory: URL) throws -> Workspace {
        if let explicit {
            let root = URL(fileURLWithPath: explicit, relativeTo: directory).standardizedFileURL
            let file = root.appendingPathComponent(fileName)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw StackError.configurationMissing(searchedFrom: root.path)
            }
            return try load(root: root)
        }
        var candidate = directory.standardizedFileURL
        while true {
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(fileName).path) {
                return try load(root: candidate)
            }
            let parent = candidate.deletingLastPathComponent()
            if parent.path == candidate.path { throw StackError.configurationMissing(searchedFrom: directory.path) }
            candidate = parent
        }
    }

    static func load(root: URL) throws -> Workspace {
        let file = root.appendingPathComponent(fileName)
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw StackError.configuration(file: file.path, keyPath: "", line: nil, problem: "cannot be read as UTF-8 text")
        }
        return Workspace(root: root, configuration: try ConfigurationDecoder.decode(text, file: file.path))
    }
}

/// Decodes stack.yaml text and turns every decoding failure into one sentence that names
/// the file, the key path and the line.
public enum ConfigurationDecoder {
    public static func decode(_ text: String, file: String) throws -> StackConfiguration {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else { return StackConfiguration() }
            node = composed
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        }
        do {
            return try YAMLDecoder().decode(StackConfiguration.self, from: node)
        } catch let error as UnknownKeyError {
            let path = error.codingPath.map(\.stringValue) + [error.key]
            throw StackError.configuration(
                file: file,
                keyPath: dotted(path),
                line: line(of: path, in: node),
                problem: "unknown key `\(error.key)` (known here: \(error.known.joined(separator: ", ")))"
            )
        } catch let error as DecodingError {
            throw decodingError(error, file: file, root: node)
        }
    }

    private static func decodingError(_ error: DecodingError, file: String, root: Node) -> StackError {
        switch error {
        case let .keyNotFound(key, context):
            let parent = context.codingPath.map(\.stringValue)
            return .configuration(
                file: file,
                keyPath: dotted(parent + [key.stringValue]),
                line: line(of: parent, in: root),
                problem: "missing required key `\(key.stringValue)`"
            )
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            return valueError(context, problem: "expected \(describe(type))", file: file, root: root)
        case let .dataCorrupted(context):
            return valueError(context, problem: context.debugDescription, file: file, root: root)
        @unknown default:
            return .configuration(file: file, keyPath: "", line: nil, problem: "\(error)")
        }
    }

    /// A value that is there but wrong: says what was expected and what was found.
    private static func valueError(_ context: DecodingError.Context, problem: String, file: String, root: Node) -> StackError {
        let path = context.codingPath.map(\.stringValue)
        return .configuration(
            file: file,
            keyPath: dotted(path),
            line: line(of: path, in: root),
            problem: "\(problem), found \(describe(node(at: path, in: root)))"
        )
    }

    private static func syntaxError(_ error: YamlError, file: String) -> StackError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return .configuration(file: file, keyPath: "", line: mark.line, problem: "is not valid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return .configuration(file: file, keyPath: "", line: context.mark.line, problem: "repeats the key(s) \(duplicates.joined(separator: ", "))")
        default:
            return .configuration(file: file, keyPath: "", line: nil, problem: "is not valid YAML: \(error)")
        }
    }

    private static func dotted(_ path: [String]) -> String {
        path.joined(separator: ".")
    }

    /// The line of the deepest key along `path` that exists in the document.
    static func line(of path: [String], in root: Node) -> Int? {
        walk(path, in: root).line
    }

    private static func node(at path: [String], in root: Node) -> Node? {
        let (node, depth, _) = walk(path, in: root)
        return depth == path.count ? node : nil
    }

    /// Follows `path` as far as the document goes: the node reached, how many components
    /// were followed, and the line of the last key (or item) on the way.
    private static func walk(_ path: [String], in root: Node) -> (node: Node, depth: Int, line: Int?) {
        var current = root
        var line = root.mark?.line
        for (depth, component) in path.enumerated() {
            if let mapping = current.mapping, let pair = mapping.first(where: { $0.key.string == component }) {
                line = pair.key.mark?.line ?? line
                current = pair.value
            } else if let sequence = current.sequence, let index = Int(component), sequence.indices.contains(index) {
                current = sequence[index]
                line = current.mark?.line ?? line
            } else {
                return (current, depth, line)
            }
        }
        return (current, path.count, line)
    }

    private static func describe(_ node: Node?) -> String {
        switch node {
        case .scalar(let scalar)?:
            return scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~" ? "nothing" : "`\(scalar.string)`"
        case .mapping?: return "a mapping"
        case .sequence?: return "a list"
        case .alias?: return "an alias"
        case nil: return "nothing"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is Int.Type: return "a whole number"
        case is [String].Type: return "a list of strings"
        case is [String: String].Type: return "a mapping of names to strings"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Dictionary") || name.hasPrefix("KeyedDecodingContainer") ? "a mapping" : name
        }
    }
}
