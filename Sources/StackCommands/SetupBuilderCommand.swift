import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct SetupBuilderCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "setup-builder",
        abstract: "Create the shared buildx builder, make it buildx's default and give every shell BUILDX_BUILDER.",
        discussion: """
        What Helix's dockerd start script did, safe to run again: creates builder.name from \
        stack.yaml with `docker buildx create --driver remote` at BUILDKIT_HOST (else \
        builder.endpoint) when buildx does not know it, runs `docker buildx use --default` unless \
        it is the default already, and sets BUILDX_BUILDER=NAME in /etc/environment, \
        /etc/profile.d/stack-buildx.sh and ~/.bashrc (replacing a different value). \
        --install-wrapper links DIR/docker to this stack; a docker CLI already there is never \
        replaced. A second run changes nothing.
        """
    )

    @Option(name: [.customShort("C"), .long], help: "The folder whose stack.yaml names the builder (default: the nearest one upwards).")
    public var workspace: String?

    @Flag(help: "Print every change (docker commands, per file the lines added, replaced or removed, the link) and change nothing.")
    public var dryRun = false

    @Option(name: .long, defaultAsFlag: SetupBuilderCommand.defaultWrapperDirectory, parsing: .next,
            help: ArgumentHelp("Also link DIR/docker to this stack, so that a plain `docker build` goes through it.", valueName: "dir"))
    public var installWrapper: String? = nil

    /// Tests run against a temporary tree: every system path, and $HOME, are taken below it.
    @Option(help: .hidden)
    public var root: String?

    static let defaultWrapperDirectory = "/usr/local/bin"

    public init() {}

    public func run() throws {
        let world = RunEnvironment.live()
        try BuilderSetup(
            world: world,
            workspace: workspace,
            paths: SystemPaths(root: root, currentDirectory: world.currentDirectory),
            wrapperDirectory: installWrapper,
            executable: SystemDockerRunner.currentExecutable,
            dryRun: dryRun
        ).run()
    }
}

/// One run of `setup-builder`: every check first, then the list of changes, then (unless a dry
/// run) the changes themselves, so a refusal or a bad stack.yaml leaves everything as it was.
struct BuilderSetup {
    var world: RunEnvironment
    var workspace: String?
    var paths: SystemPaths
    var wrapperDirectory: String?
    /// Where the wrapper link points; nil when the running executable cannot be found.
    var executable: String?
    var dryRun: Bool

    enum Change {
        case docker(DockerInvocation)
        case file(FileEdit)
        case link(WrapperLink)
    }

    /// What a run would change, and what it found already done (said when nothing changes).
    struct Plan {
        var changes: [Change] = []
        var done: [String] = []
    }

    func run() throws {
        let workspace = try Workspace.locate(explicit: self.workspace, from: world.currentDirectory)
        let name = try Self.builderName(in: workspace)
        // buildx answers a bare `inspect` with BUILDX_BUILDER when it is set, and this shell may
        // already carry an old value; without it, buildx reports the default it has stored.
        var environment = world.environment
        environment["BUILDX_BUILDER"] = nil
        let runner = try world.makeRunner(environment)
        let console = world.console

        var plan = Plan()
        try planBuilder(name, workspace: workspace, runner: runner, into: &plan)
        try planFiles(name, into: &plan)
        try planWrapper(into: &plan)

        guard !plan.changes.isEmpty else {
            console.output("nothing to change: " + plan.done.joined(separator: "; ") + ".")
            return
        }
        for change in plan.changes {
            console.output(describe(change, runner: runner))
        }
        if dryRun {
            console.output("dry run: nothing was changed.")
            return
        }
        for change in plan.changes {
            try apply(change, runner: runner)
        }
        console.info("setup-builder: done. Shells started from now on get BUILDX_BUILDER=\(name); in this shell, run `export BUILDX_BUILDER=\(name)`. `stack doctor` checks that the builder answers.")
    }

    /// Creates the builder only when buildx does not know it: an existing one (perhaps set up
    /// by hand, perhaps at another endpoint) is left alone, with a warning when it differs.
    private func planBuilder(_ name: String, workspace: Workspace, runner: any DockerRunning, into plan: inout Plan) throws {
        try Self.requireBuildx(runner: runner, builder: name)
        let use = Change.docker(DockerInvocation(["buildx", "use", "--default", name]))
        switch try BuilderLookup.inspect(name, runner: runner) {
        case .missing:
            let endpoint = try Self.endpoint(for: name, in: workspace, environment: world.environment)
            plan.changes += [.docker(DockerInvocation(["buildx", "create", "--name", name, "--driver", "remote", endpoint])), use]
        case .found(let info):
            world.console.info("builder \"\(name)\" exists (\(info.driver) driver\(info.endpoint.map { " at \($0)" } ?? ""), status \(info.status ?? "unknown")); setup-builder leaves it as it is.")
            if let wanted = Self.configuredEndpoint(workspace: workspace, environment: world.environment),
               let endpoint = info.endpoint, endpoint != wanted.value {
                world.console.info("warning: builder \"\(name)\" points at \(endpoint), but \(wanted.source) says \(wanted.value); to move it, run `docker buildx rm \(name)` and then setup-builder again.")
            }
            if try Self.isBuildxDefault(name, runner: runner) {
                plan.done.append("builder \"\(name)\" exists and is buildx's default")
            } else {
                plan.changes.append(use)
            }
        case .failed(let said):
            throw StackError.stepFailed(phase: "setup-builder", message: "`\(runner.commandLine(BuilderLookup.invocation(name)))` \(said); fix what docker says and run setup-builder again.")
        }
    }

