import Foundation

/// Puts a temporary `.dockerignore` into a build context and afterwards puts the user's own
/// back byte for byte (it is moved aside, never rewritten), or removes ours if there was none.
/// The original waits beside it under a fixed name, so a run killed with SIGKILL is repaired
/// by the next run.
public struct DockerignoreSwap: Sendable {
    public var directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public var file: URL { directory.appendingPathComponent(".dockerignore") }
    public var backup: URL { directory.appendingPathComponent(".dockerignore.stack-original") }

    public func install(lines: [String]) throws {
        let files = FileManager.default
        if files.fileExists(atPath: backup.path) {
            // A previous run died before restoring: the backup is the user's file.
            try? files.removeItem(at: file)
            try files.moveItem(at: backup, to: file)
        }
        if files.fileExists(atPath: file.path) {
            try files.moveItem(at: file, to: backup)
        }
        let text = (["# Written by `stack build-zed` for the build; the original comes back afterwards."] + lines).joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: file, options: .atomic)
    }

    public func restore(console: Console) {
        let files = FileManager.default
        do {
            try? files.removeItem(at: file)
            if files.fileExists(atPath: backup.path) {
                try files.moveItem(at: backup, to: file)
            }
        } catch {
            console.info("warning: could not put \(file.path) back from \(backup.path): \(error.localizedDescription); move it back by hand.")
        }
    }
}
