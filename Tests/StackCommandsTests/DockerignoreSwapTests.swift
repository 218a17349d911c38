import Foundation
import Testing
@testable import StackCommands

struct DockerignoreSwapTests {
    @Test func usersFileComesBackByteForByte() throws {
        let directory = try TemporaryDirectory("ignore")
        defer { directory.remove() }
        let original = Data("node_modules\r\n# no newline at the end \u{00e9}".utf8)
        let file = directory.url.appendingPathComponent(".dockerignore")
        try original.write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        let swap = DockerignoreSwap(directory: directory.url)

        try swap.install(lines: ["target/"])
        #expect(try directory.read(".dockerignore").hasSuffix("target/\n"))
        swap.restore(console: RecordingConsole().console)

        #expect(try Data(contentsOf: file) == original)
        #expect((try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(!FileManager.default.fileExists(atPath: swap.backup.path))
    }

    @Test func oursIsRemovedWhenThereWasNone() throws {
        let directory = try TemporaryDirectory("ignore")
        defer { directory.remove() }
        let swap = DockerignoreSwap(directory: directory.url)
        try swap.install(lines: ["target/"])
        #expect(FileManager.default.fileExists(atPath: swap.file.path))
        swap.restore(console: RecordingConsole().console)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }

    @Test func aRunKilledBeforeRestoringIsRepairedByTheNext() throws {
        let directory = try TemporaryDirectory("ignore")
        defer { directory.remove() }
        try directory.write(".dockerignore", "mine\n")
        let swap = DockerignoreSwap(directory: directory.url)
        try swap.install(lines: ["first"])
        // No restore: the process was killed. The next run installs again, then restores.
        try swap.install(lines: ["second"])
        swap.restore(console: RecordingConsole().console)
        #expect(try directory.read(".dockerignore") == "mine\n")
    }
}
