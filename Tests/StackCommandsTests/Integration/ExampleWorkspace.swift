import Foundation

/// What the real-daemon suites share: a copy of the repository's workspace to run `stack` in,
/// and readers for what a run leaves behind (its timings and its end-of-run table).
extension TemporaryDirectory {
    /// A copy of the repository's stack.yaml and example/ as a clean clone has them (no build
    /// outputs), so tests never write into the checkout.
    static func example() throws -> TemporaryDirectory {
        let workspace = try TemporaryDirectory("stack-example")
        let root = StackProcess.packageRoot
        try FileManager.default.copyItem(at: root.appendingPathComponent("stack.yaml"), to: workspace.url.appendingPathComponent("stack.yaml"))
        try FileManager.default.copyItem(at: root.appendingPathComponent("example"), to: workspace.url.appendingPathComponent("example"))
        try? FileManager.default.removeItem(at: workspace.url.appendingPathComponent("example/zed-build"))
        let versions = workspace.url.appendingPathComponent("example/sandbox-images")
        for file in try FileManager.default.contentsOfDirectory(atPath: versions.path) where file.hasSuffix(".version") {
            try FileManager.default.removeItem(at: versions.appendingPathComponent(file))
        }
        return workspace
    }

    /// `.stack/timings.jsonl`, one dictionary per line.
    func timingRecords() throws -> [[String: Any]] {
        try read(".stack/timings.jsonl").split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// Every file and folder below the workspace, as relative paths.
    func tree() -> Set<String> {
        let prefix = url.standardizedFileURL.path + "/"
        let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)
        return Set((walker?.allObjects as? [URL] ?? []).map { String($0.standardizedFileURL.path.dropFirst(prefix.count)) })
    }
}

/// The rows of the table `stack` prints to stderr at the end of a run: phase → outcome.
func tableOutcomes(_ stderr: String) -> [String: String] {
    var outcomes: [String: String] = [:]
    for line in stderr.split(separator: "\n") {
        let columns = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard columns.count == 3 || columns.count == 4, columns[1] == "-" || Double(columns[1]) != nil else { continue }
        outcomes[columns[0]] = columns[2]
    }
    return outcomes
}