    private func planFiles(_ name: String, into plan: inout Plan) throws {
        for file in try BuilderVariableFile.all(paths: paths, environment: world.environment) {
            if let edit = try file.plannedEdit(builder: name) {
                plan.changes.append(.file(edit))
            } else {
                plan.done.append("\(file.path) sets BUILDX_BUILDER=\(name)")
            }
        }
    }

    private func planWrapper(into plan: inout Plan) throws {
        guard let wrapperDirectory else { return }
        guard let executable else {
            throw StackError.stepFailed(phase: "setup-builder", message: "cannot tell where this stack executable is, so the docker wrapper cannot be linked; link DIR/docker to the stack binary yourself.")
        }
        let link = WrapperLink(path: paths.path(wrapperDirectory) + "/docker", target: executable)
        if let planned = try link.planned() {
            plan.changes.append(.link(planned))
        } else {
            plan.done.append("\(link.path) links to \(executable)")
        }
    }

    private func describe(_ change: Change, runner: any DockerRunning) -> String {
        switch change {
        case .docker(let invocation):
            return "run: \(runner.commandLine(invocation))"
        case .file(let edit):
            let verb = edit.creates ? "create" : "edit"
            return edit.changes.map { "\(verb) \(edit.file.path): \($0)" }.joined(separator: "\n")
        case .link(let link):
            return "link \(link.path) -> \(link.target)" + (link.replacing.map { " (replacing the link to \($0))" } ?? "")
        }
    }

    private func apply(_ change: Change, runner: any DockerRunning) throws {
        switch change {
        case .docker(let invocation):
            try runner.checked(invocation, phase: "setup-builder", timeout: BuilderLookup.timeout)
        case .file(let edit):
            try edit.write()
        case .link(let link):
            try link.install()
        }
    }

    static func builderName(in workspace: Workspace) throws -> String {
        guard let name = workspace.configuration.builder.name else {
            throw StackError.configuration(file: workspace.configurationFile.path, keyPath: "builder.name", line: nil,
                                           problem: "there is no `builder.name`, which setup-builder needs to create and select the shared builder")
        }
        // The name goes unquoted into shell startup files and /etc/environment.
        guard let first = name.unicodeScalars.first, CharacterSet.letters.contains(first),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }) else {
            throw StackError.configuration(file: workspace.configurationFile.path, keyPath: "builder.name", line: nil,
                                           problem: "`\(name)` is not a builder name setup-builder can write into shell files (a letter, then letters, digits, `.`, `_` or `-`)")
        }
        return name
    }

    /// `BUILDKIT_HOST` wins over stack.yaml, as it does for buildctl.
    static func configuredEndpoint(workspace: Workspace, environment: [String: String]) -> (value: String, source: String)? {
        if let host = environment["BUILDKIT_HOST"], !host.isEmpty { return (host, "BUILDKIT_HOST") }
        return workspace.configuration.builder.endpoint.map { ($0, "stack.yaml's builder.endpoint") }
    }

    private static func endpoint(for name: String, in workspace: Workspace, environment: [String: String]) throws -> String {
        guard let endpoint = configuredEndpoint(workspace: workspace, environment: environment) else {
            throw StackError.configuration(file: workspace.configurationFile.path, keyPath: "builder.endpoint", line: nil,
                                           problem: "builder \"\(name)\" does not exist yet and neither `builder.endpoint` nor BUILDKIT_HOST says where its buildkitd is (tcp://HOST:PORT)")
        }
        return endpoint.value
    }

    private static func requireBuildx(runner: any DockerRunning, builder: String) throws {
        let version = try runner.capture(DockerInvocation(["buildx", "version"]), timeout: BuilderLookup.timeout)
        guard version.status.succeeded else {
            throw StackError.builderUnavailable(BuilderProblem(kind: .buildxMissing, builder: builder, endpoint: nil, dockerSaid: version.firstLineSaid))
        }
    }

    /// A bare `buildx inspect` shows buildx's current builder. If it cannot (say the default is
    /// the docker driver and the daemon is down), `use` is simply run again.
    private static func isBuildxDefault(_ name: String, runner: any DockerRunning) throws -> Bool {
        let current = try runner.capture(DockerInvocation(["buildx", "inspect"]), timeout: BuilderLookup.timeout)
        guard current.status.succeeded else { return false }
        return BuilderInfo.parse(inspectOutput: current.stdout + "\n" + current.stderr)?.name == name
    }
}

