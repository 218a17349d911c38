import Foundation

/// The images a Dockerfile reads: its `FROM` bases, and the images `COPY --from` and
/// `RUN --mount=…,from=` take files from. A fingerprint is only worth trusting when each of them
/// is known exactly (scratch, a stage of the same file, a digest, or an image the builder takes
/// from the local daemon), so every reference is classified as BuildKit would resolve it:
/// global `ARG`s with their defaults and `--build-arg` overrides substituted, stage names
/// matched case-insensitively, and only earlier stages counted as stages.
public struct DockerfileBases: Equatable, Sendable {
    public enum Source: Hashable, Sendable {
        case scratch
        /// An earlier stage of the same Dockerfile: its name (lowercased, as BuildKit keeps it),
        /// or its index as written for `COPY --from=0`.
        case stage(String)
        /// A reference with `@sha256:<64 hex digits>`: it names one image for ever.
        case pinned(String)
        /// A reference by tag only: what it names can change from one day to the next.
        case tag(String)
    }

    public struct Stage: Equatable, Sendable {
        /// The `AS` name, lowercased; nil for an unnamed stage.
        public var name: String?
        public var base: Source
    }

    /// One per `FROM`, in order.
    public var stages: [Stage]
    /// Images named by `COPY --from` or `RUN --mount=…,from=` that are not stages, once each.
    public var otherImages: [Source]
    /// `ADD` sources fetched over the network without `--checksum`, as written: their content
    /// is outside both the context and the image store, so no fingerprint can cover it.
    public var downloads: [String]
    /// The context paths the build reads (`COPY`/`ADD` sources without `--from`, bind mounts
    /// without `from=`), as written after variable substitution; nil when it reads the whole
    /// context (a source of `.`, a bind mount of it) or the sources cannot be known.
    public var contextSources: [String]?

    /// Every pinned or tagged image the build reads, each once, in order of first appearance.
    public var images: [Source] {
        var seen = Set<Source>()
        return (stages.map(\.base) + otherImages).filter { source in
            switch source {
            case .pinned, .tag: return seen.insert(source).inserted
            case .scratch, .stage: return false
            }
        }
    }

