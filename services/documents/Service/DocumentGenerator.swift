import EGovAPI
import EGovKit
public import EGovStore
import Foundation

/// Made-up documents in bulk, for measuring search at scale (`scripts/bench`): released
/// outgoing documents of one agency with Vietnamese subjects and contents drawn from a
/// province's everyday vocabulary, written a thousand to a transaction through the same
/// repository (and search index) as real ones.
public enum DocumentGenerator {
    static let topics = [
        "chuyển đổi số", "đầu tư công", "phòng chống thiên tai", "cải cách hành chính", "y tế cơ sở",
        "giáo dục phổ thông", "xây dựng nông thôn mới", "an toàn giao thông", "quản lý đất đai", "bảo vệ môi trường",
        "phát triển du lịch", "an sinh xã hội", "tiêm chủng mở rộng", "phòng cháy chữa cháy", "thu ngân sách",
    ]
    static let actions = [
        "Về việc triển khai", "Về việc phê duyệt kế hoạch", "Về việc tăng cường", "Về việc báo cáo kết quả",
        "Về việc kiện toàn Ban Chỉ đạo", "Về việc tổ chức hội nghị", "Về việc hướng dẫn thực hiện",
    ]
    static let types: [Egov_Documents_V1_DocumentType] = [.decision, .officialLetter, .plan, .report, .notice]

    /// Adds `count` documents to `agencyCode` in `store` (migrated); returns how many were added.
    public static func insert(count: Int, agencyCode: String, into store: Store) async throws -> Int {
        let repository = DocumentRepository(store: store)
        var generator = SystemRandomNumberGenerator()
        var added = 0
        while added < count {
            let batch = min(1000, count - added)
            try await store.write { tx in
                for offset in 0..<batch {
                    let index = added + offset
                    let topic = topics.randomElement(using: &generator)!
                    let document = Egov_Documents_V1_Document.with {
                        $0.direction = .outgoing
                        $0.documentType = types[index % types.count]
                        $0.subject = "\(actions.randomElement(using: &generator)!) \(topic) năm \(2010 + index % 7)"
                        $0.content =
                            "Căn cứ tình hình thực tế, đề nghị các cơ quan, đơn vị thực hiện \(topic); "
                            + "báo cáo kết quả về \(topics.randomElement(using: &generator)!) trước ngày 15 hằng tháng."
                        $0.urgency = .normal
                        $0.confidentiality = .none
                        $0.state = .released
                        $0.number = Int32(index + 1)
                        $0.notation = "UBND-VP"
                        $0.code = DocumentWorkflow.code(number: index + 1, notation: "UBND-VP")
                        // Past years' registers, apart from any the service numbers now.
                        $0.registerYear = Int32(2010 + index % 7)
                        $0.creator = "services/egov-bench"
                    }
                    _ = try await repository.insert(
                        document, agencyCode: agencyCode, id: "gen-\(UUID().uuidString.lowercased())", in: tx)
                }
            }
            added += batch
        }
        return added
    }
}
