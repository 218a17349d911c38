import Foundation
import Testing
@testable import StackCommands

/// One change to the inputs of a build.
enum InputChange: Sendable, CustomTestStringConvertible {
    case contextFile(String, digest: String)
    case removeContextFile(String)
    case dockerfile(String)
    case buildArg(String, String)
    case target(String?)
    case platform(String?)
    case builderEndpoint(String)
    case base(String, String)
    case several([InputChange])

    func apply(to input: inout FingerprintInput) {
        switch self {
        case let .contextFile(path, digest):
            input.contextEntries.removeAll { $0.path == path }
            input.contextEntries.append(ContextDigest.Entry(path: path, digest: digest))
        case .removeContextFile(let path):
            input.contextEntries.removeAll { $0.path == path }
        case .dockerfile(let text):
            input.dockerfile = Data(text.utf8)
        case let .buildArg(name, value):
            input.buildArgs.append(BuildArgument(name: name, value: value))
        case .target(let target):
            input.target = target
        case .platform(let platform):
            input.platform = platform
        case .builderEndpoint(let endpoint):
            input.builder.endpoint = endpoint
        case let .base(reference, identity):
            input.bases[reference] = identity
        case .several(let changes):
            for change in changes { change.apply(to: &input) }
        }
    }

    var testDescription: String { "\(self)" }
}

struct FingerprintTests {
    static let input = FingerprintInput(
        contextEntries: [ContextDigest.Entry(path: "src/main.go", digest: "d1"), ContextDigest.Entry(path: "README.md", digest: "d2")],
        dockerfile: Data("FROM busybox:1.36\nCOPY . .\n".utf8),
        buildArgs: [BuildArgument(name: "TAG", value: "1"), BuildArgument(name: "BUILD_TYPE", value: "release")],
        target: "build",
        platform: nil,
        builder: BuilderChoice(backend: .buildx(name: "helix-shared", driver: "remote"), endpoint: "tcp://buildkitd:1234"),
        bases: ["busybox:1.36": "sha256:" + String(repeating: "1", count: 64)]
    )

    @Test func theSameInputsGiveTheSameDigest() {
        let copy = Self.input
        #expect(Self.input.digest() == copy.digest())
        #expect(Self.input.digest() == Self.input.record().digest)
        #expect(Self.input.digest().count == 64)
    }

    /// Build args are a set keyed by name, as BuildKit receives them: their order does not
    /// count, and of two values for one name the last one wins, as on docker's command line.
    @Test(arguments: [
        [BuildArgument(name: "BUILD_TYPE", value: "release"), BuildArgument(name: "TAG", value: "1")],
        [BuildArgument(name: "TAG", value: "0"), BuildArgument(name: "BUILD_TYPE", value: "release"), BuildArgument(name: "TAG", value: "1")],
    ])
    func buildArgOrderDoesNotCount(_ buildArgs: [BuildArgument]) {
        var reordered = Self.input
        reordered.buildArgs = buildArgs
        #expect(reordered.digest() == Self.input.digest())
    }

    @Test func contextEntryOrderDoesNotCount() {
        var reordered = Self.input
        reordered.contextEntries.reverse()
        #expect(reordered.digest() == Self.input.digest())
    }

    @Test(arguments: [
        (InputChange.contextFile("src/main.go", digest: "d9"), "context file src/main.go changed"),
        (.contextFile("src/new.go", digest: "d3"), "context file src/new.go added"),
        (.removeContextFile("README.md"), "context file README.md removed"),
        (.dockerfile("FROM busybox:1.37\nCOPY . .\n"), "Dockerfile changed"),
        (.buildArg("TAG", "2"), "build arg TAG changed"),
        (.buildArg("EXTRA", ""), "build arg EXTRA added"),
        (.target(nil), "target changed"),
        (.platform("linux/arm64"), "platform changed"),
        (.platform(""), "platform changed"),
        (.builderEndpoint("tcp://elsewhere:1234"), "builder changed"),
        (.base("busybox:1.36", "sha256:" + String(repeating: "2", count: 64)), "base busybox:1.36 changed"),
        (.base("alpine:3.19", "sha256:" + String(repeating: "3", count: 64)), "base alpine:3.19 added"),
        // The fixed order decides which of several changes is named.
        (.several([.base("busybox:1.36", "other"), .target("test"), .dockerfile("FROM x\n")]), "Dockerfile changed"),
        (.several([.buildArg("TAG", "2"), .contextFile("README.md", digest: "d4")]), "context file README.md changed"),
    ] as [(InputChange, String)])
    func theFirstChangeIsNamed(change: InputChange, sentence: String) {
        var changed = Self.input
        change.apply(to: &changed)
        #expect(FingerprintInput.firstChange(from: Self.input.record(), to: changed.record()) == sentence)
        #expect(changed.digest() != Self.input.digest())
    }

    /// The record is what `.stack/fingerprints/<key>.json` holds; read back, it must compare
    /// equal to a fresh one, and a record from another format version must never match.
    @Test func aStoredRecordComparesWithAFreshOne() throws {
        let stored = try JSONDecoder().decode(FingerprintInput.Record.self, from: JSONEncoder().encode(Self.input.record()))
        #expect(stored == Self.input.record())
        #expect(FingerprintInput.firstChange(from: stored, to: Self.input.record()) == nil)

        var older = stored
        older.version -= 1
        #expect(FingerprintInput.firstChange(from: older, to: Self.input.record()) == "the fingerprint format changed")
    }

    /// Values are stored as digests only: a build arg may carry a token.
    @Test func theRecordHoldsNoBuildArgValue() throws {
        var input = Self.input
        input.buildArgs.append(BuildArgument(name: "NPM_TOKEN", value: "secret-value-123"))
        let json = try String(decoding: JSONEncoder().encode(input.record()), as: UTF8.self)
        #expect(json.contains("NPM_TOKEN"))
        #expect(!json.contains("secret-value-123"))
    }
}
