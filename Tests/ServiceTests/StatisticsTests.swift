import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SQLKit
import Testing

@Suite struct StatisticsTests {
    /// Outcomes are set in the store directly so each figure has a known answer; the database
    /// does the tallying, so both engines are checked.
    @Test(arguments: TestDatabases.engines)
    func figuresCountEachOutcomeOnTheProvincesDays(engine: Engine) async throws {
        try await withStack(engine: engine) { stack in
            try await seedCatalogue(stack)
            let store = try #require(stack.proceduresStore)
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                var codes: [String] = []
                for index in 0..<6 {
                    codes.append(try await procedures.submitDossier(.with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with { $0.channel = index < 2 ? .online : .inPerson; $0.applicant = "people/p\(index)" }
                    }).code)
                }
                let hour: Int64 = 3_600_000_000
                let day = 24 * hour
                // 0: early (two days before), rated 5; 1: on the day, 23:30 local is still that day;
                // 2: late, rated 3; 3: refused; 4: processing, past its appointment; 5: processing.
                let changes: [(status: Int, finish: String, appointment: String, rating: Int)] = [
                    (10, "appointment_time - \(2 * day)", "appointment_time", 5),
                    (9, "appointment_time + \(6 * hour + hour / 2)", "appointment_time", 0),
                    (10, "appointment_time + \(day)", "appointment_time", 3),
                    (3, "NULL", "appointment_time", 0),
                    (4, "NULL", "\(Timestamps.nowMicros() - day)", 0),
                    (4, "NULL", "appointment_time", 0),
                ]
                try await store.write { tx in
                    for (code, change) in zip(codes, changes) {
                        try await tx.database.execute(SQLQueryString(
                            """
                            UPDATE dossiers SET status = \(unsafeRaw: String(change.status)), finish_time = \(unsafeRaw: change.finish),
                                appointment_time = \(unsafeRaw: change.appointment), rating = \(unsafeRaw: String(change.rating))
                            WHERE code = '\(unsafeRaw: code)'
                            """))
                    }
                }
                let figures = try await procedures.getStatistics(.with {
                    $0.agency = "agencies/000.00.06.H41"
                    $0.startTime = .init(date: Date().addingTimeInterval(-3600))
                    $0.endTime = .init(date: Date().addingTimeInterval(3600))
                })
                let row = try #require(figures.procedures.first)
                #expect(figures.procedures.count == 1 && row.procedure == "procedures/1.001612.H41")
                #expect([row.received, row.finishedEarly, row.finishedOnTime, row.finishedLate, row.closedWithoutResult, row.pending, row.overdue]
                    == [6, 1, 1, 1, 1, 2, 1])
                #expect(abs(row.onlineShare - 2.0 / 6) < 1e-9 && row.averageRating == 4)
                #expect(row.averageProcessingDays > 0)
                var total = figures.total
                total.procedure = row.procedure
                #expect(total == row)
                // Another period holds nothing.
                let empty = try await procedures.getStatistics(.with {
                    $0.agency = "agencies/000.00.06.H41"; $0.startTime = .init(seconds: 0); $0.endTime = .init(seconds: 1)
                })
                #expect(empty.procedures.isEmpty && empty.total.received == 0)
            }
        }
    }
}
