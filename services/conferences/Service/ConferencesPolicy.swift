import EGovAPI
public import EGovKit

/// Who may do what in conferences: every rule the handlers ask, and every RPC's entry.
public enum ConferencesPolicy {
    typealias Conference = Egov_Conferences_V1_Conference

    /// Register and change an agency's bridge points (`agencies/{code}`): its administrators.
    static let manageBridgePoints = Rule<String> { user, agency in user.administers(agency) }

    /// Schedule a conference hosted by `agencies/{code}`: its leaders and administrators.
    static let schedule = Rule<String>(usersOnly: true) { user, agency in
        user.holds(.leader, at: agency) || user.administers(agency)
    }

    /// Change, reschedule or cancel a scheduled conference: its chair, the host agency's
    /// leaders and administrators.
    static let manage = Rule<Conference>(usersOnly: true) { user, conference in
        conference.chair == user.sub || user.holds(.leader, at: conference.hostAgency)
            || user.administers(conference.hostAgency)
    }

    /// Run the live meeting (start, end, the floor, the roll): its chair, the host agency's
    /// administrators.
    static let chair = Rule<Conference>(usersOnly: true) { user, conference in
        conference.chair == user.sub || user.administers(conference.hostAgency)
    }

    /// See a conference and watch it: officials, unless it is restricted; then the host
    /// agency's officials, the chair, the invited people and the invited agencies' officials.
    /// Citizens never.
    static let read = Rule<Conference>(usersOnly: true) { user, conference in
        guard user.isOfficial || user.isSystemAdministrator else { return false }
        guard conference.restricted else { return true }
        return user.worksAt(conference.hostAgency) || invited(user, conference)
    }

    static func invited(_ user: AccessClaims, _ conference: Conference) -> Bool {
        conference.chair == user.sub || conference.invitedPeople.contains(user.sub)
            || conference.invitedAgencies.contains { user.worksAt($0) }
    }

    /// Act for `participant` (`people/{id}`: themselves, invited; `bridgePoints/{id}`: an
    /// official of its agency) in `conference`: report readiness, ask to speak.
    static let actFor = Rule<(Conference, participant: String, agency: String)>(usersOnly: true) { user, subject in
        let (conference, participant, agency) = subject
        if participant.hasPrefix("people/") {
            return participant == user.sub
                && (conference.invitedPeople.contains(user.sub) || conference.chair == user.sub)
        }
        return conference.bridgePoints.contains(participant) && user.worksAt(agency)
    }

    /// Read and export a conference's attendance: its chair and the host agency's officials.
    static let readAttendance = Rule<Conference>(usersOnly: true) { user, conference in
        conference.chair == user.sub || user.worksAt(conference.hostAgency)
    }

    /// Read the figures of a host agency (`agencies/{code}`): its officials; of the whole
    /// province (empty): system administrators.
    static let readStatistics = Rule<String>(usersOnly: true) { user, agency in
        agency.isEmpty ? user.isSystemAdministrator : user.worksAt(agency)
    }

    /// List and complete an agency's follow-up tasks (`agencies/{code}`): its officials.
    static let handleTasks = Rule<String>(usersOnly: true) { user, agency in user.worksAt(agency) }

    /// Every RPC of `egov.conferences.v1.ConferencesService` and who may call it.
    public static let methods: [String: MethodAccess] = [
        "GetBridgePoint": .anyone, "ListBridgePoints": .anyone,
        "CreateBridgePoint": .rules(["manageBridgePoints"]), "UpdateBridgePoint": .rules(["manageBridgePoints"]),
        "DeactivateBridgePoint": .rules(["manageBridgePoints"]),
        "CreateConference": .rules(["schedule"]), "GetConference": .rules(["read"]),
        "ListConferences": .rules(["read"]), "UpdateConference": .rules(["read", "manage"]),
        "CancelConference": .rules(["read", "manage"]), "ReportReadiness": .rules(["read", "actFor"]),
        "StartConference": .rules(["read", "chair"]), "EndConference": .rules(["read", "chair"]),
        "ActInConference": .rules(["read", "chair", "actFor"]), "WatchConference": .rules(["read"]),
        "GetJoinGrant": .rules(["read", "actFor"]), "GetAttendance": .rules(["read", "readAttendance"]),
        "ExportAttendance": .rules(["read", "readAttendance"]), "GetConferenceStatistics": .rules(["readStatistics"]),
        "DraftConferenceDocument": .rules(["read", "manage"]), "CreateFollowUpTask": .rules(["read", "manage"]),
        "ListFollowUpTasks": .rules(["handleTasks"]), "CompleteFollowUpTask": .rules(["handleTasks"]),
    ]
}
