import Crypto
import Foundation
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// What a build context contributes to a fingerprint: every entry Docker would send (after
/// `.dockerignore`) by relative path, with a digest of what COPY can see of it — a regular
/// file's contents and executable bit, a symlink's target, a folder's existence.
///
/// Reading every byte of a large context on every run would cost more than the builder call
/// it is meant to save, so a file's content digest is reused while its size, modification
/// time (nanoseconds), inode and device are unchanged, from a JSON cache the caller places.
public struct ContextDigest: Sendable {
    public struct Entry: Equatable, Sendable {
        /// Relative to the context, `/`-separated.
        public var path: String
        public var digest: String
    }

    /// Sorted by the UTF-8 bytes of `path`, so the order never depends on the file system.
    public var entries: [Entry]
    /// One digest over every entry's path and digest.
    public var digest: String
    /// Files whose contents were read this time (the rest came from the cache).
    var contentsRead: Int
    /// Folders listed: shows that excluded folders were not walked.
    var foldersRead: Int

    /// A file modified this recently may be modified again within the file system's timestamp
    /// granularity without its stamp changing (git's "racily clean" problem), so its digest is
    /// not cached until it has been still for this long. 2 s covers FAT's coarsest clock.
    static let racyWindowNanoseconds: Int64 = 2_000_000_000

    /// Walks `context`, leaving out what `ignore` excludes. `cacheFile` (nil: no cache) is read
    /// and, when anything in it changed, rewritten atomically. Throws when an entry cannot be
    /// read or has a name that is not UTF-8: the caller then builds without a fingerprint.
    public init(context: URL, ignore: Dockerignore, cacheFile: URL?) throws {
        let root = context.standardizedFileURL.resolvingSymlinksInPath().path
        let cache = cacheFile?.standardizedFileURL.path
        let startedAt = Int64(Date().timeIntervalSince1970 * 1e9)
        let stored = cache.flatMap(DigestCache.read) ?? DigestCache()

        var walk = Walk(root: root, ignore: ignore)
        try walk.folder("", verdict: .root(ruleCount: ignore.rules.count))
        let found = walk.found.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }

        var contents: [Int: String] = [:]
        var toRead: [Int] = []
        for (index, item) in found.enumerated() {
            guard case .file(_, let stamp) = item.kind else { continue }
            if let cached = stored.files[root + "/" + item.path], cached.stamp == stamp {
                contents[index] = cached.sha256
            } else {
                toRead.append(index)
            }
        }
        let read = try Self.sha256(ofFiles: toRead.map { root + "/" + found[$0].path })
        var updates: [String: DigestCache.CachedFile] = [:]
        for (index, sha256) in zip(toRead, read) {
            contents[index] = sha256
            if case .file(_, let stamp) = found[index].kind, stamp.mtime < startedAt - Self.racyWindowNanoseconds {
                updates[root + "/" + found[index].path] = DigestCache.CachedFile(stamp: stamp, sha256: sha256)
            }
        }

        var overall = CanonicalHash()
        entries = found.enumerated().map { index, item in
            var hash = CanonicalHash()
            switch item.kind {
            case let .file(executable, _):
                hash.add(executable ? "executable file" : "file")
                hash.add(contents[index]!)
            case .symlink(let target):
                hash.add("symlink")
                hash.add(target)
            case .folder:
                hash.add("folder")
            case .special:
                hash.add("special file")
            }
            let entry = Entry(path: item.path, digest: hash.finalize())
            overall.add(entry.path)
            overall.add(entry.digest)
            return entry
        }
        digest = overall.finalize()
        contentsRead = toRead.count
        foldersRead = walk.foldersRead

        if let cache {
            let visited = Set(found.map { root + "/" + $0.path })
            let vanished = stored.files.keys.filter { path in
                var info = stat()
                return path.hasPrefix(root + "/") && !visited.contains(path) && lstat(path, &info) != 0
            }
            if !updates.isEmpty || !vanished.isEmpty {
                try DigestCache.merge(updates, removing: vanished, into: cache)
            }
        }
    }

    /// SHA-256 of each file's contents, read on every core: hashing, not the walk, is what
    /// costs time on a cold cache.
    static func sha256(ofFiles paths: [String]) throws -> [String] {
        final class Work: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var results: [Result<String, Error>?]
            init(count: Int) { results = Array(repeating: nil, count: count) }
            func take() -> Int? {
                lock.withLock {
                    defer { next += 1 }
                    return next < results.count ? next : nil
                }
            }
            func store(_ result: Result<String, Error>, at index: Int) { lock.withLock { results[index] = result } }
        }
        let work = Work(count: paths.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, paths.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
            defer { buffer.deallocate() }
            while let index = work.take() {
                work.store(Result { try sha256(ofFile: paths[index], buffer: buffer) }, at: index)
            }
        }
        return try work.results.map { try $0!.get() }
    }

    private static func sha256(ofFile path: String, buffer: UnsafeMutableRawBufferPointer) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FingerprintError.system("cannot open \(path)") }
        defer { close(descriptor) }
        var hasher = SHA256()
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FingerprintError.system("cannot read \(path)")
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        return CanonicalHash.hex(hasher.finalize())
    }
}

