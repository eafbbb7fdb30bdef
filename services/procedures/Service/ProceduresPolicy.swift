import EGovAPI
public import EGovKit

/// Who may do what in the one-stop shop: every rule the handlers ask, and every RPC's entry.
///
/// The data decides as much as the role: a dossier's applicant (or the representative who
/// filed it online), the receiving point's reception officers, the deciding agency's
/// specialists (the one assigned) and leaders.
public enum ProceduresPolicy {
    typealias Dossier = Egov_Procedures_V1_Dossier

    /// Maintain an agency's procedures (`agencies/{code}`): its administrators.
    static let manageCatalogue = Rule<String> { user, agency in user.administers(agency) }

    /// Enter holiday rules and the government's calendar decisions: system administrators.
    static let manageCalendar = Rule<Void> { user, _ in user.isSystemAdministrator }

    /// File online, for oneself or as someone's representative: citizens and businesses.
    static let fileOnline = Rule<Void> { user, _ in user.holds(.citizen) || user.holds(.business) }

    /// Record a desk or postal filing for a procedure received at `points`: their reception officers.
    static let fileAtDesk = Rule<[String]> { user, points in
        user.holds(.receptionOfficer) && points.contains(user.agency ?? "")
    }

    /// Whether `user` is an official of the receiving or the deciding agency of `dossier`.
    static func worksOn(_ user: AccessClaims, _ dossier: Dossier) -> Bool {
        user.worksAt(dossier.agency) || user.worksAt(dossier.decidingAgency)
    }

    /// See a dossier: its applicant side, the officials of the receiving and deciding agencies.
    static let readDossier = Rule<Dossier> { user, dossier in
        dossier.isApplicantSide(user.sub) || worksOn(user, dossier)
    }

    /// Work on a dossier as an official (add papers to it): the receiving and deciding agencies'.
    static let workOnDossier = Rule<Dossier> { user, dossier in worksOn(user, dossier) }

    /// Attach the result: the deciding agency's officials.
    static let attachResult = Rule<Dossier> { user, dossier in user.worksAt(dossier.decidingAgency) }

    /// Draft the result decision in documents: the deciding agency's leaders, and the
    /// specialist handling the dossier.
    static let draftResult = Rule<Dossier>(usersOnly: true) { user, dossier in
        let actors = actors(user, on: dossier)
        return actors.contains(.leader) || actors.contains(.handler)
    }

    /// Issue an apology slip: officials of either agency, never on their own dossier.
    static let issueApology = Rule<Dossier> { user, dossier in
        worksOn(user, dossier) && !dossier.isApplicantSide(user.sub)
    }

    /// Rate the service: the applicant side, signed in.
    static let rateDossier = Rule<Dossier>(usersOnly: true) { user, dossier in dossier.isApplicantSide(user.sub) }

    /// List, count and export what an agency received or decides: its officials.
    static let handleDossiers = Rule<String> { user, agency in user.worksAt(agency) }

    /// See every agency's figures (rankings): system administrators.
    static let readProvinceFigures = Rule<Void> { user, _ in user.isSystemAdministrator }

    /// Take `action` on a dossier: the actors `DossierWorkflow.rules` names for it. A reception
    /// point receiving for another agency does not assign or hand over inside it: the deciding
    /// agency's leaders and handlers do.
    static func transition(_ action: Egov_Procedures_V1_DossierAction) -> Rule<Dossier> {
        let allowed = DossierWorkflow.rules[action]?.actors ?? []
        return Rule { user, dossier in
            var allowed = allowed
            if [.assign, .handOver].contains(action) && dossier.agency != dossier.decidingAgency {
                allowed.remove(.reception)
            }
            return !actors(user, on: dossier).isDisjoint(with: allowed)
        }
    }

    /// The parts `user` plays on `dossier`. Reception is the receiving point's; appraisal and
    /// approval the deciding agency's; a specialist handles the dossiers assigned to them (or
    /// not yet assigned to anyone).
    static func actors(_ user: AccessClaims, on dossier: Dossier) -> Set<DossierWorkflow.Actor> {
        var actors: Set<DossierWorkflow.Actor> = []
        if dossier.isApplicantSide(user.sub) { actors.insert(.applicant) }
        if user.holds(.receptionOfficer, at: dossier.agency) { actors.insert(.reception) }
        if user.holds(.specialist, at: dossier.decidingAgency)
            && (dossier.assignee.isEmpty || dossier.assignee == user.sub)
        {
            actors.insert(.handler)
        }
        if user.holds(.leader, at: dossier.decidingAgency) { actors.insert(.leader) }
        return actors
    }

    /// Every RPC of `egov.procedures.v1.ProceduresService` and who may call it.
    public static let methods: [String: MethodAccess] = [
        "GetProcedure": .anyone, "ListProcedures": .anyone, "LookupDossier": .anyone, "GetWorkingDay": .anyone,
        "ComputeAppointment": .anyone, "ListCalendarAdjustments": .anyone, "ListHolidayRules": .anyone,
        "CreateProcedure": .rules(["manageCatalogue"]), "UpdateProcedure": .rules(["manageCatalogue"]),
        "DeactivateProcedure": .rules(["manageCatalogue"]),
        "CreateCalendarAdjustment": .rules(["manageCalendar"]), "CreateHolidayRule": .rules(["manageCalendar"]),
        "UpdateHolidayRule": .rules(["manageCalendar"]),
        "SubmitDossier": .rules(["fileOnline", "fileAtDesk"]),
        "GetDossier": .rules(["readDossier"]), "ListDossierEvents": .rules(["readDossier"]),
        "WatchDossier": .rules(["readDossier"]), "DownloadAttachment": .rules(["readDossier"]),
        "UploadAttachment": .rules(["readDossier", "workOnDossier", "attachResult"]),
        "TransitionDossier": .rules(["readDossier", "transition"]),
        "DraftResultDocument": .rules(["readDossier", "draftResult"]),
        "IssueApology": .rules(["readDossier", "issueApology"]), "RateDossier": .rules(["readDossier", "rateDossier"]),
        "ListDossiers": .rules(["handleDossiers"]), "ExportLedger": .rules(["handleDossiers"]),
        "GetStatistics": .rules(["handleDossiers", "readProvinceFigures"]),
    ]
}
