import EGovKit
public import Foundation

/// The edXML envelope of QCVN 102:2016, as the national document exchange carries it: the
/// header (sender, recipients, code, promulgation, type, subject, signer, trace, business
/// block) and the files. Element names, their `edXML:` prefix, the `Bussiness` spelling and
/// the `yyyy/MM/dd` dates follow the public samples and the hubs' SDKs (the standard's text
/// is not public).
struct EdxmlEnvelope: Equatable, Sendable {
    struct Organ: Equatable, Sendable {
        var id: String
        var name: String
    }

    struct File: Equatable, Sendable {
        var name: String
        var contentType: String
        var content: Data
    }

    var from: Organ
    var to: [Organ]
    var documentID: String
    var codeNumber: String
    var codeNotation: String
    var place: String
    /// The promulgation date, `yyyy/MM/dd`.
    var promulgationDate: String
    var typeName: String
    var subject: String
    var content: String
    var competence: String
    var position: String
    var fullName: String
    /// 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ.
    var priority: Int
    /// 0 new, 1 revocation, 2 update, 3 replacement.
    var businessType: Int
    var businessReason: String
    /// When the sender sent it, `yyyy/MM/dd HH:mm:ss`.
    var timestamp: String
    var files: [File]
    /// The document this one answers.
    var responseFor: ResponseFor? = nil

    /// The answered document, as its sender numbered it.
    struct ResponseFor: Equatable, Sendable {
        var organID: String
        var code: String
        var promulgationDate: String
        var documentID: String
    }

    static let namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