/// What identifies a file's contents without reading them.
struct FileStamp: Equatable, Sendable {
    var size: Int64
    /// Nanoseconds since 1970.
    var mtime: Int64
    var inode: UInt64
    var device: UInt64
}

/// The walk over a context: POSIX calls, because Foundation's enumerator stats every entry
/// again and cannot be told to skip a folder before listing it.
private struct Walk {
    struct Found {
        enum Kind {
            case file(executable: Bool, FileStamp)
            case symlink(String)
            case folder
            /// Sockets, FIFOs, devices: Docker sends them as they are, without contents.
            case special
        }

        var path: String
        var kind: Kind
    }

    let root: String
    let ignore: Dockerignore
    var found: [Found] = []
    var foldersRead = 0

    init(root: String, ignore: Dockerignore) {
        self.root = root
        self.ignore = ignore
    }

    mutating func folder(_ relative: String, verdict: Dockerignore.Verdict) throws {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        foldersRead += 1
        for name in try Self.names(in: absolute) {
            let path = relative.isEmpty ? name : relative + "/" + name
            let full = root + "/" + path
            var info = stat()
            guard lstat(full, &info) == 0 else { throw FingerprintError.system("cannot stat \(full)") }
            let childVerdict = ignore.verdict(for: Array(path.unicodeScalars), parent: verdict)
            let type = UInt32(info.st_mode) & 0o170000
            if childVerdict.excluded {
                if type == 0o040000, ignore.mayReinclude(below: Array(path.unicodeScalars)) {
                    try folder(path, verdict: childVerdict)
                }
                continue
            }
            switch type {
            case 0o040000:
                found.append(Found(path: path, kind: .folder))
                try folder(path, verdict: childVerdict)
            case 0o100000:
                found.append(Found(path: path, kind: .file(executable: UInt32(info.st_mode) & 0o111 != 0, Self.stamp(info))))
            case 0o120000:
                found.append(Found(path: path, kind: .symlink(try Self.target(of: full))))
            default:
                found.append(Found(path: path, kind: .special))
            }
        }
    }

    private static func names(in folder: String) throws -> [String] {
        guard let handle = opendir(folder) else { throw FingerprintError.system("cannot list \(folder)") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(bytes: bytes.prefix { $0 != 0 }, encoding: .utf8)
            }
            guard let name else {
                throw FingerprintError("\(folder) holds a file whose name is not UTF-8; rename it or exclude it in .dockerignore")
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    private static func target(of link: String) throws -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { readlink(link, $0.baseAddress!, $0.count - 1) }
        }
        guard count >= 0 else { throw FingerprintError.system("cannot read the symlink \(link)") }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    private static func stamp(_ info: stat) -> FileStamp {
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return FileStamp(
            size: Int64(info.st_size),
            mtime: Int64(modified.tv_sec) * 1_000_000_000 + Int64(modified.tv_nsec),
            inode: UInt64(info.st_ino),
            device: UInt64(truncatingIfNeeded: info.st_dev)
        )
    }
}

/// The content digests of files already read, by absolute path. Shared by every context of a
/// workspace (contexts nest: the desktops' context contains the Zed checkout's folder), so a
/// walk only forgets entries of its own tree whose files are gone.
private struct DigestCache: Codable {
    static let currentVersion = 1

    struct CachedFile: Codable {
        var size: Int64
        var mtime: Int64
        var inode: UInt64
        var device: UInt64
        var sha256: String

        init(stamp: FileStamp, sha256: String) {
            size = stamp.size
            mtime = stamp.mtime
            inode = stamp.inode
            device = stamp.device
            self.sha256 = sha256
        }

        var stamp: FileStamp { FileStamp(size: size, mtime: mtime, inode: inode, device: device) }
    }

    var version = DigestCache.currentVersion
    var files: [String: CachedFile] = [:]

    /// A missing, unreadable or older-format cache is an empty one: it only costs a re-read.
    static func read(_ path: String) -> DigestCache? {
        guard let data = FileManager.default.contents(atPath: path),
              let cache = try? JSONDecoder().decode(DigestCache.self, from: data),
              cache.version == currentVersion else { return nil }
        return cache
    }

    /// Applies this walk's changes to the file as it is now, not as it was when the walk
    /// began, so that a phase digesting another context at the same time keeps its entries;
    /// the rename makes a reader see the old file or the new one, never half of one.
    static func merge(_ updates: [String: CachedFile], removing vanished: [String], into path: String) throws {
        var cache = read(path) ?? DigestCache()
        for path in vanished { cache.files[path] = nil }
        cache.files.merge(updates) { _, new in new }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = path + ".\(getpid())-\(UUID().uuidString.prefix(8)).tmp"
        do {
            try JSONEncoder().encode(cache).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw FingerprintError.system("cannot rename \(temporary) to \(path)") }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}
