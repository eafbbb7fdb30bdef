import Crypto
public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

extension Egov_Procedures_V1_Dossier {
    /// Whether `person` files and follows the dossier for the applicant: the applicant, or
    /// the representative who filed it online for them.
    func isApplicantSide(_ person: String) -> Bool {
        person == applicant || (channel == .online && !filedBy.isEmpty && person == filedBy)
    }
}

extension ProceduresService {
    public func submitDossier(
        request: Egov_Procedures_V1_SubmitDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        let procedureCode =
            request.parent.hasPrefix("procedures/") ? String(request.parent.dropFirst("procedures/".count)) : ""
        guard ProcedureCode.isValid(procedureCode) else {
            throw Self.errors.invalidArgument("INVALID_PROCEDURE_NAME", field: "parent", "must be procedures/{code}")
        }
        guard let procedure = try await procedures.procedure(code: procedureCode), procedure.state == .active else {
            throw Self.errors.notFound(
                "PROCEDURE_NOT_FOUND", resource: request.parent,
                "Procedure '\(request.parent)' is not in the catalogue.")
        }
        let input = request.dossier
        let user = RequestContext.current?.user
        var applicant = input.applicant
        var filedBy = ""
        // The reception point: the one asked for, or the procedure's first; at the desk, the
        // officer's own.
        let points = procedure.receivingAgencies
        var receivingAgency = input.agency.isEmpty ? points[0] : input.agency
        switch input.channel {
        case .online:
            // Online: citizens and businesses file for themselves, or for someone else as
            // their representative.
            try ProceduresPolicy.fileOnline.require(Self.errors, doing: "file online: citizens and businesses do")
            if let user {
                if applicant.isEmpty || applicant == user.sub {
                    applicant = user.sub
                } else {
                    filedBy = user.sub
                }
            }
        case .inPerson, .postal:
            // At the desk or by post: a reception officer of one of its reception points files it there.
            try ProceduresPolicy.fileAtDesk.require(
                points, Self.errors,
                doing: "record desk and postal filings: the procedure's reception points' officers do")
            if let user, let desk = user.agency {
                guard input.agency.isEmpty || input.agency == desk else {
                    throw Self.errors.invalidArgument(
                        "INVALID_RECEPTION_POINT", field: "dossier.agency",
                        "a desk or postal filing is received by your own agency, \(desk); leave it empty or name it")
                }
                receivingAgency = desk
                filedBy = user.sub
            }
        default:
            throw Self.errors.invalidArgument(
                "INVALID_DOSSIER", field: "dossier.channel",
                "must be CHANNEL_IN_PERSON, CHANNEL_ONLINE or CHANNEL_POSTAL")
        }
        guard points.contains(receivingAgency) else {
            throw Self.errors.invalidArgument(
                "INVALID_RECEPTION_POINT", field: "dossier.agency",
                "'\(Clip.text(receivingAgency, 80))' does not receive this procedure's dossiers; its reception points are \(points.joined(separator: ", "))"
            )
        }
        guard applicant.hasPrefix("people/"), applicant.count > 7, applicant.count <= 71 else {
            throw Self.errors.invalidArgument("INVALID_DOSSIER", field: "dossier.applicant", "must be people/{person}")
        }
        var applicantName = input.applicantName.trimmingCharacters(in: .whitespaces)
        if applicantName.count > 200 {
            throw Self.errors.invalidArgument(
                "INVALID_DOSSIER", field: "dossier.applicant_name", "at most 200 characters")
        }
        if input.channel == .online && !filedBy.isEmpty {
            // A representative names the applicant: it must be a citizen or business identity knows.
            guard let person = try await people.person(named: applicant), person.state == .active,
                person.kind != .official
            else {
                throw Self.errors.invalidArgument(
                    "APPLICANT_NOT_FOUND", field: "dossier.applicant",
                    "no active citizen or business '\(applicant)' is registered")
            }
            if applicantName.isEmpty { applicantName = person.displayName }
        }
        let received = try Self.receivedDocuments(input, procedure: procedure)
        let calendar = try await calendarAdjustments.calendar()
        // The code carries the receiving point's code: its desk numbers what it receives.
        let agencyCode = String(receivingAgency.dropFirst("agencies/".count))
        let receiver = receivingAgency
        // 16 base32 characters (80 bits): short enough to print and type, far too many to guess.
        let secret = Self.receiptSecret()
        var fingerprint = request
        fingerprint.dossier.applicant = applicant
        // Who files is part of the request: a retry by anyone else is a different request,
        // never a way to read the stored answer (and its secret).
        fingerprint.dossier.filedBy = filedBy
        let chosenApplicant = applicant
        let chosenName = applicantName
        let filer = filedBy
        // A retry gets the stored answer, secret included; nothing else ever shows the secret.
        return try await store.idempotentWrite(
            scope: "SubmitDossier", requestID: request.requestID, request: fingerprint, errors: Self.errors
        ) { tx in
            let now = clock()
            let (day, _) = WorkingDayCalendar.local(now)
            let stamp = String(format: "%02d%02d%02d", day.year % 100, day.month, day.day)
            let sequence = try await dossiers.nextSequence(agency: agencyCode, day: day.description, in: tx)
            guard sequence <= 9999 else {
                throw Self.errors.unavailable(
                    "DAILY_LIMIT", "The agency has received 9999 dossiers today; file again tomorrow.")
            }
            let code = "\(agencyCode)-\(stamp)-\(String(format: "%04d", sequence))"
            let dossier = Egov_Procedures_V1_Dossier.with {
                $0.name = "\(request.parent)/dossiers/\(code)"
                $0.code = code
                $0.procedure = request.parent
                $0.agency = receiver
                $0.decidingAgency = procedure.agency
                $0.applicant = chosenApplicant
                $0.applicantName = chosenName
                $0.filedBy = filer
                $0.channel = input.channel
                $0.receivedDocuments = received
                $0.status = .newlyRegistered
                $0.receiveTime = .init(date: now)
                $0.appointmentTime = .init(
                    date: calendar.appointment(receivedAt: now, workingDays: Int(procedure.processingDays)))
            }
            try await dossiers.insert(dossier, procedureCode: procedureCode, secret: String(secret), in: tx)
            try await tx.enqueue(
                topic: "procedures.dossier.submitted", key: dossier.name, payload: try dossier.serializedBytes())
            var answer = dossier
            answer.lookupSecret = String(secret)
            answer.etag = "1"
            return answer
        }
    }

