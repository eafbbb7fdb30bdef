import Crypto
import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
// CMS signing and verification are swift-certificates' own (the code SwiftPM signs packages
// with), published behind `@_spi(CMS)`: a kept library beats a hand-written ASN.1 encoder.
@_spi(CMS) @_spi(FixedExpiryValidationTime) import X509

/// Signs documents and checks their signatures. A certificate authority (the province's, or
/// in development the platform's dev CA) issues each signer and each agency a P-256 signing
/// certificate the first time they sign; certificates are kept in the store, their keys in
/// files readable by the service only. A signature is a detached CMS SignedData over the
/// document's canonical form, so `openssl cms -verify` with the CA certificate checks it.
struct DocumentSigner: Sendable {
    let caCertificate: Certificate
    let caKey: Certificate.PrivateKey
    /// Where the signing keys are kept (`<serial>.key`, PKCS #8, mode 0600).
    let keyDirectory: String
    let store: Store

    /// The signer of a process: from the CA files named, or nil when they do not exist (the
    /// process then plans documents but cannot sign them).
    static func load(caCertificate: String, caKey: String, keyDirectory: String, store: Store) throws
        -> DocumentSigner?
    {
        guard let certificate = FileManager.default.contents(atPath: caCertificate),
            let key = FileManager.default.contents(atPath: caKey)
        else { return nil }
        return DocumentSigner(
            caCertificate: try Certificate(pemEncoded: String(decoding: certificate, as: UTF8.self)),
            caKey: Certificate.PrivateKey(
                try P256.Signing.PrivateKey(pemRepresentation: String(decoding: key, as: UTF8.self))),
            keyDirectory: keyDirectory, store: store)
    }

    static let migrations = [
        Migration(
            "0003_signing_certificates",
            [
                """
                CREATE TABLE signing_certificates (
                    subject TEXT PRIMARY KEY,
                    serial TEXT NOT NULL,
                    certificate TEXT NOT NULL,
                    create_time BIGINT NOT NULL
                )
                """
            ])
    ]

    /// A signing certificate and its key.
    struct Credentials: Sendable {
        let certificate: Certificate
        let key: Certificate.PrivateKey
    }

    /// Signs `content` as `subject` (`people/{id}` or `agencies/{code}`) with `credentials`.
    static func sign(
        _ content: [UInt8], role: Egov_Documents_V1_DocumentSignature.Role, as subject: String,
        with credentials: Credentials, at time: Date
    ) throws -> Egov_Documents_V1_DocumentSignature {
        let (certificate, key) = (credentials.certificate, credentials.key)
        let cms = try CMS.sign(
            content, signatureAlgorithm: .ecdsaWithSHA256, certificate: certificate, privateKey: key, signingTime: time)
        return .with {
            $0.role = role
            $0.signer = subject
            $0.cms = Data(cms)
            $0.certificate = (try? certificate.serializeAsPEM().pemString) ?? ""
            $0.signTime = .init(date: time)
        }
    }

    /// The URI a signing certificate names its holder by, e.g. `urn:egov:people/123`.
    static func identity(of subject: String) -> String { "urn:egov:\(subject)" }

    /// Why `signature` is not a valid signature over `content` by the certificate our CA
    /// issued to `signature.signer`, or nil when it is.
    func problem(with signature: Egov_Documents_V1_DocumentSignature, over content: [UInt8]) async -> String? {
        let roots = CertificateStore([caCertificate])
        let time = signature.signTime.date
        let result = await CMS.isValidSignature(dataBytes: content, signatureBytes: signature.cms, trustRoots: roots) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        switch result {
        case .success(let valid):
            let names = (try? valid.signer.extensions.subjectAlternativeNames) ?? nil
            guard names?.contains(.uniformResourceIdentifier(Self.identity(of: signature.signer))) == true else {
                return "the certificate was not issued to \(signature.signer)"
            }
            return nil
        case .failure(let error): return "\(error)"
        }
    }

