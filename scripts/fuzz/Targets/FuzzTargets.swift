import ConferencesService
import DocumentsService
import EGovAPI
public import EGovKit
public import Foundation
import GatewayService
import JWTKit
import ProceduresService
import SwiftProtobuf

/// One parser of outside input, fed bytes. A target must never crash, hang or grow without
/// bound, whatever it is given; it may throw, which is how it refuses.
public struct FuzzTarget: Sendable {
    public let name: String
    /// Valid or nearly valid inputs the mutations start from.
    public let seeds: [[UInt8]]
    public let run: @Sendable ([UInt8]) -> Void
}

/// Every fuzz target of the platform: the HTTP/JSON edge (paths, queries, bodies), every
/// request message's binary and JSON decoding, access tokens, the config file, and the
/// transport guards (TLS ClientHello, gRPC message prefixes), the calendar file and edXML envelopes.
public enum FuzzTargets {
    public static func all() throws -> [FuzzTarget] {
        let transcoder = try Transcoder(
            routes: try RouteTable.routes(), clients: [:], verifier: TokenVerifier(),
            limiter: RateLimiter(anonymousPerSecond: 0, userPerSecond: 0), deadline: .seconds(1))
        let inputTypes = EGovMethodTypes.all.keys.sorted().compactMap { EGovMethodTypes.all[$0]?.input }
        let verifier = TokenVerifier()
        let configKeys = ProcessSettings.keys(for: "procedures", peers: ["identity"])
        return [
            FuzzTarget(
                name: "http-query",
                seeds: [
                    "/v1/procedures?page_size=5&filter=a", "/v1/agencies/000.00.00.H41", "/v1/procedures?a.b.c=1&a.b=2",
                    "/v1/dossiers:lookup?code=000.00.00.H41-251203-0001&secret=x", "/v1/agencies?parent=agencies%2F000",
                ].map { Array($0.utf8) },
                run: { bytes in
                    _ = try? transcoder.parse(method: "GET", uri: String(decoding: bytes, as: UTF8.self), body: Data())
                }),
            FuzzTarget(
                name: "http-body",
                seeds: [
                    #"{"person":{"kind":"KIND_CITIZEN","displayName":"Nguyễn Văn A","citizenId":"001099012345"},"password":"x"}"#,
                    #"{"login":"a","password":"b","totpCode":"123456"}"#, #"[[[[{"a":[1,2,{"b":null}]}]]]]"#,
                    #"{"a":"\u00e9\""}"#,
                ].map { Array($0.utf8) },
                run: { bytes in
                    _ = try? transcoder.parse(method: "POST", uri: "/v1/people:register", body: Data(bytes))
                    _ = try? transcoder.parse(method: "POST", uri: "/v1/sessions:login", body: Data(bytes))
                }),
            FuzzTarget(
                name: "calendar-file",
                seeds: [
                    #"{"adjustments":[{"date":"2024-02-08","kind":"KIND_DAY_OFF","holiday":"holidayRules/tet-nguyen-dan","legalReference":"Thông báo 5015/TB-LĐTBXH"}]}"#,
                    #"{"rules":[{"name":"holidayRules/ngay-moi","title":"Ngày mới","calendar":"CALENDAR_SOLAR","month":11,"day":24,"lengthDays":1,"effectiveFrom":"2026-07-01","legalReference":"Luật"}]}"#,
                ].map { Array($0.utf8) },
                run: { bytes in
                    _ = try? CalendarFileLoader.parse(Data(bytes), knownRules: ["holidayRules/tet-nguyen-dan"])
                }),
            FuzzTarget(
                name: "request-messages",
                seeds: [
                    [0x0A, 0x03, 0x61, 0x62, 0x63], [0x08, 0x96, 0x01], [0x12, 0x02, 0x0A, 0x00],
                    Array(#"{"name":"x"}"#.utf8),
                ],
                run: { bytes in
                    // Each input goes to one message type, chosen by its first byte.
                    guard let first = bytes.first else { return }
                    let type = inputTypes[Int(first) % inputTypes.count]
                    let rest = Data(bytes.dropFirst())
                    _ = try? type.init(
                        serializedBytes: rest, extensions: nil, partial: true, options: BinaryDecodingOptions())
                    _ = try? type.init(jsonUTF8Bytes: rest, extensions: nil, options: JSONDecodingOptions())
                }),
            FuzzTarget(
                name: "access-token",
                seeds: [
                    "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJwZW9wbGUvMSJ9.c2ln",
                    "a.b.c", "....",
                ].map { Array($0.utf8) },
                // What verification parses before and after the signature (which needs a key).
                run: { bytes in
                    _ = try? verifier.checkedHeader(String(decoding: bytes, as: UTF8.self))
                    _ = try? DefaultJWTParser().parse(bytes, as: AccessClaims.self)
                }),
            FuzzTarget(
                name: "edxml",
                seeds: [
                    Array(EdxmlReader.sample), Array(#"<?xml version="1.0"?><edXML xmlns="x"/>"#.utf8),
                    Array("<!DOCTYPE a [<!ENTITY e \"x\">]><edXML>&e;</edXML>".utf8),
                ],
                run: { bytes in _ = EdxmlReader.read(Data(bytes)) }),
            FuzzTarget(
                name: "janus-events", seeds: JanusEventReader.samples,
                run: { bytes in _ = JanusEventReader.read(bytes) }),
            FuzzTarget(
                name: "config-file",
                seeds: [
                    #"{"listen":{"port":7103},"log":{"level":"debug"},"database":{"url":"sqlite:///tmp/x.sqlite"}}"#,
                    #"{"a":{"b":{"c":{"d":1}}}}"#,
                ].map { Array($0.utf8) },
                run: { bytes in
                    guard let flat = try? Configuration.decodeFile(Data(bytes), path: "fuzz.json") else { return }
                    let arguments = flat.prefix(32).map { "--\($0.0)=\($0.1)" }
                    _ = try? Configuration.load(keys: configKeys, arguments: arguments, environment: [:])
                }),
            FuzzTarget(
                name: "tls-client-hello",
                seeds: [ClientHelloSamples.tls13, ClientHelloSamples.tls12],
                run: { bytes in _ = ClientHelloScanner.scan(bytes) }),
            FuzzTarget(
                name: "grpc-message-prefixes",
                seeds: [[0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0], [0, 0x7F, 0xFF, 0xFF, 0xFF]],
                run: { bytes in
                    var scanner = GRPCMessageScanner(limit: 1024)
                    // Split at a point the input chooses, as frames split messages.
                    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
                    _ = scanner.scan(bytes[..<cut])
                    _ = scanner.scan(bytes[cut...])
                }),
        ]
    }
}

/// Real ClientHellos: an OpenSSL 3 client offering TLS 1.3 and one limited to TLS 1.2.
public enum ClientHelloSamples {
    /// A ClientHello record carrying `extensions`, with one cipher suite.
    public static func record(legacyVersion: UInt16 = 0x0303, extensions: [UInt8]) -> [UInt8] {
        var body: [UInt8] = [UInt8(legacyVersion >> 8), UInt8(legacyVersion & 0xFF)]
        body += [UInt8](repeating: 7, count: 32)  // random
        body += [0]  // no session id
        body += [0, 2, 0x13, 0x01]  // TLS_AES_128_GCM_SHA256
        body += [1, 0]  // null compression
        body += [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xFF)] + extensions
        let handshake: [UInt8] = [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [0x16, 0x03, 0x01, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)] + handshake
    }

    /// supported_versions offering `versions`.
    public static func supportedVersions(_ versions: [UInt16]) -> [UInt8] {
        let list = versions.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        return [0x00, 0x2B, 0, UInt8(list.count + 1), UInt8(list.count)] + list
    }

    public static let tls13 = record(
        extensions: [0x00, 0x0A, 0, 4, 0, 2, 0, 0x1D] + supportedVersions([0x3A3A, 0x0304, 0x0303]))
    public static let tls12 = record(extensions: [0x00, 0x0A, 0, 4, 0, 2, 0, 0x1D])
}

/// Mutates inputs the way coverage-free fuzzers do: bit flips, byte changes, insertions and
/// deletions, duplicated and spliced chunks, and tokens that parsers care about. Seeded, so a
/// run can be repeated.
public struct Mutator {
    private var state: UInt64
    public let maxLength: Int

