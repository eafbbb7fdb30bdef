import Crypto
import CryptoExtras
import EGovKit
import Foundation
import NIOPosix

/// scrypt password hashes (OWASP: N=2^17, r=8, p=1), stored as
/// `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` so the cost can rise without breaking old hashes.
/// Hashing runs on NIO's blocking pool: 128 MiB and a few hundred milliseconds each.
struct PasswordHasher: Sendable {
    var logN: Int = 17
    var blockSize: Int = 8
    var parallelism: Int = 1

    func hash(_ password: String) async throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255, using: &generator) }
        let derived = try await derive(password, salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism)
        return
            "$scrypt$ln=\(logN),r=\(blockSize),p=\(parallelism)$\(Data(salt).base64EncodedString())$\(derived.base64EncodedString())"
    }

    /// Whether `password` matches `stored`, compared in constant time.
    func verify(_ password: String, against stored: String) async throws -> Bool {
        let fields = stored.split(separator: "$")
        guard fields.count == 4, fields[0] == "scrypt", let salt = Data(base64Encoded: String(fields[2])),
            let expected = Data(base64Encoded: String(fields[3]))
        else { return false }
        var parameters: [String: Int] = [:]
        for pair in fields[1].split(separator: ",") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { parameters[String(parts[0])] = value }
        }
        guard let logN = parameters["ln"], let r = parameters["r"], let p = parameters["p"], (10...20).contains(logN)
        else {
            return false
        }
        let derived = try await derive(password, salt: [UInt8](salt), logN: logN, blockSize: r, parallelism: p)
        return constantTimeEquals(derived, expected)
    }

    /// A hash of a password nobody has, to spend the same time on unknown logins.
    func decoy() async throws -> String { try await hash(UUID().uuidString) }

    private func derive(_ password: String, salt: [UInt8], logN: Int, blockSize: Int, parallelism: Int) async throws
        -> Data
    {
        try await NIOThreadPool.singleton.runIfActive {
            let key = try KDF.Scrypt.deriveKey(
                from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN,
                blockSize: blockSize, parallelism: parallelism, maxMemory: 256 << 20)
            return key.withUnsafeBytes { Data($0) }
        }
    }
}

/// The password policy (NIST SP 800-63B): long enough, not the login, not trivially guessable.
enum PasswordPolicy {
    static let common: Set<String> = [
        "1234567890", "12345678910", "0123456789", "qwertyuiop", "matkhau123", "password123", "abc1234567",
        "1111111111", "iloveyou12", "admin12345", "vietnam123", "123456789a",
    ]

    /// Why the password is refused, or nil when it is acceptable.
    static func problem(_ password: String, login: String) -> String? {
        if password.count < 10 { return "must be at least 10 characters" }
        if password.count > 128 { return "must be at most 128 characters" }
        if password.lowercased() == login.lowercased() { return "must not be the login" }
        if Set(password).count < 4 { return "must use more than a few different characters" }
        if common.contains(password.lowercased()) { return "is too common" }
        return nil
    }
}
