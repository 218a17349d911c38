import Foundation
import Testing
@testable import StackCommands

/// One row: the lines of a `.dockerignore`, a context path, and whether Docker sends it.
struct IgnoreCase: Sendable, CustomTestStringConvertible {
    var lines: [String]
    var path: String
    var included: Bool

    init(_ lines: [String], _ path: String, included: Bool) {
        self.lines = lines
        self.path = path
        self.included = included
    }

    var testDescription: String { "\(lines) \(included ? "sends" : "leaves out") \(path)" }
}

struct DockerignoreTests {
    /// The rows come from Docker's documentation of `.dockerignore` (build context page) and
    /// from moby/patternmatcher's tests; a row that disagrees with Docker is a bug here.
    static let documented: [IgnoreCase] = {
        let example = ["# comment", "*/temp*", "*/*/temp*", "temp?"]
        return [
            // The documentation's example file and its table.
            IgnoreCase(example, "somedir/temporary.txt", included: false),
            IgnoreCase(example, "somedir/temp", included: false),
            IgnoreCase(example, "somedir/temp/inside.txt", included: false),
            IgnoreCase(example, "somedir/subdir/temporary.txt", included: false),
            IgnoreCase(example, "tempa", included: false),
            IgnoreCase(example, "tempb", included: false),
            IgnoreCase(example, "temp", included: true),
            IgnoreCase(example, "temporary.txt", included: true),
            IgnoreCase(example, "a/b/c/temporary.txt", included: true),
            // "/foo/bar and foo/bar both exclude bar in foo … neither excludes anything else."
            IgnoreCase(["/foo/bar"], "foo/bar", included: false),
            IgnoreCase(["foo/bar"], "foo/bar/below", included: false),
            IgnoreCase(["/foo/bar"], "other/foo/bar", included: true),
            IgnoreCase(["foo/bar"], "foo/barn", included: true),
            // `**` matches any number of directories, including zero.
            IgnoreCase(["**/*.go"], "main.go", included: false),
            IgnoreCase(["**/*.go"], "cmd/tool/main.go", included: false),
            IgnoreCase(["**/*.go"], "main.go.txt", included: true),
            IgnoreCase(["src/**/test"], "src/test", included: false),
            IgnoreCase(["src/**/test"], "src/a/b/test/x", included: false),
            IgnoreCase(["src/**/test"], "src/a/test2", included: true),
            IgnoreCase(["**file"], "dir/myfile", included: false),
            IgnoreCase(["**", "!util/docker/web"], "util/docker/web/foo", included: true),
            // Exceptions: the last line that matches decides.
            IgnoreCase(["*.md", "!README.md"], "README.md", included: true),
            IgnoreCase(["*.md", "!README.md"], "CHANGELOG.md", included: false),
            IgnoreCase(["*.md", "!README.md"], "docs/guide.md", included: true),
            IgnoreCase(["*.md", "!README*.md", "README-secret.md"], "README-secret.md", included: false),
            IgnoreCase(["*.md", "!README*.md", "README-secret.md"], "README-public.md", included: true),
            IgnoreCase(["*.md", "README-secret.md", "!README*.md"], "README-secret.md", included: true),
            IgnoreCase(["!keep.txt", "*.txt"], "keep.txt", included: false),
            // A folder's rule covers everything below it, unless an exception re-includes a part.
            IgnoreCase(["docs", "!docs/README.md"], "docs/README.md", included: true),
            IgnoreCase(["docs", "!docs/README.md"], "docs/api.md", included: false),
            IgnoreCase(["*", "!src"], "src/main.go", included: true),
            IgnoreCase(["*", "!src"], "Makefile", included: false),
            IgnoreCase(["a*"], "ab/c", included: false),
            IgnoreCase(["node_modules/"], "node_modules/pkg/index.js", included: false),
            // Lines are cleaned like filepath.Clean; whitespace around them does not count.
            IgnoreCase(["./build/../dist/"], "dist/app.js", included: false),
            IgnoreCase(["./build/../dist/"], "build/app.js", included: true),
            IgnoreCase(["  *.log  "], "debug.log", included: false),
            IgnoreCase(["# *.go"], "main.go", included: true),
            IgnoreCase(["\u{FEFF}*.tmp"], "x.tmp", included: false),
            // "For historical reasons, the pattern . is ignored."
            IgnoreCase(["."], "anything", included: true),
            // filepath.Match: `?` and `*` never cross `/`; classes, ranges, negation, escapes.
            IgnoreCase(["a?b"], "axb", included: false),
            IgnoreCase(["a?b"], "a/b", included: true),
            IgnoreCase(["log[0-9].txt"], "log7.txt", included: false),
            IgnoreCase(["log[0-9].txt"], "logx.txt", included: true),
            IgnoreCase(["[^a]*.tmp"], "b.tmp", included: false),
            IgnoreCase(["[^a]*.tmp"], "a.tmp", included: true),
            IgnoreCase(["a\\*b"], "a*b", included: false),
            IgnoreCase(["a\\*b"], "axb", included: true),
            IgnoreCase(["a(b)c/d.e+f"], "a(b)c/d.e+f", included: false),
        ]
    }()

    @Test(arguments: documented)
    func decidesAsDockerDoes(_ row: IgnoreCase) throws {
        let ignore = try Dockerignore(row.lines.joined(separator: "\n"))
        #expect(ignore.excludes(row.path) == !row.included)
    }

    /// Docker refuses to build with these; so does the matcher, naming the line.
    @Test(arguments: ["!", "[", "a[", "[]a]", "[z-a]", "x\\", "[a-b-c]"])
    func rejectsWhatDockerRejects(_ pattern: String) {
        #expect {
            try Dockerignore("ok\n\(pattern)")
        } throws: { error in
            (error as? FingerprintError)?.description.hasPrefix(".dockerignore:2: ") == true
        }
    }

    /// Whether an excluded folder must still be walked: only when an exception could match
    /// something inside it.
    @Test(arguments: [
        (["build"], "build", false),
        (["build", "!build/keep.txt"], "build", true),
        (["build", "!build/keep.txt"], "build/sub", false),
        (["*", "!src"], "docs", false),
        (["*", "!**/*.go"], "vendor", true),
        (["cache*", "!cache*/keep"], "cache-1", true),
        (["a", "!a/**"], "a", true),
    ])
    func walksAnExcludedFolderOnlyForAnException(lines: [String], folder: String, walked: Bool) throws {
        let ignore = try Dockerignore(lines.joined(separator: "\n"))
        #expect(ignore.mayReinclude(below: Array(folder.unicodeScalars)) == walked)
    }

    /// BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile in place of the
    /// context's `.dockerignore`, and the context's file when there is no such file.
    @Test(arguments: [("Dockerfile.special", "only-special"), ("Dockerfile.plain", "only-context")])
    func dockerfileSpecificIgnoreFileWins(dockerfile: String, excluded: String) throws {
        let context = try TemporaryDirectory("ignore-load")
        defer { context.remove() }
        try context.write(".dockerignore", "only-context\n")
        try context.write("Dockerfile.special.dockerignore", "only-special\n")
        let ignore = try Dockerignore.load(context: context.url, dockerfile: context.url.appendingPathComponent(dockerfile))
        #expect(ignore.excludes(excluded))
        #expect(ignore.excludes(["only-context", "only-special"].first { $0 != excluded }!) == false)
    }
}
