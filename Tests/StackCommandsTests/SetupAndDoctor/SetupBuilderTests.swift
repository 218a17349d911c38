import Foundation
import Testing
@testable import StackCommands

/// The built `stack setup-builder --root` on a temporary machine, with FakeDocker/fake-docker
/// replaying the real buildx recordings of each version. fake-docker has no state, so a
/// "second run" gets the rules for the state the first one left (the builder exists and is
/// buildx's default), as recorded after the real `create` and `use`.
struct SetupBuilderTests {
    typealias Recording = Machine.Recording
    typealias LoggedInvocation = Machine.LoggedInvocation

    static let versionCheck = LoggedInvocation(["buildx", "version"])
    static let inspectShared = LoggedInvocation(["buildx", "inspect", "helix-shared"])
    static let inspectCurrent = LoggedInvocation(["buildx", "inspect"])
    static let useShared = LoggedInvocation(["buildx", "use", "--default", "helix-shared"])

    /// Rules for a machine where buildx does not know the builder yet.
    static func missingBuilder(_ recording: Recording) -> [(prefix: String, fixture: String)] {
        [
            ("buildx version", recording.fixture("01-buildx-version")),
            ("buildx inspect helix-shared", recording.fixture("50-nonexistent-builder-build")),
            ("buildx create", recording.fixture("02-buildx-create-helix-shared")),
            ("buildx use", recording.fixture("22-buildx-use-default-helix-shared")),
        ]
    }

    /// Rules for a machine where the builder exists; `isDefault` picks what a bare `inspect`
    /// shows: helix-shared after `buildx use` (23b for v0.10.5; v0.24.0 was recorded with the
    /// builder stopped, 42, which names it just the same) or `default` before it (04).
    static func existingBuilder(_ recording: Recording, isDefault: Bool) -> [(prefix: String, fixture: String)] {
        let current = !isDefault ? "04-buildx-inspect-default-reachable"
            : recording.version == "buildx-v0.10.5" ? "23b-buildx-inspect-noarg-after-use-default"
            : "42-unreachable-buildx-inspect-noarg-current-is-helix-shared"
        return [
            ("buildx version", recording.fixture("01-buildx-version")),
            ("buildx inspect helix-shared", recording.fixture("03-buildx-inspect-helix-shared-reachable")),
            ("buildx inspect", recording.fixture(current)),
            ("buildx use", recording.fixture("22-buildx-use-default-helix-shared")),
        ]
    }

    static func builderSection(endpoint: String) -> String {
        "name: helix-shared\nendpoint: \(endpoint)"
    }

    // The first run creates the builder at stack.yaml's endpoint, makes it the default and
    // writes each file once (keeping what ~/.bashrc had); the second finds nothing to do and
    // leaves every byte as it was.
    @Test(arguments: Recording.all)
    func createsTheBuilderThenHasNothingToChange(recording: Recording) throws {
        try Machine.with(builder: Self.builderSection(endpoint: recording.endpoint)) { machine in
            try machine.writeSystemFile(Machine.bashrc, "alias ll='ls -l'\n")
            try machine.rules(Self.missingBuilder(recording))
            let first = try machine.stack(["setup-builder"], environment: ["BUILDX_BUILDER": "old"])

            #expect(first.status == 0, "\(first.stderr)")
            // This shell's old BUILDX_BUILDER is not handed to docker (the log would show it),
            // so a bare `buildx inspect` would report buildx's stored default.
            #expect(try machine.invocations() == [
                Self.versionCheck, Self.inspectShared,
                LoggedInvocation(["buildx", "create", "--name", "helix-shared", "--driver", "remote", recording.endpoint]),
                Self.useShared,
            ])
            #expect(try machine.readSystemFile(Machine.environmentFile) == "BUILDX_BUILDER=helix-shared\n")
            #expect(try machine.readSystemFile(Machine.profileScript) == "export BUILDX_BUILDER=helix-shared\n")
            #expect(try machine.readSystemFile(Machine.bashrc) == "alias ll='ls -l'\nexport BUILDX_BUILDER=helix-shared\n")
            let mode = try FileManager.default.attributesOfItem(atPath: machine.system(Machine.profileScript).path)[.posixPermissions] as? Int
            #expect(mode == 0o644)

