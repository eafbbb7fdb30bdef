public import Crypto
import EGovKit
import Foundation

/// Seals secrets a service keeps in its database (token signing keys, second-factor secrets)
/// with a key that is not in the database: AES-256-GCM, bound to what each secret belongs to
/// (as associated data), so a copied database or backup gives none of them away and a sealed
/// value moved to another row does not open.
public struct SecretBox: Sendable {
    let key: SymmetricKey
    /// Marks a sealed value; anything else is a value stored before sealing existed.
    public static let prefix = "sealed.v1:"

    public init(key: SymmetricKey) {
        precondition(key.bitCount == 256, "a 256-bit key")
        self.key = key
    }

    /// Reads the key (32 bytes, base64) from `path`; when the file is missing and `create` is
    /// set, makes a new key there readable by the owner only. Returns whether it was created.
    public static func load(path: String, create: Bool) throws -> (box: SecretBox, created: Bool) {
        if let contents = FileManager.default.contents(atPath: path) {
            let text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
                throw ConfigError("secrets.key_file: '\(path)' must hold 32 bytes in base64")
            }
            return (SecretBox(key: SymmetricKey(data: bytes)), false)
        }
        guard create else { throw ConfigError("secrets.key_file: '\(path)' does not exist") }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ConfigError("secrets.key_file: cannot create '\(path)'")
        }
        return (SecretBox(key: key), true)
    }

    /// A box with a new random key, for tests and benchmarks: nothing it seals outlives the process.
    public static func ephemeral() -> SecretBox { SecretBox(key: SymmetricKey(size: .bits256)) }

    public static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// `plaintext` sealed for `context` (e.g. `people/123/totp`).
    public func seal(_ plaintext: String, for context: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: Data(context.utf8))
        return Self.prefix + box.combined!.base64EncodedString()
    }

    /// The plaintext of a value sealed for `context`; a value stored before sealing existed
    /// is returned as it is. Throws when the value was sealed with another key or for
    /// another context, or was altered.
    public func open(_ stored: String, for context: String) throws -> String {
        guard Self.isSealed(stored) else { return stored }
        guard let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))) else {
            throw SecretBoxError.malformed
        }
        let plaintext = try AES.GCM.open(
            AES.GCM.SealedBox(combined: combined), using: key, authenticating: Data(context.utf8))
        return String(decoding: plaintext, as: UTF8.self)
    }
}

public enum SecretBoxError: Error { case malformed }
