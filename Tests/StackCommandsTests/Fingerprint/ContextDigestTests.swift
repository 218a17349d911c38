import Foundation
import Testing
@testable import StackCommands

/// A small real context on disk: sources, an executable, a symlink, an empty folder, and
/// folders that `.dockerignore` excludes, one with an exception inside.
struct SampleContext {
    let directory: TemporaryDirectory
    let cacheFolder: TemporaryDirectory
    var url: URL { directory.url }
    var cacheFile: URL { cacheFolder.url.appendingPathComponent("files.json") }

    /// Files start an hour old: the digest cache only keeps files that have been still for a
    /// while (a file written in the same clock tick as its digest could change unnoticed).
    static let created = Date(timeIntervalSinceNow: -3600)

    init() throws {
        directory = try TemporaryDirectory("context")
        cacheFolder = try TemporaryDirectory("context-cache")
        try directory.write(".dockerignore", "build\n!build/keep.txt\nnode_modules\n")
        try directory.write("src/main.go", "package main\n")
        try directory.write("src/util.go", "package util\n")
        try directory.write("README.md", "# sample\n")
        try directory.write("run.sh", "#!/bin/sh\n", executable: true)
        try directory.write("build/out.o", "object\n")
        try directory.write("build/keep.txt", "kept\n")
        try directory.write("node_modules/pkg/index.js", "module.exports = 1\n")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.appendingPathComponent("link").path, withDestinationPath: "src/main.go")
        for path in try FileManager.default.subpathsOfDirectory(atPath: url.path) where !path.hasSuffix("link") {
            try setModified(path, to: Self.created)
        }
    }

    func remove() {
        directory.remove()
        cacheFolder.remove()
    }

    func digest() throws -> ContextDigest {
        try ContextDigest(context: url, ignore: Dockerignore.load(context: url, dockerfile: url.appendingPathComponent("Dockerfile")), cacheFile: cacheFile)
    }

    func setModified(_ path: String, to date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url.appendingPathComponent(path).path)
    }

    /// A same-size edit, stamped like an edit made a while ago, so that only the stamp
    /// (not the size) can reveal it.
    func edit(_ path: String) throws {
        let old = try directory.read(path)
        try directory.write(path, String(old.reversed()))
        try setModified(path, to: Self.created.addingTimeInterval(60))
    }
}

/// Changes made to the sample context between two digests.
enum ContextChange: Sendable, CustomTestStringConvertible {
    case edit(String)
    case add(String)
    case remove(String)
    case makeExecutable(String)
    case retarget(link: String, to: String)

    func apply(to context: SampleContext) throws {
        switch self {
        case .edit(let path):
            try context.edit(path)
        case .add(let path):
            try context.directory.write(path, "new\n")
        case .remove(let path):
            try FileManager.default.removeItem(at: context.url.appendingPathComponent(path))
        case .makeExecutable(let path):
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: context.url.appendingPathComponent(path).path)
        case let .retarget(link, target):
            try FileManager.default.removeItem(at: context.url.appendingPathComponent(link))
            try FileManager.default.createSymbolicLink(atPath: context.url.appendingPathComponent(link).path, withDestinationPath: target)
        }
    }

    var testDescription: String { "\(self)" }
}

