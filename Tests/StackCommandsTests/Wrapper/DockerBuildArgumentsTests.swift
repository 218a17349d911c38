import Testing
@testable import StackCommands

/// What the parser makes of each form the docker CLI's flag parser accepts. `passthrough` is
/// the list itself unless a `--builder NAME` was taken out.
struct DockerBuildArgumentsTests {
    struct Reading: Equatable, Sendable, CustomTestStringConvertible {
        var tags: [String] = []
        var context: String? = "."
        var dockerfile: String?
        var choseOutput = false
        var builder: String?
        var readsStdin = false
        var passthrough: [String]? = nil

        init(tags: [String] = [], context: String? = ".", dockerfile: String? = nil, choseOutput: Bool = false,
             builder: String? = nil, readsStdin: Bool = false, passthrough: [String]? = nil) {
            self.tags = tags
            self.context = context
            self.dockerfile = dockerfile
            self.choseOutput = choseOutput
            self.builder = builder
            self.readsStdin = readsStdin
            self.passthrough = passthrough
        }

        init(_ parsed: DockerBuildArguments) {
            self.init(tags: parsed.tags, context: parsed.context, dockerfile: parsed.dockerfile, choseOutput: parsed.choseOutput,
                      builder: parsed.builder, readsStdin: parsed.readsStdin,
                      passthrough: parsed.passthrough == parsed.original ? nil : parsed.passthrough)
        }

        var testDescription: String { "\(self)" }
    }

    @Test(arguments: [
        // Tags in the four forms, pflag's `-t=x`, repeated, in a group after a switch.
        (["-t", "x", "."], Reading(tags: ["x"])),
        (["-tx", "."], Reading(tags: ["x"])),
        (["--tag", "x", "."], Reading(tags: ["x"])),
        (["--tag=x", "."], Reading(tags: ["x"])),
        (["-t=x", "."], Reading(tags: ["x"])),
        (["-t", "a", "--tag=b", "-tc", "--tag", "reg:5000/d:1", "."], Reading(tags: ["a", "b", "c", "reg:5000/d:1"])),
        (["-qt", "x", "."], Reading(tags: ["x"])),
        (["-qtx", "."], Reading(tags: ["x"])),
        // A value is taken whatever it looks like; so a flag's value is never an output.
        (["-t", "-x", "."], Reading(tags: ["-x"])),
        (["--label", "-o", "."], Reading()),
        (["--build-arg", "--push", "."], Reading()),
        // Outputs in every form; --load/--push with a value count as chosen too.
        (["-o", "out", "."], Reading(choseOutput: true)),
        (["-oout", "."], Reading(choseOutput: true)),
        (["-o=type=tar,dest=-", "."], Reading(choseOutput: true)),
        (["--output", "type=local,dest=out", "."], Reading(choseOutput: true)),
        (["--output=type=registry", "."], Reading(choseOutput: true)),
        (["-qo", "out", "."], Reading(choseOutput: true)),
        (["--load", "."], Reading(choseOutput: true)),
        (["--load=false", "."], Reading(choseOutput: true)),
        (["--push", "."], Reading(choseOutput: true)),
        (["--push=true", "."], Reading(choseOutput: true)),
        // The user's builder is taken out, complete flags only; the last one counts.
        (["--builder", "b", "-t", "x", "."], Reading(tags: ["x"], builder: "b", passthrough: ["-t", "x", "."])),
        (["--builder=b", "."], Reading(builder: "b", passthrough: ["."])),
        (["--builder", "a", ".", "--builder=b"], Reading(builder: "b", passthrough: ["."])),
        ([".", "--builder"], Reading()),
        // Dockerfile and context on stdin, URLs, `--`, contexts among the flags.
        (["-f", "-", "."], Reading(dockerfile: "-", readsStdin: true)),
        (["-f-", "."], Reading(dockerfile: "-", readsStdin: true)),
        (["--file=Dockerfile.dev", "."], Reading(dockerfile: "Dockerfile.dev")),
        (["-t", "x", "-"], Reading(tags: ["x"], context: "-", readsStdin: true)),
        (["--", "-"], Reading(context: "-", readsStdin: true)),
        (["-t", "x", "--", "--odd-folder"], Reading(tags: ["x"], context: "--odd-folder")),
        ([".", "-t", "x"], Reading(tags: ["x"])),
        (["https://github.com/docker/buildx.git#v0.24.0", "-t", "x"], Reading(tags: ["x"], context: "https://github.com/docker/buildx.git#v0.24.0")),
        // Flags whose value could pass for the context.
        (["--platform", "linux/amd64", "--cache-from", "type=local,src=c", "-m", "1g", "-c", "512", "--ulimit", "nofile=1024", "."], Reading()),
        (["--no-cache", "--pull", "-q", "--rm=false", "."], Reading()),
        (["-t", "x"], Reading(tags: ["x"], context: nil)),
    ])
    func reads(arguments: [String], expected: Reading) {
        let parsed = DockerBuildArguments(arguments)
        #expect(Reading(parsed) == expected)
        #expect(parsed.original == arguments)
    }

    @Test func outputFilesAndHelpAreSeen() {
        let parsed = DockerBuildArguments(["--iidfile", "/t/iid", "--metadata-file=/t/m.json", "--target", "dev", "."])
        #expect(parsed.iidfile == "/t/iid")
        #expect(parsed.metadataFile == "/t/m.json")
        #expect(parsed.target == "dev")
        #expect(DockerBuildArguments(["--help"]).asksForHelp)
        #expect(DockerBuildArguments(["-qh"]).asksForHelp)
        #expect(!DockerBuildArguments(["--", "-h"]).asksForHelp)
    }

    @Test func requestKeepsTheUsersListAndDescribesTheBuild() {
        let parsed = DockerBuildArguments(["--builder", "b", "-t", "x:1", "-f", "Dockerfile.dev", "--target", "t", "--build-arg", "A=1", "ctx"])
        #expect(parsed.request == BuildRequest(
            context: "ctx", dockerfile: "Dockerfile.dev", tags: ["x:1"], target: "t", result: .image,
            passthrough: ["-t", "x:1", "-f", "Dockerfile.dev", "--target", "t", "--build-arg", "A=1", "ctx"]
        ))
    }

    // The rule behind `needsSingleBuild`: stdin can be read once, and the probe's own
    // --iidfile/--metadata-file would lose to the user's.
    @Test(arguments: [
        (["-t", "x", "."], false),
        (["-t", "x", "-"], true),
        (["-t", "x", "-f", "-", "."], true),
        (["--iidfile", "i", "."], true),
        (["--metadata-file", "m", "."], true),
    ])
    func singleBuildWhenStdinOrTheUsersIDFiles(arguments: [String], single: Bool) {
        #expect(DockerBuildArguments(arguments).needsSingleBuild == single)
    }
}
