import Foundation
import PropertyBased
import Testing
@testable import StackCommands

/// For random `docker build` command lines (tags in every form, repeated; outputs or none;
/// other flags with and without values; the user's `--builder`; contexts among the flags or
/// after `--`), the parser reads what each piece means, and the build docker is asked for is
/// the route's own words followed by the user's list exactly: nothing dropped, reordered or
/// repeated, with `--load` added once at most and never beside an output the user chose.
struct DockerBuildPropertyTests {
    /// One piece of a command line, and what it means.
    struct Piece: Sendable, CustomStringConvertible {
        var words: [String]
        var tag: String?
        var output = false
        var builder: String?
        /// An output inside a shorthand group, which the route cannot see: the wrapper refuses
        /// the line unless an output it can see is there too (see DockerWrapperRunTests).
        var groupedOutput = false

        var description: String { words.joined(separator: " ") }

        static let catalogue: [Piece] = {
            var pieces: [Piece] = []
            for tag in ["x", "registry.local:5000/team/app:1.2"] {
                for words in [["-t", tag], ["-t" + tag], ["-t=" + tag], ["--tag", tag], ["--tag=" + tag], ["-qt", tag], ["-qt" + tag]] {
                    pieces.append(Piece(words: words, tag: tag))
                }
            }
            for words in [["-o", "out"], ["-oout"], ["-o=type=tar,dest=-"], ["--output", "type=local,dest=o"], ["--output=type=registry"],
                          ["--load"], ["--load=true"], ["--push"], ["--push=false"]] {
                pieces.append(Piece(words: words, output: true))
            }
            pieces += [Piece(words: ["-qo", "out"], groupedOutput: true), Piece(words: ["-qoout"], groupedOutput: true)]
            pieces += [Piece(words: ["--builder", "b1"], builder: "b1"), Piece(words: ["--builder=b2"], builder: "b2")]
            for words in [["--build-arg", "A=1"], ["--build-arg=B=2"], ["--label", "k=v"], ["--platform", "linux/amd64"], ["--target", "dev"],
                          ["--progress=plain"], ["--cache-from", "type=local,src=/c"], ["--secret", "id=s,src=/s"], ["--network", "none"],
                          ["-m", "1g"], ["-c", "512"], ["--shm-size=2g"], ["--ulimit", "nofile=1024:1024"], ["--add-host", "h:10.0.0.1"],
                          ["--ssh", "default"], ["--annotation", "k=v"], ["-f", "Dockerfile.dev"], ["-fDockerfile.dev"], ["--file=Dockerfile"],
                          ["-f", "-"], ["--iidfile", "/tmp/iid"], ["--metadata-file=/tmp/m.json"],
                          ["--no-cache"], ["--pull"], ["-q"], ["--quiet"], ["--rm=false"], ["-D"]] {
                pieces.append(Piece(words: words))
            }
            return pieces
        }()
    }

    /// A command line: pieces with the context among them, or after `--`.
    struct Line: Sendable, CustomStringConvertible {
        var pieces: [Piece]
        var context: String
        var afterTerminator: Bool
        var contextIndex: Int

        static let contexts = [".", "-", "ctx dir", "https://github.com/docker/buildx.git#v0.24.0", "--odd-folder"]

        /// The words of the pieces `keep` accepts, the context in its place among them.
        func arguments(keeping keep: (Piece) -> Bool = { _ in true }) -> [String] {
            func words(_ pieces: ArraySlice<Piece>) -> [String] { pieces.filter(keep).flatMap(\.words) }
            // A context that looks like a flag is only a context after `--`.
            if afterTerminator || (context.hasPrefix("-") && context != "-") {
                return words(pieces[...]) + ["--", context]
            }
            let index = min(contextIndex, pieces.count)
            return words(pieces.prefix(index)) + [context] + words(pieces.dropFirst(index))
        }

        var arguments: [String] { arguments() }
        var withoutBuilder: [String] { arguments { $0.builder == nil } }
        var choseOutput: Bool { pieces.contains { $0.output || $0.groupedOutput } }

        var description: String { arguments.map(ShellQuoting.quote).joined(separator: " ") }
    }

    static let lines = zip(
        Gen<Piece?>.element(of: Piece.catalogue).map { $0! }.array(of: 0...8),
        Gen<String?>.element(of: Line.contexts).map { $0! },
        Gen.bool,
        Gen.int(in: 0...8)
    ).map { Line(pieces: $0.0, context: $0.1, afterTerminator: $0.2, contextIndex: $0.3) }

    @Test func parserReadsEveryPiece() async {
        await propertyCheck(count: 500, input: Self.lines) { line in
            let parsed = DockerBuildArguments(line.arguments)
            #expect(parsed.tags == line.pieces.compactMap(\.tag))
            #expect(parsed.context == line.context)
            #expect(parsed.words == [line.context])
            #expect(parsed.choseOutput == line.choseOutput)
            #expect(parsed.builder == line.pieces.compactMap(\.builder).last)
            #expect(parsed.passthrough == line.withoutBuilder)
        }
    }

    @Test(arguments: [(WrapperHarness.remote, "helix-shared", true), (WrapperHarness.dockerDriver, "default", false)])
    func buildIsTheRoutesWordsThenTheUsersListExactly(builder fixture: String, name: String, keepsResults: Bool) async {
        await propertyCheck(count: 200, input: Self.lines) { line in
            let wrapper = try WrapperHarness(builder: fixture)
            let status = wrapper.run(["build"] + line.arguments)
            #expect(status == 0, "\(wrapper.output.stderr)")
            let added = keepsResults && !line.choseOutput ? ["--load"] : []
            #expect(wrapper.builds == [["buildx", "build", "--builder", name] + added + line.withoutBuilder])
        }
    }
}
