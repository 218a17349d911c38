import Foundation

/// One recorded real command from Fixtures/ (copied verbatim from ../shared/fixtures).
/// Layout: line 1 `$ command`, line 2 `# env: …`, then the output, ended by the first
/// `# … exit code …: N` line, which holds the command's exit code.
struct Fixture {
    var command: String
    var output: String
    var exitCode: Int32

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// `name` is `buildx-v0.24.0/03-buildx-inspect-helix-shared-reachable` (no `.txt`).
    static func load(_ name: String) throws -> Fixture {
        let text = try String(contentsOf: directory.appendingPathComponent(name + ".txt"), encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        let command = String(lines.removeFirst().dropFirst(2))
        lines.removeFirst()
        var output: [String] = []
        var exitCode: Int32 = 0
        for line in lines {
            if line.hasPrefix("# "), line.contains("exit code") {
                exitCode = Int32(line.split(separator: " ").last.map(String.init) ?? "") ?? 0
                break
            }
            output.append(line)
        }
        return Fixture(command: command, output: output.joined(separator: "\n") + "\n", exitCode: exitCode)
    }

    /// What a later command of the same recording printed: the lines after a `--- HEADER`
    /// line, up to the next `--- ` or `# ` line (e.g. the iidfile's content after the build).
    static func recorded(_ name: String, after header: String) throws -> String {
        let text = try String(contentsOf: directory.appendingPathComponent(name + ".txt"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("--- " + header) }) else {
            throw FixtureSectionMissing(name: name, header: header)
        }
        return lines[(start + 1)...].prefix { !$0.hasPrefix("--- ") && !$0.hasPrefix("# ") }.joined(separator: "\n")
    }

    struct FixtureSectionMissing: Error {
        var name: String
        var header: String
    }
}
