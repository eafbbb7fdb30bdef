import EGovAPI
public import EGovKit

/// Who may do what in conferences: every rule the handlers ask, and every RPC's entry.
public enum ConferencesPolicy {
    /// Register and change an agency's bridge points (`agencies/{code}`): its administrators.
    static let manageBridgePoints = Rule<String> { user, agency in user.administers(agency) }

    /// Every RPC of `egov.conferences.v1.ConferencesService` and who may call it.
    public static let methods: [String: MethodAccess] = [
        "GetBridgePoint": .anyone, "ListBridgePoints": .anyone,
        "CreateBridgePoint": .rules(["manageBridgePoints"]),
    ]
}
