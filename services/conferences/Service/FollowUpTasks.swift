public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit

/// Tasks conferences give agencies, listed per agency until done.
extension ConferencesService {
    typealias Task = Egov_Conferences_V1_FollowUpTask

    static let taskMigrations: [Migration] = [
        Migration(
            "0004_follow_up_tasks",
            [
                """
                CREATE TABLE follow_up_tasks (
                    id TEXT PRIMARY KEY,
                    conference_id TEXT NOT NULL,
                    owner_agency TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    deadline BIGINT NOT NULL,
                    detail TEXT NOT NULL
                )
                """,
                "CREATE INDEX follow_up_tasks_by_owner ON follow_up_tasks (owner_agency, state, deadline, id)",
            ])
    ]

    public func createFollowUpTask(
        request: Egov_Conferences_V1_CreateFollowUpTaskRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_FollowUpTask {
        let (conference, _) = try await visibleConference(request.parent, field: "parent")
        try ConferencesPolicy.manage.require(conference, Self.errors, doing: "give tasks from this conference")
        guard conference.state == .live || conference.state == .ended else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_STATE", "Tasks are given once the conference has started.",
                metadata: ["state": "\(conference.state.rawValue)"])
        }
        var violations: [ErrorBuilder.Violation] = []
        let title = request.task.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if title.isEmpty || title.count > 1000 {
            violations.append(.init("task.title", "is required, at most 1000 characters"))
        }
        if AgencyCode.code(fromName: request.task.ownerAgency) == nil {
            violations.append(.init("task.owner_agency", "must be agencies/{code}"))
        }
        if !request.task.hasDeadline { violations.append(.init("task.deadline", "is required")) }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_TASK", violations) }
        _ = try await agencies.requireActive(request.task.ownerAgency, field: "task.owner_agency", errors: Self.errors)
        let id = UUID().uuidString.lowercased()
        let task = Task.with {
            $0.name = "\(conference.name)/tasks/\(id)"
            $0.title = title
            $0.ownerAgency = request.task.ownerAgency
            $0.deadline = request.task.deadline
            $0.state = .open
            $0.assignedBy = RequestContext.actor
        }
        return try await store.idempotentWrite(
            scope: "CreateFollowUpTask", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            try await tx.database.execute(
                """
                INSERT INTO follow_up_tasks (id, conference_id, owner_agency, state, deadline, detail)
                VALUES (\(bind: id), \(bind: Self.id(conference.name)), \(bind: task.ownerAgency),
                        \(bind: task.state.rawValue), \(bind: task.deadline.micros), \(bind: try task.jsonString()))
                """)
            return task
        }
    }

    public func listFollowUpTasks(
        request: Egov_Conferences_V1_ListFollowUpTasksRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_ListFollowUpTasksResponse {
        _ = try Self.errors.agencyCode(fromName: request.ownerAgency, field: "owner_agency")
        try ConferencesPolicy.handleTasks.require(
            request.ownerAgency, Self.errors, doing: "list the tasks of \(request.ownerAgency)")
        let size = try Self.errors.pageSize(request.pageSize)
        let filter = "owner=\(request.ownerAgency) done=\(request.includeDone)"
        let after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        let rows = try await store.read { db in
            var sql = SQLQueryString(
                "SELECT id, deadline, detail FROM follow_up_tasks WHERE owner_agency = \(bind: request.ownerAgency)")
            if !request.includeDone {
                sql.appendInterpolation(unsafeRaw: " AND state = \(Task.State.open.rawValue)")
            }
            if let after, let space = after.firstIndex(of: " "), let deadline = Int64(after[..<space]) {
                sql.appendKeyset(after: (deadline, String(after[after.index(after: space)...])), column: "deadline")
            }
            sql.appendInterpolation(unsafeRaw: " ORDER BY deadline, id LIMIT \(size + 1)")
            return try await db.rows(sql).map {
                (
                    try Task(jsonString: try $0.decode(column: "detail", as: String.self)),
                    try $0.decode(column: "deadline", as: Int64.self), try $0.decode(column: "id", as: String.self)
                )
            }
        }
        let now = store.clock.micros
        return .with {
            $0.tasks = rows.prefix(size).map { row in
                var task = row.0
                task.overdue = task.state == .open && task.deadline.micros < now
                return task
            }
            if rows.count > size {
                $0.nextPageToken = PageToken.encode(after: "\(rows[size - 1].1) \(rows[size - 1].2)", filter: filter)
            }
        }
    }

    public func completeFollowUpTask(
        request: Egov_Conferences_V1_CompleteFollowUpTaskRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_FollowUpTask {
        let parts = request.name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "conferences", parts[2] == "tasks", parts[3].utf8.count <= 64 else {
            throw Self.errors.invalidArgument(
                "INVALID_TASK_NAME", field: "name", "must be conferences/{conference}/tasks/{task}")
        }
        let result = request.result.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !result.isEmpty, result.count <= 2000 else {
            throw Self.errors.invalidArgument(
                "RESULT_REQUIRED", field: "result", "say what was done, at most 2000 characters")
        }
        let id = String(parts[3])
        let notFound = Self.errors.notFound(
            "TASK_NOT_FOUND", resource: request.name, "Task '\(Clip.text(request.name, 128))' does not exist.")
        return try await store.write { tx in
            guard
                let row = try await tx.database.row(
                    "SELECT detail FROM follow_up_tasks WHERE id = \(bind: id) AND conference_id = \(bind: String(parts[1]))"
                ),
                var task = try? Task(jsonString: try row.decode(column: "detail", as: String.self))
            else { throw notFound }
            // Officials of other agencies do not learn the task exists.
            guard ConferencesPolicy.handleTasks.allows(task.ownerAgency) else { throw notFound }
            guard task.state == .open else { return task }
            task.state = .done
            task.result = result
            task.doneTime = .init(micros: tx.clock.micros)
            // Only over an open task: of two completions at once, the second finds it done.
            let updated = try await tx.database.rows(
                """
                UPDATE follow_up_tasks SET state = \(bind: task.state.rawValue), detail = \(bind: try task.jsonString())
                WHERE id = \(bind: id) AND state = \(bind: Task.State.open.rawValue) RETURNING id
                """)
            guard !updated.isEmpty else {
                throw Self.errors.failedPrecondition("ALREADY_DONE", "Someone marked the task done meanwhile.")
            }
            return task
        }
    }
}
