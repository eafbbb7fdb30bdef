import Foundation
public import GRPCCore
public import GRPCNIOTransportCore
import GRPCProtobuf
import NIOCore
import NIOHPACK
import NIOHTTP2

// Two guards the gRPC transport (grpc-swift-nio-transport 2.9) has no setting for. Both sit in
// front of its own handlers, through its channel hooks (`ChannelDebuggingCallbacks`):
// - `MinimumTLSVersionGate`: the transport builds its TLS context with TLS 1.2 as the
//   minimum, whatever the configuration; the gate refuses a ClientHello that does not offer
//   the configured minimum, with the protocol_version alert a TLS server sends.
// - `MessageSizeGuard`: over its size limit the transport resets the stream (RST_STREAM
//   CANCEL), so the client thinks it cancelled; the guard answers RESOURCE_EXHAUSTED first,
//   naming the limit, from the 5-byte message prefix, before any of the message is buffered.

/// The TLS versions a port may require.
public enum TLSMinimumVersion: String, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"

    /// The version's code on the wire.
    var wire: UInt16 { self == .tls12 ? 0x0303 : 0x0304 }
}

/// Reads just enough of a TLS ClientHello to tell which versions the client offers.
/// Bounded: it reads at most `maxBytes` before deciding, walks each length-prefixed field
/// once and never recurses. Written here because no library in reach exposes the offered
/// versions (NIO's `SNIHandler` parses the same message for the server name only).
public struct ClientHelloScanner: Sendable {
    /// What the bytes seen so far decide.
    public enum Verdict: Equatable, Sendable {
        /// More bytes are needed.
        case incomplete
        /// Not a TLS handshake: let the TLS layer refuse it in its own way.
        case notTLS
        /// The highest version offered (TLS 1.3 clients list it in supported_versions).
        case offers(UInt16)
        /// A malformed or oversized ClientHello.
        case malformed
    }

    public static let maxBytes = 64 << 10

