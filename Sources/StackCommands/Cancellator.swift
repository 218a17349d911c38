import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes Ctrl-C and SIGTERM reach every docker child and lets `stack` clean up before it
/// exits: the first signal is forwarded to all running children and remembered; the run
/// then unwinds (restoring files, writing timings) and exits 130 or 143. Children that
/// ignore the signal are killed after a grace period.
public final class Cancellator: @unchecked Sendable {
    public static let shared = Cancellator()

    private let lock = NSLock()
    private var children: Set<pid_t> = []
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "stack.cancellator")
    let gracePeriod: Double

    init(gracePeriod: Double = 10) {
        self.gracePeriod = gracePeriod
    }

    /// Takes over SIGINT and SIGTERM for this process. Called once by the executable.
    public func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [weak self] in self?.handle(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    public var interruption: Int32? {
        lock.withLock { received }
    }

    public func throwIfInterrupted() throws {
        if let signal = interruption { throw StackError.interrupted(signal: signal) }
    }

    /// Registers the child under the lock that `handle` takes, so a signal arriving during
    /// the spawn still reaches the new child.
    func spawning(_ start: () -> (Int32, pid_t?)) -> Int32 {
        lock.withLock {
            let (result, pid) = start()
            if let pid {
                children.insert(pid)
                if let received { kill(pid, received) }
            }
            return result
        }
    }

    func finished(_ pid: pid_t) {
        lock.withLock { _ = children.remove(pid) }
    }

    func handle(_ signalNumber: Int32) {
        let targets: Set<pid_t> = lock.withLock {
            if received == nil { received = signalNumber }
            return children
        }
        for pid in targets { kill(pid, signalNumber) }
        queue.asyncAfter(deadline: .now() + gracePeriod) { [weak self] in
            guard let self else { return }
            let stubborn = self.lock.withLock { self.children.intersection(targets) }
            for pid in stubborn { kill(pid, SIGKILL) }
        }
    }
}
