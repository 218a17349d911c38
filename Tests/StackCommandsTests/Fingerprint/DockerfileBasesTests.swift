import Foundation
import Testing
@testable import StackCommands

/// One Dockerfile, the build args it is built with, and what its references are.
struct BasesCase: Sendable, CustomTestStringConvertible {
    var label: String
    var dockerfile: String
    var buildArgs: [String: String] = [:]
    var stages: [DockerfileBases.Stage]
    var otherImages: [DockerfileBases.Source] = []
    var downloads: [String] = []

    var testDescription: String { label }
}

private let digest = "sha256:" + String(repeating: "ab", count: 32)

private func stage(_ name: String?, _ base: DockerfileBases.Source) -> DockerfileBases.Stage {
    DockerfileBases.Stage(name: name, base: base)
}

struct DockerfileBasesTests {
    static let cases: [BasesCase] = [
        BasesCase(label: "a tag", dockerfile: "FROM busybox:1.36\n", stages: [stage(nil, .tag("busybox:1.36"))]),
        BasesCase(label: "scratch", dockerfile: "FROM scratch\n", stages: [stage(nil, .scratch)]),
        BasesCase(label: "a digest", dockerfile: "FROM busybox@\(digest)\n", stages: [stage(nil, .pinned("busybox@\(digest)"))]),
        BasesCase(label: "a tag and a digest", dockerfile: "FROM busybox:1.36@\(digest)\n", stages: [stage(nil, .pinned("busybox:1.36@\(digest)"))]),
        BasesCase(label: "a digest too short", dockerfile: "FROM busybox@sha256:abc\n", stages: [stage(nil, .tag("busybox@sha256:abc"))]),
        BasesCase(
            label: "keywords and stage names in any case",
            dockerfile: "from golang:1.22 As Build\nFROM build\nCOPY --from=BUILD /out /out\n",
            stages: [stage("build", .tag("golang:1.22")), stage(nil, .stage("build"))]
        ),
        BasesCase(
            label: "ARG defaults, overridden by --build-arg",
            dockerfile: "ARG BASE=alpine\nARG VERSION=3.19\nFROM ${BASE}:$VERSION\n",
            buildArgs: ["VERSION": "3.20"],
            stages: [stage(nil, .tag("alpine:3.20"))]
        ),
        BasesCase(
            label: "${VAR:-default} with VAR unset",
            dockerfile: "ARG REGISTRY\nFROM ${REGISTRY:-docker.io}/library/busybox\n",
            stages: [stage(nil, .tag("docker.io/library/busybox"))]
        ),
        BasesCase(
            label: "${VAR:-default} with VAR given",
            dockerfile: "ARG REGISTRY\nFROM ${REGISTRY:-docker.io}/library/busybox\n",
            buildArgs: ["REGISTRY": "registry:5000"],
            stages: [stage(nil, .tag("registry:5000/library/busybox"))]
        ),
        BasesCase(
            // BuildKit only substitutes ARGs declared before the first FROM into FROM.
            label: "a build arg never declared before FROM",
            dockerfile: "FROM busybox:${TAG:-1.36}\n",
            buildArgs: ["TAG": "1.37"],
            stages: [stage(nil, .tag("busybox:1.36"))]
        ),
        BasesCase(label: "a quoted ARG value", dockerfile: "ARG IMAGE=\"busybox:1.36\"\nFROM $IMAGE\n", stages: [stage(nil, .tag("busybox:1.36"))]),
        BasesCase(
            label: "continuations, a comment inside, --platform",
            dockerfile: "FROM \\\n  # the build machine's platform\n  --platform=$BUILDPLATFORM \\\n  golang:1.22 \\\n  AS build\n",
            stages: [stage("build", .tag("golang:1.22"))]
        ),
        BasesCase(
            label: "the escape directive",
            dockerfile: "# escape=`\nFROM busybox `\n  AS b\n",
            stages: [stage("b", .tag("busybox"))]
        ),
        BasesCase(
            label: "a stage named later is an image",
            dockerfile: "FROM later\nFROM busybox AS later\n",
            stages: [stage(nil, .tag("later")), stage("later", .tag("busybox"))]
        ),
        BasesCase(
            label: "a heredoc body is not instructions",
            dockerfile: "FROM busybox\nRUN <<EOF\nFROM evil\nEOF\nCOPY <<-'END' /note\n\tFROM evil too\n\tEND\nFROM alpine\n",
            stages: [stage(nil, .tag("busybox")), stage(nil, .tag("alpine"))]
        ),
        BasesCase(
            label: "COPY --from and RUN --mount from= images",
            dockerfile: """
            FROM busybox AS one
            FROM busybox
            COPY --from=alpine:3.19 /etc/os-release /
            RUN --mount=type=bind,from=tools@\(digest),target=/t --mount=type=cache,target=/c true
            COPY --from=0 /a /b
            COPY --from=one /a /c

            """,
            stages: [stage("one", .tag("busybox")), stage(nil, .tag("busybox"))],
            otherImages: [.tag("alpine:3.19"), .pinned("tools@\(digest)")]
        ),
        BasesCase(
            label: "a stage's ARG in --from",
            dockerfile: "ARG TOOLS=alpine:3.19\nFROM busybox\nARG TOOLS\nCOPY --from=$TOOLS /x /y\n",
            stages: [stage(nil, .tag("busybox"))],
            otherImages: [.tag("alpine:3.19")]
        ),
        BasesCase(
            label: "ADD from the network",
            dockerfile: """
            FROM scratch
            ADD https://example.com/a.tgz /
            ADD --checksum=\(digest) https://example.com/b.tgz /
            ADD ["git@github.com:x/y.git", "/src"]
            ADD local.txt /

            """,
            stages: [stage(nil, .scratch)],
            downloads: ["https://example.com/a.tgz", "git@github.com:x/y.git"]
        ),
    ]

