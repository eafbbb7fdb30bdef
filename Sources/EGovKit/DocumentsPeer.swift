public import EGovAPI
public import GRPCCore
public import GRPCNIOTransportHTTP2
import GRPCProtobuf
public import ServiceLifecycle

/// Official documents the other services issue through the documents service (a dossier's
/// result decision, a conference's invitation and minutes), always as the signed-in user:
/// the user's token goes with every call, and documents judges the user, not the service.
public protocol DocumentOffice: Sendable {
    /// Creates `document`, an outgoing draft, at `agency` (`agencies/{code}`); the same
    /// `requestID` again returns the first draft.
    func draft(_ document: Egov_Documents_V1_Document, at agency: String, requestID: String) async throws
        -> Egov_Documents_V1_Document
    /// The document `name` as the user may see it; nil when it does not exist for them.
    func document(named name: String) async throws -> Egov_Documents_V1_Document?
}

/// `DocumentOffice` over the documents service's client. Its refusals (the user may not
/// draft there, a field is wrong) reach the caller as documents gave them; an unreachable
/// documents service is UNAVAILABLE.
public struct DocumentsClient<Transport: ClientTransport>: DocumentOffice {
    let client: Egov_Documents_V1_DocumentsService.Client<Transport>
    let deadline: Duration

    public init(client: GRPCClient<Transport>, deadline: Duration) {
        self.client = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
        self.deadline = deadline
    }

    public func draft(_ document: Egov_Documents_V1_Document, at agency: String, requestID: String) async throws
        -> Egov_Documents_V1_Document
    {
        let options = RequestContext.callOptions(fallback: deadline)
        return try await passingOn {
            try await client.createDocument(
                .with {
                    $0.parent = agency; $0.document = document; $0.requestID = requestID
                }, options: options)
        }
    }

    public func document(named name: String) async throws -> Egov_Documents_V1_Document? {
        let options = RequestContext.callOptions(fallback: deadline)
        do {
            return try await passingOn { try await client.getDocument(.with { $0.name = name }, options: options) }
        } catch let error as RPCError where error.code == .notFound {
            return nil
        }
    }

    /// Runs `call`; a documents service that cannot be reached becomes UNAVAILABLE with our
    /// reason, its answers pass through.
    func passingOn<Result: Sendable>(_ call: () async throws -> Result) async throws -> Result {
        do {
            return try await call()
        } catch let error as RPCError where [.unavailable, .deadlineExceeded].contains(error.code) {
            throw ErrorBuilder(domain: "egov").unavailable(
                "DOCUMENTS_UNAVAILABLE", "The documents service could not be reached; try again.",
                metadata: ["upstream_code": "\(error.code)"])
        }
    }
}

extension ProcessEnvironment {
    /// The documents service as `peers.documents` names it, and the service that runs its
    /// client (add it to the process's background).
    public func documentsPeer() throws -> (office: DocumentsClient<HTTP2ClientTransport.Posix>, service: any Service) {
        let client = try peerClient("documents")
        return (DocumentsClient(client: client, deadline: settings.defaultDeadline), GRPCClientService(client: client))
    }
}
