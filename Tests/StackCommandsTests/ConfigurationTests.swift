import Foundation
import Testing
@testable import StackCommands

struct ConfigurationTests {
    func decode(_ yaml: String) throws -> StackConfiguration {
        try ConfigurationDecoder.decode(yaml, file: "/ws/stack.yaml")
    }

    func failure(_ yaml: String) -> StackError? {
        do {
            _ = try decode(yaml)
            return nil
        } catch {
            return error as? StackError
        }
    }

    @Test func fullFileDecodes() throws {
        let configuration = try decode("""
        builder:
          name: helix-shared
          required: false
          fallback: local
        build_args:
          TAG: "1"
          BASE: busybox:1.36
        timings:
          path: out/t.jsonl
        zed:
          source: ../zed
          dockerfile: Dockerfile.zed-build
          output: zed-build
          dockerignore: [target/]
        """)
        #expect(configuration.builder == BuilderSettings(name: "helix-shared", required: false, fallback: .local))
        #expect(configuration.buildArgs == [BuildArgument(name: "BASE", value: "busybox:1.36"), BuildArgument(name: "TAG", value: "1")])
        #expect(configuration.timings.path == "out/t.jsonl")
        #expect(configuration.zed == ZedSettings(source: "../zed", requiredCrate: "crates/zed", dockerfile: "Dockerfile.zed-build",
                                                 output: "zed-build", binary: "zed", dockerignore: ["target/"]))
    }

    @Test func emptyFileMeansDefaults() throws {
        let configuration = try decode("")
        #expect(configuration == StackConfiguration())
        #expect(configuration.builder.required && configuration.builder.fallback == .fail)
        #expect(configuration.timings.path == ".stack/timings.jsonl")
    }

    @Test func unknownKeyNamesKeyPathAndLine() {
        let error = failure("""
        builder:
          name: helix-shared
          fallbak: local
        """)
        #expect(error == .configuration(file: "/ws/stack.yaml", keyPath: "builder.fallbak", line: 3,
                                        problem: "unknown key `fallbak` (known here: name, required, fallback, endpoint)"))
        #expect(error?.exitCode == 78)
    }

    @Test func unknownTopLevelKey() {
        guard case let .configuration(_, keyPath, line, _)? = failure("zed_build: {}\n") else {
            Issue.record("expected a configuration error")
            return
        }
        #expect(keyPath == "zed_build" && line == 1)
    }

    @Test func wrongTypeNamesKeyPathLineAndWhatWasFound() {
        let error = failure("""
        # comment
        builder:
          required: sometimes
        """)
        #expect(error == .configuration(file: "/ws/stack.yaml", keyPath: "builder.required", line: 3,
                                        problem: "expected true or false, found `sometimes`"))
    }

    @Test func wrongTypeForAMapping() {
        guard case let .configuration(_, keyPath, line, problem)? = failure("timings: five\n") else {
            Issue.record("expected a configuration error")
            return
        }
        #expect(keyPath == "timings" && line == 1 && problem.contains("found `five`"))
    }

    @Test func missingRequiredKeyNamesItAndItsParentsLine() {
        let error = failure("""
        builder: {}
        zed:
          source: ../zed
          output: zed-build
        """)
        #expect(error == .configuration(file: "/ws/stack.yaml", keyPath: "zed.dockerfile", line: 2,
                                        problem: "missing required key `dockerfile`"))
    }

    @Test func invalidFallbackValue() {
        guard case let .configuration(_, keyPath, line, problem)? = failure("builder:\n  fallback: retry\n") else {
            Issue.record("expected a configuration error")
            return
        }
        #expect(keyPath == "builder.fallback" && line == 2 && problem == "expected fail or local, found `retry`")
    }

    @Test func yamlSyntaxErrorHasALine() {
        guard case let .configuration(_, _, line, problem)? = failure("builder:\n  name: [unclosed\n") else {
            Issue.record("expected a configuration error")
            return
        }
        #expect(line != nil && problem.hasPrefix("is not valid YAML"))
    }

    @Test func messageIsOneSentenceThatSaysWhatToDo() {
        let message = StackError.configuration(file: "/ws/stack.yaml", keyPath: "builder.required", line: 3, problem: "expected true or false, found `x`").message
        #expect(message == "/ws/stack.yaml:3: expected true or false, found `x` at `builder.required`; fix that line of stack.yaml (see the stack.yaml reference in README.md).")
    }

    @Test func workspaceIsFoundByWalkingUp() throws {
        let root = try TemporaryDirectory("ws")
        defer { root.remove() }
        try root.write("stack.yaml", "timings:\n  path: t.jsonl\n")
        try root.write("a/b/keep", "")
        let workspace = try Workspace.locate(explicit: nil, from: root.url.appendingPathComponent("a/b"))
        #expect(workspace.root.standardizedFileURL.path == root.url.standardizedFileURL.path)
        #expect(workspace.path("t.jsonl").path == root.url.appendingPathComponent("t.jsonl").standardizedFileURL.path)
    }

    @Test func explicitWorkspaceWithoutStackYamlIsAConfigurationError() throws {
        let root = try TemporaryDirectory("ws")
        defer { root.remove() }
        #expect(throws: StackError.configurationMissing(searchedFrom: root.url.standardizedFileURL.path)) {
            try Workspace.locate(explicit: root.url.path, from: URL(fileURLWithPath: "/"))
        }
    }
}