    /// The secret printed on the receipt: 16 characters of the RFC 4648 base32 alphabet drawn
    /// from the system's cryptographic generator (80 bits), easy to type, far too many to guess.
    static func receiptSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }

    /// The papers received at the desk or by post, checked: titles, forms (by default the
    /// form the procedure asks for) and copies.
    static func receivedDocuments(
        _ input: Egov_Procedures_V1_Dossier, procedure: Egov_Procedures_V1_Procedure
    ) throws -> [Egov_Procedures_V1_ReceivedDocument] {
        guard !input.receivedDocuments.isEmpty else { return [] }
        let field = "dossier.received_documents"
        guard input.channel != .online else {
            throw errors.invalidArgument(
                "INVALID_DOSSIER", field: field, "online dossiers provide their documents as attachments")
        }
        guard input.receivedDocuments.count <= 50 else {
            throw errors.invalidArgument("INVALID_DOSSIER", field: field, "at most 50 documents")
        }
        return try input.receivedDocuments.enumerated().map { index, document in
            let title = document.title.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !title.isEmpty, title.count <= 500 else {
                throw errors.invalidArgument(
                    "INVALID_DOSSIER", field: "\(field)[\(index)].title", "1 to 500 characters")
            }
            guard (0...100).contains(document.quantity) else {
                throw errors.invalidArgument("INVALID_DOSSIER", field: "\(field)[\(index)].quantity", "0 to 100 copies")
            }
            guard Egov_Procedures_V1_DocumentForm.allCases.contains(document.form) else {
                throw errors.invalidArgument("INVALID_DOSSIER", field: "\(field)[\(index)].form", "unknown form")
            }
            let asked = procedure.requiredDocuments.first { $0.title == title }?.form ?? .original
            return .with {
                $0.title = title
                $0.form = document.form == .unspecified ? asked : document.form
                $0.quantity = max(1, document.quantity)
            }
        }
    }

    public func getDossier(
        request: Egov_Procedures_V1_GetDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        try await visibleDossier(request.name)
    }

    /// The dossier `name`, if the caller may see it: its applicant, the officials of the
    /// receiving and the deciding agency, platform tooling. Everyone else gets NOT_FOUND, as for a missing one.
    func visibleDossier(_ name: String) async throws -> Egov_Procedures_V1_Dossier {
        let request = Egov_Procedures_V1_GetDossierRequest.with { $0.name = name }
        let code = request.name.split(separator: "/").last.map(String.init) ?? ""
        guard request.name.hasPrefix("procedures/"), request.name.split(separator: "/").count == 4, !code.isEmpty else {
            throw Self.errors.invalidArgument(
                "INVALID_DOSSIER_NAME", field: "name", "must be procedures/{procedure}/dossiers/{code}")
        }
        let found = try await dossiers.dossier(code: code)
        let notFound = Self.errors.notFound(
            "DOSSIER_NOT_FOUND", resource: request.name, "Dossier '\(request.name)' does not exist.")
        // Someone who may not see it gets NOT_FOUND, as for a missing one; anonymous callers
        // are asked to sign in.
        if RequestContext.current?.user == nil {
            try ProceduresPolicy.readDossier.require(.init(), Self.errors, doing: "read dossiers")
        }
        guard let found, found.dossier.name == request.name, ProceduresPolicy.readDossier.allows(found.dossier) else {
            throw notFound
        }
        return found.dossier
    }

    public func lookupDossier(
        request: Egov_Procedures_V1_LookupDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_DossierProgress {
        let unknown = Self.errors.notFound(
            "DOSSIER_NOT_FOUND", resource: "dossiers", "No dossier has this code and secret; check the receipt.")
        guard request.code.count <= 40, request.secret.count <= 40,
            let found = try await dossiers.dossier(code: request.code)
        else {
            throw unknown
        }
        guard constantTimeEquals(DossierRepository.digest(request.secret.uppercased()).utf8, found.secretDigest.utf8)
        else {
            throw unknown
        }
        let procedureName =
            try await procedures.procedure(code: String(found.dossier.procedure.dropFirst("procedures/".count)))?
            .displayName ?? ""
        return .with {
            $0.code = found.dossier.code
            $0.procedureName = procedureName
            $0.status = found.dossier.status
            $0.receiveTime = found.dossier.receiveTime
            $0.appointmentTime = found.dossier.appointmentTime
        }
    }
}
