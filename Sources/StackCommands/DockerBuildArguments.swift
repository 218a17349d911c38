import Foundation

/// Reads a command line the way the docker CLI's flag parser (spf13/pflag, under cobra) does:
/// `--name value`, `--name=value`, `-n value`, `-nvalue`, `-n=value`, grouped shorthands
/// (`-qt tag`: every letter but the last is a switch; a letter that takes a value takes the
/// rest of the group, else the next argument, whatever it starts with), `-` as a plain word
/// (stdin) and `--` ending the flags. Only which flags take a value must be known: a flag
/// this table does not know is taken for a switch, which is what an unknown flag would be
/// for docker too until it refused it.
struct FlagSyntax: Sendable {
    struct Flag: Equatable, Sendable {
        /// The long name (`tag` for `-t`); an unknown shorthand keeps its letter.
        var name: String
        var value: String?
        /// Where the flag and its value stand in the argument list.
        var positions: [Int]
    }

    enum Token: Equatable, Sendable {
        case flag(Flag)
        case word(String, position: Int)
        /// `--`: everything after it is a word.
        case terminator(position: Int)
    }

    /// Long names of the flags that take a value.
    var valueFlags: Set<String>
    var shorthands: [Character: String]

    /// The tokens of `arguments`; with `untilWord` it stops before the first word (a
    /// subcommand) and returns where that word is.
    func tokens(_ arguments: [String], untilWord: Bool = false) -> (tokens: [Token], stoppedAt: Int) {
        var tokens: [Token] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                if untilWord { return (tokens, index) }
                tokens.append(.terminator(position: index))
                tokens += arguments.indices.dropFirst(index + 1).map { .word(arguments[$0], position: $0) }
                return (tokens, arguments.count)
            }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                var flag = Flag(name: name, value: nil, positions: [index])
                if let equals = body.firstIndex(of: "=") {
                    flag.value = String(body[body.index(after: equals)...])
                } else if valueFlags.contains(name), index + 1 < arguments.count {
                    index += 1
                    flag.value = arguments[index]
                    flag.positions.append(index)
                }
                tokens.append(.flag(flag))
            } else if argument.hasPrefix("-"), argument.count > 1 {
                var letters = argument.dropFirst()
                while let letter = letters.popFirst() {
                    let name = shorthands[letter] ?? String(letter)
                    var flag = Flag(name: name, value: nil, positions: [index])
                    if letters.first == "=" {
                        flag.value = String(letters.dropFirst())
                        letters = ""
                    } else if valueFlags.contains(name) {
                        if !letters.isEmpty {
                            flag.value = String(letters)
                            letters = ""
                        } else if index + 1 < arguments.count {
                            index += 1
                            flag.value = arguments[index]
                            flag.positions.append(index)
                        }
                    }
                    tokens.append(.flag(flag))
                }
            } else {
                if untilWord { return (tokens, index) }
                tokens.append(.word(argument, position: index))
            }
            index += 1
        }
        return (tokens, arguments.count)
    }
}

/// The arguments a person gave `docker build` or `docker buildx build` (everything after the
/// `build` word), with what the build routine needs to know about them. The list itself is
/// never changed, reordered or added to: `passthrough` is `original` minus only a `--builder
/// NAME` the user gave, which the routine turns into its own `--builder` in front.
public struct DockerBuildArguments: Equatable, Sendable {
    /// Flags that take a value, in `docker buildx build` v0.10 to v0.24 (hidden and
    /// experimental ones included: `print`, `invoke`, `root`, `server-config` and the classic
    /// builder's resource flags buildx accepts and ignores) and in the classic `docker build`
    /// of docker 20.10 (its `--help`, with and without DOCKER_BUILDKIT=1). Every other flag of
    /// those versions is a switch: `load`, `push`, `no-cache`, `pull`, `quiet`, `check`,
    /// `debug`, `detach`, `compress`, `rm`, `force-rm`, `squash`, `disable-content-trust`,
    /// `stream`, `help`.
    static let syntax = FlagSyntax(
        valueFlags: [
            "add-host", "allow", "annotation", "attest", "build-arg", "build-context", "builder",
            "cache-from", "cache-to", "call", "cgroup-parent", "cpu-period", "cpu-quota", "cpu-shares",
            "cpuset-cpus", "cpuset-mems", "file", "iidfile", "invoke", "isolation", "label", "memory",
            "memory-swap", "metadata-file", "network", "no-cache-filter", "output", "platform", "print",
            "progress", "provenance", "root", "sbom", "secret", "security-opt", "server-config", "shm-size",
            "ssh", "tag", "target", "ulimit",
        ],
        shorthands: ["t": "tag", "f": "file", "o": "output", "m": "memory", "c": "cpu-shares",
                     "q": "quiet", "D": "debug", "h": "help"]
    )