    public init(seed: UInt64, maxLength: Int = 64 << 10) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
        self.maxLength = maxLength
    }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }

    static let tokens: [[UInt8]] =
        [
            "{", "}", "[", "]", "\"", "\\", ".", "..", "%", "%00", "%2F", "&", "=", "?", "/", ":", "*", "\u{0}",
            "\u{FFFF}",
            "null", "true", "-1", "9999999999999999999", "1e999", "\\u0000", "\\ud800", "a.a.a.a.a.a.a.a.a.a", "Ạ",
            "{\"a\":", "[[[[[[[[", "=&=&=&",
        ].map { Array($0.utf8) } + [
            [0xFF], [0xC0, 0x80], [0x16, 0x03, 0x03], [0x00, 0x2B], [0x80, 0x80, 0x80, 0x80, 0x80],
        ]

    /// A mutation of `input`, sometimes spliced with `other`.
    public mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch below(9) {
            case 0 where !bytes.isEmpty:
                let index = below(bytes.count)
                bytes[index] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty:
                bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: next())
            case 2:
                bytes.insert(UInt8(truncatingIfNeeded: next()), at: below(bytes.count + 1))
            case 3 where !bytes.isEmpty:
                let start = below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(16)))
            case 4 where !bytes.isEmpty:
                let start = below(bytes.count)
                let chunk = Array(bytes[start..<min(bytes.count, start + 1 + below(64))])
                let copies = 1 + below(below(2) == 0 ? 4 : 2000)
                bytes.insert(
                    contentsOf: Array([[UInt8]](repeating: chunk, count: copies).joined()), at: below(bytes.count + 1))
            case 5:
                bytes.insert(contentsOf: Self.tokens[below(Self.tokens.count)], at: below(bytes.count + 1))
            case 6 where !other.isEmpty:
                let cut = below(bytes.count + 1)
                let from = below(other.count)
                bytes = Array(bytes[..<cut]) + other[from...]
            case 7 where bytes.count >= 4:
                // A length-like field set to something extreme.
                let index = below(bytes.count - 3)
                let value: [UInt8] = [
                    [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0x7F, 0xFF, 0xFF, 0xFF], [0, 0, 0x40, 0x01],
                ][below(4)]
                bytes.replaceSubrange(index..<(index + 4), with: value)
            default:
                let token = Self.tokens[below(Self.tokens.count)]
                bytes += [UInt8]([[UInt8]](repeating: token, count: 1 + below(3000)).joined())
            }
        }
        return bytes.count > maxLength ? Array(bytes.prefix(maxLength)) : bytes
    }
}