struct ContextDigestTests {
    @Test func entriesAreWhatDockerSends() throws {
        let context = try SampleContext()
        defer { context.remove() }
        let digest = try context.digest()
        #expect(digest.entries.map(\.path) == [
            ".dockerignore", "README.md", "build/keep.txt", "empty", "link", "run.sh", "src", "src/main.go", "src/util.go",
        ])
        // The root, build (walked for its exception), empty and src; never node_modules.
        #expect(digest.foldersRead == 4)
    }

    @Test func anUnchangedContextIsNotReadAgainAndATouchOnlyRereadsThatFile() throws {
        let context = try SampleContext()
        defer { context.remove() }
        let cold = try context.digest()
        #expect(cold.contentsRead == 6)

        let warm = try context.digest()
        #expect(warm.contentsRead == 0)
        #expect(warm.digest == cold.digest)

        try context.setModified("src/main.go", to: SampleContext.created.addingTimeInterval(120))
        let touched = try context.digest()
        #expect(touched.contentsRead == 1)
        #expect(touched.digest == cold.digest)
    }

    @Test(arguments: [
        (ContextChange.edit("src/main.go"), "context file src/main.go changed"),
        (.add("src/new.go"), "context file src/new.go added"),
        (.remove("README.md"), "context file README.md removed"),
        (.makeExecutable("src/util.go"), "context file src/util.go changed"),
        (.retarget(link: "link", to: "src/util.go"), "context file link changed"),
        (.edit("build/keep.txt"), "context file build/keep.txt changed"),
        (.edit("build/out.o"), nil),
        (.edit("node_modules/pkg/index.js"), nil),
    ] as [(ContextChange, String?)])
    func aChangeIsNamedUnlessDockerIgnoresIt(change: ContextChange, expected: String?) throws {
        let context = try SampleContext()
        defer { context.remove() }
        let before = try context.digest()
        try change.apply(to: context)
        let after = try context.digest()

        #expect(FingerprintInput.firstChange(from: record(before), to: record(after)) == expected)
        #expect((after.digest == before.digest) == (expected == nil))
    }

    /// The desktops' context contains the Zed checkout, which it excludes, and the Zed build
    /// uses that checkout as its own context: digesting one must not evict the other's entries.
    @Test func nestedContextsShareTheCacheWithoutEvictingEachOther() throws {
        let context = try SampleContext()
        defer { context.remove() }
        let inner = context.url.appendingPathComponent("node_modules")
        let innerIgnore = try Dockerignore("")
        #expect(try ContextDigest(context: inner, ignore: innerIgnore, cacheFile: context.cacheFile).contentsRead == 1)
        _ = try context.digest()
        #expect(try ContextDigest(context: inner, ignore: innerIgnore, cacheFile: context.cacheFile).contentsRead == 0)
    }

    @Test func theCacheForgetsRemovedFilesAndIsReplacedWhole() throws {
        let context = try SampleContext()
        defer { context.remove() }
        _ = try context.digest()
        try FileManager.default.removeItem(at: context.url.appendingPathComponent("README.md"))
        _ = try context.digest()

        let cache = try String(contentsOf: context.cacheFile, encoding: .utf8)
        #expect(!cache.contains("README.md"))
        #expect(cache.contains("src\\/main.go") || cache.contains("src/main.go"))
        // Written to a temporary file and renamed: nothing else is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: context.cacheFolder.url.path) == ["files.json"])
    }

    @Test func aDamagedCacheOnlyCostsARead() throws {
        let context = try SampleContext()
        defer { context.remove() }
        let clean = try context.digest()
        try Data("{not json".utf8).write(to: context.cacheFile)
        let recovered = try context.digest()
        #expect(recovered.contentsRead == 6)
        #expect(recovered.digest == clean.digest)
        #expect(try context.digest().contentsRead == 0)
    }

    /// A file changed moments ago could change again within the same timestamp tick, so its
    /// digest is not cached yet: the next run reads it again.
    @Test func aJustWrittenFileIsReadAgainNextTime() throws {
        let context = try SampleContext()
        defer { context.remove() }
        _ = try context.digest()
        try context.directory.write("src/main.go", "package main // now\n")
        #expect(try context.digest().contentsRead == 1)
        #expect(try context.digest().contentsRead == 1)
    }

    /// Only the context differs between the two records, so the sentence is about it.
    private func record(_ context: ContextDigest) -> FingerprintInput.Record {
        FingerprintInput(contextEntries: context.entries, dockerfile: Data("FROM scratch\n".utf8), buildArgs: [], target: nil,
                         platform: nil, builder: BuilderChoice(backend: .embeddedBuildKit), bases: [:]).record()
    }

    /// Cold (every file read) against warm (every digest from the cache) on 5,000 files of
    /// about 100 MB in all. Prints the times; run with STACK_FINGERPRINT_BENCH=1.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["STACK_FINGERPRINT_BENCH"] != nil))
    func benchmark() throws {
        let context = try TemporaryDirectory("context-bench")
        let cacheFolder = try TemporaryDirectory("context-bench-cache")
        defer {
            context.remove()
            cacheFolder.remove()
        }
        let block = Data((0..<40_960).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var total = 0
        for index in 0..<5_000 {
            // 50 folders; sizes from 0 to 40 KiB, 20 KiB on average.
            let file = context.url.appendingPathComponent("dir\(index % 50)/file\(index).bin")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            var data = block.prefix((index * 7_919) % 40_961)
            data.append(UInt8(truncatingIfNeeded: index))
            total += data.count
            try data.write(to: file)
            try FileManager.default.setAttributes([.modificationDate: SampleContext.created], ofItemAtPath: file.path)
        }
        let cache = cacheFolder.url.appendingPathComponent("files.json")
        let ignore = try Dockerignore("")
        func timed(_ label: String) throws -> ContextDigest {
            let start = Date()
            let digest = try ContextDigest(context: context.url, ignore: ignore, cacheFile: cache)
            print("fingerprint benchmark: \(label): \(String(format: "%.3f", Date().timeIntervalSince(start))) s, \(digest.entries.count) entries, \(digest.contentsRead) files read, \(total / 1_000_000) MB")
            return digest
        }
        let cold = try timed("cold (no cache)")
        let warm = try timed("warm (cache hit)")
        let noCache = try ContextDigest(context: context.url, ignore: ignore, cacheFile: nil)
        #expect(warm.digest == cold.digest && noCache.digest == cold.digest)
    }
}
