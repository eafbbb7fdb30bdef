import EGovAPI
import EGovStore

/// A few real procedures of a provincial catalogue, for local runs. Codes follow the
/// national database's shape; processing times and fees are typical values. The departments'
/// procedures are received, and their results returned, at the province's Public
/// Administrative Service Centre; a commune receives its own at its one-stop desk.
enum DemoCatalogue {
    /// Trung tâm Phục vụ hành chính công tỉnh.
    static let serviceCentre = "agencies/000.00.14.H41"

    static func step(_ title: String, _ role: Egov_Identity_V1_Role, hours: Int32) -> Egov_Procedures_V1_ProcedureStep {
        .with {
            $0.title = title
            $0.role = role
            $0.workingHours = hours
        }
    }

    static func document(_ title: String, _ form: Egov_Procedures_V1_DocumentForm)
        -> Egov_Procedures_V1_RequiredDocument
    {
        .with {
            $0.title = title
            $0.form = form
            $0.quantity = 1
            $0.mandatory = true
        }
    }

    static var procedures: [Egov_Procedures_V1_Procedure] {
        let standardSteps = { (days: Int32) in
            [
                step("Tiếp nhận hồ sơ", .receptionOfficer, hours: 4),
                step("Thẩm định hồ sơ", .specialist, hours: max(4, days * 8 - 12)),
                step("Phê duyệt kết quả", .leader, hours: 4),
                step("Trả kết quả", .receptionOfficer, hours: 4),
            ]
        }
        let entries: [(String, String, String, String, Egov_Procedures_V1_ServiceMode, Int32, Int64, [String])] = [
            (
                "1.000948.H41", "Cấp giấy phép xây dựng mới đối với công trình cấp III", "000.00.05.H41", "Xây dựng",
                .partialOnline, 20, 150_000, ["Đơn đề nghị cấp giấy phép xây dựng", "Bản vẽ thiết kế xây dựng"]
            ),
            (
                "1.001612.H41", "Cấp giấy phép hoạt động đối với phòng khám chuyên khoa", "000.00.06.H41", "Y tế",
                .partialOnline, 30, 4_300_000, ["Đơn đề nghị cấp giấy phép hoạt động", "Danh sách người hành nghề"]
            ),
            (
                "2.000889.H41", "Cấp phiếu lý lịch tư pháp cho công dân Việt Nam", "000.00.03.H41", "Lý lịch tư pháp",
                .fullOnline, 10, 200_000, ["Tờ khai yêu cầu cấp phiếu lý lịch tư pháp"]
            ),
            (
                "1.001193.H41", "Đăng ký khai sinh", "000.01.01.H41", "Hộ tịch",
                .fullOnline, 1, 0, ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]
            ),
            (
                "2.001035.H41", "Cấp giấy phép kinh doanh bán lẻ sản phẩm rượu", "000.00.09.H41", "Lưu thông hàng hóa",
                .partialOnline, 15, 1_200_000,
                ["Đơn đề nghị cấp giấy phép", "Bản sao giấy chứng nhận đăng ký doanh nghiệp"]
            ),
            (
                "1.004227.H41", "Công nhận trường mầm non đạt chuẩn quốc gia", "000.00.07.H41", "Giáo dục và Đào tạo",
                .partialOnline, 20, 0, ["Tờ trình đề nghị công nhận", "Báo cáo tự đánh giá"]
            ),
            (
                "1.000656.H41", "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "000.00.06.H41",
                "An toàn thực phẩm",
                .partialOnline, 20, 1_000_000, ["Đơn đề nghị cấp giấy chứng nhận", "Bản thuyết minh về cơ sở vật chất"]
            ),
            (
                "1.009994.H41", "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", "000.00.06.H41", "Khám bệnh, chữa bệnh",
                .partialOnline, 20, 360_000,
                ["Đơn đề nghị cấp chứng chỉ hành nghề", "Văn bằng chuyên môn", "Giấy khám sức khỏe"]
            ),
            (
                "1.001977.H41", "Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa", "000.00.10.H41", "Du lịch",
                .partialOnline, 10, 3_000_000, ["Đơn đề nghị cấp giấy phép", "Giấy chứng nhận ký quỹ"]
            ),
            (
                "2.001880.H41", "Cấp lại giấy chứng nhận quyền sử dụng đất do bị mất", "000.00.08.H41", "Đất đai",
                .partialOnline, 10, 0,
                ["Đơn đề nghị cấp lại giấy chứng nhận", "Giấy xác nhận việc niêm yết thông báo mất"]
            ),
            (
                "1.002425.H41", "Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở", "000.00.05.H41",
                "Xây dựng",
                .partialOnline, 30, 0, ["Tờ trình thẩm định thiết kế", "Hồ sơ thiết kế xây dựng"]
            ),
            (
                "2.001263.H41", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "000.00.04.H41",
                "Thành lập và hoạt động doanh nghiệp", .fullOnline, 3, 50_000,
                ["Thông báo thay đổi nội dung đăng ký doanh nghiệp"]
            ),
            (
                "1.010945.H41", "Cấp giấy phép lao động cho người lao động nước ngoài", "000.00.02.H41", "Việc làm",
                .fullOnline, 5, 600_000,
                ["Văn bản đề nghị cấp giấy phép lao động", "Giấy chứng nhận sức khỏe", "Hộ chiếu"]
            ),
            (
                "1.005388.H41", "Đăng ký thành lập hộ kinh doanh", "000.01.02.H41",
                "Thành lập và hoạt động của hộ kinh doanh",
                .fullOnline, 3, 100_000, ["Giấy đề nghị đăng ký hộ kinh doanh"]
            ),
            (
                "1.004946.H41", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "000.01.03.H41", "Chứng thực",
                .partialOnline, 1, 2_000, ["Bản chính giấy tờ cần chứng thực"]
            ),
            (
                "1.001022.H41", "Đăng ký kết hôn", "000.01.04.H41", "Hộ tịch",
                .partialOnline, 3, 0, ["Tờ khai đăng ký kết hôn", "Giấy xác nhận tình trạng hôn nhân"]
            ),
            (
                "2.000794.H41", "Đăng ký khai tử", "000.01.05.H41", "Hộ tịch",
                .fullOnline, 1, 0, ["Tờ khai đăng ký khai tử", "Giấy báo tử"]
            ),
        ]
        return entries.map { code, name, agency, sector, mode, days, fee, documents in
            .with {
                $0.code = code
                $0.displayName = name
                $0.agency = "agencies/\(agency)"
                $0.sector = sector
                $0.mode = mode
                $0.processingDays = days
                if fee > 0 {
                    $0.fees = [
                        .with {
                            $0.description_p = "Lệ phí"; $0.amountVnd = fee
                        }
                    ]
                }
                $0.requiredDocuments = documents.map { document($0, mode == .fullOnline ? .electronic : .copy) }
                $0.legalBasis = ["Nghị định 61/2018/NĐ-CP", "Nghị định 107/2021/NĐ-CP"]
                $0.steps = standardSteps(days)
                // Departments (000.00.xx) receive at the centre; communes (000.01.xx) at their own desk.
                if agency.hasPrefix("000.00.") { $0.receptionPoints = [serviceCentre] }
            }
        }
    }

    /// Inserts the procedures not in the catalogue yet, and gives the demo procedures loaded
    /// before reception points existed theirs; returns how many were added.
    static func load(into repository: some ProcedureRepository, store: Store) async throws -> Int {
        var added = 0
        for procedure in procedures {
            guard var stored = try await repository.procedure(code: procedure.code) else {
                _ = try await store.write { tx in try await repository.insert(procedure, in: tx) }
                added += 1
                continue
            }
            if stored.receptionPoints.isEmpty && !procedure.receptionPoints.isEmpty {
                stored.receptionPoints = procedure.receptionPoints
                _ = try await repository.update(stored, version: Int64(stored.etag) ?? 0)
            }
        }
        return added
    }
}
