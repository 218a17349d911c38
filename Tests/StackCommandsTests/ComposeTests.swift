import Foundation
import Testing
@testable import StackCommands

struct ComposeTests {
    /// What Debian's docker-compose 1.29.2 printed for example/docker-compose.yaml (`config`, YAML,
    /// profile services listed whatever the profiles, an unset value-less arg as '').
    static let v1Config = """
    services:
      api:
        build:
          context: /ws/example/api
          dockerfile: Dockerfile
          target: dev
        image: helix-api:latest
      demos:
        build:
          context: /ws/example/demos
        profiles:
        - demos
      frontend:
        build:
          args:
            APP_ENV: development
            GIT_SHA: ''
          context: /ws/example/frontend
          dockerfile: Dockerfile
      sandbox:
        command:
        - sleep
        - '86400'
        image: helix-sandbox:latest
    version: '3'
    """

    /// The shape `docker compose config --format json` (v2) prints: the project name, and
    /// args named without a value and not in the environment as null.
    static let v2Config = """
    {"name":"helix","services":{"api":{"build":{"context":"/ws/api","dockerfile":"Dockerfile.dev","args":{"TOKEN":null,"MODE":"dev"}},"image":"helix-api:latest"},"web":{"build":{"context":"/ws/web","dockerfile":"/elsewhere/Dockerfile"}}}}
    """

    @Test func v1ConfigYieldsBuildableServicesWithTheirProfiles() throws {
        let project = try ComposeProject.parse(Self.v1Config)
        #expect(project.name == nil)
        #expect(project.buildable.map(\.name) == ["api", "demos", "frontend"])
        #expect(project.services.first { $0.name == "demos" }?.profiles == ["demos"])
        #expect(project.buildable.filter { $0.isActive(with: []) }.map(\.name) == ["api", "frontend"])
        #expect(project.buildable.filter { $0.isActive(with: ["demos"]) }.map(\.name) == ["api", "demos", "frontend"])
    }

    @Test func serviceBecomesARequestWithComposesDefaultImageName() throws {
        let project = try ComposeProject.parse(Self.v1Config)
        let frontend = try #require(project.services.first { $0.name == "frontend" })
        #expect(frontend.buildRequest(project: "helix-example", environment: [:]) == BuildRequest(
            context: "/ws/example/frontend",
            dockerfile: "/ws/example/frontend/Dockerfile",
            tags: ["helix-example-frontend"],
            buildArgs: [BuildArgument(name: "APP_ENV", value: "development"), BuildArgument(name: "GIT_SHA", value: "")],
            result: .image
        ))
        let api = try #require(project.services.first { $0.name == "api" })
        #expect(api.buildRequest(project: "p", environment: [:])?.target == "dev")
        #expect(api.buildRequest(project: "p", environment: [:])?.tags == ["helix-api:latest"])
    }

    @Test func nullArgsComeFromTheEnvironmentOrAreLeftOut() throws {
        let project = try ComposeProject.parse(Self.v2Config)
        #expect(project.name == "helix")
        let api = try #require(project.services.first { $0.name == "api" })
        #expect(Set(api.buildRequest(project: "helix", environment: ["TOKEN": "t0k"])?.buildArgs ?? [])
                == [BuildArgument(name: "MODE", value: "dev"), BuildArgument(name: "TOKEN", value: "t0k")])
        #expect(api.buildRequest(project: "helix", environment: [:])?.buildArgs == [BuildArgument(name: "MODE", value: "dev")])
        let web = try #require(project.services.first { $0.name == "web" })
        #expect(web.buildRequest(project: "helix", environment: [:])?.dockerfile == "/elsewhere/Dockerfile")
        #expect(web.buildRequest(project: "helix", environment: [:])?.tags == ["helix-web"])
    }

    @Test(arguments: [(Compose.Flavor.plugin, DockerInvocation(["compose", "-f", "/ws/a.yaml", "-f", "/ws/b.yaml", "-p", "helix", "--profile", "demos", "config", "--format", "json"])),
                      (Compose.Flavor.standalone, DockerInvocation(["-f", "/ws/a.yaml", "-f", "/ws/b.yaml", "-p", "helix", "--profile", "demos", "config"], tool: .composeV1))])
    func configInvocationPerFlavor(flavor: Compose.Flavor, expected: DockerInvocation) {
        let compose = Compose(flavor: flavor, files: ["/ws/a.yaml", "/ws/b.yaml"], project: "helix", profiles: ["demos"])
        #expect(compose.configInvocation == expected)
    }

    @Test func profilesFromSwitchesAndEnvironment() {
        #expect(ServicesBuild.profiles(withRunner: false, withDemos: false, environment: [:]) == [])
        #expect(ServicesBuild.profiles(withRunner: true, withDemos: false, environment: ["WITH_DEMOS": "1"]) == ["runner", "demos"])
        #expect(ServicesBuild.profiles(withRunner: false, withDemos: false, environment: ["WITH_RUNNER": "0"]) == [])
    }

    @Test func defaultProjectNameIsTheFirstFilesFolder() {
        #expect(ComposeProject.defaultProjectName(firstFile: "/home/me/Helix.Dev/docker-compose.yaml") == "helixdev")
    }
}