    /// The envelope as XML.
    func xml() -> String {
        func e(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func element(_ name: String, _ text: String) -> String { "<edXML:\(name)>\(e(text))</edXML:\(name)>" }
        func organ(_ tag: String, _ organ: Organ) -> String {
            "<edXML:\(tag)>" + element("OrganId", organ.id) + element("OrganizationInCharge", organ.name)
                + element("OrganName", organ.name) + element("OrganAdd", "") + "</edXML:\(tag)>"
        }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        // The prefix is declared on the root too: the files block sits outside the envelope.
        xml += #"<edXML xmlns="\#(Self.namespace)" xmlns:edXML="\#(Self.namespace)">"#
        xml += #"<edXML:edXMLEnvelope xmlns:edXML="\#(Self.namespace)">"#
        xml += "<edXML:edXMLHeader><edXML:MessageHeader>" + organ("From", from)
        xml += to.map { organ("To", $0) }.joined()
        xml += element("DocumentId", documentID)
        if let answered = responseFor {
            xml += "<edXML:ResponseFor>" + element("OrganId", answered.organID) + element("Code", answered.code)
            xml += element("PromulgationDate", answered.promulgationDate) + element("DocumentId", answered.documentID)
            xml += "</edXML:ResponseFor>"
        }
        xml +=
            "<edXML:Code>" + element("CodeNumber", codeNumber) + element("CodeNotation", codeNotation) + "</edXML:Code>"
        xml += "<edXML:PromulgationInfo>" + element("Place", place) + element("PromulgationDate", promulgationDate)
        xml += "</edXML:PromulgationInfo>"
        xml += "<edXML:DocumentType>" + element("Type", "1") + element("TypeName", typeName) + "</edXML:DocumentType>"
        xml += element("Subject", subject) + element("Content", content)
        xml += "<edXML:SignerInfo>" + element("Competence", competence) + element("Position", position)
        xml += element("FullName", fullName) + "</edXML:SignerInfo>"
        xml += "<edXML:OtherInfo>" + element("Priority", String(priority)) + "</edXML:OtherInfo>"
        xml += "<edXML:ToPlaces>" + to.map { element("Place", $0.name) }.joined() + "</edXML:ToPlaces>"
        xml += "</edXML:MessageHeader><edXML:TraceHeaderList><edXML:Bussiness>" + element("DocumentId", documentID)
        xml += element("BussinessDocType", String(businessType)) + element("BussinessDocReason", businessReason)
        xml += element("Paper", "0") + "</edXML:Bussiness><edXML:TraceHeader>" + element("OrganId", from.id)
        xml += element("Timestamp", timestamp) + "</edXML:TraceHeader></edXML:TraceHeaderList></edXML:edXMLHeader>"
        xml += "<edXML:edXMLBody><edXML:edXMLManifest version=\"1.0\">"
        for (index, file) in files.enumerated() {
            xml += "<edXML:Reference>" + element("ContentId", "cid:\(index + 1)")
            xml += element("ContentType", file.contentType) + element("Description", file.name)
            xml += element("AttachmentName", file.name) + "</edXML:Reference>"
        }
        xml += "</edXML:edXMLManifest></edXML:edXMLBody></edXML:edXMLEnvelope><edXML:AttachmentEncoded>"
        for (index, file) in files.enumerated() {
            xml += "<edXML:Attachment>" + element("ContentId", "cid:\(index + 1)")
            xml += element("AttachmentName", file.name) + element("Description", file.name)
            xml += element("ContentType", file.contentType)
            xml += element("ContentTransferEncoded", file.content.base64EncodedString()) + "</edXML:Attachment>"
        }
        return xml + "</edXML:AttachmentEncoded></edXML>\n"
    }

    /// Why an envelope was refused: the element (a path under the root) and what is wrong.
    struct Problem: Error, Equatable {
        var element: String
        var reason: String
    }

    /// Limits on what `parse` reads: the whole envelope, nesting, elements, and time.
    static let maxBytes = 48 << 20
    static let maxDepth = 24
    static let maxElements = 20_000
    static let maxFiles = 20

    /// Reads an envelope. Elements are matched by namespace and local name (samples mix
    /// `edXML:` prefixes and the default namespace) in any order; what is mandatory for the
    /// hubs must be there.
    static func parse(_ data: Data) throws(Problem) -> EdxmlEnvelope {
        guard data.count <= maxBytes else {
            throw Problem(element: "edXML", reason: "larger than \(maxBytes >> 20) MiB")
        }
        let root = try XMLTree.parse(data)
        guard root.name == "edXML" else { throw Problem(element: root.name, reason: "the root must be edXML") }
        let header = try root.required("edXMLEnvelope").required("edXMLHeader")
        let message = try header.required("MessageHeader")
        func organ(_ node: XMLTree.Node) throws(Problem) -> Organ {
            Organ(id: try node.requiredText("OrganId"), name: try node.requiredText("OrganName"))
        }
        let from = try organ(try message.required("From"))
        guard AgencyCode.isValid(from.id) || from.id.count <= 40 else {
            throw Problem(element: "\(message.path)/From/OrganId", reason: "is not an organ code")
        }
        let recipients = message.children("To")
        guard !recipients.isEmpty else { throw Problem(element: "\(message.path)/To", reason: "is required") }
        var to: [Organ] = []
        for recipient in recipients { to.append(try organ(recipient)) }
        let code = try message.required("Code")
        let promulgation = try message.required("PromulgationInfo")
        let date = try promulgation.requiredText("PromulgationDate")
        guard Self.date(date) != nil else {
            throw Problem(element: "\(promulgation.path)/PromulgationDate", reason: "must be yyyy/MM/dd")
        }
        let type = try message.required("DocumentType")
        _ = try type.requiredText("Type")
        let signer = message.child("SignerInfo")
        let other = message.child("OtherInfo")
        let priority = Int(other?.text("Priority") ?? "0") ?? -1
        guard (0...4).contains(priority) else {
            throw Problem(element: "\(message.path)/OtherInfo/Priority", reason: "must be 0 to 4")
        }
        let trace = header.child("TraceHeaderList")
        let business = trace?.child("Bussiness") ?? trace?.child("Business")
        let businessType = Int(business?.text("BussinessDocType") ?? business?.text("BusinessDocType") ?? "0") ?? -1
        guard (0...3).contains(businessType) else {
            throw Problem(
                element: "\(header.path)/TraceHeaderList/Bussiness/BussinessDocType", reason: "must be 0 to 3")
        }
        var files: [File] = []
        let attachments = root.child("AttachmentEncoded")?.children("Attachment") ?? []
        guard attachments.count <= maxFiles else {
            throw Problem(element: "AttachmentEncoded", reason: "at most \(maxFiles) attachments")
        }
        for (index, attachment) in attachments.enumerated() {
            let path = "AttachmentEncoded/Attachment[\(index)]"
            let encoded = attachment.text("ContentTransferEncoded")?.filter { !$0.isWhitespace } ?? ""
            guard let content = Data(base64Encoded: encoded), !content.isEmpty else {
                throw Problem(element: "\(path)/ContentTransferEncoded", reason: "must be the file in base64")
            }
            files.append(
                File(
                    name: attachment.text("AttachmentName") ?? "tep-\(index + 1)",
                    contentType: attachment.text("ContentType") ?? "", content: content))
        }
        return EdxmlEnvelope(
            from: from, to: to, documentID: try message.requiredText("DocumentId"),
            codeNumber: try code.requiredText("CodeNumber"), codeNotation: try code.requiredText("CodeNotation"),
            place: promulgation.text("Place") ?? "", promulgationDate: date, typeName: type.text("TypeName") ?? "",
            subject: try message.requiredText("Subject"), content: message.text("Content") ?? "",
            competence: signer?.text("Competence") ?? "", position: signer?.text("Position") ?? "",
            fullName: signer?.text("FullName") ?? "", priority: priority, businessType: businessType,
            businessReason: business?.text("BussinessDocReason") ?? business?.text("BusinessDocReason") ?? "",
            timestamp: trace?.child("TraceHeader")?.text("Timestamp") ?? "", files: files)
    }

    /// `yyyy/MM/dd` as a date at midnight in Vietnam.
    static func date(_ text: String) -> Date? {
        let parts = text.split(separator: "/")
        guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]),
            let day = Int(parts[2]), (1900...2199).contains(year)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 7 * 3600)!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    /// `date` as `yyyy/MM/dd` (or with `HH:mm:ss`) in Vietnam.
    static func format(_ date: Date, time: Bool = false) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 7 * 3600)!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d/%02d/%02d", c.year!, c.month!, c.day!)
        return time ? day + String(format: " %02d:%02d:%02d", c.hour!, c.minute!, c.second!) : day
    }
}

