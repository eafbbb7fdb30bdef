public import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
public import GRPCCore
import Logging

/// The conferences service's RPCs.
public struct ConferencesService: Egov_Conferences_V1_ConferencesService.SimpleServiceProtocol {
    let bridgePoints: any BridgePointRepository
    let conferences: ConferenceRepository
    let agencies: any AgencyDirectory
    let people: any PersonDirectory
    let store: Store
    /// Wakes `WatchConference` streams when a conference's log grows in this process.
    let feed = ChangeFeed()
    static let errors = ErrorBuilder(domain: "conferences.egov")

    let media: MediaRepository
    /// The media server, when one is configured, and the client that calls it.
    let janus: JanusSettings?
    let janusClient: JanusClient?
    let logger: Logger
    let travel: TravelValuation
    /// Drafts the conference's official documents; nil without a documents service.
    let documentOffice: (any DocumentOffice)?

    init(
        store: Store, agencies: any AgencyDirectory, people: any PersonDirectory, janus: JanusSettings?,
        travel: TravelValuation = .init(), documentOffice: (any DocumentOffice)? = nil, logger: Logger
    ) {
        self.travel = travel
        self.documentOffice = documentOffice
        self.janus = janus
        self.janusClient = janus.map(JanusClient.init)
        self.logger = logger
        self.media = MediaRepository(store: store)
        self.store = store
        self.agencies = agencies
        self.people = people
        self.bridgePoints = SQLBridgePointRepository(store: store)
        self.conferences = ConferenceRepository(store: store)
    }

    public func createBridgePoint(
        request: Egov_Conferences_V1_CreateBridgePointRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_BridgePoint {
        let point = try Self.validated(request.bridgePoint)
        try ConferencesPolicy.manageBridgePoints.require(
            point.agency, Self.errors, doing: "register this agency's bridge points")
        _ = try await agencies.requireActive(point.agency, field: "bridge_point.agency", errors: Self.errors)
        return try await store.idempotentWrite(
            scope: "CreateBridgePoint", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            try await bridgePoints.insert(point, id: UUID().uuidString.lowercased(), in: tx)
        }
    }

    public func updateBridgePoint(
        request: Egov_Conferences_V1_UpdateBridgePointRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_BridgePoint {
        let current = try await getBridgePoint(request: .with { $0.name = request.bridgePoint.name }, context: context)
        try ConferencesPolicy.manageBridgePoints.require(
            current.agency, Self.errors, doing: "change this agency's bridge points")
        guard !request.updateMask.paths.isEmpty else {
            throw Self.errors.invalidArgument("INVALID_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        if !request.bridgePoint.etag.isEmpty && request.bridgePoint.etag != current.etag {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The bridge point changed since you read it; read it again.")
        }
        var changed = current
        let input = request.bridgePoint
        for path in request.updateMask.paths {
            switch path {
            case "display_name": changed.displayName = input.displayName
            case "address": changed.address = input.address
            case "equipment": changed.equipment = input.equipment
            case "media_endpoint": changed.mediaEndpoint = input.mediaEndpoint
            case "travel_minutes": changed.travelMinutes = input.travelMinutes
            case "travel_cost_vnd": changed.travelCostVnd = input.travelCostVnd
            default:
                throw Self.errors.invalidArgument(
                    "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask", "'\(Clip.text(path, 64))' cannot be changed")
            }
        }
        var checked = try Self.validated(changed)
        checked.name = current.name
        checked.state = current.state
        checked.createTime = current.createTime
        return try await save(checked, over: current)
    }

    public func deactivateBridgePoint(
        request: Egov_Conferences_V1_DeactivateBridgePointRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_BridgePoint {
        let current = try await getBridgePoint(request: .with { $0.name = request.name }, context: context)
        try ConferencesPolicy.manageBridgePoints.require(
            current.agency, Self.errors, doing: "deactivate this agency's bridge points")
        guard current.state == .active else { return current }
        var changed = current
        changed.state = .inactive
        return try await save(changed, over: current)
    }

    /// Writes `point` over `current` as read; ETAG_MISMATCH when someone changed it meanwhile.
    func save(
        _ point: Egov_Conferences_V1_BridgePoint, over current: Egov_Conferences_V1_BridgePoint
    ) async throws -> Egov_Conferences_V1_BridgePoint {
        try await store.write { tx in
            guard try await bridgePoints.update(point, version: Int64(current.etag) ?? 0, in: tx) else {
                throw Self.errors.failedPrecondition(
                    "ETAG_MISMATCH", "The bridge point changed meanwhile; read it again.")
            }
        }
        return try await bridgePoints.bridgePoint(id: String(point.name.dropFirst("bridgePoints/".count)))!
    }

    public func getBridgePoint(
        request: Egov_Conferences_V1_GetBridgePointRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_BridgePoint {
        let id = request.name.hasPrefix("bridgePoints/") ? String(request.name.dropFirst("bridgePoints/".count)) : ""
        guard !id.isEmpty, id.count <= 64, !id.contains("/") else {
            throw Self.errors.invalidArgument(
                "INVALID_BRIDGE_POINT_NAME", field: "name", "must be bridgePoints/{id}, got '\(request.name)'")
        }
        guard let point = try await bridgePoints.bridgePoint(id: id) else {
            throw Self.errors.notFound(
                "BRIDGE_POINT_NOT_FOUND", resource: request.name, "Bridge point '\(request.name)' does not exist.")
        }
        return point
    }

    public func listBridgePoints(
        request: Egov_Conferences_V1_ListBridgePointsRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_ListBridgePointsResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        if !request.agency.isEmpty, !(AgencyCode.code(fromName: request.agency) != nil) {
            throw Self.errors.invalidArgument("INVALID_AGENCY_NAME", field: "agency", "must be agencies/{code}")
        }
        let filter = "agency=\(request.agency)"
        let after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        let page = try await bridgePoints.bridgePoints(
            agency: request.agency.isEmpty ? nil : request.agency, after: after, limit: size + 1)
        let result = PageToken.page(page, size: size, filter: filter) {
            String($0.name.dropFirst("bridgePoints/".count))
        }
        return .with {
            $0.bridgePoints = result.items
            $0.nextPageToken = result.nextPageToken
        }
    }

    /// Checks a bridge point to register; returns it with output-only fields cleared.
    static func validated(_ input: Egov_Conferences_V1_BridgePoint) throws -> Egov_Conferences_V1_BridgePoint {
        var violations: [ErrorBuilder.Violation] = []
        if input.displayName.trimmingCharacters(in: .whitespaces).isEmpty || input.displayName.count > 300 {
            violations.append(.init("bridge_point.display_name", "is required, at most 300 characters"))
        }
        if AgencyCode.code(fromName: input.agency) == nil {
            violations.append(.init("bridge_point.agency", "must be agencies/{code}"))
        }
        if input.travelMinutes < 0 || input.travelMinutes > 7 * 24 * 60 {
            violations.append(.init("bridge_point.travel_minutes", "must be between 0 and a week"))
        }
        if input.travelCostVnd < 0 {
            violations.append(.init("bridge_point.travel_cost_vnd", "must not be negative"))
        }
        if input.equipment.count > 100 || input.equipment.contains(where: { $0.isEmpty || $0.count > 200 }) {
            violations.append(.init("bridge_point.equipment", "at most 100 items of 1 to 200 characters"))
        }
        if !violations.isEmpty { throw errors.invalidArgument("INVALID_BRIDGE_POINT", violations) }
        var point = input
        point.name = ""
        point.state = .unspecified
        point.clearCreateTime()
        point.clearUpdateTime()
        point.etag = ""
        return point
    }
}
