import EGovAPI
public import EGovKit

/// Who may do what in documents: every rule the handlers ask, and every RPC's entry.
public enum DocumentsPolicy {
    /// Draft, register and read an agency's documents (`agencies/{code}`): its officials.
    static let handleDocuments = Rule<String> { user, agency in user.worksAt(agency) }

    /// Every RPC of `egov.documents.v1.DocumentsService` and who may call it.
    public static let methods: [String: MethodAccess] = [
        "ListDocumentTypes": .anyone,
        "CreateDocument": .rules(["handleDocuments"]), "GetDocument": .rules(["handleDocuments"]),
        "ListDocuments": .rules(["handleDocuments"]),
    ]
}
