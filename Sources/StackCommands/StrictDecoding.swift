import Foundation

/// A key in stack.yaml that no setting reads. Codable ignores such keys; a typo in a
/// build file should not be ignored, so every configuration type decodes through
/// `strictContainer`.
struct UnknownKeyError: Error {
    var codingPath: [CodingKey]
    var key: String
    var known: [String]
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    func strictContainer<Key: CodingKey & CaseIterable>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let known = Key.allCases.map(\.stringValue)
        if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw UnknownKeyError(codingPath: codingPath, key: unknown.stringValue, known: known)
        }
        return try self.container(keyedBy: type)
    }
}