    /// BuildKit's automatic platform ARGs: usable in `FROM` without being declared. They are
    /// only known here when the caller passes them in `buildArgs`.
    static let platformArguments: Set<String> = [
        "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
        "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    ]

    /// Parses `text` with `buildArgs` as `--build-arg` gives them. Throws on what BuildKit would
    /// also reject (a `FROM` naming no image, an unterminated quote or `${`) and on the
    /// substitutions it supports that this parser does not (`${VAR#pattern}` and the like).
    public init(parsing text: String, buildArgs: [String: String] = [:]) throws {
        let (instructions, escape) = Self.instructions(in: text)
        var stages: [Stage] = []
        var otherImages: [Source] = []
        var downloads: [String] = []
        var contextSources: [String]? = []
        // Global ARGs (before the first FROM) are the only variables FROM can use.
        var global = buildArgs.filter { Self.platformArguments.contains($0.key) }
        var declaredGlobally = Set<String>()
        // Variables of the current stage, for `--from` values and ADD sources.
        var local: [String: String] = [:]

        func note(_ reference: String, line: Int) throws {
            guard !stages.isEmpty else { throw FingerprintError("Dockerfile line \(line): `--from` before any FROM") }
            let source = Self.classify(reference, earlierStages: stages.dropLast(), allowIndex: true)
            if case .stage = source { return }
            if !otherImages.contains(source) { otherImages.append(source) }
        }

        for instruction in instructions {
            let words = Self.words(instruction.arguments, escape: escape)
            let flagCount = words.prefix { $0.hasPrefix("--") }.count
            let flagList = words.prefix(flagCount).map(Self.flag)
            let flags = Dictionary(flagList, uniquingKeysWith: { _, last in last })
            let globalExpander = Expander(variables: global, escape: escape, line: instruction.line)
            let localExpander = Expander(variables: local, escape: escape, line: instruction.line)

            switch instruction.keyword {
            case "ARG":
                for word in words {
                    let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let name = String(parts[0])
                    let declared = parts.count > 1 ? String(parts[1]) : nil
                    if stages.isEmpty {
                        declaredGlobally.insert(name)
                        global[name] = try buildArgs[name] ?? declared.map(globalExpander.expand)
                    } else if let declared {
                        local[name] = try buildArgs[name] ?? localExpander.expand(declared)
                    } else {
                        // A stage's `ARG NAME` without a value brings the global one into the stage.
                        local[name] = buildArgs[name] ?? (declaredGlobally.contains(name) ? global[name] : nil)
                    }
                }
            case "FROM":
                guard flagCount < words.count else { throw FingerprintError("Dockerfile line \(instruction.line): FROM names no image") }
                let written = words[flagCount]
                let image = try globalExpander.expand(written)
                guard !image.isEmpty else {
                    throw FingerprintError("Dockerfile line \(instruction.line): FROM \(written) names no image once the build args are substituted")
                }
                var name: String?
                if words.count >= flagCount + 3, words[flagCount + 1].lowercased() == "as" {
                    name = words[flagCount + 2].lowercased()
                }
                stages.append(Stage(name: name, base: Self.classify(image, earlierStages: stages[...], allowIndex: false)))
                local = [:]
            case "COPY", "ADD":
                if let from = flags["from"] { try note(localExpander.expand(from), line: instruction.line) }
                let operands = Array(words.dropFirst(flagCount))
                let jsonForm = (try? JSONDecoder().decode([String].self, from: Data(operands.joined(separator: " ").utf8)))
                let sources = try jsonForm.map { $0.dropLast() } ?? operands.dropLast().map(localExpander.expand)[...]
                if flags["from"] == nil, !instruction.arguments.contains("<<") {
                    contextSources = contextSources.map { $0 + sources.filter { !Self.isRemote($0) } }
                } else if instruction.arguments.contains("<<") {
                    contextSources = nil
                }
                guard instruction.keyword == "ADD", flags["checksum"] == nil else { continue }
                downloads += sources.filter(Self.isRemote)
            case "RUN":
                for (flag, value) in flagList where flag == "mount" {
                    let fields = value.split(separator: ",").map(String.init)
                    for field in fields where field.lowercased().hasPrefix("from=") {
                        try note(localExpander.expand(String(field.dropFirst(5))), line: instruction.line)
                    }
                    // A bind mount without `from=` reads the context: `source=` of it, or all of it.
                    let isBind = fields.contains { $0.lowercased() == "type=bind" } || !fields.contains { $0.lowercased().hasPrefix("type=") }
                    if isBind, !fields.contains(where: { $0.lowercased().hasPrefix("from=") }) {
                        let source = fields.first { $0.lowercased().hasPrefix("source=") || $0.lowercased().hasPrefix("src=") }
                            .map { String($0[$0.index(after: $0.firstIndex(of: "=")!)...]) } ?? "."
                        let expanded = try localExpander.expand(source)
                        contextSources = contextSources.map { $0 + [expanded] }
                    }
                }
            default:
                continue
            }
        }
        self.stages = stages
        self.otherImages = otherImages
        self.downloads = downloads
        let whole: Set<String> = [".", "./", "/", ""]
        self.contextSources = contextSources.flatMap { sources in sources.contains { whole.contains($0) } ? nil : sources }
    }

    /// `--name=value` as (lowercased name, value).
    private static func flag(_ word: String) -> (String, String) {
        let parts = word.dropFirst(2).split(separator: "=", maxSplits: 1)
        return (parts.first.map { $0.lowercased() } ?? "", parts.count > 1 ? String(parts[1]) : "")
    }

    static func classify(_ reference: String, earlierStages: ArraySlice<Stage>, allowIndex: Bool) -> Source {
        if allowIndex, let index = Int(reference), index >= 0, index < earlierStages.count { return .stage(reference) }
        let lowered = reference.lowercased()
        if earlierStages.contains(where: { $0.name == lowered }) { return .stage(lowered) }
        if reference == "scratch" { return .scratch }
        if let at = reference.range(of: "@sha256:", options: .backwards) {
            let hex = reference[at.upperBound...]
            if hex.count == 64, hex.allSatisfy({ "0123456789abcdef".contains($0) }) { return .pinned(reference) }
        }
        return .tag(reference)
    }

    /// What BuildKit fetches itself for ADD: URLs and git repositories.
    private static func isRemote(_ source: String) -> Bool {
        let lowered = source.lowercased()
        return ["http://", "https://", "git://", "git@", "ssh://", "github.com/"].contains { lowered.hasPrefix($0) }
    }

    // MARK: - Lines to instructions

    struct Instruction: Equatable {
        /// Uppercased: Dockerfile keywords are case-insensitive.
        var keyword: String
        var arguments: String
        /// Where the instruction starts, 1-based, for error messages.
        var line: Int
    }

    /// Joins continued lines, drops comments and blank lines, and skips heredoc bodies (whose
    /// lines could otherwise pass for instructions). Also returns the escape character, which
    /// the `# escape=` parser directive can change to a backtick.
    static func instructions(in text: String) -> ([Instruction], escape: Character) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.first?.hasPrefix("\u{FEFF}") == true { lines[0].removeFirst() }
        var escape: Character = "\\"
        var index = 0
        // Parser directives count only at the very top, before any other line.
        while index < lines.count, let (key, value) = directive(lines[index]) {
            if key == "escape", value == "`" { escape = "`" }
            index += 1
        }

        func isCommentOrBlank(_ line: String) -> Bool {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            return trimmed.isEmpty || trimmed.hasPrefix("#")
        }

        var instructions: [Instruction] = []
        while index < lines.count {
            if isCommentOrBlank(lines[index]) {
                index += 1
                continue
            }
            let start = index + 1
            var logical = ""
            while index < lines.count {
                var line = Substring(lines[index])
                index += 1
                let trimmed = line.reversed().drop { $0 == " " || $0 == "\t" }
                guard trimmed.first == escape else {
                    logical += line
                    break
                }
                line = line.prefix(trimmed.count - 1)
                logical += line
                // Comment and blank lines inside a continued instruction are dropped.
                while index < lines.count, isCommentOrBlank(lines[index]) { index += 1 }
            }
            let trimmed = logical.drop { $0 == " " || $0 == "\t" }
            let keyword = trimmed.prefix { $0 != " " && $0 != "\t" }
            let arguments = trimmed.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" }
            let instruction = Instruction(keyword: keyword.uppercased(), arguments: String(arguments), line: start)
            instructions.append(instruction)
            if ["RUN", "COPY", "ADD"].contains(instruction.keyword) {
                for (terminator, stripsTabs) in heredocs(in: instruction.arguments) {
                    while index < lines.count {
                        let line = stripsTabs ? String(lines[index].drop { $0 == "\t" }) : lines[index]
                        index += 1
                        if line == terminator { break }
                    }
                }
            }
        }
        return (instructions, escape)
    }

