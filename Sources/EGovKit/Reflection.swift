public import EGovAPI
import Foundation
public import GRPCCore
import GRPCProtobuf
public import SwiftProtobuf

extension Google_Protobuf_FileDescriptorSet {
    /// The descriptor set committed with the generated code (every file under proto/, with
    /// imports and comments), its `google.api.http` annotations readable.
    public static func committed() throws -> Google_Protobuf_FileDescriptorSet {
        try Google_Protobuf_FileDescriptorSet(
            serializedBytes: [UInt8](Data(base64Encoded: EGovDescriptors.descriptorSetBase64) ?? Data()),
            extensions: Google_Api_Annotations_Extensions)
    }
}

/// What the committed descriptor set defines: every file by name, and which file defines
/// each fully qualified symbol and extension. Read once, from `EGovDescriptors`.
public struct DescriptorIndex: Sendable {
    var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
    /// Messages by fully qualified name (no leading dot).
    public private(set) var messages: [String: Google_Protobuf_DescriptorProto] = [:]
    var symbols: [String: String] = [:]
    /// Extended type -> extension number -> file.
    var extensions: [String: [Int32: String]] = [:]

    public static let shared = DescriptorIndex(set: (try? Google_Protobuf_FileDescriptorSet.committed()) ?? .init())

    init(set: Google_Protobuf_FileDescriptorSet) {
        for file in set.file {
            files[file.name] = file
            let prefix = file.package.isEmpty ? "" : file.package + "."
            func addMessages(_ messages: [Google_Protobuf_DescriptorProto], scope: String) {
                for message in messages {
                    let name = scope + message.name
                    symbols[name] = file.name
                    self.messages[name] = message
                    for field in message.field { symbols["\(name).\(field.name)"] = file.name }
                    for item in message.enumType { symbols["\(name).\(item.name)"] = file.name }
                    addExtensions(message.`extension`)
                    addMessages(message.nestedType, scope: name + ".")
                }
            }
            func addExtensions(_ fields: [Google_Protobuf_FieldDescriptorProto]) {
                for field in fields {
                    symbols[prefix + field.name] = file.name
                    let extended = field.extendee.hasPrefix(".") ? String(field.extendee.dropFirst()) : field.extendee
                    extensions[extended, default: [:]][field.number] = file.name
                }
            }
            addMessages(file.messageType, scope: prefix)
            for item in file.enumType { symbols[prefix + item.name] = file.name }
            for service in file.service {
                symbols[prefix + service.name] = file.name
                for method in service.method { symbols["\(prefix)\(service.name).\(method.name)"] = file.name }
            }
            addExtensions(file.`extension`)
        }
    }

    /// `name` and every file it imports, directly or not, each once, the file first.
    func withDependencies(_ name: String) -> [Google_Protobuf_FileDescriptorProto] {
        var seen: Set<String> = []
        var ordered: [Google_Protobuf_FileDescriptorProto] = []
        var pending = [name]
        while let next = pending.first {
            pending.removeFirst()
            guard !seen.contains(next), let file = files[next] else { continue }
            seen.insert(next)
            ordered.append(file)
            pending += file.dependency
        }
        return ordered
    }
}

/// gRPC server reflection (`grpc.reflection.v1`): lets grpcurl and generic clients list the
/// services a process serves and fetch the descriptors of their messages, from the
/// descriptor set committed with the code.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
    let serviceNames: [String]
    let index = DescriptorIndex.shared

    /// `serviceNames`: what `list_services` answers (reflection itself is added).
    public init(serviceNames: [String]) {
        self.serviceNames = (serviceNames + [Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService])
            .reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    public func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await question in request {
            try await response.write(answer(question))
        }
    }

    func answer(_ question: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
        var answer = Grpc_Reflection_V1_ServerReflectionResponse.with {
            $0.validHost = question.host
            $0.originalRequest = question
        }
        func files(_ name: String?, missing: String) {
            guard let name, index.files[name] != nil else {
                answer.errorResponse = .with {
                    $0.errorCode = Int32(RPCError.Code.notFound.rawValue)
                    $0.errorMessage = missing
                }
                return
            }
            answer.fileDescriptorResponse = .with {
                $0.fileDescriptorProto = index.withDependencies(name).compactMap {
                    try? Data($0.serializedBytes() as [UInt8])
                }
            }
        }
        switch question.messageRequest {
        case .listServices:
            answer.listServicesResponse = .with { $0.service = serviceNames.map { name in .with { $0.name = name } } }
        case .fileByFilename(let name):
            files(name, missing: "no file '\(name)'")
        case .fileContainingSymbol(let symbol):
            files(index.symbols[symbol], missing: "no symbol '\(symbol)'")
        case .fileContainingExtension(let request):
            files(
                index.extensions[request.containingType]?[request.extensionNumber],
                missing: "no extension \(request.extensionNumber) of '\(request.containingType)'")
        case .allExtensionNumbersOfType(let type):
            if index.symbols[type] != nil {
                answer.allExtensionNumbersResponse = .with {
                    $0.baseTypeName = type
                    $0.extensionNumber = (index.extensions[type] ?? [:]).keys.sorted()
                }
            } else {
                files(nil, missing: "no type '\(type)'")
            }
        case nil:
            answer.errorResponse = .with {
                $0.errorCode = Int32(RPCError.Code.invalidArgument.rawValue)
                $0.errorMessage = "ask for list_services, file_by_filename, file_containing_symbol or an extension"
            }
        }
        return answer
    }
}

/// The same reflection under its pre-release name, `grpc.reflection.v1alpha`, which many
/// clients still ask (grpcio-reflection, older grpcurl): the messages are identical on the wire.
public struct ReflectionV1AlphaService: RegistrableRPCService {
    let reflection: ReflectionService

    public init(_ reflection: ReflectionService) { self.reflection = reflection }

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let reflection = self.reflection
        router.registerHandler(
            forMethod: MethodDescriptor(
                fullyQualifiedService: "grpc.reflection.v1alpha.ServerReflection", method: "ServerReflectionInfo"),
            deserializer: ProtobufDeserializer<Grpc_Reflection_V1_ServerReflectionRequest>(),
            serializer: ProtobufSerializer<Grpc_Reflection_V1_ServerReflectionResponse>()
        ) { request, context in
            StreamingServerResponse { writer in
                for try await question in request.messages { try await writer.write(reflection.answer(question)) }
                return [:]
            }
        }
    }
}
