import Foundation

/// Where `stack` talks to people: stdout for what a command produces (dry-run plans),
/// stderr for progress, warnings and the end-of-run table. Lines are written whole.
public final class Console: @unchecked Sendable {
    private let lock = NSLock()
    private let writeOut: (String) -> Void
    private let writeErr: (String) -> Void

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.writeOut = out
        self.writeErr = err
    }

    public static let standard = Console(
        out: { FileHandle.standardOutput.write(Data($0.utf8)) },
        err: { FileHandle.standardError.write(Data($0.utf8)) }
    )

    public func output(_ line: String) {
        lock.withLock { writeOut(line + "\n") }
    }

    public func info(_ line: String) {
        lock.withLock { writeErr(line + "\n") }
    }
}