    /// The certificate and key of `subject`, issued now if it has none (or its key was lost).
    func credentials(_ subject: String, commonName: String, organization: String) async throws -> Credentials {
        if let row = try await store.read({ db in
            try await db.row("SELECT serial, certificate FROM signing_certificates WHERE subject = \(bind: subject)")
        }) {
            let serial = try row.decode(column: "serial", as: String.self)
            if let key = FileManager.default.contents(atPath: "\(keyDirectory)/\(serial).key") {
                return Credentials(
                    certificate: try Certificate(pemEncoded: try row.decode(column: "certificate", as: String.self)),
                    key: Certificate.PrivateKey(
                        try P256.Signing.PrivateKey(pemRepresentation: String(decoding: key, as: UTF8.self))))
            }
        }
        let key = P256.Signing.PrivateKey()
        let serial = Certificate.SerialNumber()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: serial, publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: min(now.addingTimeInterval(3 * 365 * 86_400), caCertificate.notValidAfter),
            issuer: caCertificate.subject,
            subject: try DistinguishedName {
                OrganizationName(organization)
                CommonName(commonName)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, nonRepudiation: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
                // Who the certificate speaks for, checked when a signature is verified.
                SubjectAlternativeNames([.uniformResourceIdentifier(Self.identity(of: subject))])
                AuthorityKeyIdentifier(
                    keyIdentifier: try caCertificate.extensions.subjectKeyIdentifier?.keyIdentifier
                        ?? SubjectKeyIdentifier(hash: caCertificate.publicKey).keyIdentifier)
            },
            issuerPrivateKey: caKey)
        let serialText = serial.bytes.map { String(format: "%02x", $0) }.joined()
        try FileManager.default.createDirectory(atPath: keyDirectory, withIntermediateDirectories: true)
        let path = "\(keyDirectory)/\(serialText).key"
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(key.pemRepresentation.utf8),
                attributes: [
                    .posixPermissions: 0o600
                ])
        else { throw StoreError("cannot write the signing key \(path)") }
        let pem = try certificate.serializeAsPEM().pemString
        try await store.write { tx in
            try await tx.database.execute(
                """
                INSERT INTO signing_certificates (subject, serial, certificate, create_time)
                VALUES (\(bind: subject), \(bind: serialText), \(bind: pem), \(bind: tx.clock.micros))
                ON CONFLICT (subject) DO UPDATE SET serial = excluded.serial, certificate = excluded.certificate,
                    create_time = excluded.create_time
                """)
        }
        return Credentials(certificate: certificate, key: Certificate.PrivateKey(key))
    }
}

/// The exact bytes a signature covers: the document's identity and content in a fixed
/// order, one `name: value` line each, the content and files by their SHA-256. The same for
/// the sender's document and every recipient's copy. The agency's form adds the number, the
/// promulgation time and the signer's signature, so it seals them too.
enum CanonicalForm {
    static func signer(_ document: Egov_Documents_V1_Document) -> [UInt8] {
        Array(lines(document).joined(separator: "\n").utf8) + [0x0A]
    }

    static func agency(_ document: Egov_Documents_V1_Document) -> [UInt8] {
        let signerSignature = document.signatures.first { $0.role == .signer }?.cms ?? Data()
        let promulgated =
            document.direction == .incoming ? document.promulgationTime.seconds : document.releaseTime.seconds
        let more = [
            "code: \(document.code)",
            "promulgation-time: \(promulgated)",
            "signer-signature-sha256: \(SHA256.hash(data: signerSignature).hex)",
        ]
        return Array((lines(document) + more).joined(separator: "\n").utf8) + [0x0A]
    }

    private static func lines(_ document: Egov_Documents_V1_Document) -> [String] {
        func text(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\r", with: "\\r")
        }
        let agency = document.direction == .incoming ? document.sender : document.agency
        return [
            "egov.documents.v1 canonical form 1",
            "agency: \(agency)",
            "document-type: \(document.documentType.rawValue)",
            "subject: \(text(document.subject))",
            "content-sha256: \(SHA256.hash(data: Data(document.content.utf8)).hex)",
            "urgency: \(document.urgency.rawValue)",
            "confidentiality: \(document.confidentiality.rawValue)",
            "recipients: \(document.recipients.joined(separator: ","))",
        ]
            + document.attachments.map {
                "attachment: \($0.sha256) \($0.sizeBytes) \($0.contentType) \(text($0.fileName))"
            } + [
                "signer: \(document.signer)",
                "signature-block: \(document.signatureBlock.map(text).joined(separator: " | "))",
            ]
    }
}