/// What `docker buildx inspect NAME` says about one builder; setup-builder and doctor both ask.
enum BuilderLookup {
    case found(BuilderInfo)
    /// `ERROR: no builder "NAME" found` (exit 1, recorded in fixture 50).
    case missing(said: String)
    /// Any other failure, or an answer that is not an inspect listing.
    case failed(said: String)

    /// `inspect` answers in well under a second, also for a dead remote builder (fixture 41).
    static let timeout: Double = 15

    static func invocation(_ name: String) -> DockerInvocation {
        DockerInvocation(["buildx", "inspect", name])
    }

    static func inspect(_ name: String, runner: any DockerRunning) throws -> BuilderLookup {
        let result = try runner.capture(invocation(name), timeout: timeout)
        if result.status.succeeded, let info = BuilderInfo.parse(inspectOutput: result.stdout + "\n" + result.stderr) {
            return .found(info)
        }
        let said = result.lastLineSaid
        if said.contains("no builder"), said.contains("found") { return .missing(said: said) }
        return .failed(said: "\(result.status)" + (said.isEmpty ? "" : ": \(said)"))
    }
}

extension CapturedOutput {
    /// What docker said, for messages: stderr when there is any, else stdout.
    private var said: String { stderr.isEmpty ? stdout : stderr }

    var firstLineSaid: String {
        said.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    var lastLineSaid: String {
        said.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}

/// The system paths setup-builder and doctor touch. `--root DIR` puts them all below DIR, so
/// tests work on a temporary tree instead of the machine's /etc.
struct SystemPaths: Sendable {
    /// "" for the real root.
    var root: String
    var currentDirectory: URL

    init(root: String?, currentDirectory: URL) {
        self.currentDirectory = currentDirectory
        guard let root, !root.isEmpty else {
            self.root = ""
            return
        }
        let absolute = URL(fileURLWithPath: root, relativeTo: currentDirectory).standardizedFileURL.path
        self.root = absolute == "/" ? "" : absolute
    }

    /// `path` (absolute, or relative to the current directory) below the root.
    func path(_ path: String) -> String {
        root + URL(fileURLWithPath: path, relativeTo: currentDirectory).standardizedFileURL.path
    }
}

/// One of the files that give every shell BUILDX_BUILDER. setup-builder writes them; doctor
/// reads them through `plannedEdit`, so both agree on what counts as done.
struct BuilderVariableFile: Sendable {
    static let variable = "BUILDX_BUILDER"

    var path: String
    /// Shell startup files take `export NAME=VALUE`; /etc/environment (pam_env) takes `NAME=VALUE`.
    var exports: Bool

    /// /etc/environment for PAM sessions (ssh, graphical logins), /etc/profile.d for login
    /// shells, ~/.bashrc for the interactive non-login shells of terminals and `docker exec`.
    static func all(paths: SystemPaths, environment: [String: String]) throws -> [BuilderVariableFile] {
        guard let home = environment["HOME"], !home.isEmpty else {
            throw StackError.usage("HOME is not set, so ~/.bashrc cannot be found; set HOME and run the command again.")
        }
        return [
            BuilderVariableFile(path: paths.path("/etc/environment"), exports: false),
            BuilderVariableFile(path: paths.path("/etc/profile.d/stack-buildx.sh"), exports: true),
            BuilderVariableFile(path: paths.path(home) + "/.bashrc", exports: true),
        ]
    }

    func line(for builder: String) -> String {
        (exports ? "export " : "") + "\(Self.variable)=\(builder)"
    }

    /// Whether a line sets BUILDX_BUILDER (with or without `export`); comments do not.
    static func assigns(_ line: Substring) -> Bool {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        var rest = line.drop(while: blank)
        if rest.hasPrefix("export"), let next = rest.dropFirst("export".count).first, blank(next) {
            rest = rest.dropFirst("export".count).drop(while: blank)
        }
        return rest.hasPrefix(variable + "=")
    }

    /// The edit that leaves exactly one BUILDX_BUILDER line, `line(for: builder)`, where the
    /// first one was (else at the end); nil when the file is like that already. Later
    /// assignments are removed because they would override it.
    func plannedEdit(builder: String) throws -> FileEdit? {
        let existing = try read()
        let wanted = line(for: builder)
        var lines = (existing ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        let assigning = lines.indices.filter { Self.assigns(lines[$0]) }
        var changes: [String] = []
        if let first = assigning.first {
            if lines[first] != wanted {
                changes.append("replace `\(lines[first])` with `\(wanted)`")
                lines[first] = Substring(wanted)
            }
            for index in assigning.dropFirst() {
                changes.append("remove `\(lines[index])`")
            }
            for index in assigning.dropFirst().reversed() {
                lines.remove(at: index)
            }
        } else {
            // The last element is "" when the text ends in a newline (or is empty).
            if lines.last == "" { lines.removeLast() }
            lines += [Substring(wanted), ""]
            changes.append("add `\(wanted)`")
        }
        guard !changes.isEmpty else { return nil }
        return FileEdit(file: self, creates: existing == nil, changes: changes, text: lines.joined(separator: "\n"))
    }

    /// The file's text; nil when there is no such file.
    func read() throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw StackError.stepFailed(phase: "setup-builder", message: "cannot read \(path) (\(error.localizedDescription)); run setup-builder as root, e.g. `sudo --preserve-env=HOME stack setup-builder`.")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw StackError.stepFailed(phase: "setup-builder", message: "\(path) is not UTF-8 text, so setup-builder does not rewrite it; add the line `BUILDX_BUILDER=…` to it yourself.")
        }
        return text
    }
}

/// A planned rewrite of one BuilderVariableFile.
struct FileEdit: Sendable {
    var file: BuilderVariableFile
    var creates: Bool
    /// For people: `add …`, `replace … with …`, `remove …`.
    var changes: [String]
    var text: String