            let before = try machine.snapshot()
            try machine.rules(Self.existingBuilder(recording, isDefault: true))
            let second = try machine.stack(["setup-builder"])

            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout.hasPrefix("nothing to change"), "\(second.stdout)")
            #expect(try machine.snapshot() == before)
            #expect(try machine.invocations().suffix(3) == [Self.versionCheck, Self.inspectShared, Self.inspectCurrent])
        }
    }

    // BUILDKIT_HOST wins over stack.yaml's endpoint.
    @Test func environmentEndpointWins() throws {
        let recording = Recording.all[1]
        try Machine.with(builder: Self.builderSection(endpoint: "tcp://buildkit.invalid:1234")) { machine in
            try machine.rules(Self.missingBuilder(recording))
            let result = try machine.stack(["setup-builder"], environment: ["BUILDKIT_HOST": recording.endpoint])

            #expect(result.status == 0, "\(result.stderr)")
            #expect(try machine.invocations().contains(
                LoggedInvocation(["buildx", "create", "--name", "helix-shared", "--driver", "remote", recording.endpoint])))
        }
    }

    // A builder buildx already knows is never created again; it is only made the default.
    @Test(arguments: Recording.all)
    func existingBuilderIsOnlyMadeTheDefault(recording: Recording) throws {
        try Machine.with { machine in
            try machine.rules(Self.existingBuilder(recording, isDefault: false))
            let result = try machine.stack(["setup-builder"])

            #expect(result.status == 0, "\(result.stderr)")
            #expect(try machine.invocations() == [Self.versionCheck, Self.inspectShared, Self.inspectCurrent, Self.useShared])
            #expect(result.stderr.contains("builder \"helix-shared\" exists (remote driver at \(recording.endpoint)"), "\(result.stderr)")
        }
    }

    // A different value is replaced where it stands, and a later assignment that would
    // override it is removed; the other lines stay as they were.
    @Test func differentBuilderLinesAreReplaced() throws {
        try Machine.with { machine in
            try machine.writeSystemFile(Machine.environmentFile, "LANG=C.UTF-8\nBUILDX_BUILDER=old\nPATH=/usr/bin\n")
            try machine.writeSystemFile(Machine.bashrc, "export BUILDX_BUILDER=old\n# mine\n  export BUILDX_BUILDER=older\n")
            try machine.rules(Self.existingBuilder(Recording.all[1], isDefault: true))
            let result = try machine.stack(["setup-builder"])

            #expect(result.status == 0, "\(result.stderr)")
            #expect(try machine.readSystemFile(Machine.environmentFile) == "LANG=C.UTF-8\nBUILDX_BUILDER=helix-shared\nPATH=/usr/bin\n")
            #expect(try machine.readSystemFile(Machine.bashrc) == "export BUILDX_BUILDER=helix-shared\n# mine\n")
            let environmentFile = machine.system(Machine.environmentFile).path
            let bashrc = machine.system(Machine.bashrc).path
            for line in [
                "edit \(environmentFile): replace `BUILDX_BUILDER=old` with `BUILDX_BUILDER=helix-shared`",
                "edit \(bashrc): replace `export BUILDX_BUILDER=old` with `export BUILDX_BUILDER=helix-shared`",
                "edit \(bashrc): remove `  export BUILDX_BUILDER=older`",
            ] {
                #expect(result.outputLines.contains(line), "\(result.stdout)")
            }
        }
    }

    // A dry run asks buildx (inspect only) and prints every change: the docker commands, each
    // file's lines, the link. The machine's tree stays exactly as it was.
    @Test(arguments: Recording.all)
    func dryRunListsEveryChangeAndChangesNothing(recording: Recording) throws {
        try Machine.with(builder: Self.builderSection(endpoint: recording.endpoint)) { machine in
            try machine.writeSystemFile(Machine.environmentFile, "BUILDX_BUILDER=old\n")
            try machine.rules(Self.missingBuilder(recording))
            let before = try machine.snapshot()
            let result = try machine.stack(["setup-builder", "--dry-run", "--install-wrapper"])

            #expect(result.status == 0, "\(result.stderr)")
            #expect(try machine.snapshot() == before)
            #expect(try machine.invocations() == [Self.versionCheck, Self.inspectShared])
            #expect(result.outputLines == [
                "run: \(Machine.fakeDocker) buildx create --name helix-shared --driver remote \(recording.endpoint)",
                "run: \(Machine.fakeDocker) buildx use --default helix-shared",
                "edit \(machine.system(Machine.environmentFile).path): replace `BUILDX_BUILDER=old` with `BUILDX_BUILDER=helix-shared`",
                "create \(machine.system(Machine.profileScript).path): add `export BUILDX_BUILDER=helix-shared`",
                "create \(machine.system(Machine.bashrc).path): add `export BUILDX_BUILDER=helix-shared`",
                "link \(machine.system("/usr/local/bin/docker").path) -> \(Machine.stack)",
                "dry run: nothing was changed.",
                "",
            ])
        }
    }

    // --install-wrapper links DIR/docker to this stack; a run that finds the link in place
    // accepts it.
    @Test func wrapperIsLinkedOnce() throws {
        try Machine.with { machine in
            try machine.rules(Self.existingBuilder(Recording.all[1], isDefault: true))
            let first = try machine.stack(["setup-builder", "--install-wrapper"])

            #expect(first.status == 0, "\(first.stderr)")
            let link = machine.system("/usr/local/bin/docker").path
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == Machine.stack)

            let second = try machine.stack(["setup-builder", "--install-wrapper"])
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout.hasPrefix("nothing to change"), "\(second.stdout)")
            #expect(second.stdout.contains("\(link) links to \(Machine.stack)"), "\(second.stdout)")
        }
    }

    /// What may already be at DIR/docker that is not stack.
    enum Occupant: String, CaseIterable, Sendable {
        case realDockerFile
        case linkToAnotherProgram

        func place(at path: URL) throws {
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            switch self {
            case .realDockerFile: try Data("#!/bin/sh\n# the real docker\n".utf8).write(to: path)
            case .linkToAnotherProgram: try FileManager.default.createSymbolicLink(atPath: path.path, withDestinationPath: "/bin/sh")
            }
        }
    }

    // Whatever else is at DIR/docker is most likely the real docker CLI: setup-builder refuses
    // before changing anything, and says what to do instead.
    @Test(arguments: Occupant.allCases)
    func wrapperNeverReplacesAnotherDocker(occupant: Occupant) throws {
        try Machine.with { machine in
            try occupant.place(at: machine.system("/opt/bin/docker"))
            try machine.rules(Self.existingBuilder(Recording.all[1], isDefault: false))
            let before = try machine.snapshot()
            let result = try machine.stack(["setup-builder", "--install-wrapper", "/opt/bin"])

            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("never replaces the real docker"), "\(result.stderr)")
            #expect(result.stderr.contains("--install-wrapper DIR"), "\(result.stderr)")
            #expect(try machine.snapshot() == before)
            #expect(try machine.invocations() == [Self.versionCheck, Self.inspectShared, Self.inspectCurrent])
        }
    }

    // The real 28.x CLI without buildx: nothing can be set up, and stack says why (exit 69).
    @Test func realDockerWithoutBuildxStops() throws {
        try Machine.with { machine in
            let before = try machine.snapshot()
            let result = try machine.stack(["setup-builder"], docker: Machine.realDocker)

            #expect(result.status == 69, "\(result.stderr)")
            #expect(result.stderr.contains("docker buildx is not installed"), "\(result.stderr)")
            #expect(result.stderr.contains("unknown command: docker buildx"), "\(result.stderr)")
            #expect(try machine.snapshot() == before)
        }
    }
}
