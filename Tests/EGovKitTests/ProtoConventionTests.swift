import Crypto
import EGovAPI
import Foundation
import SwiftProtobuf
import Testing

/// The contracts client developers read: checks our conventions over the committed
/// descriptor set, and that the generated code matches the .proto files.
@Suite struct ProtoConventionTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let files: [Google_Protobuf_FileDescriptorProto] = {
        try! Google_Protobuf_FileDescriptorSet.committed().file.filter { $0.name.hasPrefix("egov/") }
    }()

    @Test func theGeneratedCodeIsNotStale() throws {
        let root = Self.repository.appendingPathComponent("proto")
        let enumerator = FileManager.default.enumerator(atPath: root.path)!
        let paths = (enumerator.allObjects as! [String]).filter { $0.hasSuffix(".proto") }.sorted()
        var hash = SHA256()
        for path in paths {
            hash.update(data: Data(path.utf8))
            hash.update(data: Data([0]))
            hash.update(data: try Data(contentsOf: root.appendingPathComponent(path)))
            hash.update(data: Data([0]))
        }
        let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(
            digest == EGovDescriptors.protoDigest, "proto/ changed: run scripts/generate-protos and commit the output")
    }

    @Test func everyServiceHasItsContract() {
        let packages = Set(Self.files.map(\.package))
        #expect(
            packages == [
                "egov.identity.v1", "egov.documents.v1", "egov.procedures.v1", "egov.conferences.v1", "egov.gateway.v1",
            ])
    }

    @Test func packagesAreVersionedAndMatchTheirDirectory() {
        for file in Self.files {
            let directory = file.name.split(separator: "/").dropLast().joined(separator: ".")
            #expect(file.package == directory, "\(file.name) declares package \(file.package)")
            #expect(
                file.package.split(separator: ".").last?.first == "v", "\(file.name): package must end in a version")
        }
    }

    @Test func servicesEndInServiceAndEveryMethodHasAnHTTPBinding() {
        for file in Self.files {
            for service in file.service {
                #expect(service.name.hasSuffix("Service"), "\(file.name): \(service.name)")
                for method in service.method {
                    #expect(
                        method.options.hasExtensionValue(ext: Google_Api_Extensions_http),
                        "\(service.name).\(method.name)")
                }
            }
        }
    }

    @Test func enumsArePrefixedAndStartUnspecified() {
        func check(_ enumeration: Google_Protobuf_EnumDescriptorProto, in file: String) {
            let prefix = Self.screamingSnake(enumeration.name) + "_"
            #expect(enumeration.value.first?.number == 0, "\(file): \(enumeration.name) must start at 0")
            #expect(enumeration.value.first?.name == prefix + "UNSPECIFIED", "\(file): \(enumeration.name)")
            for value in enumeration.value {
                #expect(value.name.hasPrefix(prefix), "\(file): \(value.name) must start with \(prefix)")
            }
        }
        func walk(_ message: Google_Protobuf_DescriptorProto, in file: String) {
            message.enumType.forEach { check($0, in: file) }
            message.nestedType.forEach { walk($0, in: file) }
        }
        for file in Self.files {
            file.enumType.forEach { check($0, in: file.name) }
            file.messageType.forEach { walk($0, in: file.name) }
        }
    }

    @Test func everyElementIsCommented() {
        var missing: [String] = []
        for file in Self.files {
            var commented: Set<[Int32]> = []
            for location in file.sourceCodeInfo.location
            where !location.leadingComments.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                || !location.trailingComments.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            {
                commented.insert(location.path)
            }
            func require(_ path: [Int32], _ what: String) {
                if !commented.contains(path) { missing.append("\(file.name): \(what)") }
            }
            func walkEnum(_ enumeration: Google_Protobuf_EnumDescriptorProto, _ path: [Int32]) {
                require(path, enumeration.name)
                for (index, value) in enumeration.value.enumerated() { require(path + [2, Int32(index)], value.name) }
            }
            func walkMessage(_ message: Google_Protobuf_DescriptorProto, _ path: [Int32]) {
                require(path, message.name)
                for (index, field) in message.field.enumerated() {
                    require(path + [2, Int32(index)], "\(message.name).\(field.name)")
                }
                for (index, nested) in message.nestedType.enumerated() where !nested.options.mapEntry {
                    walkMessage(nested, path + [3, Int32(index)])
                }
                for (index, enumeration) in message.enumType.enumerated() {
                    walkEnum(enumeration, path + [4, Int32(index)])
                }
            }
            for (index, message) in file.messageType.enumerated() { walkMessage(message, [4, Int32(index)]) }
            for (index, enumeration) in file.enumType.enumerated() { walkEnum(enumeration, [5, Int32(index)]) }
            for (index, service) in file.service.enumerated() {
                require([6, Int32(index)], service.name)
                for (methodIndex, method) in service.method.enumerated() {
                    require([6, Int32(index), 2, Int32(methodIndex)], "\(service.name).\(method.name)")
                }
            }
        }
        #expect(missing.isEmpty, "uncommented: \(missing.joined(separator: ", "))")
    }

    @Test func resourcesHaveANameFirst() {
        let resources = ["Agency", "Person", "Document", "Procedure", "Dossier", "BridgePoint", "Conference"]
        for file in Self.files {
            for message in file.messageType where resources.contains(message.name) {
                #expect(message.field.first { $0.number == 1 }?.name == "name", "\(message.name) must have name = 1")
            }
        }
    }

    static func screamingSnake(_ name: String) -> String {
        var result = ""
        for (index, character) in name.enumerated() {
            if character.isUppercase && index > 0 { result += "_" }
            result += character.uppercased()
        }
        return result
    }
}
