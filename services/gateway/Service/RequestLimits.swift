/// The bounds the HTTP/JSON edge puts on what an anonymous caller may send, checked before
/// any parsing that could recurse or grow with the input. Each refusal names its limit.
public enum RequestLimits {
    /// Request line URIs (path and query) longer than this are refused.
    public static let maxURIBytes = 8192
    /// Query parameters in one request.
    public static let maxQueryParameters = 64
    /// Dotted parts of a field path (`a.b.c`): deeper than any message of the API.
    public static let maxFieldPathDepth = 8
    /// Nesting of objects and arrays in a JSON body: the API's deepest message needs 6.
    public static let maxJSONDepth = 32
    /// All request headers together, names and values.
    public static let maxHeaderBytes = 16 << 10
    /// Request bodies, like gRPC messages.
    public static let maxBodyBytes = 4 << 20
}