    /// Writes a temporary file beside the target and renames it over, so a shell starting at
    /// that moment reads the old or the new file, never half of one. A symlinked file (a
    /// dotfiles repository's .bashrc) is written where the link points; owner and mode are
    /// kept, so ~/.bashrc stays its user's when root runs this.
    func write() throws {
        let target = URL(fileURLWithPath: file.path).resolvingSymlinksInPath()
        let directory = target.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(target.lastPathComponent).stack-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: temporary)
            var attributes: [FileAttributeKey: Any] = [.posixPermissions: 0o644]
            if let old = try? FileManager.default.attributesOfItem(atPath: target.path) {
                for key in [FileAttributeKey.posixPermissions, .ownerAccountID, .groupOwnerAccountID] {
                    attributes[key] = old[key]
                }
            }
            try FileManager.default.setAttributes(attributes, ofItemAtPath: temporary.path)
            guard rename(temporary.path, target.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw StackError.stepFailed(phase: "setup-builder", message: "cannot write \(file.path) (\(error.localizedDescription)); run setup-builder as root, e.g. `sudo --preserve-env=HOME stack setup-builder`.")
        }
    }
}

/// DIR/docker → this stack, so that a plain `docker build` (scripts, compose) goes through it.
struct WrapperLink: Sendable {
    var path: String
    var target: String
    /// Where the link pointed before, when an old one is replaced.
    var replacing: String?

    init(path: String, target: String, replacing: String? = nil) {
        self.path = path
        self.target = target
        self.replacing = replacing
    }

    /// nil when the link is there already. An earlier wrapper (a link to another `stack`, e.g.
    /// from an older checkout) or a dangling link is replaced; anything else at that path is
    /// most likely the real docker CLI (or the package manager's link to it) and is refused.
    func planned() throws -> WrapperLink? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw refusal("cannot be examined (\(String(cString: strerror(errno))))") }
            return self
        }
        guard info.st_mode & S_IFMT == S_IFLNK else {
            throw refusal(info.st_mode & S_IFMT == S_IFREG ? "is a regular file, most likely the real docker CLI" : "exists and is not a symbolic link")
        }
        let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
        guard let resolved = SystemDockerRunner.realPath(path) else {
            return WrapperLink(path: path, target: target, replacing: destination)
        }
        if resolved == target { return nil }
        guard URL(fileURLWithPath: resolved).lastPathComponent == "stack" else {
            throw refusal("links to \(resolved), which is not stack")
        }
        return WrapperLink(path: path, target: target, replacing: destination)
    }

    private func refusal(_ what: String) -> StackError {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return .stepFailed(phase: "setup-builder", message: "\(path) \(what); setup-builder never replaces the real docker. Install the wrapper in a directory that comes before \(directory) on PATH instead (`stack setup-builder --install-wrapper DIR`), or move that docker CLI elsewhere yourself and point STACK_DOCKER at it.")
    }

    /// A new link renamed over the path: the replacement is atomic and the target is absolute.
    func install() throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".docker.stack-\(getpid())").path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: temporary)
            try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: target)
            guard rename(temporary, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw StackError.stepFailed(phase: "setup-builder", message: "cannot link \(path) (\(error.localizedDescription)); run setup-builder as root or choose a directory you may write (`--install-wrapper DIR`).")
        }
    }
}

