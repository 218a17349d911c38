import ArgumentParser
import Foundation

public enum ZedBuildType: String, CaseIterable, ExpressibleByArgument, Sendable {
    case dev
    case release
}

public struct BuildZedCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "build-zed",
        abstract: "Build the Zed editor from source in a container and extract the binary.",
        discussion: "Phases: zed:check (source and output folders), zed:build (the container build), zed:verify (the binary exists)."
    )

    @Argument(help: "dev or release.")
    public var buildType: ZedBuildType = .dev

    @OptionGroup public var options: WorkspaceOptions

    public init() {}

    public func run() throws {
        try CommandRun(command: "build-zed", options: options, world: .live()).execute { input in
            try ZedBuild(workspace: input.workspace, buildType: buildType).phases()
        }
    }
}

/// The phases of a Zed build, as the bash script did it: check the checkout, build with a
/// temporary .dockerignore into the output folder, verify the binary.
public struct ZedBuild: Sendable {
    public var workspace: Workspace
    public var buildType: ZedBuildType

    public init(workspace: Workspace, buildType: ZedBuildType) {
        self.workspace = workspace
        self.buildType = buildType
    }

    public func settings() throws -> ZedSettings {
        try workspace.section(\.zed, "zed", for: "build-zed")
    }

    /// With `onlyIfMissing` (as build-sandbox uses it) every phase is skipped when the binary
    /// is already there when the run starts.
    public func phases(onlyIfMissing: Bool = false) throws -> [Phase] {
        let zed = try settings()
        let source = workspace.path(zed.source)
        let crate = source.appendingPathComponent(zed.requiredCrate)
        let output = workspace.path(zed.output)
        let binary = output.appendingPathComponent(zed.binary)
        let request = BuildRequest(
            context: source.path,
            dockerfile: workspace.path(zed.dockerfile).path,
            buildArgs: [BuildArgument(name: "BUILD_TYPE", value: buildType.rawValue)],
            result: .directory(output.path),
            provenance: false
        )
        let ignoreLines = zed.dockerignore
        let phases = [
            Phase("zed:check") { phase in
                guard Self.isDirectory(source) else {
                    throw StackError.stepFailed(phase: phase.name, message: "Zed source not found at \(source.path); clone Zed there or set `zed.source` in stack.yaml.")
                }
                guard Self.isDirectory(crate) else {
                    throw StackError.stepFailed(phase: phase.name, message: "\(crate.path) is missing, so \(source.path) is not a Zed checkout; check `zed.source` and `zed.required_crate` in stack.yaml.")
                }
                if !phase.dryRun {
                    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
                }
            },
            Phase("zed:build", after: ["zed:check"]) { phase in
                let ignoreFile = DockerignoreSwap(directory: source)
                if phase.dryRun {
                    phase.console.output("# \(phase.name) writes \(ignoreFile.file.path) (\(ignoreLines.count) lines) for the build and puts the original back afterwards")
                    try phase.build(request)
                    return
                }
                try ignoreFile.install(lines: ignoreLines)
                defer { ignoreFile.restore(console: phase.console) }
                try phase.build(request)
            },
            Phase("zed:verify", after: ["zed:build"]) { phase in
                if phase.dryRun {
                    phase.console.output("# \(phase.name) checks that \(binary.path) exists")
                    return
                }
                let attributes = try? FileManager.default.attributesOfItem(atPath: binary.path)
                guard let size = (attributes?[.size] as? NSNumber)?.int64Value, size > 0 else {
                    throw StackError.stepFailed(phase: phase.name, message: "the build finished but \(binary.path) is missing or empty; check the final stage of \(zed.dockerfile) copies the binary to /\(zed.binary).")
                }
                phase.console.info("\(phase.name): \(binary.path), \(size) bytes (\(String(format: "%.1f", Double(size) / 1_048_576)) MiB)")
            },
        ]
        guard onlyIfMissing, FileManager.default.fileExists(atPath: binary.path) else { return phases }
        return phases.map { phase in
            Phase(phase.name, after: phase.dependencies) { context in
                context.skip("\(binary.path) is already built (`stack build-zed release` rebuilds it)")
            }
        }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
