import EGovAPI
import EGovStore
import SQLKit

/// Bridge points of the demo province's agencies, for local runs.
enum DemoBridgePoints {
    /// id, agency code, room, travel minutes to the provincial hall, travel cost in đồng.
    static let points: [(String, String, String, Int32, Int64)] = [
        ("ubnd-tinh", "000.00.00.H41", "Phòng họp trực tuyến UBND tỉnh", 0, 0),
        ("so-y-te", "000.00.06.H41", "Phòng họp Sở Y tế", 10, 50_000),
        ("cong-an-tinh", "000.00.17.H41", "Phòng họp trực tuyến Công an tỉnh", 15, 60_000),
        ("xa-yen-son", "000.01.04.H41", "Hội trường UBND xã Yên Sơn", 40, 250_000),
        ("xa-ham-yen", "000.01.05.H41", "Hội trường UBND xã Hàm Yên", 75, 400_000),
        ("xa-dong-van", "000.01.09.H41", "Hội trường UBND xã Đồng Văn", 330, 1_800_000),
        ("xa-meo-vac", "000.01.10.H41", "Hội trường UBND xã Mèo Vạc", 360, 1_900_000),
    ]

    static func load(into repository: some BridgePointRepository, store: Store) async throws -> Int {
        var added = 0
        for (id, agency, room, minutes, cost) in points where try await repository.bridgePoint(id: id) == nil {
            let point = Egov_Conferences_V1_BridgePoint.with {
                $0.displayName = room
                $0.agency = "agencies/\(agency)"
                $0.equipment = ["camera PTZ", "micro hội nghị", "màn hình LED"]
                $0.mediaEndpoint = "sip:\(id)@conference.local"
                $0.travelMinutes = minutes
                $0.travelCostVnd = cost
            }
            _ = try await store.write { tx in try await repository.insert(point, id: id, in: tx) }
            added += 1
        }
        return added
    }
}
