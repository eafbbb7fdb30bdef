public import Foundation

/// How deep a JSON text nests, found without parsing it: checked before any parser that
/// recurses per level (JSONSerialization, JSONDecoder) sees input from outside.
public enum JSONNesting {
    /// The depth `json` reaches once it passes `limit`; nil when it stays within. A single
    /// pass that never recurses and keeps two counters, so it is safe on any bytes: it counts
    /// brackets outside strings and leaves checking the JSON to the parser that follows.
    public static func depth(of json: Data, over limit: Int) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > limit { return depth }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return nil
    }
}
