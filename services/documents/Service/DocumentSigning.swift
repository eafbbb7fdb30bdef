import Crypto
import CryptoExtras
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
/// certificate the first time they sign; or the province imports the certificate (and key)
/// its own authority issued (`import-signing-certificate`), which then signs instead.
/// Certificates are kept in the store, their keys in files readable by the service only. A
/// signature is a detached CMS SignedData over the document's canonical form, so
/// `openssl cms -verify` with the CA certificate checks it.
struct DocumentSigner: Sendable {
    let caCertificate: Certificate
    /// Issues certificates on first use; without it only imported certificates sign.
    let caKey: Certificate.PrivateKey?
    /// Where the signing keys are kept (`<serial>.key`, PKCS #8, mode 0600).
    let keyDirectory: String
    let store: Store

    /// The signer of a process: from the CA files named, or nil when the CA certificate does
    /// not exist (the process then plans documents but cannot sign them). Without the CA's
    /// key, only imported certificates sign.
    static func load(caCertificate: String, caKey: String, keyDirectory: String, store: Store) throws
        -> DocumentSigner?
    {
        guard let certificate = FileManager.default.contents(atPath: caCertificate) else { return nil }
        let key = try FileManager.default.contents(atPath: caKey).map {
            try Certificate.PrivateKey(pemEncoded: String(decoding: $0, as: UTF8.self))
        }
        return DocumentSigner(
            caCertificate: try Certificate(pemEncoded: String(decoding: certificate, as: UTF8.self)), caKey: key,
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
            ]),
        // Certificates the province's authority issued, imported with their keys: they name
        // their holder in their own way, so the platform keeps who each one speaks for.
        Migration(
            "0007_imported_certificates",
            [
                """
                CREATE TABLE imported_certificates (
                    sha256 TEXT PRIMARY KEY,
                    subject TEXT NOT NULL,
                    certificate TEXT NOT NULL,
                    import_time BIGINT NOT NULL
                )
                """
            ]),
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
            content, signatureAlgorithm: algorithm(for: certificate.publicKey), certificate: certificate,
            privateKey: key, signingTime: time)
        return .with {
            $0.role = role
            $0.signer = subject
            $0.cms = Data(cms)
            $0.certificate = (try? certificate.serializeAsPEM().pemString) ?? ""
            $0.signTime = .init(date: time)
        }
    }

    /// The signature algorithm for a key: ECDSA with the curve's hash, RSA with SHA-256.
    static func algorithm(for key: Certificate.PublicKey) -> Certificate.SignatureAlgorithm {
        if P256.Signing.PublicKey(key) != nil { return .ecdsaWithSHA256 }
        if P384.Signing.PublicKey(key) != nil { return .ecdsaWithSHA384 }
        if P521.Signing.PublicKey(key) != nil { return .ecdsaWithSHA512 }
        return .sha256WithRSAEncryption
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
            if names?.contains(.uniformResourceIdentifier(Self.identity(of: signature.signer))) == true { return nil }
            // An imported certificate speaks for whom it was imported for.
            if let der = try? valid.signer.serializeAsPEM().derBytes,
                (try? await importedSubject(sha256: SHA256.hash(data: der).hex)) == signature.signer
            {
                return nil
            }
            return "the certificate was not issued to \(signature.signer)"
        case .failure(let error): return "\(error)"
        }
    }

    func importedSubject(sha256: String) async throws -> String? {
        try await store.read { db in
            try await db.row("SELECT subject FROM imported_certificates WHERE sha256 = \(bind: sha256)")
        }?.decode(column: "subject", as: String.self)
    }

    /// The certificate and key of `subject`, issued now if it has none (or its key was lost)
    /// and this installation issues certificates; FAILED_PRECONDITION otherwise.
    func credentials(_ subject: String, commonName: String, organization: String) async throws -> Credentials {
        if let row = try await store.read({ db in
            try await db.row("SELECT serial, certificate FROM signing_certificates WHERE subject = \(bind: subject)")
        }) {
            let serial = try row.decode(column: "serial", as: String.self)
            let certificate = try Certificate(pemEncoded: try row.decode(column: "certificate", as: String.self))
            let key = FileManager.default.contents(atPath: "\(keyDirectory)/\(serial).key")
            // Past its end a certificate is replaced: issued anew, or the new one imported.
            if let key, certificate.notValidAfter > Date() {
                return Credentials(
                    certificate: certificate,
                    key: try Certificate.PrivateKey(pemEncoded: String(decoding: key, as: UTF8.self)))
            }
            // An imported certificate whose key cannot be read is an operator's to mend; issuing
            // another would silently replace the one the province's authority issued.
            let der = try certificate.serializeAsPEM().derBytes
            if key == nil, try await importedSubject(sha256: SHA256.hash(data: der).hex) == subject {
                throw DocumentsService.errors.failedPrecondition(
                    "SIGNING_KEY_UNREADABLE",
                    "The signing key imported for \(subject) cannot be read (\(keyDirectory)/\(serial).key); "
                        + "an operator restores it or imports the certificate again.",
                    metadata: ["subject": subject])
            }
        }
        guard let caKey else {
            throw DocumentsService.errors.failedPrecondition(
                "SIGNING_CERTIFICATE_MISSING",
                "\(subject) has no valid signing certificate; the province imports the one its certificate "
                    + "authority issued (egov-documents import-signing-certificate).",
                metadata: ["subject": subject])
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
            signatureAlgorithm: Self.algorithm(for: caCertificate.publicKey),
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
        let credentials = Credentials(certificate: certificate, key: Certificate.PrivateKey(key))
        try await keep(credentials, keyPEM: key.pemRepresentation, for: subject) { _ in }
        return credentials
    }

    /// Writes the key (mode 0600, named by the certificate's serial) and makes `credentials`
    /// `subject`'s, with `more` in the same transaction.
    private func keep(
        _ credentials: Credentials, keyPEM: String, for subject: String,
        _ more: (Transaction) async throws -> Void
    ) async throws {
        let serialText = credentials.certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
        try FileManager.default.createDirectory(atPath: keyDirectory, withIntermediateDirectories: true)
        let path = "\(keyDirectory)/\(serialText).key"
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(keyPEM.utf8),
                attributes: [
                    .posixPermissions: 0o600
                ])
        else { throw StoreError("cannot write the signing key \(path)") }
        let pem = try credentials.certificate.serializeAsPEM().pemString
        try await store.write { tx in
            try await tx.database.execute(
                """
                INSERT INTO signing_certificates (subject, serial, certificate, create_time)
                VALUES (\(bind: subject), \(bind: serialText), \(bind: pem), \(bind: tx.clock.micros))
                ON CONFLICT (subject) DO UPDATE SET serial = excluded.serial, certificate = excluded.certificate,
                    create_time = excluded.create_time
                """)
            try await more(tx)
        }
    }

    /// Why an imported certificate was refused.
    struct ImportRefused: Error, CustomStringConvertible {
        var description: String
    }

    /// Makes the certificate the province's authority issued to `subject` (`agencies/{code}`
    /// or `people/{id}`), with its private key, the one `subject` signs with from now on. The
    /// certificate must chain to the CA certificate (`signing.ca_cert`), be valid now, allow
    /// signing, and match the key. Returns it.
    func importCertificate(subject: String, certificatePEM: String, keyPEM: String) async throws -> Certificate {
        guard
            subject.hasPrefix("agencies/") && AgencyCode.code(fromName: subject) != nil
                || (subject.hasPrefix("people/") && subject.count > "people/".count)
        else { throw ImportRefused(description: "the subject must be agencies/{code} or people/{id}") }
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch { throw ImportRefused(description: "the certificate is not a PEM certificate: \(error)") }
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch { throw ImportRefused(description: "the key is not a PEM private key: \(error)") }
        guard key.publicKey == certificate.publicKey else {
            throw ImportRefused(description: "the key does not belong to the certificate")
        }
        // What CMS signs with here: ECDSA on the NIST curves, or RSA.
        let key256 = P256.Signing.PublicKey(certificate.publicKey)
        let key384 = P384.Signing.PublicKey(certificate.publicKey)
        let key521 = P521.Signing.PublicKey(certificate.publicKey)
        guard key256 != nil || key384 != nil || key521 != nil || _RSA.Signing.PublicKey(certificate.publicKey) != nil
        else {
            throw ImportRefused(description: "the key is neither ECDSA (P-256, P-384, P-521) nor RSA")
        }
        if let usage = try certificate.extensions.keyUsage, !usage.digitalSignature && !usage.nonRepudiation {
            throw ImportRefused(description: "the certificate does not allow signing (key usage)")
        }
        var verifier = Verifier(rootCertificates: CertificateStore([caCertificate])) {
            RFC5280Policy(validationTime: Date())
        }
        switch await verifier.validate(leafCertificate: certificate, intermediates: CertificateStore()) {
        case .validCertificate: break
        case .couldNotValidate(let failures):
            throw ImportRefused(
                description: "the certificate does not chain to the CA (signing.ca_cert) or is not valid now: "
                    + failures.map { "\($0.policyFailureReason)" }.joined(separator: "; "))
        }
        let pem = try certificate.serializeAsPEM()
        let fingerprint = SHA256.hash(data: pem.derBytes).hex
        try await keep(
            .init(certificate: certificate, key: key), keyPEM: try key.serializeAsPEM().pemString, for: subject
        ) {
            tx in
            try await tx.database.execute(
                """
                INSERT INTO imported_certificates (sha256, subject, certificate, import_time)
                VALUES (\(bind: fingerprint), \(bind: subject), \(bind: pem.pemString), \(bind: tx.clock.micros))
                ON CONFLICT (sha256) DO UPDATE SET subject = excluded.subject
                """)
        }
        return certificate
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
