import Foundation

/// `${VAR}` and `${VAR:-default}` in the few stack.yaml values that differ per machine
/// (how to reach the sandbox, where the registry is), taken from the environment.
public enum EnvironmentExpansion {
    public static func expand(_ text: String, environment: [String: String]) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                result += rest[open.lowerBound...]
                return result
            }
            let body = rest[open.upperBound..<close]
            if let dash = body.range(of: ":-") {
                let value = environment[String(body[..<dash.lowerBound])] ?? ""
                result += value.isEmpty ? String(body[dash.upperBound...]) : value
            } else {
                result += environment[String(body)] ?? ""
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
