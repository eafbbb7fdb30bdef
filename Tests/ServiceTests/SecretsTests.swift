import Crypto
import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import IdentityService
import SQLKit
import Testing

@Suite struct SecretBoxTests {
    @Test func sealedValuesOpenOnlyWithTheirKeyAndForTheirOwner() throws {
        let box = SecretBox.ephemeral()
        let sealed = try box.seal("JBSWY3DPEHPK3PXP", for: "people/1/totp")
        #expect(SecretBox.isSealed(sealed) && !sealed.contains("JBSWY3DPEHPK3PXP"))
        #expect(try box.open(sealed, for: "people/1/totp") == "JBSWY3DPEHPK3PXP")
        // Moved to another person's row, or opened with another key: nothing.
        #expect(throws: (any Error).self) { try box.open(sealed, for: "people/2/totp") }
        #expect(throws: (any Error).self) { try SecretBox.ephemeral().open(sealed, for: "people/1/totp") }
        // A value kept before sealing existed reads as it is (and is sealed at start).
        #expect(try box.open("JBSWY3DPEHPK3PXP", for: "people/1/totp") == "JBSWY3DPEHPK3PXP")
    }

    @Test func theKeyFileIsMadeOnceOwnerOnlyAndReadBack() throws {
        let path = temporaryDirectory("secrets") + "/keys/secrets.key"
        #expect(throws: ConfigError.self) { try SecretBox.load(path: path, create: false) }
        let (made, created) = try SecretBox.load(path: path, create: true)
        #expect(created)
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let (again, createdAgain) = try SecretBox.load(path: path, create: true)
        #expect(!createdAgain)
        #expect(try again.open(try made.seal("x", for: "c"), for: "c") == "x")
        try "not a key".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try SecretBox.load(path: path, create: false) }
    }

    /// A signing key stored in the clear by an older version is sealed at start, and kept.
    @Test func keysStoredInTheClearAreSealedAtStart() async throws {
        try await withStore(migrations: IdentityApp.migrations) { store in
            let raw = Curve25519Key.raw()
            try await store.write { tx in
                try await tx.database.execute(
                    "INSERT INTO signing_keys (kid, private_key, create_time) VALUES ('k-old', \(bind: raw), \(bind: WallClock.system.micros))"
                )
            }
            let verifier = TokenVerifier()
            _ = try await TokenIssuer.open(store: store, verifier: verifier, secrets: testSecrets)
            #expect(verifier.keyIDs == ["k-old"])
            let stored = try await store.read { db in
                try await db.row("SELECT private_key FROM signing_keys WHERE kid = 'k-old'")!.decode(
                    column: "private_key", as: String.self)
            }
            let opened = try testSecrets.open(stored, for: "signing_keys/k-old")
            #expect(SecretBox.isSealed(stored) && opened == raw)
        }
    }

    /// What an attacker with a copy of the database finds: sealed values only.
    @Test func identityKeepsSigningKeysAndSecondFactorsSealed() async throws {
        try await withIdentity { port, store in
            try await withTestClient(port: port) { tool in
                let identity = Identity(wrapping: tool)
                _ = try await identity.createAgency(
                    .with { $0.agency = agency("000.00.06.H41", "Sở Y tế", abbreviation: "SYT") })
                _ = try await identity.createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = "Lê Văn Cường"; $0.email = "cuong@syt.vn";
                            $0.agency = "agencies/000.00.06.H41"; $0.roles = [.agencyAdmin]
                        }
                        $0.password = goodPassword
                    })
                try await withTestClient(port: port, as: "gateway") { gateway in
                    _ = try await signInWithSecondFactor(Identity(wrapping: gateway), login: "cuong@syt.vn")
                }
            }
            let stored = try await store.read { db in
                let keys = try await db.rows("SELECT private_key FROM signing_keys").map {
                    try $0.decode(column: "private_key", as: String.self)
                }
                let totp = try await db.rows("SELECT totp_secret FROM people WHERE totp_secret <> ''")
                    .map { try $0.decode(column: "totp_secret", as: String.self) }
                return (keys, totp)
            }
            #expect(!stored.0.isEmpty && stored.0.allSatisfy(SecretBox.isSealed))
            #expect(stored.1.count == 1 && stored.1.allSatisfy(SecretBox.isSealed))
        }
    }
}

enum Curve25519Key {
    /// A new Ed25519 private key, base64, as identity stored keys before sealing.
    static func raw() -> String { Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString() }
}