/// A small element tree read from edXML text, bounded in size, depth, elements and time.
///
/// Written here rather than taken from a library: Foundation's XMLParser (libxml2 underneath)
/// was seen by the fuzzer to crash the process on malformed input (a tag opening with a quote,
/// text where the root element should be, names outside ASCII), and the mirror's XML
/// libraries (XMLCoder, SWXMLHash) sit on that same parser. edXML needs only the core of XML
/// 1.0: elements, attributes, namespaces by prefix, text, CDATA, comments and the predefined
/// and numeric references; document type declarations (and with them entity expansion and
/// external fetches) are refused.
enum XMLTree {
    final class Node {
        let name: String
        var children: [Node] = []
        var text = ""
        let path: String
        weak var parent: Node?

        init(name: String, path: String) {
            self.name = name
            self.path = path
        }

        func child(_ name: String) -> Node? { children.first { $0.name == name } }
        func children(_ name: String) -> [Node] { children.filter { $0.name == name } }
        func text(_ name: String) -> String? {
            child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        }

        func required(_ name: String) throws(EdxmlEnvelope.Problem) -> Node {
            guard let found = child(name) else {
                throw EdxmlEnvelope.Problem(element: "\(path)/\(name)", reason: "is required")
            }
            return found
        }

        func requiredText(_ name: String) throws(EdxmlEnvelope.Problem) -> String {
            guard let value = text(name), !value.isEmpty else {
                throw EdxmlEnvelope.Problem(element: "\(path)/\(name)", reason: "is required")
            }
            guard value.count <= 100_000 || name == "ContentTransferEncoded" else {
                throw EdxmlEnvelope.Problem(element: "\(path)/\(name)", reason: "is too long")
            }
            return value
        }
    }

    /// Reads `data` (UTF-8) into a tree of elements by local name, each checked to be in the
    /// edXML namespace (or none), XML-DSig's `Signature` and what it holds excepted.
    static func parse(_ data: Data) throws(EdxmlEnvelope.Problem) -> Node {
        guard let text = String(data: data, encoding: .utf8) else {
            throw EdxmlEnvelope.Problem(element: "edXML", reason: "is not UTF-8 text")
        }
        var reader = Reader(scalars: Array(text.unicodeScalars))
        return try reader.document()
    }

    struct Reader {
        let scalars: [Unicode.Scalar]
        var i = 0
        var elements = 0
        let deadline = ContinuousClock.now + .seconds(5)

        init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var malformed: EdxmlEnvelope.Problem {
            .init(element: "edXML", reason: "is not well-formed XML (at character \(i))")
        }

