import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Certificate and key files of one process.
public struct TLSFiles: Sendable, Hashable {
    public var caCertificate: String
    public var certificate: String
    public var privateKey: String

    public init(caCertificate: String, certificate: String, privateKey: String) {
        self.caCertificate = caCertificate
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

/// A local certificate authority for development: a CA and one certificate per process,
/// made with the `openssl` command the first time they are needed. Every certificate is
/// valid for both server and client use (mutual TLS between services) and names
/// `localhost` and `127.0.0.1`. The common name is `egov-<process>`: services read the
/// caller's identity from it.
///
/// Not for production: there, certificates come from the province's PKI and the same
/// `tls.*` settings point at them.
public struct DevPKI: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var caCertificate: String { "\(directory)/ca.pem" }
    var caKey: String { "\(directory)/ca.key" }

    public func files(for process: String) -> TLSFiles {
        TLSFiles(
            caCertificate: caCertificate,
            certificate: "\(directory)/\(process).pem",
            privateKey: "\(directory)/\(process).key"
        )
    }

    /// Creates the CA and the certificates of `processes` that do not exist yet. Safe when
    /// several processes start at once: they take turns under a file lock.
    @discardableResult
    public func ensure(_ processes: [String]) throws -> [TLSFiles] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = open("\(directory)/.lock", O_CREAT | O_RDWR, 0o600)
        guard lock >= 0 else { throw PKIError("cannot open \(directory)/.lock") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }

        let fm = FileManager.default
        if !fm.fileExists(atPath: caCertificate) || !fm.fileExists(atPath: caKey) {
            try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey])
            try openssl([
                "req", "-x509", "-new", "-key", caKey, "-sha256", "-days", "3650",
                "-subj", "/O=egov development/CN=egov development CA", "-out", caCertificate,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        var result: [TLSFiles] = []
        for process in processes {
            let files = files(for: process)
            if !fm.fileExists(atPath: files.certificate) || !fm.fileExists(atPath: files.privateKey) {
                try issue(process, files)
            }
            result.append(files)
        }
        return result
    }

    private func issue(_ process: String, _ files: TLSFiles) throws {
        let request = "\(directory)/\(process).csr"
        let extensions = "\(directory)/\(process).ext"
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(files.privateKey).ec"])
        // PKCS#8, which every TLS stack reads.
        try openssl(["pkcs8", "-topk8", "-nocrypt", "-in", "\(files.privateKey).ec", "-out", files.privateKey])
        try? FileManager.default.removeItem(atPath: "\(files.privateKey).ec")
        try openssl(["req", "-new", "-key", files.privateKey, "-subj", "/O=egov/CN=egov-\(process)", "-out", request])
        try """
        basicConstraints=critical,CA:FALSE
        keyUsage=critical,digitalSignature,keyEncipherment
        extendedKeyUsage=serverAuth,clientAuth
        subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:egov-\(process)

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial",
            "-days", "825", "-sha256", "-extfile", extensions, "-out", files.certificate,
        ])
        try? FileManager.default.removeItem(atPath: request)
        try? FileManager.default.removeItem(atPath: extensions)
        chmod(files.privateKey, 0o600)
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw PKIError("cannot run openssl (install Debian's openssl package): \(error)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self)
            throw PKIError("openssl \(arguments.first ?? "") failed: \(text)")
        }
    }
}

public struct PKIError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