    /// `# key=value` at the top of the file, for the directives BuildKit knows.
    private static func directive(_ line: String) -> (String, String)? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { return nil }
        let key = trimmed[trimmed.index(after: trimmed.startIndex)..<equals].trimmingCharacters(in: .whitespaces).lowercased()
        guard ["syntax", "escape", "check"].contains(key) else { return nil }
        return (key, trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces))
    }

    /// The heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`) of an instruction, in order, with
    /// whether `-` lets the terminator be indented with tabs.
    private static func heredocs(in arguments: String) -> [(String, Bool)] {
        let characters = Array(arguments)
        var markers: [(String, Bool)] = []
        var index = 0
        while index + 1 < characters.count {
            guard characters[index] == "<", characters[index + 1] == "<", index == 0 || characters[index - 1] != "<" else {
                index += 1
                continue
            }
            index += 2
            let stripsTabs = index < characters.count && characters[index] == "-"
            if stripsTabs { index += 1 }
            let quote = index < characters.count && (characters[index] == "\"" || characters[index] == "'") ? characters[index] : nil
            if quote != nil { index += 1 }
            let word = String(characters[index...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            index += word.count
            if let quote {
                guard index < characters.count, characters[index] == quote else { continue }
                index += 1
            }
            if !word.isEmpty { markers.append((word, stripsTabs)) }
        }
        return markers
    }

    /// Splits arguments into words as BuildKit's shell lexer does (a space inside quotes or
    /// `${…}` does not split), keeping quotes and escapes in each word for `Expander`.
    static func words(_ text: String, escape: Character) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var openBraces = 0
        var characters = text.makeIterator()
        while let character = characters.next() {
            if let open = quote {
                current.append(character)
                if character == escape, open == "\"", let next = characters.next() {
                    current.append(next)
                } else if character == open {
                    quote = nil
                }
                continue
            }
            if character == " " || character == "\t", openBraces == 0 {
                if inWord { words.append(current) }
                current = ""
                inWord = false
                continue
            }
            inWord = true
            current.append(character)
            if character == escape, let next = characters.next() {
                current.append(next)
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "{", current.dropLast().last == "$" {
                openBraces += 1
            } else if character == "}", openBraces > 0 {
                openBraces -= 1
            }
        }
        if inWord { words.append(current) }
        return words
    }
}

/// Substitutes `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`
/// and `${VAR:?message}` in one word and removes its quotes, as BuildKit does; an unset
/// variable is empty. Single quotes keep `$` literal.
struct Expander {
    let variables: [String: String]
    let escape: Character
    let line: Int

    func expand(_ word: String) throws -> String {
        let characters = Array(word)
        var index = 0
        return try expand(characters, &index, until: nil)
    }

    private func fail(_ problem: String) -> FingerprintError {
        FingerprintError("Dockerfile line \(line): \(problem)")
    }

    private func expand(_ characters: [Character], _ index: inout Int, until terminator: Character?) throws -> String {
        var result = ""
        while index < characters.count {
            let character = characters[index]
            if character == terminator { return result }
            switch character {
            case escape:
                index += 1
                if index < characters.count {
                    result.append(characters[index])
                    index += 1
                } else {
                    result.append(character)
                }
            case "'":
                index += 1
                while index < characters.count, characters[index] != "'" {
                    result.append(characters[index])
                    index += 1
                }
                guard index < characters.count else { throw fail("a single quote is not closed") }
                index += 1
            case "\"":
                index += 1
                while index < characters.count, characters[index] != "\"" {
                    if characters[index] == escape, index + 1 < characters.count, ["\"", "$", escape].contains(characters[index + 1]) {
                        result.append(characters[index + 1])
                        index += 2
                    } else if characters[index] == "$" {
                        result += try variable(characters, &index)
                    } else {
                        result.append(characters[index])
                        index += 1
                    }
                }
                guard index < characters.count else { throw fail("a double quote is not closed") }
                index += 1
            case "$":
                result += try variable(characters, &index)
            default:
                result.append(character)
                index += 1
            }
        }
        if terminator != nil { throw fail("a `${` is not closed") }
        return result
    }

    /// From the `$` at `index`, past the variable's end.
    private func variable(_ characters: [Character], _ index: inout Int) throws -> String {
        index += 1
        func name() -> String {
            let name = String(characters[index...].prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            index += name.count
            return name
        }
        guard index < characters.count, characters[index] == "{" else {
            let plain = name()
            return plain.isEmpty ? "$" : variables[plain] ?? ""
        }
        index += 1
        let variable = name()
        guard !variable.isEmpty, index < characters.count else { throw fail("a `${` has no variable name") }
        if characters[index] == "}" {
            index += 1
            return variables[variable] ?? ""
        }
        let colon = characters[index] == ":"
        if colon { index += 1 }
        guard index < characters.count, let operation = ["-", "+", "?"].first(where: { $0 == characters[index] }) else {
            throw fail("`${\(variable)…}` uses a substitution this parser does not know")
        }
        index += 1
        let word = try expand(characters, &index, until: "}")
        index += 1
        let value = variables[variable]
        let isSet = colon ? !(value ?? "").isEmpty : value != nil
        switch operation {
        case "-":
            return isSet ? value ?? "" : word
        case "+":
            return isSet ? word : ""
        default:
            guard isSet else { throw fail("\(variable): \(word.isEmpty ? "is not set" : word)") }
            return value ?? ""
        }
    }
}
