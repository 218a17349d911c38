import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the real docker CLI (and the standalone docker-compose) with posix_spawn: an argv
/// array, never a shell.
public struct SystemDockerRunner: DockerRunning {
    public let program: String
    public let executable: String
    public let composeProgram: String
    public let environment: [String: String]
    let cancellator: Cancellator

    public init(program: String, executable: String, environment: [String: String], cancellator: Cancellator = .shared) {
        self.program = program
        self.executable = executable
        self.composeProgram = environment["STACK_DOCKER_COMPOSE"].flatMap { $0.isEmpty ? nil : $0 } ?? "docker-compose"
        self.environment = environment
        self.cancellator = cancellator
    }

    /// `STACK_DOCKER` when set (a path, or a name looked up on PATH), else `docker` from PATH.
    /// A `docker` on PATH that is this stack (the wrapper: a symlink to the stack executable,
    /// or to the repository's `./stack` launcher, which says where it is in `STACK_LAUNCHER`)
    /// is passed over: running it would run stack again, for ever. `stackExecutable` is the
    /// executable's real path, nil where it cannot be told.
    public static func locate(environment: [String: String], stackExecutable stack: String? = currentExecutable) throws -> SystemDockerRunner {
        let configured = environment["STACK_DOCKER"].flatMap { $0.isEmpty ? nil : $0 }
        let wanted = configured ?? "docker"
        let selves = Set([stack, environment["STACK_LAUNCHER"].flatMap(realPath)].compactMap { $0 })
        if wanted.contains("/"), let resolved = realPath(wanted), selves.contains(resolved) {
            throw StackError.dockerMissing("STACK_DOCKER=\(wanted) is this stack executable (the `docker` wrapper), not the docker CLI")
        }
        guard let executable = findExecutable(wanted, path: environment["PATH"], skipping: selves) else {
            let onlyStack = findExecutable(wanted, path: environment["PATH"]) != nil
            let source = configured == nil ? "no `docker` found on PATH" : "STACK_DOCKER=\(wanted) is not an executable file"
            throw StackError.dockerMissing(source + (onlyStack ? " other than this stack (the `docker` wrapper)" : ""))
        }
        return SystemDockerRunner(program: wanted, executable: executable, environment: environment)
    }

    /// The first executable `name` on `path` whose real path is not one of `skipping`.
    static func findExecutable(_ name: String, path: String?, skipping: Set<String> = []) -> String? {
        if name.contains("/") {
            return access(name, X_OK) == 0 ? name : nil
        }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var info = stat()
            if access(candidate, X_OK) == 0, stat(candidate, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR,
               skipping.isEmpty || !skipping.contains(realPath(candidate) ?? candidate) {
                return candidate
            }
        }
        return nil
    }

    /// The real path of the running executable: on Linux `/proc/self/exe`, which names the
    /// binary itself however it was started (through a `docker` symlink, or by a bare name).
    public static let currentExecutable: String? = {
        #if os(Linux)
        realPath("/proc/self/exe")
        #else
        Bundle.main.executablePath.flatMap(realPath)
        #endif
    }()

