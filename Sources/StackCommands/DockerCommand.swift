import ArgumentParser

/// `stack docker ARGS…`: the docker wrapper without installing it as `docker` (see
/// `DockerWrapper`). Every argument after `docker` is docker's, dashes and all.
public struct DockerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "docker",
        abstract: "Run a docker command line; builds go through the shared builder, everything else to the real docker.",
        discussion: """
        `docker build`/`docker buildx build` keep every argument as given; stack adds only \
        `--builder NAME` and, when the builder keeps its results and no output is given, `--load` \
        (or the smart probe's flags). `docker compose … build [SERVICE…]` builds each service \
        through the same routine. Any other command runs the real docker (STACK_DOCKER, else the \
        next `docker` on PATH that is not stack) with the same arguments and exit code. A symlink \
        named `docker` to stack, earlier on PATH, does the same for every plain `docker` call.
        """
    )

    @Argument(parsing: .captureForPassthrough, help: "docker's own arguments, passed on unchanged.")
    public var arguments: [String] = []

    public init() {}

    public func run() throws {
        throw ExitCode(DockerWrapper.run(arguments: arguments, world: .live()))
    }
}
