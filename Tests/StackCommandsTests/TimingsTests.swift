import Foundation
import Testing
@testable import StackCommands

struct TimingsTests {
    let start = Date(timeIntervalSince1970: 1_795_929_600.25) // 2026-11-29T05:20:00.250Z

    @Test func recordIsOneJSONLineWithEveryField() throws {
        let record = TimingRecord(run: "r1", command: "build-zed", phase: "zed:build", start: start, seconds: 12.34567,
                                  outcome: .ok, builder: "helix-shared", driver: "remote", load: .unchanged, cache: .hot)
        let json = String(decoding: try TimingRecord.encoder().encode(record), as: UTF8.self)
        #expect(json == #"{"builder":"helix-shared","cache":"hot","command":"build-zed","driver":"remote","load":"unchanged","outcome":"ok","phase":"zed:build","reason":null,"run":"r1","seconds":12.346,"start":"2026-11-29T05:20:00.250Z"}"#)
    }

    @Test func absentBuilderIsWrittenAsNull() throws {
        let record = TimingRecord(run: "r1", command: "build-zed", phase: "zed:check", start: start, seconds: 0, outcome: .notRun, builder: nil, driver: nil)
        let json = String(decoding: try TimingRecord.encoder().encode(record), as: UTF8.self)
        #expect(json.contains(#""builder":null"#) && json.contains(#""driver":null"#) && json.contains(#""outcome":"not-run""#))
    }

    @Test func appendedRecordsReadBack() throws {
        let directory = try TemporaryDirectory("timings")
        defer { directory.remove() }
        let log = TimingsLog(file: directory.url.appendingPathComponent(".stack/timings.jsonl"))
        let first = TimingRecord(run: "a", command: "build-zed", phase: "total", start: start, seconds: 1.5, outcome: .failed, builder: "local", driver: "embedded-buildkit")
        var second = first
        second.run = "b"
        try log.append([first])
        try log.append([second])
        #expect(try log.read() == [first, second])
    }

    @Test func concurrentAppendsNeverInterleaveLines() throws {
        let directory = try TemporaryDirectory("timings")
        defer { directory.remove() }
        let log = TimingsLog(file: directory.url.appendingPathComponent("t.jsonl"))
        let phase = String(repeating: "p", count: 3000)
        DispatchQueue.concurrentPerform(iterations: 16) { writer in
            let records = (0..<20).map { index in
                TimingRecord(run: "w\(writer)", command: "c", phase: "\(phase)\(index)", start: start, seconds: 1, outcome: .ok, builder: nil, driver: nil)
            }
            try? log.append(records)
        }
        let lines = try log.read()
        #expect(lines.count == 16 * 20)
        #expect(Set(lines.map { "\($0.run)/\($0.phase)" }).count == 16 * 20)
    }

    @Test func retentionKeepsTheNewestLinesUnderConcurrentAppends() throws {
        let directory = try TemporaryDirectory("timings")
        defer { directory.remove() }
        let log = TimingsLog(file: directory.url.appendingPathComponent("t.jsonl"), keep: 50)
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            for index in 0..<40 {
                let record = TimingRecord(run: "w\(writer)", command: "c", phase: "p\(index)", start: start, seconds: 1, outcome: .ok, builder: nil, driver: nil)
                try? log.append([record])
            }
        }
        let lines = try log.read()
        #expect(lines.count == 50)
        // Each writer's lines are in order, so what survives of a writer must be the end of its
        // sequence: a gap would mean a newer line was lost while an older one was kept.
        for writer in 0..<8 {
            let kept = lines.filter { $0.run == "w\(writer)" }.map { Int($0.phase.dropFirst())! }
            #expect(kept == Array((40 - kept.count)..<40), "writer \(writer) kept \(kept)")
        }
    }
}