    @Test(arguments: cases)
    func classifiesEveryReference(_ row: BasesCase) throws {
        let bases = try DockerfileBases(parsing: row.dockerfile, buildArgs: row.buildArgs)
        #expect(bases.stages == row.stages)
        #expect(bases.otherImages == row.otherImages)
        #expect(bases.downloads == row.downloads)
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's own Dockerfiles: the base comes from the BUILDER_IMAGE build arg.
    @Test(arguments: [
        ("Dockerfile.zed-build", [:], [stage("build", .tag("busybox:1.36")), stage(nil, .scratch)]),
        ("Dockerfile.zed-build", ["BUILDER_IMAGE": "busybox@\(digest)"], [stage("build", .pinned("busybox@\(digest)")), stage(nil, .scratch)]),
        ("Dockerfile.sway-helix", [:], [stage(nil, .tag("busybox:1.36"))]),
        ("Dockerfile.ubuntu-helix", ["BUILDER_IMAGE": "local/busybox:offline"], [stage(nil, .tag("local/busybox:offline"))]),
    ] as [(String, [String: String], [DockerfileBases.Stage])])
    func readsTheExampleDockerfiles(file: String, buildArgs: [String: String], expected: [DockerfileBases.Stage]) throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("example/\(file)"), encoding: .utf8)
        let bases = try DockerfileBases(parsing: text, buildArgs: buildArgs)
        #expect(bases.stages == expected)
        // `COPY --from=build` names a stage, not an image.
        #expect(bases.otherImages.isEmpty)
    }

    @Test(arguments: [
        ("FROM\n", "line 1: FROM names no image"),
        ("ARG BASE\n\nFROM ${BASE}\n", "line 3: FROM ${BASE} names no image"),
        ("ARG A=x\nFROM ${A#x}\n", "line 2: `${A…}` uses a substitution"),
        ("FROM \"busybox\n", "line 1: a double quote is not closed"),
        ("ARG A\nFROM ${A:?give A}\n", "line 2: A: give A"),
    ])
    func refusesWhatItCannotResolve(dockerfile: String, problem: String) {
        #expect {
            try DockerfileBases(parsing: dockerfile)
        } throws: { error in
            (error as? FingerprintError)?.description.contains(problem) == true
        }
    }

    @Test func imagesListsEachReadImageOnce() throws {
        let bases = try DockerfileBases(parsing: "FROM busybox AS a\nFROM scratch\nCOPY --from=busybox /x /x\nCOPY --from=a /y /y\nFROM alpine@\(digest)\n")
        #expect(bases.images == [.tag("busybox"), .pinned("alpine@\(digest)")])
    }
}

