import Foundation

/// Which files of a build context reach the builder, decided the way Docker decides it from a
/// `.dockerignore` file (moby/patternmatcher, as BuildKit uses it). A fingerprint must cover
/// exactly what a build can read: a file Docker ignores must not invalidate it, and a file
/// Docker sends must.
public struct Dockerignore: Equatable, Sendable {
    struct Rule: Equatable, Sendable {
        /// `!pattern`: re-includes what an earlier rule excluded.
        var exception: Bool
        var glob: Glob
    }

    let rules: [Rule]

    /// An ignore file's text. Throws on a pattern Docker rejects (a lone `!`, an unclosed `[`),
    /// naming the file and line: Docker would refuse to build with it too.
    public init(_ text: String, file: String = ".dockerignore") throws {
        var rules: [Rule] = []
        // Docker drops a UTF-8 byte order mark at the start of the file.
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        for (index, rawLine) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Only a `#` in the very first column starts a comment (it is checked before trimming).
            if rawLine.hasPrefix("#") { continue }
            var pattern = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if pattern.isEmpty { continue }
            let exception = pattern.hasPrefix("!")
            if exception { pattern = String(pattern.dropFirst()).trimmingCharacters(in: .whitespaces) }
            if !pattern.isEmpty {
                pattern = Self.clean(pattern)
                // The context's root is both `/` and the working folder: `/foo` means `foo`.
                if pattern.count > 1, pattern.hasPrefix("/") { pattern.removeFirst() }
            }
            guard !pattern.isEmpty else {
                throw FingerprintError("\(file):\(index + 1): `!` alone is not a valid pattern (Docker rejects it too)")
            }
            do throws(Glob.Invalid) {
                rules.append(Rule(exception: exception, glob: try Glob(pattern)))
            } catch {
                throw FingerprintError("\(file):\(index + 1): `\(pattern)` is not a valid pattern: \(error.reason) (Docker rejects it too)")
            }
        }
        self.rules = rules
    }

    /// The ignore file BuildKit applies when building `dockerfile` in `context`:
    /// `<Dockerfile>.dockerignore` beside the Dockerfile when it exists, else the context's
    /// `.dockerignore`, else nothing is ignored.
    public static func load(context: URL, dockerfile: URL) throws -> Dockerignore {
        let candidates = [
            URL(fileURLWithPath: dockerfile.path + ".dockerignore"),
            context.appendingPathComponent(".dockerignore"),
        ]
        for candidate in candidates {
            guard let data = FileManager.default.contents(atPath: candidate.path) else { continue }
            return try Dockerignore(String(decoding: data, as: UTF8.self), file: candidate.path)
        }
        return try Dockerignore("")
    }

    /// Whether `path` (relative to the context, `/`-separated, already clean) is left out of
    /// the context: the last rule that matches it or one of its parent folders decides.
    public func excludes(_ path: String) -> Bool {
        var verdict = Verdict.root(ruleCount: rules.count)
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            verdict = self.verdict(for: Array(prefix.unicodeScalars), parent: verdict)
        }
        return verdict.excluded
    }

    /// One path's result, kept so that its children are decided without re-matching every
    /// parent folder against every rule (a walk asks once per entry).
    struct Verdict {
        /// `matched[i]`: rule i matches this path or one of its parent folders.
        var matched: [Bool]
        var excluded: Bool

        static func root(ruleCount: Int) -> Verdict {
            Verdict(matched: Array(repeating: false, count: ruleCount), excluded: false)
        }
    }

    func verdict(for path: [Unicode.Scalar], parent: Verdict) -> Verdict {
        var result = parent
        result.excluded = false
        for (index, rule) in rules.enumerated() {
            if !result.matched[index] { result.matched[index] = rule.glob.matches(path) }
            if result.matched[index] { result.excluded = !rule.exception }
        }
        return result
    }

    /// Whether an excluded folder must still be walked because some exception could
    /// re-include a path below it (`build` then `!build/keep.txt`). Answering yes too often only
    /// costs a walk; answering no wrongly would drop files Docker sends.
    func mayReinclude(below directory: [Unicode.Scalar]) -> Bool {
        rules.contains { $0.exception && $0.glob.canMatch(below: directory) }
    }

    /// Go's `filepath.Clean` on a `/`-separated pattern: Docker cleans every pattern this way.
    static func clean(_ path: String) -> String {
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".":
                continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append(part)
                }
            default:
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

/// One cleaned `.dockerignore` pattern. Docker turns patterns into regular expressions
/// (`*` → `[^/]*`, `?` → `[^/]`, `**/` → `(.*/)?`, a final `**` → `.*`); matching those
/// tokens directly gives the same answers without a regex engine.
struct Glob: Equatable, Sendable {
    enum Token: Equatable, Sendable {
        case literal(Unicode.Scalar)
        /// `?`: one character other than `/`.
        case oneCharacter
        /// `*`: any run of characters other than `/`.
        case star
        /// `**/`: any number of whole leading folders, including none.
        case folders
        /// A final `**`: anything at all.
        case anything
        /// `[...]`, `[^...]`: Docker hands classes to Go's regexp, where they can match `/`.
        case characterClass(negated: Bool, ranges: [ClosedRange<Unicode.Scalar>])
    }