    /// The verdict on `bytes`, the connection's first bytes.
    public static func scan(_ bytes: [UInt8]) -> Verdict {
        // Reassemble the handshake layer from consecutive handshake records.
        var handshake: [UInt8] = []
        var offset = 0
        while true {
            if offset + 5 > bytes.count { return bytes.count > maxBytes ? .malformed : .incomplete }
            if bytes[offset] != 0x16 { return offset == 0 ? .notTLS : .malformed }
            if bytes[offset + 1] != 0x03 { return offset == 0 ? .notTLS : .malformed }
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard length > 0, length <= 16_384 + 256 else { return .malformed }
            guard offset + 5 + length <= bytes.count else {
                return bytes.count > maxBytes ? .malformed : .incomplete
            }
            handshake += bytes[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            if handshake.count >= 4 {
                guard handshake[0] == 0x01 else { return .malformed }  // ClientHello
                let bodyLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                guard bodyLength <= maxBytes else { return .malformed }
                if handshake.count >= 4 + bodyLength {
                    return versions(Array(handshake[4..<(4 + bodyLength)]))
                }
            }
            if offset > maxBytes { return .malformed }
        }
    }

    /// The highest version a ClientHello body offers.
    static func versions(_ body: [UInt8]) -> Verdict {
        var reader = Reader(bytes: body)
        guard let legacy = reader.uint16(), reader.skip(32),  // random
            let session = reader.uint8(), reader.skip(Int(session)),
            let suites = reader.uint16(), reader.skip(Int(suites)),
            let compressions = reader.uint8(), reader.skip(Int(compressions))
        else { return .malformed }
        // A ClientHello without extensions is TLS 1.2 at most.
        guard let extensionsLength = reader.uint16() else { return .offers(min(legacy, 0x0303)) }
        guard var extensions = reader.sub(Int(extensionsLength)) else { return .malformed }
        while !extensions.isAtEnd {
            guard let type = extensions.uint16(), let length = extensions.uint16(),
                var data = extensions.sub(Int(length))
            else { return .malformed }
            guard type == 0x002b else { continue }  // supported_versions
            guard let listLength = data.uint8(), listLength % 2 == 0, var list = data.sub(Int(listLength)) else {
                return .malformed
            }
            var highest: UInt16 = 0
            while let version = list.uint16() {
                // GREASE values (0x?A?A) are not versions.
                if version & 0x0F0F != 0x0A0A { highest = max(highest, version) }
            }
            return .offers(highest)
        }
        return .offers(min(legacy, 0x0303))
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0
        var end: Int

        init(bytes: [UInt8]) {
            self.bytes = bytes
            self.end = bytes.count
        }

        var isAtEnd: Bool { index >= end }

        mutating func uint8() -> UInt8? {
            guard index < end else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func uint16() -> UInt16? {
            guard index + 2 <= end else { return nil }
            defer { index += 2 }
            return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        }

        mutating func skip(_ count: Int) -> Bool {
            guard index + count <= end else { return false }
            index += count
            return true
        }

        /// A reader over the next `count` bytes, which this one skips.
        mutating func sub(_ count: Int) -> Reader? {
            guard index + count <= end else { return nil }
            var sub = self
            sub.end = index + count
            index += count
            return sub
        }
    }
}

/// Refuses TLS connections whose ClientHello does not offer `minimum`, with a fatal
/// protocol_version alert; hands everything else on untouched and leaves the pipeline.
final class MinimumTLSVersionGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let minimum: TLSMinimumVersion
    private var seen: [UInt8] = []
    private var buffered: ByteBuffer?
    private var decided = false

    init(minimum: TLSMinimumVersion) { self.minimum = minimum }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var incoming = unwrapInboundIn(data)
        seen += incoming.readableBytesView
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        switch ClientHelloScanner.scan(seen) {
        case .incomplete:
            return
        case .offers(let version) where version < minimum.wire:
            decided = true
            // A fatal protocol_version alert in a TLS 1.2 record, then close.
            let alert = context.channel.allocator.buffer(bytes: [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])
            context.writeAndFlush(NIOAny(alert)).whenComplete { _ in context.close(promise: nil) }
        case .malformed:
            decided = true
            context.close(promise: nil)
        case .notTLS, .offers:
            decided = true
            let pending = buffered!
            buffered = nil
            seen = []
            context.fireChannelRead(wrapInboundOut(pending))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// Tracks gRPC's length-prefixed messages across DATA frames and tells when one declares a
/// length over the limit. Holds at most the 5-byte prefix; the body is only counted.
public struct GRPCMessageScanner: Sendable {
    public let limit: Int
    private var prefix: [UInt8] = []
    private var remaining = 0

    public init(limit: Int) { self.limit = limit }

    /// The declared length of the first message in `bytes` over the limit, if any.
    public mutating func scan(_ bytes: some Collection<UInt8>) -> Int? {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if remaining > 0 {
                let step = min(remaining, bytes.distance(from: index, to: bytes.endIndex))
                remaining -= step
                index = bytes.index(index, offsetBy: step)
                continue
            }
            prefix.append(bytes[index])
            index = bytes.index(after: index)
            if prefix.count == 5 {
                let length = Int(prefix[1]) << 24 | Int(prefix[2]) << 16 | Int(prefix[3]) << 8 | Int(prefix[4])
                prefix.removeAll(keepingCapacity: true)
                if length > limit { return length }
                remaining = length
            }
        }
        return nil
    }
}

/// Answers a request message over the size limit with RESOURCE_EXHAUSTED, naming the limit,
/// and ends the stream; other streams of the connection are untouched.
final class MessageSizeGuard: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var scanner: GRPCMessageScanner
    private var headersSent = false
    private var refused = false
    let domain: String

    init(limit: Int, domain: String) {
        scanner = GRPCMessageScanner(limit: limit)
        self.domain = domain
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if case .data(let frame) = unwrapInboundIn(data), case .byteBuffer(let buffer) = frame.data,
            let length = scanner.scan(buffer.readableBytesView)
        {
            refuse(context: context, length: length)
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !refused else {
            promise?.succeed()
            return
        }
        if case .headers = unwrapOutboundIn(data) { headersSent = true }
        context.write(data, promise: promise)
    }

    private func refuse(context: ChannelHandlerContext, length: Int) {
        refused = true
        let status = ErrorBuilder(domain: domain).resourceExhausted(
            "MESSAGE_TOO_LARGE", limit: "max_message_bytes", scanner.limit,
            "The request message has \(length) bytes; this service accepts at most \(scanner.limit).")
        var trailers = HPACKHeaders()
        if !headersSent {
            trailers.add(name: ":status", value: "200")
            trailers.add(name: "content-type", value: "application/grpc")
        }
        trailers.add(name: "grpc-status", value: String(status.code.rawValue))
        trailers.add(name: "grpc-message", value: Self.percentEncoded(status.message))
        for (key, value) in RPCError(status).metadata {
            switch value {
            case .string(let text): trailers.add(name: key, value: text)
            case .binary(let bytes): trailers.add(name: key, value: Data(bytes).base64EncodedString())
            }
        }
        let frame = HTTP2Frame.FramePayload.headers(.init(headers: trailers, endStream: true))
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            // The client has its status; the stream's remaining input is not read.
            context.close(promise: nil)
        }
    }

    /// gRPC's percent-encoding of `grpc-message`: printable ASCII except `%` as is.
    static func percentEncoded(_ message: String) -> String {
        var encoded = ""
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}

extension HTTP2ServerTransport.Config.ChannelDebuggingCallbacks {
    /// The egov guards: the TLS version gate on each connection (when the minimum is above
    /// the transport's TLS 1.2) and the message size guard on each stream.
    static func egovGuards(minimumTLS: TLSMinimumVersion?, maxMessageBytes: Int, domain: String) -> Self {
        Self(
            onBindTCPListener: nil,
            onAcceptTCPConnection: { channel in
                guard let minimumTLS, minimumTLS != .tls12 else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        MinimumTLSVersionGate(minimum: minimumTLS), position: .first)
                }
            },
            onAcceptHTTP2Stream: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        MessageSizeGuard(limit: maxMessageBytes, domain: domain), position: .first)
                }
            }
        )
    }
}