        func at(_ literal: String) -> Bool {
            var j = i
            for scalar in literal.unicodeScalars {
                guard j < scalars.count, scalars[j] == scalar else { return false }
                j += 1
            }
            return true
        }

        mutating func skip(past literal: String) throws(EdxmlEnvelope.Problem) {
            while i < scalars.count && !at(literal) { i += 1 }
            guard i < scalars.count else { throw malformed }
            i += literal.unicodeScalars.count
        }

        mutating func spaces() { while i < scalars.count && Self.isSpace(scalars[i]) { i += 1 } }

        static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        static func isNameStart(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
        }
        static func isName(_ c: Unicode.Scalar) -> Bool {
            isNameStart(c) || ("0"..."9").contains(c) || c == "." || c == "-" || c == ":"
        }
        /// XML 1.0's `Char`.
        static func isChar(_ value: UInt32) -> Bool {
            value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
                || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
        }

        /// A name in ASCII (edXML's are).
        mutating func name() throws(EdxmlEnvelope.Problem) -> String {
            guard i < scalars.count, Self.isNameStart(scalars[i]) else { throw malformed }
            var name = String.UnicodeScalarView()
            while i < scalars.count && Self.isName(scalars[i]) {
                name.append(scalars[i])
                i += 1
            }
            guard name.count <= 200 else { throw malformed }
            return String(name)
        }

        /// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` and `&#...;`, as the character.
        mutating func reference() throws(EdxmlEnvelope.Problem) -> Unicode.Scalar {
            i += 1
            var body = ""
            while i < scalars.count && scalars[i] != ";" && body.unicodeScalars.count < 12 {
                body.unicodeScalars.append(scalars[i])
                i += 1
            }
            guard i < scalars.count, scalars[i] == ";" else { throw malformed }
            i += 1
            switch body {
            case "amp": return "&"
            case "lt": return "<"
            case "gt": return ">"
            case "quot": return "\""
            case "apos": return "'"
            default:
                let number =
                    body.hasPrefix("#x")
                    ? UInt32(body.dropFirst(2), radix: 16)
                    : body.hasPrefix("#") ? UInt32(body.dropFirst(), radix: 10) : nil
                guard let number, Self.isChar(number), let scalar = Unicode.Scalar(number) else { throw malformed }
                return scalar
            }
        }

        /// Comments, processing instructions and white space between elements.
        mutating func misc() throws(EdxmlEnvelope.Problem) {
            while true {
                spaces()
                if at("<!--") {
                    try skip(past: "-->")
                } else if at("<?") {
                    i += 2
                    _ = try name()
                    try skip(past: "?>")
                } else {
                    return
                }
            }
        }

        mutating func document() throws(EdxmlEnvelope.Problem) -> Node {
            guard scalars.allSatisfy({ Self.isChar($0.value) }) else {
                throw EdxmlEnvelope.Problem(element: "edXML", reason: "holds characters XML does not allow")
            }
            if at("<?xml") {
                let start = i
                try skip(past: "?>")
                let declaration = String(String.UnicodeScalarView(scalars[start..<i]))
                guard declaration.contains("version") else { throw malformed }
                if let encoding = declaration.range(of: "encoding=") {
                    let value = declaration[encoding.upperBound...].dropFirst().prefix(5).lowercased()
                    guard value == "utf-8" else {
                        throw EdxmlEnvelope.Problem(element: "edXML", reason: "must be encoded in UTF-8")
                    }
                }
            }
            try misc()
            if at("<!DOCTYPE") || at("<!ENTITY") {
                throw EdxmlEnvelope.Problem(element: "edXML", reason: "must not declare a document type or entities")
            }
            guard at("<") else { throw malformed }
            let root = try element(parent: nil, scopes: [:])
            try misc()
            guard i == scalars.count else { throw malformed }
            return root
        }