    struct Invalid: Error {
        var reason: String
    }

    let tokens: [Token]

    init(_ pattern: String) throws(Invalid) {
        let scalars = Array(pattern.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "*" where index + 1 < scalars.count && scalars[index + 1] == "*":
                let atStart = index == 0
                index += 2
                let slashFollows = index < scalars.count && scalars[index] == "/"
                if slashFollows { index += 1 }
                if index == scalars.count {
                    tokens.append(.anything)
                } else if atStart, !slashFollows, !scalars[index...].contains(where: { "*?[]\\".unicodeScalars.contains($0) }) {
                    // Docker's suffix match: `**foo` with nothing special after it is "ends with foo".
                    tokens.append(.anything)
                } else {
                    tokens.append(.folders)
                }
                continue
            case "*":
                tokens.append(.star)
            case "?":
                tokens.append(.oneCharacter)
            case "\\":
                guard index + 1 < scalars.count else { throw Invalid(reason: "it ends with an unescaped `\\`") }
                index += 1
                tokens.append(.literal(scalars[index]))
            case "[":
                index += 1
                tokens.append(try Self.characterClass(scalars, at: &index))
                continue
            default:
                tokens.append(.literal(scalar))
            }
            index += 1
        }
        self.tokens = tokens
    }

    /// Parses a class after its `[` with Go's `filepath.Match` rules, which Docker uses to
    /// reject bad patterns: `]` and `-` must be escaped inside, ranges must not be reversed.
    private static func characterClass(_ scalars: [Unicode.Scalar], at index: inout Int) throws(Invalid) -> Token {
        func member() throws(Invalid) -> Unicode.Scalar {
            guard index < scalars.count, scalars[index] != "-", scalars[index] != "]" else {
                throw Invalid(reason: "a character class is unclosed, empty or has an unescaped `-` or `]`")
            }
            if scalars[index] == "\\" {
                index += 1
                guard index < scalars.count else { throw Invalid(reason: "a character class is unclosed") }
            }
            defer { index += 1 }
            return scalars[index]
        }
        var negated = false
        if index < scalars.count, scalars[index] == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<Unicode.Scalar>] = []
        while true {
            if index < scalars.count, scalars[index] == "]", !ranges.isEmpty {
                index += 1
                return .characterClass(negated: negated, ranges: ranges)
            }
            let low = try member()
            var high = low
            if index < scalars.count, scalars[index] == "-" {
                index += 1
                high = try member()
            }
            guard low <= high else { throw Invalid(reason: "the range \(low)-\(high) is reversed") }
            ranges.append(low...high)
        }
    }

    func matches(_ path: [Unicode.Scalar]) -> Bool {
        var reachable = Array(repeating: false, count: path.count + 1)
        reachable[0] = true
        for token in tokens {
            reachable = advance(reachable, over: token, in: path)
            if !reachable.contains(true) { return false }
        }
        return reachable[path.count]
    }

    /// Whether the pattern could match some path below `directory`: it can consume
    /// `directory/` entirely and still has tokens left (or ends in `**`).
    func canMatch(below directory: [Unicode.Scalar]) -> Bool {
        let prefix = directory + ["/"]
        var reachable = Array(repeating: false, count: prefix.count + 1)
        reachable[0] = true
        for (index, token) in tokens.enumerated() {
            reachable = advance(reachable, over: token, in: prefix)
            if reachable[prefix.count], index + 1 < tokens.count || token == .anything { return true }
            if !reachable.contains(true) { return false }
        }
        return false
    }

    /// One step of matching: from every position the tokens so far can reach, where `token`
    /// can end. Linear in the path's length, so no pattern can make matching explode.
    private func advance(_ reachable: [Bool], over token: Token, in path: [Unicode.Scalar]) -> [Bool] {
        var next = Array(repeating: false, count: path.count + 1)
        switch token {
        case .literal(let scalar):
            for position in path.indices where reachable[position] && path[position] == scalar { next[position + 1] = true }
        case .oneCharacter:
            for position in path.indices where reachable[position] && path[position] != "/" { next[position + 1] = true }
        case let .characterClass(negated, ranges):
            for position in path.indices where reachable[position] {
                let scalar = path[position]
                if ranges.contains(where: { $0.contains(scalar) }) != negated { next[position + 1] = true }
            }
        case .star:
            var running = false
            for position in 0...path.count {
                running = running || reachable[position]
                next[position] = running
                if position < path.count, path[position] == "/" { running = false }
            }
        case .folders:
            var running = false
            for position in 0...path.count {
                if reachable[position] {
                    running = true
                    next[position] = true
                }
                if running, position < path.count, path[position] == "/" { next[position + 1] = true }
            }
        case .anything:
            if let first = reachable.firstIndex(of: true) {
                for position in first...path.count { next[position] = true }
            }
        }
        return next
    }
}