/// Whether a fingerprint can be trusted for a Dockerfile on a given builder.
struct SafetyCase: Sendable, CustomTestStringConvertible {
    var label: String
    var dockerfile: String
    var builderSeesLocalImages = false
    var localImageIDs: [String: String] = [:]
    var trustUnpinnedTags = false
    var expected: FingerprintSafety

    var testDescription: String { label }
}

struct FingerprintSafetyTests {
    static let localID = "sha256:" + String(repeating: "1", count: 64)

    static let cases: [SafetyCase] = [
        SafetyCase(label: "scratch and stages only", dockerfile: "FROM scratch AS a\nFROM a\n", expected: .safe(bases: [:])),
        SafetyCase(label: "pinned by digest", dockerfile: "FROM busybox@\(digest)\n", expected: .safe(bases: ["busybox@\(digest)": digest])),
        SafetyCase(
            label: "a tag on a remote builder",
            dockerfile: "FROM busybox:1.36\n",
            localImageIDs: ["busybox:1.36": localID],
            expected: .unsafe("base busybox:1.36 is not pinned by digest, and a remote builder may resolve it to a newer image")
        ),
        SafetyCase(
            label: "a tag the local daemon has, on the docker driver",
            dockerfile: "FROM busybox:1.36\n",
            builderSeesLocalImages: true,
            localImageIDs: ["busybox:1.36": localID],
            expected: .safe(bases: ["busybox:1.36": localID])
        ),
        SafetyCase(
            label: "a tag the local daemon lacks, on the docker driver",
            dockerfile: "FROM busybox:1.36\n",
            builderSeesLocalImages: true,
            expected: .unsafe("base busybox:1.36 is not pinned by digest and is not in the local daemon, so the build would pull whatever it names now")
        ),
        SafetyCase(
            label: "a tag trusted on purpose",
            dockerfile: "FROM busybox:1.36\n",
            trustUnpinnedTags: true,
            expected: .safe(bases: ["busybox:1.36": DockerfileBases.trustedTag])
        ),
        SafetyCase(
            label: "an image COPY --from takes files from",
            dockerfile: "FROM busybox@\(digest)\nCOPY --from=alpine:3.19 /x /x\n",
            expected: .unsafe("base alpine:3.19 is not pinned by digest, and a remote builder may resolve it to a newer image")
        ),
        SafetyCase(
            label: "a download, even with tags trusted",
            dockerfile: "FROM scratch\nADD https://example.com/a.tgz /\n",
            trustUnpinnedTags: true,
            expected: .unsafe("ADD https://example.com/a.tgz fetches a file on every build without --checksum, so the fingerprint cannot see its content")
        ),
    ]

    @Test(arguments: cases)
    func decides(_ row: SafetyCase) throws {
        let bases = try DockerfileBases(parsing: row.dockerfile)
        let safety = bases.fingerprintSafety(builderSeesLocalImages: row.builderSeesLocalImages, localImageIDs: row.localImageIDs,
                                             trustUnpinnedTags: row.trustUnpinnedTags)
        #expect(safety == row.expected)
    }
}
