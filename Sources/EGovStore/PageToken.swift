import Crypto
public import EGovKit
import Foundation
public import SQLKit

/// Opaque `page_token`s for keyset pagination: the last key of the previous page, bound to
/// the list's filter so a token cannot be replayed against another query.
public enum PageToken {
    public static func encode(after key: String, filter: String) -> String {
        let text = "v1\n\(fingerprint(filter))\n\(key)"
        return Base64URL.encode(Data(text.utf8))
    }

    /// The key to continue after; nil for an empty token (the first page).
    public static func decode(_ token: String, filter: String, errors: ErrorBuilder) throws -> String? {
        guard !token.isEmpty else { return nil }
        guard let data = Base64URL.decode(token), let text = String(data: data, encoding: .utf8) else {
            throw errors.invalidArgument(
                "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
        }
        let parts = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1" else {
            throw errors.invalidArgument(
                "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
        }
        guard parts[1] == fingerprint(filter) else {
            throw errors.invalidArgument(
                "INVALID_PAGE_TOKEN", field: "page_token",
                "belongs to a list with other filters; start again without it")
        }
        return String(parts[2])
    }

    private static func fingerprint(_ filter: String) -> String {
        String(SHA256.hex(filter).prefix(12))
    }
}

/// The query for one page of a list ordered by a unique text key: rows after `after`
/// matching every `(column, value)` in `equals`, at most `limit`.
public func keysetPageQuery(
    table: String, key: String, after: String?, equals: [(column: String, value: SQLBind)],
    contains: (column: String, text: String)? = nil, like: (column: String, pattern: String)? = nil, limit: Int
) -> SQLQueryString {
    var query = SQLQueryString("SELECT * FROM \(unsafeRaw: table) WHERE \(unsafeRaw: key) > \(bind: after ?? "")")
    for (column, value) in equals {
        query.appendInterpolation(unsafeRaw: " AND \(column) = ")
        query.appendInterpolation(value)
    }
    // Every word of the (already folded) text must appear in the column.
    if let (column, text) = contains {
        for word in VietnameseText.fold(text).split(separator: " ").prefix(8) {
            let escaped = word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            query.appendInterpolation(unsafeRaw: " AND \(column) LIKE ")
            query.appendInterpolation(bind: "%\(escaped)%")
            query.appendInterpolation(unsafeRaw: " ESCAPE '\\'")
        }
    }
    if let (column, pattern) = like {
        query.appendInterpolation(unsafeRaw: " AND \(column) LIKE ")
        query.appendInterpolation(bind: pattern)
    }
    query.appendInterpolation(unsafeRaw: " ORDER BY \(key) LIMIT \(limit)")
    return query
}

extension PageToken {
    /// One page from `items` fetched with a limit of `size + 1`: the first `size`, and the
    /// token for the next page (empty on the last), made from the last item's `key`.
    public static func page<Item>(
        _ items: [Item], size: Int, filter: String, key: (Item) -> String
    ) -> (items: [Item], nextPageToken: String) {
        let page = Array(items.prefix(size))
        guard items.count > size, let last = page.last else { return (page, "") }
        return (page, encode(after: key(last), filter: filter))
    }
}

extension SQLQueryString {
    /// ` AND` the rows after `(value, id)` in a list ordered by `column`, then `id`: ascending
    /// (`column > value`, ties by `id >`) or descending (`<`). The keyset page condition of
    /// lists ordered by a time and broken by id.
    public mutating func appendKeyset(after key: (Int64, String), column: String, descending: Bool = false) {
        let sign = descending ? "<" : ">"
        appendInterpolation(unsafeRaw: " AND (\(column) \(sign) ")
        appendInterpolation(bind: key.0)
        appendInterpolation(unsafeRaw: " OR (\(column) = ")
        appendInterpolation(bind: key.0)
        appendInterpolation(unsafeRaw: " AND id \(sign) ")
        appendInterpolation(bind: key.1)
        appendLiteral("))")
    }
}