        /// One element and everything in it; `scopes` maps prefixes ("" the default) to
        /// namespaces in force.
        mutating func element(parent: Node?, scopes inherited: [String: String], depth: Int = 0)
            throws(EdxmlEnvelope.Problem) -> Node
        {
            elements += 1
            guard depth < EdxmlEnvelope.maxDepth, elements <= EdxmlEnvelope.maxElements, ContinuousClock.now < deadline
            else {
                throw EdxmlEnvelope.Problem(
                    element: parent?.path ?? "edXML", reason: "the envelope is too deep, too large or too slow to read")
            }
            i += 1  // <
            let qualified = try name()
            var scopes = inherited
            var closed = false
            while true {
                spaces()
                guard i < scalars.count else { throw malformed }
                if scalars[i] == ">" {
                    i += 1
                    break
                }
                if at("/>") {
                    i += 2
                    closed = true
                    break
                }
                let attribute = try name()
                spaces()
                guard i < scalars.count, scalars[i] == "=" else { throw malformed }
                i += 1
                spaces()
                guard i < scalars.count, scalars[i] == "\"" || scalars[i] == "'" else { throw malformed }
                let quote = scalars[i]
                i += 1
                var value = String.UnicodeScalarView()
                while i < scalars.count && scalars[i] != quote {
                    guard scalars[i] != "<" else { throw malformed }
                    if scalars[i] == "&" {
                        value.append(try reference())
                    } else {
                        value.append(scalars[i])
                        i += 1
                    }
                }
                guard i < scalars.count else { throw malformed }
                i += 1
                if attribute == "xmlns" { scopes[""] = String(value) }
                if attribute.hasPrefix("xmlns:") { scopes[String(attribute.dropFirst(6))] = String(value) }
            }
            let parts = qualified.split(separator: ":", maxSplits: 1).map(String.init)
            let (prefix, local) = parts.count == 2 ? (parts[0], parts[1]) : ("", qualified)
            let path = parent.map { $0.parent == nil ? local : "\($0.path)/\(local)" } ?? local
            let namespace = scopes[prefix]
            guard prefix.isEmpty || namespace != nil else {
                throw EdxmlEnvelope.Problem(element: path, reason: "uses an undeclared prefix")
            }
            let signature = local == "Signature" || (parent?.path.contains("Signature") ?? false)
            guard signature || namespace == nil || namespace == EdxmlEnvelope.namespace else {
                throw EdxmlEnvelope.Problem(element: path, reason: "is not in the edXML namespace")
            }
            let node = Node(name: local, path: path)
            node.parent = parent
            if closed { return node }
            var text = String.UnicodeScalarView()
            while true {
                guard i < scalars.count else { throw malformed }
                if at("</") {
                    i += 2
                    guard try name() == qualified else { throw malformed }
                    spaces()
                    guard i < scalars.count, scalars[i] == ">" else { throw malformed }
                    i += 1
                    node.text = String(text)
                    return node
                } else if at("<!--") {
                    try skip(past: "-->")
                } else if at("<![CDATA[") {
                    i += 9
                    while i < scalars.count && !at("]]>") {
                        text.append(scalars[i])
                        i += 1
                    }
                    guard i < scalars.count else { throw malformed }
                    i += 3
                } else if at("<?") {
                    i += 2
                    _ = try name()
                    try skip(past: "?>")
                } else if scalars[i] == "<" {
                    node.children.append(try element(parent: node, scopes: scopes, depth: depth + 1))
                } else if scalars[i] == "&" {
                    text.append(try reference())
                } else {
                    text.append(scalars[i])
                    i += 1
                }
            }
        }
    }
}

/// The envelope reader as `ImportEdxml` uses it, for the fuzzer.
public enum EdxmlReader {
    /// Whether `data` reads as a complete envelope.
    public static func read(_ data: Data) -> Bool { (try? EdxmlEnvelope.parse(data)) != nil }

    /// A complete envelope to start mutations from.
    public static var sample: Data {
        Data(
            EdxmlEnvelope(
                from: .init(id: "000.00.00.G22", name: "Văn phòng Chính phủ"),
                to: [.init(id: "000.00.06.H41", name: "Sở Y tế")],
                documentID: "000.00.00.G22,2026/11/30,7816/VPCP-KGVX",
                codeNumber: "7816", codeNotation: "VPCP-KGVX", place: "Hà Nội", promulgationDate: "2026/11/30",
                typeName: "Công văn", subject: "V/v tiêm chủng <mở rộng> & \"khẩn\"", content: "",
                competence: "KT. BỘ TRƯỞNG",
                position: "THỨ TRƯỞNG", fullName: "Nguyễn Văn A", priority: 1, businessType: 0,
                businessReason: "Văn bản điện tử mới", timestamp: "2026/11/30 10:00:00",
                files: [.init(name: "a.pdf", contentType: "application/pdf", content: Data("%PDF-1.7".utf8))]
            ).xml().utf8)
    }
}