/// Runs `target` on its corpus, its seeds, then mutations until `deadline` passes;
/// `before` sees each input just before it runs (the supervisor keeps it, to save the one
/// that crashed). Returns how many inputs ran.
@discardableResult
public func fuzz(
    _ target: FuzzTarget, corpus: [[UInt8]], seed: UInt64, until deadline: ContinuousClock.Instant,
    before: ([UInt8]) -> Void = { _ in }
) -> Int {
    var count = 0
    var pool = corpus + target.seeds
    for input in pool {
        before(input)
        target.run(input)
        count += 1
    }
    var mutator = Mutator(seed: seed)
    while ContinuousClock.now < deadline {
        for _ in 0..<16 {
            let base = pool[mutator.below(pool.count)]
            let input = mutator.mutate(base, other: pool[mutator.below(pool.count)])
            before(input)
            target.run(input)
            count += 1
            // Keep some mutants as bases, so mutations compound.
            if mutator.below(64) == 0 {
                if pool.count < 256 { pool.append(input) } else { pool[mutator.below(pool.count)] = input }
            }
        }
    }
    return count
}

/// The inputs kept under `directory/target` (those that once crashed a target).
public func corpus(in directory: String, target: String) -> [[UInt8]] {
    let folder = "\(directory)/\(target)"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.sorted().compactMap { FileManager.default.contents(atPath: "\(folder)/\($0)").map { Array($0) } }
}