    /// `path` with every symbolic link resolved; nil when it leads nowhere.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func executable(for tool: DockerInvocation.Tool) throws -> (path: String, argv0: String) {
        switch tool {
        case .docker:
            return (executable, program)
        case .composeV1:
            guard let path = Self.findExecutable(composeProgram, path: environment["PATH"]) else {
                throw StackError.dockerMissing("neither the docker CLI's `compose` plugin nor `\(composeProgram)` is installed")
            }
            return (path, composeProgram)
        }
    }

    public func stream(_ invocation: DockerInvocation, lines: (@Sendable (String) -> Void)?) throws -> ProcessStatus {
        guard let lines else {
            let pid = try spawn(invocation, output: nil)
            let status = wait(for: pid)
            try cancellator.throwIfInterrupted()
            return status
        }
        let merged = try makePipe()
        let pid: pid_t
        do {
            pid = try spawn(invocation, output: (merged, merged))
        } catch {
            merged.forEach { _ = close($0) }
            throw error
        }
        close(merged[1])
        var pending = Data()
        _ = drain([merged[0]], pid: pid, timeout: nil) { _, chunk in
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                lines(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        if !pending.isEmpty { lines(String(decoding: pending, as: UTF8.self)) }
        close(merged[0])
        let status = wait(for: pid)
        try cancellator.throwIfInterrupted()
        return status
    }

    public func capture(_ invocation: DockerInvocation, timeout: Double?) throws -> CapturedOutput {
        let out = try makePipe()
        let err: [Int32]
        do { err = try makePipe() } catch {
            out.forEach { _ = close($0) }
            throw error
        }
        let pid: pid_t
        do {
            pid = try spawn(invocation, output: (out, err))
        } catch {
            (out + err).forEach { _ = close($0) }
            throw error
        }
        close(out[1])
        close(err[1])
        var buffers = [Data(), Data()]
        let timedOut = drain([out[0], err[0]], pid: pid, timeout: timeout) { index, chunk in buffers[index].append(chunk) }
        close(out[0])
        close(err[0])
        let status = wait(for: pid)
        try cancellator.throwIfInterrupted()
        return CapturedOutput(
            status: timedOut ? .timedOut(seconds: timeout ?? 0) : status,
            stdout: String(decoding: buffers[0], as: UTF8.self),
            stderr: String(decoding: buffers[1], as: UTF8.self)
        )
    }

    public func replaceProcess(with invocation: DockerInvocation) -> Int32 {
        guard let (path, argv0) = try? executable(for: invocation.tool) else { return 127 }
        // stack ignores SIGINT and SIGTERM itself (the Cancellator handles them), and ignored
        // signals stay ignored across exec: docker gets the defaults back, as the runner's
        // children do, and an empty signal mask.
        for signalNumber in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT] { signal(signalNumber, SIG_DFL) }
        var noMask = sigset_t()
        sigemptyset(&noMask)
        sigprocmask(SIG_SETMASK, &noMask, nil)
        let argv = ([argv0] + invocation.arguments).map { strdup($0) } + [nil]
        let envp = environment.merging(invocation.environment) { _, new in new }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(path, argv, envp)
        (argv + envp).forEach { free($0) }
        return 126
    }

    private func makePipe() throws -> [Int32] {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else {
            throw StackError.dockerMissing("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        return descriptors
    }

    /// With `output` nil the child inherits stdin, stdout and stderr; otherwise stdin is
    /// /dev/null and stdout/stderr go to the write ends of the given pipes.
    private func spawn(_ invocation: DockerInvocation, output: (out: [Int32], err: [Int32])?) throws -> pid_t {
        let (path, argv0) = try executable(for: invocation.tool)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let pipes = output {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, pipes.out[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipes.err[1], 2)
            for descriptor in Set(pipes.out + pipes.err) {
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

        let argv = ([argv0] + invocation.arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var merged = environment
        merged.merge(invocation.environment) { _, new in new }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }

        var pid = pid_t()
        let result = cancellator.spawning {
            let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            return (result, result == 0 ? pid : nil)
        }
        guard result == 0 else {
            throw StackError.dockerMissing("cannot start \(path): \(String(cString: strerror(result)))")
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

    /// Reads the descriptors to their end, handing each chunk to `receive` with the index of
    /// its descriptor; kills the child and returns true if it outlives `timeout`.
    private func drain(_ descriptors: [Int32], pid: pid_t, timeout: Double?, receive: (Int, Data) -> Void) -> Bool {
        var polled = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while polled.contains(where: { $0.fd >= 0 }) {
            var wait: Int32 = -1
            if let deadline {
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 {
                    kill(pid, SIGKILL)
                    return true
                }
                wait = Int32(min(remaining * 1000, 1000))
            }
            let ready = poll(&polled, nfds_t(polled.count), wait)
            if ready < 0 && errno != EINTR { break }
            for index in polled.indices where polled[index].fd >= 0 && polled[index].revents != 0 {
                let count = read(polled[index].fd, &chunk, chunk.count)
                if count > 0 {
                    receive(index, Data(chunk[0..<count]))
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    polled[index].fd = -1
                }
            }
        }
        return false
    }
}
