import Crypto
public import EGovKit
import Foundation
public import SwiftProtobuf

extension Store {
    /// The stored response of an earlier call with `requestID` and the same request, or nil:
    /// for handlers whose checks before the write would refuse a retry (the state moved on),
    /// so a retry gets its first answer back instead. A different request under the same id
    /// is `REQUEST_ID_REUSED`.
    public func idempotentReplay<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message & Sendable>(
        scope: String, requestID: String, request: Request, as: Response.Type, errors: ErrorBuilder
    ) async throws -> Response? {
        guard !requestID.isEmpty, requestID.utf8.count <= 128 else { return nil }
        let digest = SHA256.hash(data: try request.serializedBytes() as [UInt8]).hex
        return try await read { db in
            guard
                let existing = try await db.row(
                    """
                    SELECT payload_sha256, response FROM idempotency_keys
                    WHERE scope = \(bind: scope) AND request_id = \(bind: requestID)
                    """),
                let stored = try existing.decode(column: "response", as: String?.self)
            else { return nil }
            guard try existing.decode(column: "payload_sha256", as: String.self) == digest else {
                throw errors.invalidArgument(
                    "REQUEST_ID_REUSED", field: "request_id",
                    "was already used for a different request; use a new request_id")
            }
            return try Response(serializedBytes: [UInt8](Data(base64Encoded: stored) ?? Data()))
        }
    }

    /// Runs a create at most once per `requestID` (AIP-155). The first call's response is
    /// stored in the same transaction as the change; a retry with the same id and the same
    /// request gets that response back; the same id with a different request is rejected
    /// with `INVALID_ARGUMENT` / `REQUEST_ID_REUSED`. An empty id runs `body` plainly.
    public func idempotentWrite<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message & Sendable>(
        scope: String,
        requestID: String,
        request: Request,
        errors: ErrorBuilder,
        _ body: (Transaction) async throws -> Response
    ) async throws -> Response {
        guard !requestID.isEmpty else { return try await write(body) }
        guard requestID.utf8.count <= 128, requestID.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw errors.invalidArgument(
                "INVALID_REQUEST_ID", field: "request_id", "must be at most 128 printable ASCII characters (a UUID)")
        }
        let digest = SHA256.hash(data: try request.serializedBytes() as [UInt8]).hex
        var attempt = 0
        while true {
            do {
                return try await write { tx in
                    if let existing = try await tx.database.row(
                        """
                        SELECT payload_sha256, response FROM idempotency_keys
                        WHERE scope = \(bind: scope) AND request_id = \(bind: requestID)
                        """)
                    {
                        guard try existing.decode(column: "payload_sha256", as: String.self) == digest else {
                            throw errors.invalidArgument(
                                "REQUEST_ID_REUSED", field: "request_id",
                                "was already used for a different request; use a new request_id")
                        }
                        let stored = try existing.decode(column: "response", as: String.self)
                        return try Response(serializedBytes: [UInt8](Data(base64Encoded: stored) ?? Data()))
                    }
                    try await tx.database.execute(
                        """
                        INSERT INTO idempotency_keys (scope, request_id, payload_sha256, response, create_time)
                        VALUES (\(bind: scope), \(bind: requestID), \(bind: digest), NULL, \(bind: tx.clock.micros))
                        """)
                    let response = try await body(tx)
                    let encoded = Data(try response.serializedBytes() as [UInt8]).base64EncodedString()
                    try await tx.database.execute(
                        """
                        UPDATE idempotency_keys SET response = \(bind: encoded)
                        WHERE scope = \(bind: scope) AND request_id = \(bind: requestID)
                        """)
                    return response
                }
            } catch  where attempt == 0 && Store.isUniqueViolation(error) {
                // A concurrent call with the same id committed first: read its result.
                attempt += 1
            }
        }
    }
}
