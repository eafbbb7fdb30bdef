import EGovAPI
import EGovKit
import EGovStore
import Foundation

/// A demo province for local runs: the provincial People's Committee, departments and
/// sector bodies, and communes (the two-level local government since July 2025). Codes
/// follow QCVN 102:2016's shape; names are illustrative.
enum DemoProvince {
    typealias Kind = Egov_Identity_V1_Agency.Kind

    static let root = "000.00.00.H41"

    /// code, name, abbreviation, kind, owns a bridge point.
    static let agencies: [(String, String, String, Kind, Bool)] = [
        (root, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", .provincialPeoplesCommittee, true),
        ("000.00.01.H41", "Văn phòng Ủy ban nhân dân tỉnh", "VP", .department, true),
        ("000.00.02.H41", "Sở Nội vụ", "SNV", .department, true),
        ("000.00.03.H41", "Sở Tư pháp", "STP", .department, false),
        ("000.00.04.H41", "Sở Tài chính", "STC", .department, true),
        ("000.00.05.H41", "Sở Xây dựng", "SXD", .department, false),
        ("000.00.06.H41", "Sở Y tế", "SYT", .department, true),
        ("000.00.07.H41", "Sở Giáo dục và Đào tạo", "SGDĐT", .department, true),
        ("000.00.08.H41", "Sở Nông nghiệp và Môi trường", "SNNMT", .department, false),
        ("000.00.09.H41", "Sở Công Thương", "SCT", .department, false),
        ("000.00.10.H41", "Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL", .department, false),
        ("000.00.11.H41", "Sở Khoa học và Công nghệ", "SKHCN", .department, true),
        ("000.00.12.H41", "Sở Dân tộc và Tôn giáo", "SDTTG", .department, false),
        ("000.00.13.H41", "Thanh tra tỉnh", "TTR", .department, false),
        ("000.00.14.H41", "Trung tâm Phục vụ hành chính công tỉnh", "TTPVHCC", .unit, true),
        ("000.00.15.H41", "Tòa án nhân dân tỉnh", "TAND", .sectorBody, true),
        ("000.00.16.H41", "Viện kiểm sát nhân dân tỉnh", "VKSND", .sectorBody, true),
        ("000.00.17.H41", "Công an tỉnh", "CAT", .sectorBody, true),
        ("000.00.18.H41", "Bộ Chỉ huy Quân sự tỉnh", "BCHQS", .sectorBody, true),
        ("000.00.19.H41", "Thuế tỉnh", "TT", .sectorBody, false),
        ("000.00.20.H41", "Kho bạc Nhà nước khu vực", "KBNN", .sectorBody, false),
        ("000.01.01.H41", "Ủy ban nhân dân phường Minh Xuân", "UBND", .commune, true),
        ("000.01.02.H41", "Ủy ban nhân dân phường Nông Tiến", "UBND", .commune, true),
        ("000.01.03.H41", "Ủy ban nhân dân phường An Tường", "UBND", .commune, true),
        ("000.01.04.H41", "Ủy ban nhân dân xã Yên Sơn", "UBND", .commune, true),
        ("000.01.05.H41", "Ủy ban nhân dân xã Hàm Yên", "UBND", .commune, true),
        ("000.01.06.H41", "Ủy ban nhân dân xã Chiêm Hóa", "UBND", .commune, true),
        ("000.01.07.H41", "Ủy ban nhân dân xã Na Hang", "UBND", .commune, true),
        ("000.01.08.H41", "Ủy ban nhân dân phường Hà Giang 1", "UBND", .commune, true),
        ("000.01.09.H41", "Ủy ban nhân dân xã Đồng Văn", "UBND", .commune, true),
        ("000.01.10.H41", "Ủy ban nhân dân xã Mèo Vạc", "UBND", .commune, true),
    ]

    /// Central bodies the province writes to, outside the platform: their documents travel
    /// through the national document exchange. Codes are illustrative.
    static let externalAgencies: [(String, String, String)] = [
        ("000.00.00.G01", "Văn phòng Chính phủ", "VPCP"),
        ("000.00.00.G12", "Bộ Nội vụ", "BNV"),
    ]

    /// Inserts the agencies that do not exist yet; returns how many were added.
    static func load(into repository: some AgencyRepository, store: Store) async throws -> Int {
        var added = 0
        for (code, name, abbreviation, kind, bridge) in agencies
        where try await repository.agency(code: code) == nil {
            let agency = Egov_Identity_V1_Agency.with {
                $0.name = "agencies/\(code)"
                $0.code = code
                $0.displayName = name
                $0.abbreviation = abbreviation
                $0.kind = kind
                $0.parent = code == root ? "" : "agencies/\(root)"
                $0.ownsBridgePoint = bridge
            }
            _ = try await store.write { tx in try await repository.insert(agency, in: tx) }
            added += 1
        }
        for (code, name, abbreviation) in externalAgencies where try await repository.agency(code: code) == nil {
            let agency = Egov_Identity_V1_Agency.with {
                $0.name = "agencies/\(code)"
                $0.code = code
                $0.displayName = name
                $0.abbreviation = abbreviation
                $0.kind = .centralBody
                $0.external = true
            }
            _ = try await store.write { tx in try await repository.insert(agency, in: tx) }
            added += 1
        }
        return added
    }

    /// Demo accounts: login, name, agency code, roles. One password for all of them, made
    /// up at the first load and kept in `demo-accounts.txt` under the data directory.
    static let accounts: [(String, String, String, [Egov_Identity_V1_Role])] = [
        ("admin@tuyenquang.egov.vn", "Quản trị hệ thống", root, [.systemAdmin]),
        ("quantri@syt.tuyenquang.egov.vn", "Quản trị Sở Y tế", "000.00.06.H41", [.agencyAdmin]),
        ("giamdoc@syt.tuyenquang.egov.vn", "Hoàng Minh Giám", "000.00.06.H41", [.leader]),
        ("chuyenvien@syt.tuyenquang.egov.vn", "Lý Thu Hà", "000.00.06.H41", [.specialist]),
        ("vanthu@syt.tuyenquang.egov.vn", "Đỗ Văn Thư", "000.00.06.H41", [.clerk]),
        ("tiepnhan@ttpvhcc.tuyenquang.egov.vn", "Vũ Thị Nhận", "000.00.14.H41", [.receptionOfficer]),
        // A commune that receives and decides its own procedures (civil status, certification).
        ("tiepnhan@minhxuan.tuyenquang.egov.vn", "Hà Văn Tiếp", "000.01.01.H41", [.receptionOfficer]),
        ("congchuc@minhxuan.tuyenquang.egov.vn", "Nông Thị Hộ", "000.01.01.H41", [.specialist]),
        ("chutich@minhxuan.tuyenquang.egov.vn", "Ma Văn Chủ", "000.01.01.H41", [.leader]),
    ]

    /// Creates the demo accounts that do not exist; returns the file with their logins.
    static func loadAccounts(dataDirectory: String, people: PersonRepository, store: Store) async throws -> String {
        let file = "\(dataDirectory)/demo-accounts.txt"
        var password = ""
        if let text = try? String(contentsOfFile: file, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("password: ") })
        {
            password = String(line.dropFirst("password: ".count))
        }
        if password.isEmpty {
            password = "demo-" + TOTP.base32(Array(TOTP.newSecret().prefix(10))).lowercased()
        }
        let hash = try await PasswordHasher().hash(password)
        var lines = [
            "Demo accounts of the local platform (development only).", "password: \(password)", "",
            "Administrators act as administrators after enrolling an authenticator (BeginTotpEnrollment).", "",
        ]
        for (login, name, agency, roles) in accounts {
            lines.append("\(login)  \(roles.map(\.name).joined(separator: ","))  agencies/\(agency)")
            guard try await people.account(login: login) == nil else { continue }
            let person = Egov_Identity_V1_Person.with {
                $0.kind = .official
                $0.displayName = name
                $0.email = login
                $0.agency = "agencies/\(agency)"
                $0.roles = roles
                // Leaders and clerks handle the agency's classified documents up to Tối mật.
                if roles.contains(.leader) || roles.contains(.clerk) { $0.clearance = .secret }
            }
            _ = try await store.write { tx in try await people.insert(person, login: login, passwordHash: hash, in: tx)
            }
        }
        let citizen = Egov_Identity_V1_Person.with {
            $0.kind = .citizen
            $0.displayName = "Nguyễn Văn An"
            $0.citizenID = "008090001234"
            $0.birthDate = "1990-05-01"
            $0.roles = [.citizen]
        }
        lines.append("008090001234  ROLE_CITIZEN (citizen id)")
        if try await people.account(login: "008090001234") == nil {
            _ = try await store.write { tx in
                try await people.insert(citizen, login: "008090001234", passwordHash: hash, in: tx)
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        return file
    }
}