struct SandboxPieceTests {
    @Test(arguments: [("helix-ubuntu:latest", "helix-ubuntu"), ("127.0.0.1:5000/team/helix-sway:1", "helix-sway"),
                      ("helix-x@sha256:abc", "helix-x"), ("plain", "plain")])
    func repositoryName(image: String, repository: String) {
        #expect(ImageReference.repository(image) == repository)
    }

    @Test func environmentExpansion() {
        let environment = ["HOST": "unix:///s.sock", "EMPTY": ""]
        #expect(EnvironmentExpansion.expand("${HOST}", environment: environment) == "unix:///s.sock")
        #expect(EnvironmentExpansion.expand("${MISSING:-127.0.0.1:5000}", environment: environment) == "127.0.0.1:5000")
        #expect(EnvironmentExpansion.expand("${EMPTY:-d}/x", environment: environment) == "d/x")
        #expect(EnvironmentExpansion.expand("a${MISSING}b ${HOST", environment: environment) == "ab ${HOST")
    }
}

struct SandboxPlanTests {
    static let workspace = Workspace(root: URL(fileURLWithPath: "/ws"), configuration: StackConfiguration(
        zed: ZedSettings(source: "zed", dockerfile: "Dockerfile.zed-build", output: "zed-build-missing-\(UUID().uuidString)"),
        compose: ComposeSettings(files: ["docker-compose.yaml"], project: "helix"),
        desktops: DesktopSettings(production: ["ubuntu", "sway"], dockerfiles: "desktops", context: "."),
        sandbox: SandboxSettings(dockerfile: "Dockerfile.sandbox", context: ".", nestedDocker: ["exec", "helix-sandbox", "docker"], registry: "127.0.0.1:5000")
    ))

    @Test func phasesAndDependenciesFollowTheOldScript() throws {
        let runner = ScriptedRunner([ScriptedRunner.exit(["compose", "version"], 1)])
        let phases = try SandboxBuild(workspace: Self.workspace, environment: ["EXPERIMENTAL_DESKTOPS": "xfce sway"]).phases(runner: runner)
        #expect(phases.map(\.name) == ["zed:check", "zed:build", "zed:verify", "desktop:ubuntu", "desktop:sway", "desktop:xfce",
                                       "sandbox:image", "sandbox:restart", "transfer:ubuntu", "transfer:sway", "transfer:xfce"])
        let needs = Dictionary(uniqueKeysWithValues: phases.map { ($0.name, $0.dependencies) })
        #expect(needs["desktop:sway"] == ["zed:verify"])
        #expect(needs["sandbox:image"] == ["desktop:ubuntu", "desktop:sway", "desktop:xfce"])
        #expect(needs["transfer:xfce"] == ["desktop:xfce", "sandbox:restart"])
        #expect(phases.filter { !$0.stopsRunOnFailure }.map(\.name) == ["transfer:ubuntu", "transfer:sway", "transfer:xfce"])
    }

    @Test func missingSectionIsAConfigurationError() {
        var workspace = Self.workspace
        workspace.configuration.sandbox = nil
        #expect(throws: StackError.configuration(file: "/ws/stack.yaml", keyPath: "sandbox", line: nil,
                                                 problem: "there is no `sandbox` section, which build-sandbox needs")) {
            try SandboxBuild(workspace: workspace, environment: [:]).phases(runner: ScriptedRunner([]))
        }
    }
}
