import Crypto
public import EGovKit
public import Foundation

/// Files kept by their SHA-256 under a directory (`ab/abcdef…`), each stored once however many
/// records name it: written to a temporary file, flushed to disk, then renamed, so a stored
/// file is always whole. Reads hash what they send, so a file damaged on disk is reported,
/// never passed on as the original. Shared by the services that take uploads.
public struct FileStore: Sendable {
    public let directory: String
    /// The largest file accepted, and the largest piece of one per message.
    public let maxBytes: Int
    public static let chunkBytes = 1 << 20
    /// The media types accepted and how their content starts.
    public static let types: [String: [UInt8]] = [
        "application/pdf": Array("%PDF-".utf8), "image/jpeg": [0xFF, 0xD8, 0xFF],
        "image/png": [0x89, 0x50, 0x4E, 0x47],
    ]

    public init(directory: String, maxBytes: Int = 10 << 20) {
        self.directory = directory
        self.maxBytes = maxBytes
    }

    public func path(sha256: String) -> String { "\(directory)/\(sha256.prefix(2))/\(sha256)" }

    /// Why an upload was refused; the service names the field for its own messages.
    public enum Refusal: Error, Equatable {
        case unsupportedType, chunkTooLarge, tooLarge, empty, contentMismatch
    }

    /// A file stored: its hash and size.
    public struct Stored: Sendable, Equatable {
        public let sha256: String
        public let size: Int
    }

    /// Stores the bytes `next` yields (nil at the end) as `contentType`; throws `Refusal`
    /// when they break a rule, before anything is kept.
    public func store(contentType: String, next: () async throws -> Data?) async throws -> Stored {
        guard let magic = Self.types[contentType] else { throw Refusal.unsupportedType }
        try FileManager.default.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
        let temporary = "\(directory)/tmp/\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: temporary, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        var hash = SHA256()
        var size = 0
        var head: [UInt8] = []
        do {
            while let chunk = try await next() {
                guard chunk.count <= Self.chunkBytes else { throw Refusal.chunkTooLarge }
                size += chunk.count
                guard size <= maxBytes else { throw Refusal.tooLarge }
                if head.count < 8 { head += chunk.prefix(8 - head.count) }
                hash.update(data: chunk)
                try handle.write(contentsOf: chunk)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        guard size > 0 else { throw Refusal.empty }
        guard head.starts(with: magic) else { throw Refusal.contentMismatch }
        let digest = hash.finalize().hex
        let destination = path(sha256: digest)
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // rename(2) replaces atomically: two uploads of the same bytes at once both succeed.
        guard rename(temporary, destination) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
        }
        return Stored(sha256: digest, size: size)
    }

    /// What went wrong reading a stored file.
    public enum ReadProblem: Error, Equatable { case missing, corrupt }

    /// Sends the file `sha256` to `send` in pieces of at most `chunkBytes`, then checks what
    /// was sent still has that hash (`ReadProblem.corrupt` if not).
    public func read(sha256: String, _ send: (Data) async throws -> Void) async throws {
        guard let handle = FileHandle(forReadingAtPath: path(sha256: sha256)) else { throw ReadProblem.missing }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: Self.chunkBytes), !chunk.isEmpty {
            hash.update(data: chunk)
            try await send(chunk)
        }
        guard hash.finalize().hex == sha256 else { throw ReadProblem.corrupt }
    }

    /// Whether the stored file `sha256` is there and still has that hash.
    public func isIntact(sha256: String) async -> Bool {
        do {
            try await read(sha256: sha256) { _ in }
            return true
        } catch {
            return false
        }
    }
}

extension FileStore {
    /// An uploaded file's name as given in the upload header (`header.file_name`): trimmed, 1
    /// to 255 characters, no slashes.
    public static func fileName(_ name: String, errors: ErrorBuilder) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 255, !trimmed.contains("/"),
            !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw errors.invalidArgument(
                "INVALID_FILE_NAME", field: "header.file_name", "1 to 255 characters, no slashes")
        }
        return trimmed
    }

    /// `store`, its refusals turned into the errors of the upload messages every service uses
    /// (a `header` with `content_type`, then `chunk`s).
    public func upload(contentType: String, errors: ErrorBuilder, next: () async throws -> Data?) async throws
        -> Stored
    {
        do {
            return try await store(contentType: contentType, next: next)
        } catch let refusal as Refusal {
            switch refusal {
            case .unsupportedType:
                throw errors.invalidArgument(
                    "UNSUPPORTED_TYPE", field: "header.content_type", "must be application/pdf, image/jpeg or image/png"
                )
            case .chunkTooLarge:
                throw errors.invalidArgument("CHUNK_TOO_LARGE", field: "chunk", "send at most 1 MiB per message")
            case .tooLarge:
                throw errors.invalidArgument(
                    "FILE_TOO_LARGE", field: "chunk", "files may be at most \(maxBytes >> 20) MiB")
            case .empty: throw errors.invalidArgument("EMPTY_FILE", field: "chunk", "the file is empty")
            case .contentMismatch:
                throw errors.invalidArgument(
                    "CONTENT_MISMATCH", field: "header.content_type", "the file's content is not \(contentType)")
            }
        }
    }

    /// `read`, its problems turned into errors: INTERNAL when the file is gone, DATA_LOSS when
    /// it no longer matches its hash (after what was read was sent: the client must discard it).
    public func download(sha256: String, errors: ErrorBuilder, _ send: (Data) async throws -> Void) async throws {
        do {
            try await read(sha256: sha256, send)
        } catch ReadProblem.missing {
            throw errors.internalError("ATTACHMENT_MISSING", "The stored file is missing; the operators were told.")
        } catch ReadProblem.corrupt {
            throw errors.dataLoss(
                "ATTACHMENT_CORRUPT", "The stored file no longer matches its SHA-256; the operators were told.")
        }
    }
}
