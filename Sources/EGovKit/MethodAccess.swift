/// Who may call a method, as a service's policy table declares it for every RPC it serves.
/// `anyone` methods are the ones the gateway lets through without a token; for the others the
/// handler asks the rules named here, with the data they concern.
public enum MethodAccess: Sendable, Equatable {
    /// Public: anyone, signed in or not (reference data, the ways in).
    case anyone
    /// Judged in the handler by these rules of the service's policy (their names, for readers
    /// and the policy tests).
    case rules([String])
    /// Only platform processes acting for no user (named in the handler's check).
    case platformOnly
}
