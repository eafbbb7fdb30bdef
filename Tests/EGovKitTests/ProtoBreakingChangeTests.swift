import EGovAPI
import Foundation
import SwiftProtobuf
import Testing

/// The breaking changes from `baseline` to `current` in the `egov.*.v1` packages, as buf's
/// FILE rules define them: a deleted file, message, enum, service, field, enum value or method;
/// a field renumbered, renamed, retyped, moved in or out of a oneof or given another
/// cardinality; an enum value renamed; a method's request, response or streaming changed.
/// Additions are not breaking. (buf itself is not on the machine; this is the subset of its
/// FILE category a descriptor set can tell.)
func breakingChanges(from baseline: Google_Protobuf_FileDescriptorSet, to current: Google_Protobuf_FileDescriptorSet)
    -> [String]
{
    func published(_ set: Google_Protobuf_FileDescriptorSet) -> [String: Google_Protobuf_FileDescriptorProto] {
        Dictionary(
            set.file.filter { $0.package.hasPrefix("egov.") && $0.package.hasSuffix(".v1") }.map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first })
    }
    var problems: [String] = []
    let now = published(current)
    for (name, old) in published(baseline).sorted(by: { $0.key < $1.key }) {
        guard let new = now[name] else {
            problems.append("\(name): file deleted")
            continue
        }
        if old.package != new.package {
            problems.append("\(name): package changed from \(old.package) to \(new.package)")
        }
        compareMessages(old.messageType, new.messageType, scope: old.package, into: &problems)
        compareEnums(old.enumType, new.enumType, scope: old.package, into: &problems)
        let services = Dictionary(new.service.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for service in old.service {
            let path = "\(old.package).\(service.name)"
            guard let changed = services[service.name] else {
                problems.append("\(path): service deleted")
                continue
            }
            let methods = Dictionary(changed.method.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for method in service.method {
                guard let now = methods[method.name] else {
                    problems.append("\(path)/\(method.name): method deleted")
                    continue
                }
                if now.inputType != method.inputType {
                    problems.append("\(path)/\(method.name): request type changed to \(now.inputType)")
                }
                if now.outputType != method.outputType {
                    problems.append("\(path)/\(method.name): response type changed to \(now.outputType)")
                }
                if now.clientStreaming != method.clientStreaming || now.serverStreaming != method.serverStreaming {
                    problems.append("\(path)/\(method.name): streaming changed")
                }
            }
        }
    }
    return problems
}

private func compareMessages(
    _ old: [Google_Protobuf_DescriptorProto], _ new: [Google_Protobuf_DescriptorProto], scope: String,
    into problems: inout [String]
) {
    let messages = Dictionary(new.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    for message in old {
        let path = "\(scope).\(message.name)"
        guard let now = messages[message.name] else {
            problems.append("\(path): message deleted")
            continue
        }
        let byNumber = Dictionary(now.field.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
        for field in message.field {
            guard let changed = byNumber[field.number] else {
                let renumbered = now.field.first { $0.name == field.name }.map { " (now number \($0.number))" } ?? ""
                problems.append("\(path).\(field.name) = \(field.number): field deleted\(renumbered)")
                continue
            }
            let at = "\(path).\(field.name) = \(field.number)"
            if changed.name != field.name { problems.append("\(at): renamed to \(changed.name)") }
            if changed.jsonName != field.jsonName { problems.append("\(at): JSON name changed to \(changed.jsonName)") }
            if changed.type != field.type || changed.typeName != field.typeName {
                problems.append(
                    "\(at): type changed to \(changed.typeName.isEmpty ? "\(changed.type)" : changed.typeName)")
            }
            if changed.label != field.label || changed.proto3Optional != field.proto3Optional {
                problems.append("\(at): cardinality changed")
            }
            let oldOneof =
                field.hasOneofIndex && !field.proto3Optional ? message.oneofDecl[Int(field.oneofIndex)].name : ""
            let newOneof =
                changed.hasOneofIndex && !changed.proto3Optional ? now.oneofDecl[Int(changed.oneofIndex)].name : ""
            if oldOneof != newOneof { problems.append("\(at): moved from oneof '\(oldOneof)' to '\(newOneof)'") }
        }
        compareMessages(message.nestedType, now.nestedType, scope: path, into: &problems)
        compareEnums(message.enumType, now.enumType, scope: path, into: &problems)
    }
}

private func compareEnums(
    _ old: [Google_Protobuf_EnumDescriptorProto], _ new: [Google_Protobuf_EnumDescriptorProto], scope: String,
    into problems: inout [String]
) {
    let enums = Dictionary(new.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    for type in old {
        let path = "\(scope).\(type.name)"
        guard let now = enums[type.name] else {
            problems.append("\(path): enum deleted")
            continue
        }
        let byNumber = Dictionary(now.value.map { ($0.number, $0.name) }, uniquingKeysWith: { first, _ in first })
        for value in type.value {
            guard let name = byNumber[value.number] else {
                problems.append("\(path).\(value.name) = \(value.number): enum value deleted")
                continue
            }
            if name != value.name { problems.append("\(path).\(value.name) = \(value.number): renamed to \(name)") }
        }
    }
}

/// The published v1 contract may only grow: the committed descriptor set is compared with the
/// baseline in proto/baseline, which only `scripts/accept-proto-baseline` moves forward.
@Suite struct ProtoBreakingChangeTests {
    static let baselinePath = ProtoConventionTests.repository.appendingPathComponent("proto/baseline/egov-v1.binpb")

    static func baseline() throws -> Google_Protobuf_FileDescriptorSet {
        try Google_Protobuf_FileDescriptorSet(serializedBytes: try Data(contentsOf: baselinePath))
    }

    @Test func theContractKeepsEverythingThePublishedOneHad() throws {
        let problems = breakingChanges(from: try Self.baseline(), to: try Google_Protobuf_FileDescriptorSet.committed())
        #expect(
            problems.isEmpty,
            """
            Breaking changes to the published v1 contract (clients generated from it would break):
            \(problems.joined(separator: "\n"))
            Keep the old elements (deprecate them), or, for a reviewed break, run scripts/accept-proto-baseline.
            """)
    }

    /// Each kind of break is found in a copy of the contract changed on purpose.
    @Test func eachKindOfBreakIsFound() throws {
        let baseline = try Self.baseline()
        func broken(_ change: (inout Google_Protobuf_FileDescriptorProto) -> Void) -> [String] {
            var current = baseline
            let index = current.file.firstIndex { $0.name == "egov/procedures/v1/dossier.proto" }!
            change(&current.file[index])
            return breakingChanges(from: baseline, to: current)
        }
        let dossier = { (file: Google_Protobuf_FileDescriptorProto) in
            file.messageType.firstIndex { $0.name == "Dossier" }!
        }
        #expect(breakingChanges(from: baseline, to: baseline).isEmpty)
        #expect(
            broken { $0.messageType[dossier($0)].field.removeAll { $0.name == "code" } }.first?.contains(
                "field deleted") == true)
        #expect(
            broken { file in
                let message = dossier(file)
                let field = file.messageType[message].field.firstIndex { $0.name == "code" }!
                file.messageType[message].field[field].number = 99
            }.first?.contains("now number 99") == true)
        #expect(
            broken { file in
                let message = dossier(file)
                let field = file.messageType[message].field.firstIndex { $0.name == "code" }!
                file.messageType[message].field[field].type = .bytes
            }.first?.contains("type changed") == true)
        #expect(
            broken { file in
                let message = dossier(file)
                let field = file.messageType[message].field.firstIndex { $0.name == "code" }!
                file.messageType[message].field[field].label = .repeated
            }.first?.contains("cardinality changed") == true)
        #expect(
            broken { file in
                let message = dossier(file)
                let status = file.messageType[message].enumType.firstIndex { $0.name == "Status" }!
                file.messageType[message].enumType[status].value.removeLast()
            }.first?.contains("enum value deleted") == true)
        #expect(
            broken { $0.messageType.removeAll { $0.name == "DossierEvent" } } == [
                "egov.procedures.v1.DossierEvent: message deleted"
            ])
        // Additions pass.
        #expect(
            broken { file in
                let message = dossier(file)
                file.messageType[message].field.append(
                    .with {
                        $0.name = "added"; $0.number = 999; $0.type = .string; $0.jsonName = "added"
                    })
                file.messageType.append(.with { $0.name = "Added" })
            }.isEmpty)
        var service = baseline
        let procedures = service.file.firstIndex { $0.name == "egov/procedures/v1/procedures_service.proto" }!
        service.file[procedures].service[0].method.removeAll { $0.name == "LookupDossier" }
        #expect(
            breakingChanges(from: baseline, to: service) == [
                "egov.procedures.v1.ProceduresService/LookupDossier: method deleted"
            ])
        service = baseline
        service.file[procedures].service[0].method[0].outputType = ".egov.procedures.v1.Dossier"
        #expect(breakingChanges(from: baseline, to: service).first?.contains("response type changed") == true)
        service.file.removeAll { $0.name == "egov/procedures/v1/dossier.proto" }
        #expect(breakingChanges(from: baseline, to: service).contains("egov/procedures/v1/dossier.proto: file deleted"))
    }
}