    /// Exactly what the user typed after `build`.
    public let original: [String]
    public private(set) var tags: [String] = []
    /// The words that are not flags: the context (`PATH`, `URL` or `-` for stdin), normally alone.
    public private(set) var words: [String] = []
    /// `-f`: the Dockerfile, `-` when it comes on stdin.
    public private(set) var dockerfile: String?
    public private(set) var target: String?
    /// Every `-o`/`--output` value, in order.
    public private(set) var outputs: [String] = []
    /// `--load` or `--push` in any form, `--load=false` included: the user said where the
    /// result goes (or that it goes nowhere), so the routine adds nothing.
    public private(set) var load = false
    public private(set) var push = false
    /// The user's own `--builder` (the last one, as for docker).
    public private(set) var builder: String?
    public private(set) var iidfile: String?
    public private(set) var metadataFile: String?
    /// `-h`/`--help`: docker prints its help, no build happens.
    public private(set) var asksForHelp = false
    /// Where complete `--builder NAME` flags stand in `original`.
    private var builderPositions: Set<Int> = []

    public init(_ arguments: [String]) {
        original = arguments
        for token in Self.syntax.tokens(arguments).tokens {
            switch token {
            case .word(let word, _):
                words.append(word)
            case .terminator:
                break
            case .flag(let flag):
                record(flag)
            }
        }
    }

    private mutating func record(_ flag: FlagSyntax.Flag) {
        switch (flag.name, flag.value) {
        case ("tag", let value?): tags.append(value)
        case ("file", let value?): dockerfile = value
        case ("target", let value?): target = value
        case ("output", let value?): outputs.append(value)
        case ("load", _): load = true
        case ("push", _): push = true
        case ("iidfile", let value?): iidfile = value
        case ("metadata-file", let value?): metadataFile = value
        case ("help", _): asksForHelp = true
        case ("builder", let value?):
            builder = value
            builderPositions.formUnion(flag.positions)
        default: break
        }
    }

    public var context: String? { words.first }

    /// Whether the user chose where the result goes: an output of any form, `--load` or `--push`.
    public var choseOutput: Bool { !outputs.isEmpty || load || push }

    /// The build reads stdin (`-` as context, or `-f -`). stdin can be read once only.
    public var readsStdin: Bool { context == "-" || dockerfile == "-" }

    /// The user's arguments minus their complete `--builder NAME` flags; one without its value
    /// stays, so docker reports it as docker would.
    public var passthrough: [String] {
        original.indices.filter { !builderPositions.contains($0) }.map { original[$0] }
    }

    /// Whether the image must come from one build. The smart load strategy builds twice (a
    /// probe, then the load when the image changed), and the registry strategy builds again
    /// with `--load` when its push fails: a second build cannot read stdin again, and the
    /// probe's own `--iidfile`/`--metadata-file` come before the user's, whose later ones win
    /// (pflag keeps the last value), so the probe would write the user's files and lose its
    /// evidence. Such builds get the plain `--load` (the `tarball` strategy).
    public var needsSingleBuild: Bool { readsStdin || iidfile != nil || metadataFile != nil }

    /// The request the routine builds: the route adds only `--builder NAME` and, when the
    /// builder keeps its results and the user chose no output, `--load` (or the probe's flags)
    /// in front of `passthrough`. Tags, context and Dockerfile describe the build for the
    /// routine's load decisions; stack.yaml's `build_args` are not added to a person's own
    /// command line.
    public var request: BuildRequest {
        BuildRequest(context: context ?? "", dockerfile: dockerfile, tags: tags, target: target, result: .image, passthrough: passthrough)
    }
}
