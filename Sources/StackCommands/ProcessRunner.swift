import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the real docker CLI with posix_spawn: an argv array, never a shell.
public struct SystemDockerRunner: DockerRunning {
    public let program: String
    public let executable: String
    public let environment: [String: String]
    let cancellator: Cancellator

    public init(program: String, executable: String, environment: [String: String], cancellator: Cancellator = .shared) {
        self.program = program
        self.executable = executable
        self.environment = environment
        self.cancellator = cancellator
    }

    /// `STACK_DOCKER` when set (a path, or a name looked up on PATH), else `docker` from PATH.
    public static func locate(environment: [String: String]) throws -> SystemDockerRunner {
        let configured = environment["STACK_DOCKER"].flatMap { $0.isEmpty ? nil : $0 }
        let wanted = configured ?? "docker"
        guard let executable = findExecutable(wanted, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            let source = configured == nil ? "no `docker` found on PATH" : "STACK_DOCKER=\(wanted) is not an executable file"
            throw StackError.dockerMissing(source)
        }
        return SystemDockerRunner(program: wanted, executable: executable, environment: environment)
    }

    static func findExecutable(_ name: String, path: String) -> String? {
        if name.contains("/") {
            return access(name, X_OK) == 0 ? name : nil
        }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var info = stat()
            if access(candidate, X_OK) == 0, stat(candidate, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
                return candidate
            }
        }
        return nil
    }

    public func stream(_ invocation: DockerInvocation) throws -> ProcessStatus {
        let pid = try spawn(invocation, outputPipes: nil)
        let status = wait(for: pid)
        try cancellator.throwIfInterrupted()
        return status
    }

    public func capture(_ invocation: DockerInvocation, timeout: Double?) throws -> CapturedOutput {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw StackError.dockerMissing("cannot create a pipe: \(String(cString: strerror(errno)))") }
        let pid: pid_t
        do {
            pid = try spawn(invocation, outputPipes: (out, err))
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { _ = close($0) }
            throw error
        }
        close(out[1])
        close(err[1])
        let (stdout, stderr, timedOut) = drain(out[0], err[0], pid: pid, timeout: timeout)
        close(out[0])
        close(err[0])
        let status = wait(for: pid)
        try cancellator.throwIfInterrupted()
        return CapturedOutput(status: timedOut ? .timedOut(seconds: timeout ?? 0) : status, stdout: stdout, stderr: stderr)
    }

    private func spawn(_ invocation: DockerInvocation, outputPipes: (out: [Int32], err: [Int32])?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let pipes = outputPipes {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, pipes.out[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipes.err[1], 2)
            for descriptor in [pipes.out[0], pipes.out[1], pipes.err[0], pipes.err[1]] {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // stack ignores SIGINT/SIGTERM itself (it handles them through the Cancellator);
        // the child must get the default handling back or Ctrl-C would not stop docker.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([program] + invocation.arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var merged = environment
        merged.merge(invocation.environment) { _, new in new }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }

        var pid = pid_t()
        let result = cancellator.spawning {
            let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            return (result, result == 0 ? pid : nil)
        }
        guard result == 0 else {
            throw StackError.dockerMissing("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    private func wait(for pid: pid_t) -> ProcessStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { break }
        }
        cancellator.finished(pid)
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// Reads both pipes to their end, killing the child if it outlives `timeout`.
    private func drain(_ outFD: Int32, _ errFD: Int32, pid: pid_t, timeout: Double?) -> (String, String, Bool) {
        var buffers = [Data(), Data()]
        var descriptors = [pollfd(fd: outFD, events: Int16(POLLIN), revents: 0), pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)]
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while descriptors.contains(where: { $0.fd >= 0 }) {
            var wait: Int32 = -1
            if let deadline {
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 {
                    timedOut = true
                    kill(pid, SIGKILL)
                    break
                }
                wait = Int32(min(remaining * 1000, 1000))
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), wait)
            if ready < 0 && errno != EINTR { break }
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = read(descriptors[index].fd, &chunk, chunk.count)
                if count > 0 {
                    buffers[index].append(contentsOf: chunk[0..<count])
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    descriptors[index].fd = -1
                }
            }
        }
        return (String(decoding: buffers[0], as: UTF8.self), String(decoding: buffers[1], as: UTF8.self), timedOut)
    }
}
