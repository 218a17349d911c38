import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a phase's builds were all cache hits (`hot`) or built something (`cold`).
public enum CacheState: String, Codable, Equatable, Sendable {
    case cold
    case hot
}

public enum PhaseOutcome: String, Codable, Equatable, Sendable {
    case ok
    case failed
    case skipped
    case interrupted
    /// Never started because something it needed failed or the run was stopped.
    case notRun = "not-run"
}

/// One line of `.stack/timings.jsonl`: a phase of a run, or the whole run (`phase: "total"`).
public struct TimingRecord: Codable, Equatable, Sendable {
    public static let totalPhase = "total"

    public var run: String
    public var command: String
    public var phase: String
    public var start: Date
    public var seconds: Double
    public var outcome: PhaseOutcome
    public var builder: String?
    public var driver: String?
    /// How the phase's image reached the daemon; null for phases that build none.
    public var load: LoadPath?
    /// Whether the builder found every step in its cache (`hot`) or built some (`cold`);
    /// null when it could not be seen (docker's output went straight to a terminal).
    public var cache: CacheState?
    /// Why the phase's image was rebuilt: the first input that changed since the last recorded
    /// build ("context file src/main.go changed"), or why no fingerprint could be used.
    public var reason: String?

    public init(run: String, command: String, phase: String, start: Date, seconds: Double, outcome: PhaseOutcome,
                builder: String?, driver: String?, load: LoadPath? = nil, cache: CacheState? = nil, reason: String? = nil) {
        self.run = run
        self.command = command
        self.phase = phase
        self.start = start
        self.seconds = seconds
        self.outcome = outcome
        self.builder = builder
        self.driver = driver
        self.load = load
        self.cache = cache
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case run, command, phase, start, seconds, outcome, builder, driver, load, cache, reason
    }

    // Absent builder and driver are written as null so every line has the same keys.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(run, forKey: .run)
        try container.encode(command, forKey: .command)
        try container.encode(phase, forKey: .phase)
        try container.encode(start, forKey: .start)
        try container.encode((seconds * 1000).rounded() / 1000, forKey: .seconds)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(builder, forKey: .builder)
        try container.encode(driver, forKey: .driver)
        try container.encode(load, forKey: .load)
        try container.encode(cache, forKey: .cache)
        try container.encode(reason, forKey: .reason)
    }

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(TimingRecord.iso8601.string(from: date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = TimingRecord.iso8601.date(from: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time: \(text)"))
            }
            return date
        }
        return decoder
    }

    nonisolated(unsafe) static let iso8601: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}

/// The JSON Lines file. Writers take an exclusive `flock` on `FILE.lock` for the few
/// milliseconds they need, so runs that end at the same time never interleave partial lines
/// and trimming to the newest `keep` lines (a rewrite to a temporary file and a rename) never
/// loses a line another run appended meanwhile.
public struct TimingsLog: Sendable {
    public var file: URL
    public var keep: Int

    public init(file: URL, keep: Int = TimingsSettings.defaultKeep) {
        self.file = file
        self.keep = keep
    }

    public func append(_ records: [TimingRecord]) throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = TimingRecord.encoder()
        var lines = Data()
        for record in records {
            lines.append(try encoder.encode(record))
            lines.append(0x0A)
        }
        try locked {
            let descriptor = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw failure() }
            defer { close(descriptor) }
            let written = lines.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == lines.count else { throw failure() }
            try trim()
        }
    }

    /// Keeps the newest `keep` lines. Called with the lock held.
    private func trim() throws {
        guard let data = FileManager.default.contents(atPath: file.path) else { return }
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard lines.count > keep else { return }
        var kept = Data()
        for line in lines.suffix(keep) {
            kept.append(line)
            kept.append(0x0A)
        }
        try kept.write(to: file, options: .atomic)
    }

    private func locked(_ body: () throws -> Void) throws {
        let lock = open(file.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw failure() }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw failure() }
        }
        defer { flock(lock, LOCK_UN) }
        try body()
    }

    private func failure() -> TimingsLogError {
        TimingsLogError(path: file.path, reason: String(cString: strerror(errno)))
    }

    public func read() throws -> [TimingRecord] {
        guard let data = FileManager.default.contents(atPath: file.path) else { return [] }
        let decoder = TimingRecord.decoder()
        return try data.split(separator: 0x0A).map { try decoder.decode(TimingRecord.self, from: Data($0)) }
    }
}

public struct TimingsLogError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "cannot write timings to \(path): \(reason)" }
}
